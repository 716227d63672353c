// The sidebar: the user's chats, newest first (GET /api/chat/threads), each opened, renamed (PATCH) or deleted
// (DELETE) from it, and a new chat. Opening a chat reads its thread back (GET /api/chat/threads/<id>): its
// messages, the approvals it waits for, the to-do list; a reload of the page does the same for the chat in its
// address. Titles are text, never HTML.
"use strict";

const threadList = document.getElementById("thread-list");
const newChatButton = document.getElementById("new-chat");

async function refreshThreads() {
  const response = await fetch("/api/chat/threads?limit=50");
  if (!response.ok) return;
  const { threads } = await response.json();
  threadList.replaceChildren(...threads.map((thread) => {
    const item = element("li", thread.thread_id === threadId ? "thread current" : "thread");
    item.dataset.id = thread.thread_id;
    const open = element("button", "open", thread.title || "New chat");
    open.type = "button";
    open.title = `${thread.title} (${thread.status})`;
    open.addEventListener("click", () => openThread(thread.thread_id));
    const rename = element("button", "rename", "Rename");
    rename.type = "button";
    rename.addEventListener("click", () => renameThread(thread));
    const remove = element("button", "delete", "Delete");
    remove.type = "button";
    remove.addEventListener("click", () => deleteThread(thread));
    item.append(open, rename, remove);
    return item;
  }));
}

// A turn ended: the chat is in the address (a reload reopens it) and in the list.
function chatSaved() {
  if (new URLSearchParams(location.search).get("thread") !== threadId) {
    window.history.pushState(null, "", `?thread=${encodeURIComponent(threadId)}`);
  }
  refreshThreads();
}

function clearChat(id) {
  threadId = id;
  history.length = 0;
  shared = { todos: [] };
  renderTodos();
  log.replaceChildren();
  statusLine.textContent = "";
  sendButton.disabled = false;
}

async function openThread(id) {
  if (controller) return; // one chat streams at a time
  const response = await fetch(`/api/chat/threads/${encodeURIComponent(id)}`);
  if (!response.ok) {
    clearChat(crypto.randomUUID());
    window.history.replaceState(null, "", location.pathname);
    return refreshThreads();
  }
  const thread = await response.json();
  clearChat(id);
  window.history.replaceState(null, "", `?thread=${encodeURIComponent(id)}`);
  shared = { todos: [], ...thread.state };
  renderTodos();
  let view = null;
  for (const message of thread.messages) {
    history.push(message); // sent again with the next turn: the server keeps each message once
    if (message.role === "user") view = turn(message.content, message.attachments ?? []);
    else if (!view) continue;
    else if (message.role === "assistant") {
      for (const call of message.tool_calls ?? []) view.call({ ...call, args: JSON.stringify(call.args) });
      view.token(message.content);
    } else if (message.role === "tool") view.result(message.content);
  }
  if (thread.interrupts.length && view) awaitDecisions(thread.interrupts, view);
  refreshThreads();
}

async function renameThread(thread) {
  const title = prompt("Rename this chat", thread.title);
  if (title === null || !title.trim()) return;
  await fetch(`/api/chat/threads/${encodeURIComponent(thread.thread_id)}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title }),
  });
  refreshThreads();
}

async function deleteThread(thread) {
  if (!confirm(`Delete "${thread.title}"? It cannot be undone.`)) return;
  await fetch(`/api/chat/threads/${encodeURIComponent(thread.thread_id)}`, { method: "DELETE" });
  if (thread.thread_id === threadId) {
    clearChat(crypto.randomUUID());
    window.history.replaceState(null, "", location.pathname);
  }
  refreshThreads();
}

newChatButton.addEventListener("click", () => {
  if (controller) return;
  clearChat(crypto.randomUUID());
  window.history.pushState(null, "", location.pathname);
  refreshThreads();
});
window.addEventListener("popstate", () => {
  const id = new URLSearchParams(location.search).get("thread");
  if (id) openThread(id);
  else clearChat(crypto.randomUUID());
});

if (new URLSearchParams(location.search).get("thread")) openThread(threadId);
else refreshThreads();
