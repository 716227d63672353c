// LangGraph's JS client (@langchain/langgraph-sdk's Client) against a server: `node langgraph_client.mjs '<json>'`
// prints one JSON line.
//   {"apiUrl", "assistantId", "headers"?, "turns": [text, ...], "resume"?: value for the interrupt a turn leaves}
// It makes a thread with metadata, streams each turn in values and messages-tuple, resumes an interrupt with
// `command: {resume}`, and reads the thread back (getState, getHistory, search, get), then waits for one more run
// followed on the thread's stream (joinStream, lifecycle);
// with "owner", it keeps an item in the store under the owner's id, and reads, searches, lists and deletes it.
// Output: {"threadId", "streams": [[event, ...] per run], "tokens": [text per run], "state", "history",
// "found", "thread", "waited", "followed", "store", "error"}.
import { Client } from "@langchain/langgraph-sdk";

const args = JSON.parse(process.argv[2]);
const client = new Client({ apiUrl: args.apiUrl, defaultHeaders: args.headers ?? {} });
const out = { threadId: null, streams: [], tokens: [], state: null, history: null, found: null, thread: null };
out.error = null;

async function run(threadId, payload) {
  const events = [];
  let tokens = "";
  for await (const part of client.runs.stream(threadId, args.assistantId, {
    ...payload,
    streamMode: ["values", "messages-tuple"],
  })) {
    events.push(part.event);
    if (part.event === "messages" && part.data[0].type === "AIMessageChunk") tokens += part.data[0].content;
  }
  out.streams.push(events);
  out.tokens.push(tokens);
}

try {
  const thread = await client.threads.create({ metadata: { source: "js" } });
  out.threadId = thread.thread_id;
  for (const text of args.turns) {
    await run(thread.thread_id, { input: { messages: [{ type: "human", content: text }] } });
    const state = await client.threads.getState(thread.thread_id);
    if (state.next.length && args.resume !== undefined) {
      await run(thread.thread_id, { command: { resume: args.resume } });
    }
  }
  out.state = await client.threads.getState(thread.thread_id);
  out.history = await client.threads.getHistory(thread.thread_id, { limit: 2 });
  out.found = await client.threads.search({ metadata: { source: "js" } });
  out.thread = await client.threads.get(thread.thread_id);
  const followed = []; // the thread's stream, joined before that run: its start and its end
  const following = (async () => {
    const parts = client.threads.joinStream(thread.thread_id, { streamMode: "lifecycle" });
    for await (const part of parts) {
      followed.push([part.event, part.data?.status ?? null]);
      if (part.data?.status === "run_done") break;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 500));
  out.waited = await client.runs.wait(thread.thread_id, args.assistantId, {
    input: { messages: [{ type: "human", content: "one more" }] },
  });
  await following;
  out.followed = followed;
  if (args.owner !== undefined) {
    const namespace = [args.owner, "memories"];
    await client.store.putItem(namespace, "m1", { text: "likes tea" });
    out.store = {
      item: await client.store.getItem(namespace, "m1"),
      found: await client.store.searchItems([args.owner], { filter: { text: "likes tea" } }),
      namespaces: await client.store.listNamespaces({ prefix: [args.owner] }),
    };
    await client.store.deleteItem(namespace, "m1");
    out.store.deleted = await client.store.getItem(namespace, "m1");
  }
} catch (error) {
  out.error = String(error?.message ?? error);
}
console.log(JSON.stringify(out));
process.exit(0);
