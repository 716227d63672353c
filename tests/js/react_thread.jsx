// A page that keeps no conversation of its own, as the AI SDK's docs describe message persistence: on load it
// reads the chat back from the server (GET /api/ai-sdk/chat/threads/<chat>) and gives the messages to
// `useChat({messages})`; a call waiting for approval shows Approve and Reject (`addToolApprovalResponse`), and
// the decision is sent when every approval is answered. Bundled by esbuild in the tests.
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses } from "ai";
import { useState } from "react";
import { createRoot } from "react-dom/client";

const chatId = new URLSearchParams(location.search).get("chat") ?? "chat-1";

function Part({ part, answer }) {
  if (part.type === "text") return <span className="text">{part.text}</span>;
  if (!part.type.startsWith("tool-")) return null;
  const name = part.type.slice(5);
  if (part.state === "approval-requested") {
    return (
      <div className="approval">
        {name} needs your approval
        <button className="approve" onClick={() => answer(part.approval.id, true)}>Approve</button>
        <button className="reject" onClick={() => answer(part.approval.id, false)}>Reject</button>
      </div>
    );
  }
  return <div className={`tool ${part.state}`}>{name}: {part.state}</div>;
}

function Chat({ saved }) {
  const { messages, sendMessage, addToolApprovalResponse, status } = useChat({
    id: chatId,
    messages: saved,
    transport: new DefaultChatTransport({ api: "/api/ai-sdk/chat" }),
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
  });
  const [input, setInput] = useState("");
  const answer = (id, approved) => addToolApprovalResponse({ id, approved, reason: approved ? undefined : "No." });
  return (
    <main>
      <ol id="messages">
        {messages.map((message) => (
          <li key={message.id} className={message.role} data-id={message.id}>
            {message.parts.map((part, index) => <Part key={index} part={part} answer={answer} />)}
          </li>
        ))}
      </ol>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          sendMessage({ text: input });
          setInput("");
        }}
      >
        <input id="question" value={input} onChange={(event) => setInput(event.target.value)} />
        <button id="send" type="submit">Send</button>
      </form>
      <p id="status">{status}</p>
    </main>
  );
}

async function main() {
  const read = await fetch(`/api/ai-sdk/chat/threads/${encodeURIComponent(chatId)}`);
  const saved = read.ok ? (await read.json()).messages : [];
  createRoot(document.getElementById("root")).render(<Chat saved={saved} />);
}

main();
