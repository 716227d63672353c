// @microsoft/fetch-event-source against a server: `node fetch_event_source.mjs '<json>'` prints one JSON line.
//   {"url", "body"}  POSTs the body and records every message the library dispatches to onmessage
// Output: {"messages": [{"event", "data", "id"}], "error": null or what failed}.
globalThis.window ??= globalThis;
globalThis.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} };
const { fetchEventSource } = await import("@microsoft/fetch-event-source");

const args = JSON.parse(process.argv[2]);
const out = { messages: [], error: null };
try {
  await fetchEventSource(args.url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(args.body),
    openWhenHidden: true,
    onmessage(message) {
      out.messages.push({ event: message.event, data: message.data, id: message.id });
    },
    onclose() {},
    onerror(error) {
      throw error; // no retries: the test wants the one stream
    },
  });
} catch (error) {
  out.error = String(error?.message ?? error);
}
console.log(JSON.stringify(out));
