// The chat page: POST with fetch, read the Server-Sent Events with a reader, show them as they come.
// Model output only ever goes into textContent: it is never parsed as HTML.
"use strict";

const log = document.getElementById("log");
const statusLine = document.getElementById("status");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const history = []; // [role, content] pairs sent back with each question
let controller = null;

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// An SSE parser by the WHATWG rules: lines end with CRLF, CR or LF; a blank line dispatches.
function sseParser(onEvent) {
  let buffer = "", data = [], type = "";
  return (text) => {
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop(); // an unfinished line waits for more text
    for (const line of lines) {
      if (line === "") {
        if (data.length) onEvent(type || "message", data.join("\n"));
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
    }
  };
}

function turn(question) {
  log.append(element("div", "turn user", question));
  const box = element("div", "turn assistant");
  const tools = element("div", "tools");
  const answer = element("span", "answer");
  box.append(tools, answer);
  log.append(box);
  const calls = new Map(); // tool call index -> its line
  return {
    answer,
    token(text) { answer.textContent += text; },
    event(name, payload) {
      if (name === "tool_call") {
        const line = element("div", "tool", `🔧 ${payload.name}(`);
        calls.set(payload.index, line);
        tools.append(line);
      } else if (name === "tool_args") {
        calls.get(payload.index).textContent += payload.delta;
      } else if (name === "tool_end") {
        tools.append(element("div", "tool tool-result", `→ ${typeof payload.output === "string" ? payload.output : JSON.stringify(payload.output)}`));
      } else if (name === "tool_error") {
        tools.append(element("div", "tool error", `✗ ${payload.name}: ${payload.error}`));
      }
    },
    error(message) { box.append(element("div", "error", message)); },
  };
}

async function ask(question) {
  const view = turn(question);
  controller = new AbortController();
  sendButton.disabled = true;
  stopButton.disabled = false;
  statusLine.textContent = "streaming";
  let finished = false;
  const parse = sseParser((name, data) => {
    if (name !== "message") return view.event(name, JSON.parse(data));
    if (data === "[DONE]") { finished = true; return; }
    const payload = JSON.parse(data);
    if ("token" in payload) view.token(payload.token);
    else if ("error" in payload) view.error(payload.error);
  });
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, chat_history: history }),
      signal: controller.signal,
    });
    if (!response.ok) {
      const problem = await response.json();
      view.error(`${problem.error}: ${problem.detail}`);
    } else {
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parse(value);
      }
    }
    statusLine.textContent = finished ? "done" : "ended early";
  } catch (error) {
    statusLine.textContent = error.name === "AbortError" ? "stopped" : `failed: ${error.message}`;
  } finally {
    history.push(["user", question], ["assistant", view.answer.textContent]);
    controller = null;
    sendButton.disabled = false;
    stopButton.disabled = true;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || controller) return;
  input.value = "";
  ask(question);
});
stopButton.addEventListener("click", () => controller && controller.abort());
