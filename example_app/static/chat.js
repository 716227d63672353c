// The chat page: POST with fetch, read the Server-Sent Events with a reader, show them as they come, and
// after a dropped connection resume where it stopped.
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
let currentStream = null;

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

const RECONNECTS = [250, 500, 1000, 2000, 4000]; // ms to wait before each try after a dropped connection
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Read one response's events into `stream`; a dropped connection throws a TypeError.
async function read(response, stream) {
  const parse = sseParser((name, data, id) => {
    stream.lastEventId = id;
    if (name !== "message") return stream.view.event(name, JSON.parse(data));
    if (data === "[DONE]") { stream.finished = true; return; }
    const payload = JSON.parse(data);
    if ("token" in payload) stream.view.token(payload.token);
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

async function ask(question) {
  const stream = { view: turn(question), id: null, lastEventId: null, finished: false };
  controller = new AbortController();
  currentStream = stream;
  sendButton.disabled = true;
  stopButton.disabled = false;
  statusLine.textContent = "streaming";
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, chat_history: history }),
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
    statusLine.textContent = stream.finished ? "done" : "ended early";
  } catch (error) {
    statusLine.textContent = error.name === "AbortError" ? "stopped" : `failed: ${error.message}`;
  } finally {
    history.push(["user", question], ["assistant", stream.view.answer.textContent]);
    controller = null;
    currentStream = null;
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
stopButton.addEventListener("click", () => {
  if (!controller) return;
  controller.abort();
  // With resume on, a run outlives its connection: stop it on the server too.
  if (currentStream?.id) fetch(`/api/chat/${currentStream.id}/cancel`, { method: "POST" });
});
