// A page built as LangChain's docs build one: `useStream` from @langchain/langgraph-sdk/react, over the example
// app's LangGraph protocol (/api/langgraph). It shows the messages as they stream, the calls the model makes,
// an interrupt with Approve (`submit(undefined, {command: {resume}})`), Stop (`stop()`), and opens another thread
// by its id (`threadId`); with `?reconnect`, a reload rejoins a run still going (`reconnectOnMount`). Each question
// can be edited and each answer regenerated as LangChain's docs branch a chat (a run from the message's
// `firstSeenState.parent_checkpoint`), each showing which of its branches it is. Bundled by esbuild in the tests.
import { useStream } from "@langchain/langgraph-sdk/react";
import { useState } from "react";
import { createRoot } from "react-dom/client";

function text(message) {
  return typeof message.content === "string" ? message.content : message.content.map((p) => p.text ?? "").join("");
}

const reconnect = new URLSearchParams(location.search).has("reconnect"); // rejoin a run still going on a reload

function Chat() {
  const [threadId, setThreadId] = useState(new URLSearchParams(location.search).get("thread"));
  const opened = (id) => {
    setThreadId(id);
    window.history.replaceState(null, "", `?thread=${id}${reconnect ? "&reconnect" : ""}`);
  };
  const [input, setInput] = useState("");
  const [other, setOther] = useState("");
  const [edit, setEdit] = useState("");
  const thread = useStream({
    apiUrl: `${location.origin}/api/langgraph`,
    assistantId: "agent",
    threadId,
    onThreadId: opened,
    messagesKey: "messages",
    reconnectOnMount: reconnect,
    fetchStateHistory: { limit: 100 },
  });
  const approve = () => thread.submit(undefined, { command: { resume: { decisions: [{ type: "approve" }] } } });
  return (
    <main>
      <p id="thread">{threadId ?? ""}</p>
      <ol id="messages">
        {thread.messages.map((message) => {
          const meta = thread.getMessagesMetadata(message);
          const checkpoint = meta?.firstSeenState?.parent_checkpoint;
          const branches = meta?.branchOptions ?? [];
          return (
            <li key={message.id} className={message.type}>
              <span className="text">{text(message)}</span>
              {(message.tool_calls ?? []).map((call) => (
                <span key={call.id} className="call">{call.name}</span>
              ))}
              {message.type === "human" ? (
                <button
                  className="edit"
                  onClick={() => thread.submit({ messages: [{ type: "human", content: edit }] }, { checkpoint })}
                >
                  Edit
                </button>
              ) : null}
              {message.type === "ai" ? (
                <button className="regenerate" onClick={() => thread.submit(undefined, { checkpoint })}>
                  Regenerate
                </button>
              ) : null}
              {branches.length > 1 ? (
                <span className="branch">{`${branches.indexOf(meta.branch) + 1}/${branches.length}`}</span>
              ) : null}
            </li>
          );
        })}
      </ol>
      {thread.interrupt ? (
        <div id="interrupt">
          waiting for approval <button id="approve" onClick={approve}>Approve</button>
        </div>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          thread.submit({ messages: [{ type: "human", content: input }] });
          setInput("");
        }}
      >
        <input id="question" value={input} onChange={(event) => setInput(event.target.value)} />
        <button id="send" type="submit">Send</button>
        <button id="stop" type="button" onClick={() => thread.stop()}>Stop</button>
      </form>
      <input id="edit" value={edit} onChange={(event) => setEdit(event.target.value)} />
      <input id="other" value={other} onChange={(event) => setOther(event.target.value)} />
      <button id="open" type="button" onClick={() => setThreadId(other)}>Open</button>
      <p id="status">{thread.isLoading ? "loading" : "ready"}</p>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<Chat />);
