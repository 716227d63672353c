"""The runnable's input, below any server: the conversation for any runnable, a resume only for a thread."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from werkzeug.datastructures import Headers

from quart_llmstream.errors import RequestError
from quart_llmstream.request import ChatRequest, Resume
from quart_llmstream.run.inputs import runnable_input


def request(**fields: object) -> ChatRequest:
    history = [HumanMessage("Hi"), AIMessage("Hello!")]
    base = {"question": "How are you?", "chat_history": history, "body": {}, "headers": Headers()}
    return ChatRequest(**(base | {"messages": [*history, HumanMessage("How are you?")]} | fields))  # type: ignore[arg-type]


async def test_any_runnable_gets_the_question_the_history_and_the_whole_conversation() -> None:
    chat_request = request()
    made = await runnable_input(chat_request)
    assert made.value == {
        "question": "How are you?",
        "chat_history": chat_request.chat_history,
        "messages": chat_request.messages,
    }
    assert made.opening == ()


async def test_the_clients_state_is_taken_for_the_shared_keys_only_and_must_fit_the_schema() -> None:
    from typing import TypedDict

    class State(TypedDict):
        todos: list[str]
        secret: str

    graph = SimpleNamespace(builder=SimpleNamespace(state_schema=State))
    made = await runnable_input(request(state={"todos": ["a"], "secret": "x"}), graph, None, ("todos",))
    assert made.value["todos"] == ["a"] and "secret" not in made.value
    with pytest.raises(RequestError) as caught:
        await runnable_input(request(state={"todos": 5}), graph, None, ("todos",))
    assert caught.value.status == 400 and caught.value.detail.startswith("state.todos")


async def test_a_resume_needs_a_checkpointer_and_a_thread_id() -> None:
    resume = request(resume=Resume(value="Paris", has_value=True))
    with pytest.raises(RequestError, match="no checkpointer"):
        await runnable_input(resume)
    checkpointed = SimpleNamespace(checkpointer=object())
    with pytest.raises(RequestError, match="no thread id"):
        await runnable_input(resume, checkpointed, None)
