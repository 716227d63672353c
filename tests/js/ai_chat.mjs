// The AI SDK's chat as `useChat` wraps it (ai 7's AbstractChat with an in-memory state), against a server:
// `node ai_chat.mjs '<json>'` prints one JSON line.
//   {"api", "chatId", "turns": [text | {text, files: [FileUIPart]}, ...], "clientTools"?: {toolName: output},
//    "approvals"?: {toolName: bool},
//    "body"?, "headers"?, "messages"?: UIMessage[] to start from (a thread read back: checked first with
//    validateUIMessages; approvals it awaits are answered as `approvals` says), "regenerate"?: true (after the
//    turns, `regenerate()` the last answer)}
// Client tools have no `execute`: `onToolCall` answers them with `addToolOutput`. A call that awaits
// approval is answered with `addToolApprovalResponse` as `approvals` says. `sendAutomaticallyWhen` (the tool
// calls complete, or every approval answered) sends the continuation, as an app does.
// Output: {"messages": the chat's messages at the end, "requests": the bodies it POSTed, "toolCalls": what
// onToolCall saw, "finishReasons": per finished response, "error": null or what failed}.
import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  lastAssistantMessageIsCompleteWithToolCalls,
  validateUIMessages,
} from "ai";

class MemoryState {
  constructor() {
    this.status = "ready";
    this.error = undefined;
    this.messages = [];
  }
  pushMessage(message) {
    this.messages = [...this.messages, message];
  }
  popMessage() {
    this.messages = this.messages.slice(0, -1);
  }
  replaceMessage(index, message) {
    this.messages = [...this.messages.slice(0, index), message, ...this.messages.slice(index + 1)];
  }
  snapshot(thing) {
    return structuredClone(thing);
  }
}

class Chat extends AbstractChat {
  constructor(init) {
    const state = new MemoryState();
    state.messages = init.messages ?? [];
    super({ ...init, state });
  }
}

const args = JSON.parse(process.argv[2]);
const out = { messages: [], requests: [], toolCalls: [], finishReasons: [], approvalRequests: [], error: null };
// Output also lists "approvalRequests": the calls that awaited approval.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clientTools = args.clientTools ?? {};
const approvals = args.approvals ?? {};

function answerApprovals() {
  for (const part of chat.lastMessage?.parts ?? []) {
    if (part.state !== "approval-requested") continue;
    const toolName = part.type.replace(/^tool-/, "");
    out.approvalRequests.push({ toolName, toolCallId: part.toolCallId, approvalId: part.approval.id });
    if (toolName in approvals) {
      const approved = approvals[toolName];
      chat.addToolApprovalResponse({ id: part.approval.id, approved, reason: approved ? undefined : "Not now." });
    }
  }
}

if (args.messages) {
  try {
    out.validated = (await validateUIMessages({ messages: args.messages })).length;
  } catch (error) {
    out.error = `validateUIMessages: ${error?.message ?? error}`;
    console.log(JSON.stringify(out));
    process.exit(0);
  }
}

const chat = new Chat({
  id: args.chatId,
  messages: args.messages,
  transport: new DefaultChatTransport({
    api: args.api,
    body: args.body ?? {},
    headers: args.headers ?? {},
    fetch: async (url, init) => {
      out.requests.push(JSON.parse(init.body));
      return fetch(url, init);
    },
  }),
  onToolCall: async ({ toolCall }) => {
    out.toolCalls.push(toolCall);
    if (toolCall.toolName in clientTools) {
      chat.addToolOutput({ tool: toolCall.toolName, toolCallId: toolCall.toolCallId, output: clientTools[toolCall.toolName] });
    }
  },
  onFinish: ({ finishReason }) => {
    out.finishReasons.push(finishReason ?? null);
    setTimeout(answerApprovals, 0);
  },
  onError: (error) => {
    out.error = String(error?.message ?? error);
  },
  sendAutomaticallyWhen: (options) =>
    lastAssistantMessageIsCompleteWithToolCalls(options) || lastAssistantMessageIsCompleteWithApprovalResponses(options),
});

async function idle() {
  // automatic continuations start after a response ends: idle is "ready" with no new request for a while
  let quiet = 0;
  let seen = out.requests.length;
  for (let i = 0; i < 1500 && quiet < 15; i++) {
    await sleep(20);
    const ready = chat.status === "ready" || chat.status === "error";
    quiet = ready && out.requests.length === seen ? quiet + 1 : 0;
    seen = out.requests.length;
  }
}

try {
  if (args.messages) {
    answerApprovals();
    await idle();
  }
  for (const turn of args.turns) {
    await chat.sendMessage(typeof turn === "string" ? { text: turn } : turn);
    await idle();
  }
  if (args.regenerate) {
    await chat.regenerate();
    await idle();
  }
} catch (error) {
  out.error ??= String(error?.message ?? error);
}
out.messages = chat.messages;
console.log(JSON.stringify(out));
process.exit(0);
