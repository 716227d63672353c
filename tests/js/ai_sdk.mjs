// The Vercel AI SDK's own client against a server: `node ai_sdk.mjs '<json>'` prints one JSON line.
//   {"op": "send", "api", "chatId", "messages", "body"?, "abortAfterChunks"?}  DefaultChatTransport.sendMessages
//   {"op": "reconnect", "api", "chatId"}                                        DefaultChatTransport.reconnectToStream
// Output: {"message": the UIMessage readUIMessageStream assembled, "chunks": every chunk the transport
// validated with the package's schema, "error": null or what failed, "aborted", "noStream" (204)}.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const args = JSON.parse(process.argv[2]);
const transport = new DefaultChatTransport({ api: args.api });
const abort = new AbortController();
const out = { message: null, chunks: [], error: null, aborted: false, noStream: false };

try {
  const stream =
    args.op === "reconnect"
      ? await transport.reconnectToStream({ chatId: args.chatId })
      : await transport.sendMessages({
          chatId: args.chatId,
          messages: args.messages,
          trigger: "submit-message",
          messageId: undefined,
          body: args.body ?? {},
          abortSignal: abort.signal,
        });
  if (stream === null) {
    out.noStream = true;
  } else {
    const recorded = stream.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          out.chunks.push(chunk);
          controller.enqueue(chunk);
          if (args.abortAfterChunks && out.chunks.length >= args.abortAfterChunks) {
            out.aborted = true;
            abort.abort();
            controller.terminate();
          }
        },
      }),
    );
    for await (const message of readUIMessageStream({ stream: recorded, terminateOnError: true })) {
      out.message = message;
    }
  }
} catch (error) {
  if (!out.aborted) out.error = String(error?.message ?? error);
}
console.log(JSON.stringify(out));
