// AG-UI's own client against a server: `node ag_ui.mjs '<json>'` prints one JSON line.
//   {"url", "threadId", "runId", "messages", "forwardedProps"?}  HttpAgent.runAgent, which validates each event
// Output: {"messages": the agent's messages after the run, "events": the events in order, "error": null or
// what failed (a RUN_ERROR, a validation error, or "timeout" after 30 s)}.
import { HttpAgent } from "@ag-ui/client";

const args = JSON.parse(process.argv[2]);
const agent = new HttpAgent({ url: args.url, threadId: args.threadId, initialMessages: args.messages });
const out = { messages: [], events: [], error: null };
let timer;
const timeout = new Promise((_, reject) => {
  timer = setTimeout(() => reject(new Error("timeout")), 30000);
});

try {
  const run = agent.runAgent(
    { runId: args.runId, tools: [], context: [], forwardedProps: args.forwardedProps ?? {} },
    {
      onEvent({ event }) {
        out.events.push(event);
      },
      onRunErrorEvent({ event }) {
        out.error = `RUN_ERROR ${event.code ?? ""}: ${event.message}`;
      },
    },
  );
  await Promise.race([run, timeout]);
} catch (error) {
  out.error ??= String(error?.message ?? error);
} finally {
  clearTimeout(timer);
}
out.messages = agent.messages;
console.log(JSON.stringify(out));
process.exit(0);
