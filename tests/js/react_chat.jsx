// A page built as the AI SDK documents it: `useChat` from @ai-sdk/react with `resume: true`, over the
// blueprint's AI SDK protocol. It keeps its messages in localStorage, as an app that persists its chat does,
// so a reload shows what it had and then resumes whatever still runs. Bundled by esbuild in the tests.
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

const chatId = new URLSearchParams(location.search).get("chat") ?? "chat-1";
const saved = JSON.parse(localStorage.getItem(chatId) ?? "[]");

function Chat() {
  const { messages, sendMessage, status } = useChat({
    id: chatId,
    messages: saved,
    resume: true,
    transport: new DefaultChatTransport({ api: "/api/ai-sdk/chat" }),
  });
  const [input, setInput] = useState("");
  useEffect(() => {
    if (status === "ready") localStorage.setItem(chatId, JSON.stringify(messages));
  }, [messages, status]);
  return (
    <main>
      <ol id="messages">
        {messages.map((message) => (
          <li key={message.id} className={message.role} data-id={message.id}>
            {message.parts.filter((part) => part.type === "text").map((part) => part.text).join("")}
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

createRoot(document.getElementById("root")).render(<Chat />);
