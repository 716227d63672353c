// AG-UI's own client against a server: `node ag_ui.mjs '<json>'` prints one JSON line.
//   {"url", "threadId", "runId", "messages", "forwardedProps"?, "tools"?, "clientTools"?: {toolName: result},
//    "turns"?: [text, ...], "headers"?, "answer"?: {status, payload}, "state"?: the client's initial state,
//    "connect"?: true — connectAgent() first, as CopilotKit does: POST <url>/connect streams the thread;
//    "connectOnly"?: true — then no run of "messages" (only "turns")}
// HttpAgent.runAgent validates each event. With `clientTools`, a run that ends with calls of those tools is
// answered as a front end does: a tool message per call, then another run on the same thread. Each of
// `turns` is a user message added after the runs before it, and its own run. With `answer`, a run that ends at
// interrupts (agent.pendingInterrupts) is resumed with that answer to each: runAgent({resume}).
// Output: {"messages": the agent's messages after the runs, "events": the events in order, "runs": how many,
// "interrupts": agent.pendingInterrupts after each run, "streams": each response's body as it came (SSE),
// "state": agent.state after the runs, "results": what each runAgent() returned as its `result`,
// "error": null or what failed (a RUN_ERROR, a validation error, or "timeout" after 30 s)}.
import { HttpAgent, runHttpRequest, transformHttpEventStream } from "@ag-ui/client";

// HttpAgent leaves `connect` to the app (CopilotKit's runtime serves it): POST the run input to <url>/connect.
class ConnectingAgent extends HttpAgent {
  connect(input) {
    return transformHttpEventStream(
      runHttpRequest(() => this.fetch(`${this.url}/connect`, this.requestInit(input))),
      this.debugLogger,
    );
  }
}

const args = JSON.parse(process.argv[2]);
const out = { messages: [], events: [], runs: 0, interrupts: [], streams: [], state: null, error: null, results: [] };
const agent = new ConnectingAgent({
  url: args.url,
  threadId: args.threadId,
  initialMessages: args.messages,
  initialState: args.state ?? {},
  headers: args.headers ?? {},
  fetch: async (url, init) => {
    const response = await fetch(url, init);
    const [mine, theirs] = response.body.tee();
    const index = out.streams.push("") - 1;
    (async () => {
      for await (const chunk of mine.pipeThrough(new TextDecoderStream())) out.streams[index] += chunk;
    })();
    return new Response(theirs, { status: response.status, headers: response.headers });
  },
});
const clientTools = args.clientTools ?? {};
let timer;
const timeout = new Promise((_, reject) => {
  timer = setTimeout(() => reject(new Error("timeout")), 30000);
});

async function run(runId, resume) {
  out.runs += 1;
  const returned = await agent.runAgent(
    { runId, tools: args.tools ?? [], context: [], forwardedProps: args.forwardedProps ?? {}, resume },
    {
      onEvent({ event }) {
        out.events.push(event);
      },
      onRunErrorEvent({ event }) {
        out.error = `RUN_ERROR ${event.code ?? ""}: ${event.message}`;
      },
    },
  );
  out.interrupts.push(structuredClone(agent.pendingInterrupts));
  out.results.push(returned?.result ?? null);
}

function unansweredCalls() {
  const last = agent.messages.at(-1);
  return last?.role === "assistant" ? (last.toolCalls ?? []).filter((call) => call.function.name in clientTools) : [];
}

async function runAnsweringClientTools(runId) {
  await Promise.race([run(runId), timeout]);
  if (args.answer && agent.pendingInterrupts.length && !out.error) {
    const resume = agent.pendingInterrupts.map((interrupt) => ({ interruptId: interrupt.id, ...args.answer }));
    await Promise.race([run(`${runId}-resumed`, resume), timeout]);
  }
  for (let again = 1; again < 4 && unansweredCalls().length && !out.error; again++) {
    for (const call of unansweredCalls()) {
      const content = JSON.stringify(clientTools[call.function.name]);
      agent.addMessage({ id: `result-${call.id}`, role: "tool", toolCallId: call.id, content });
    }
    await Promise.race([run(`${runId}-${again}`), timeout]);
  }
}

try {
  if (args.connect) {
    await Promise.race([
      agent.connectAgent({ runId: `${args.runId}-connect` }, { onEvent: ({ event }) => out.events.push(event) }),
      timeout,
    ]);
    out.connected = structuredClone(agent.messages);
    out.connectedState = structuredClone(agent.state);
  }
  if (!args.connectOnly) await runAnsweringClientTools(args.runId);
  for (const [index, text] of (args.turns ?? []).entries()) {
    agent.addMessage({ id: `turn-${index + 2}`, role: "user", content: text });
    await runAnsweringClientTools(`${args.runId}-turn-${index + 2}`);
  }
} catch (error) {
  out.error ??= String(error?.message ?? error);
} finally {
  clearTimeout(timer);
}
out.messages = agent.messages;
out.state = agent.state;
console.log(JSON.stringify(out));
process.exit(0);
