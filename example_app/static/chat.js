// The chat page: POST with fetch, read the Server-Sent Events with a reader, show them as they come, and
// after a dropped connection resume where it stopped. The chat is a thread on the server (the agent has a
// checkpointer); a tool the page runs itself (the browser's clock) ends the answer with its call, and the
// page sends the result back to continue it; a call that needs the user's approval ends the answer with an
// interrupt, and the user's Approve or Reject resumes the thread. The chat's thread is in the page's address
// (?thread=...), so a reload reopens it (threads.js reads it back and lists the user's other chats).
// Model output only ever goes into textContent: it is never parsed as HTML.
"use strict";

const log = document.getElementById("log");
const statusLine = document.getElementById("status");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const filesInput = document.getElementById("files");
const todoList = document.getElementById("todo-list");
const todoForm = document.getElementById("add-todo");
const todoText = document.getElementById("todo-text");
let shared = { todos: [] }; // the agent's state the page shares: sent with each request, updated by the stream
const history = []; // the conversation, sent whole with each request: {role, content, tool_calls?, tool_call_id?}
let threadId = new URLSearchParams(location.search).get("thread") ?? crypto.randomUUID(); // this page's chat
// Each browser is a user of its own here (an app with a login has its session instead): the server lists only
// this user's threads.
if (!document.cookie.split("; ").some((c) => c.startsWith("demo_user="))) {
  document.cookie = `demo_user=${crypto.randomUUID()}; path=/; max-age=31536000; SameSite=Lax`;
}
let controller = null;
let currentStream = null;

// Tools the page runs when the model calls them: their result goes back to the server as a tool message.
const PAGE_TOOLS = {
  get_local_time: () => new Date().toString(),
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// An SSE parser by the WHATWG rules: lines end with CRLF, CR or LF; a blank line dispatches; `id:` sets
// the last event id, which a reconnect sends so the server resumes after it.
function sseParser(onEvent) {
  let buffer = "", data = [], type = "", id = null;
  return (text) => {
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop(); // an unfinished line waits for more text
    for (const line of lines) {
      if (line === "") {
        if (data.length) onEvent(type || "message", data.join("\n"), id);
        data = []; type = "";
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") type = value;
      else if (field === "id") id = value;
    }
  };
}

// The files the user picked, as attachments (data URLs, which the server decodes and checks).
async function attachments() {
  const read = (file) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ url: reader.result, mime_type: file.type, filename: file.name });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  const picked = await Promise.all([...filesInput.files].map(read));
  filesInput.value = "";
  return picked;
}

function turn(question, attached = []) {
  const mine = element("div", "turn user", question);
  for (const attachment of attached) {
    const thumbnail = document.createElement("img");
    thumbnail.className = "thumbnail";
    thumbnail.alt = attachment.filename ?? attachment.mime_type; // an image read back has no filename
    thumbnail.src = attachment.url; // the user's own file, as a data URL
    mine.append(thumbnail);
  }
  log.append(mine);
  const box = element("div", "turn assistant");
  const tools = element("div", "tools");
  const answer = element("span", "answer");
  box.append(tools, answer);
  log.append(box);
  const lines = new Map(); // each call's line, by its id
  return {
    answer,
    token(text) { answer.textContent += text; },
    call(call) {
      call.line = element("div", "tool", "");
      lines.set(call.id, call.line);
      tools.append(call.line);
      this.args(call);
    },
    args(call) { call.line.textContent = `${call.name}(${call.args})`; },
    result(output) {
      tools.append(element("div", "tool tool-result", `→ ${typeof output === "string" ? output : JSON.stringify(output)}`));
    },
    failed(name, error) { tools.append(element("div", "tool error", `${name} failed: ${error}`)); },
    // A call that waits for the user: Approve or Reject, which `decide(approved)` sends.
    approval(action, decide) {
      lines.get(action.tool_call_id)?.remove(); // the approval line shows the call: once
      const box = element("div", "approval");
      box.append(element("div", "tool", `${action.name}(${JSON.stringify(action.args)}) needs your approval`));
      for (const [label, approved] of [["Approve", true], ["Reject", false]]) {
        const button = element("button", label.toLowerCase(), label);
        button.type = "button";
        button.addEventListener("click", () => {
          box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
          box.append(element("span", "decision", approved ? " approved" : " rejected"));
          decide(approved);
        });
        box.append(button);
      }
      tools.append(box);
    },
    error(message) { box.append(element("div", "error", message)); },
    // Thumbs on a finished answer: a rating of its run, which the server keeps (and Langfuse, when on).
    thumbs(runId) {
      const rating = element("div", "rating");
      for (const [label, score] of [["👍", 1], ["👎", 0]]) {
        const button = element("button", score ? "thumbs-up" : "thumbs-down", label);
        button.type = "button";
        button.title = score ? "Good answer" : "Bad answer";
        button.addEventListener("click", async () => {
          rating.querySelectorAll("button").forEach((b) => { b.disabled = true; });
          const response = await fetch("/api/chat/feedback", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ run_id: runId, score }),
          });
          rating.append(element("span", "rated", response.ok ? " thanks" : " not saved"));
        });
        rating.append(button);
      }
      box.append(rating);
    },
  };
}

// RFC 6902 JSON Patch, as the server sends the state's changes (jsonpatch's ops).
function applyPatch(document, operations) {
  let root = structuredClone(document);
  const keys = (path) => path.split("/").slice(1).map((key) => key.replace(/~1/g, "/").replace(/~0/g, "~"));
  const get = (path) => keys(path).reduce((node, key) => node[key], root);
  const change = (path, apply) => {
    const parts = keys(path);
    if (!parts.length) return apply(null, null);
    const last = parts.pop();
    apply(parts.reduce((node, key) => node[key], root), last);
  };
  const add = (path, value) => change(path, (parent, key) => {
    if (parent === null) root = value;
    else if (Array.isArray(parent)) parent.splice(key === "-" ? parent.length : Number(key), 0, value);
    else parent[key] = value;
  });
  const remove = (path) => change(path, (parent, key) => {
    if (Array.isArray(parent)) parent.splice(Number(key), 1); else delete parent[key];
  });
  for (const op of operations) {
    if (op.op === "add") add(op.path, op.value);
    else if (op.op === "remove") remove(op.path);
    else if (op.op === "replace") { remove(op.path); add(op.path, op.value); }
    else if (op.op === "move") { const value = get(op.from); remove(op.from); add(op.path, value); }
    else if (op.op === "copy") add(op.path, structuredClone(get(op.from)));
  }
  return root;
}

function renderTodos() {
  todoList.replaceChildren(...(shared.todos ?? []).map((text, index) => {
    const item = element("li", "todo", text);
    const remove = element("button", "remove", "Remove");
    remove.type = "button";
    remove.addEventListener("click", () => { shared.todos.splice(index, 1); renderTodos(); });
    item.append(" ", remove);
    return item;
  }));
}

todoForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = todoText.value.trim();
  if (!text) return;
  shared = { ...shared, todos: [...(shared.todos ?? []), text] };
  todoText.value = "";
  renderTodos();
});

// One stream's named events: tool calls as they stream (the page keeps those it must run), results, the end.
function onEvent(stream, name, payload) {
  if (name === "tool_call") {
    const call = { index: payload.index, id: payload.id, name: payload.name, args: "" };
    stream.calls.push(call);
    stream.view.call(call);
  } else if (name === "tool_args") {
    const call = stream.calls.findLast((c) => c.index === payload.index);
    call.args += payload.delta;
    stream.view.args(call);
  } else if (name === "tool_end") {
    stream.answered.add(payload.call_id);
    stream.view.result(payload.output);
  } else if (name === "tool_error") {
    stream.answered.add(payload.call_id);
    stream.view.failed(payload.name, payload.error);
  } else if (name === "state") {
    shared = "snapshot" in payload ? { todos: [], ...payload.snapshot } : applyPatch(shared, payload.patch);
    renderTodos();
  } else if (name === "interrupt") {
    stream.interrupts = payload.interrupts;
  } else if (name === "end") {
    stream.finishReason = payload.finish_reason;
    stream.runId = payload.run_id;
  }
}

const RECONNECTS = [250, 500, 1000, 2000, 4000]; // ms to wait before each try after a dropped connection
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Read one response's events into `stream`; a dropped connection throws a TypeError.
async function read(response, stream) {
  const parse = sseParser((name, data, id) => {
    stream.lastEventId = id;
    if (name !== "message") return onEvent(stream, name, JSON.parse(data));
    if (data === "[DONE]") { stream.finished = true; return; }
    const payload = JSON.parse(data);
    if ("token" in payload) { stream.text += payload.token; stream.view.token(payload.token); }
    else if ("error" in payload) stream.view.error(payload.error);
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parse(value);
  }
}

// With resume on, the server names the stream (X-Stream-Id) and numbers its events; after a dropped
// connection the page asks for the events after the last one it showed, so the answer appears once, whole.
async function resume(stream, signal) {
  for (const wait of RECONNECTS) {
    statusLine.textContent = "reconnecting";
    await sleep(wait);
    const headers = stream.lastEventId ? { "Last-Event-ID": stream.lastEventId } : {};
    try {
      const response = await fetch(`/api/chat/${stream.id}/stream`, { headers, signal });
      if (response.status !== 200) return; // 204: the server no longer has it
      statusLine.textContent = "streaming";
      await read(response, stream);
      return;
    } catch (error) {
      if (error.name === "AbortError") throw error;
    }
  }
}

// One request of the chat: a question, or (none) the results of the page's tools or the user's decisions
// (`answer`, what the thread waits for), which continue the answer.
async function converse(question, view, answer, attached = []) {
  const stream = { view, id: null, lastEventId: null, finished: false, text: "", calls: [], answered: new Set() };
  const body = { thread_id: threadId, chat_history: [...history], state: shared };
  if (question !== null) body.question = question;
  if (attached.length) body.attachments = attached;
  if (answer !== undefined) body.resume = answer;
  let ending = "";
  controller = new AbortController();
  currentStream = stream;
  sendButton.disabled = true;
  stopButton.disabled = false;
  statusLine.textContent = "streaming";
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    stream.id = response.headers.get("X-Stream-Id");
    if (!response.ok) {
      const problem = await response.json();
      stream.view.error(`${problem.error}: ${problem.detail}`);
    } else {
      await read(response, stream).catch((error) => {
        if (error.name === "AbortError" || !stream.id) throw error;
      });
      while (!stream.finished && stream.id && !controller.signal.aborted) {
        const before = stream.lastEventId;
        await resume(stream, controller.signal);
        if (stream.lastEventId === before && !stream.finished) break; // nothing more to be had
      }
    }
    ending = stream.finished ? "done" : "ended early";
  } catch (error) {
    ending = error.name === "AbortError" ? "stopped" : `failed: ${error.message}`;
  } finally {
    controller = null;
    currentStream = null;
    sendButton.disabled = false;
    stopButton.disabled = true;
  }
  if (question !== null) history.push({ role: "user", content: question, attachments: attached });
  if (ending === "done") chatSaved();
  if (stream.interrupts && ending === "done") {
    history.push({ role: "assistant", content: stream.text });
    return awaitDecisions(stream.interrupts, view);
  }
  const mine = stream.calls.filter((call) => call.name in PAGE_TOOLS && !stream.answered.has(call.id));
  if (stream.finishReason !== "tool_calls" || !mine.length || ending !== "done") {
    history.push({ role: "assistant", content: stream.text });
    statusLine.textContent = ending;
    if (ending === "done" && stream.runId && stream.text) view.thumbs(stream.runId);
    return;
  }
  statusLine.textContent = `running ${mine.map((call) => call.name).join(", ")}`;
  // The answer waits for the page's tools: run them, and send their results to continue it.
  const calls = mine.map((call) => ({ id: call.id, name: call.name, args: JSON.parse(call.args || "{}") }));
  history.push({ role: "assistant", content: stream.text, tool_calls: calls });
  for (const call of calls) {
    const output = PAGE_TOOLS[call.name](call.args);
    view.result(output);
    history.push({ role: "tool", tool_call_id: call.id, content: output });
  }
  await converse(null, view);
}

// The thread waits for the user: one decision per call awaiting approval, sent when all are made.
function awaitDecisions(interrupts, view) {
  statusLine.textContent = "waiting for your decision";
  sendButton.disabled = true;
  for (const interrupt of interrupts) {
    const actions = interrupt.actions ?? [];
    const decisions = new Array(actions.length);
    actions.forEach((action, index) => view.approval(action, (approved) => {
      decisions[index] = approved ? { type: "approve" } : { type: "reject", message: "The user rejected it." };
      if (!decisions.includes(undefined)) converse(null, view, { decisions });
    }));
  }
}

async function ask(question) {
  const attached = await attachments();
  await converse(question, turn(question, attached), undefined, attached);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || controller) return;
  input.value = "";
  ask(question);
});
stopButton.addEventListener("click", () => {
  if (!controller) return;
  controller.abort();
  // With resume on, a run outlives its connection: stop it on the server too.
  if (currentStream?.id) fetch(`/api/chat/${currentStream.id}/cancel`, { method: "POST" });
});
