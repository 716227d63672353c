"""The example page's chats, in Chromium: a sidebar of the browser's chats (newest first), new chat, open, rename,
delete; a reload reopens the chat in the address with its messages, the approval it waits for (shown once) and
its to-do list — in one process on memory, and across two processes on PostgreSQL. And a React ``useChat`` page
that reads its chat back from the server: reloaded, it shows the chat and its pending approval."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from example_app import create_app
from quart_llmstream import StreamResult

from helpers import app_process, eventually
from pages import bundle, serve_page
from postgres import postgres_server, prepare

NOTE = "Send a note to Ann saying hello"


async def ask(page: Page, question: str, status: str = "done") -> None:
    await page.fill("#question", question)
    await page.click("#send")
    await page.wait_for_function(f"document.getElementById('status').textContent === {status!r}")


async def sidebar(page: Page) -> list[str]:
    await page.wait_for_timeout(200)  # the list refreshes after each turn
    return await page.locator("#thread-list .open").all_text_contents()


async def todos(page: Page) -> list[str]:
    return [item.removesuffix(" Remove") for item in await page.locator("#todo-list li").all_text_contents()]


async def start_waiting_chat(page: Page, url: str) -> str:
    """A chat with an answer, a to-do item and a note waiting for approval; its thread id."""
    await page.goto(url)
    await ask(page, "What is SSE?")
    await page.fill("#todo-text", "bread")
    await page.click("#add-todo button")
    await ask(page, NOTE, "waiting for your decision")
    return page.url.split("?thread=")[1]


async def shows_the_waiting_chat(page: Page) -> None:
    await page.wait_for_function("document.querySelectorAll('.turn.user').length === 2")
    users = await page.locator(".turn.user").all_text_contents()
    assert users == ["What is SSE?", NOTE]
    assert (await page.locator(".assistant .answer").first.text_content() or "").startswith("(demo model)")
    assert await page.locator(".approval").count() == 1
    shown = await page.locator(".assistant .tools > .tool").all_text_contents()
    assert not [line for line in shown if line.startswith("send_note(")], "the waiting call shows once"
    assert await todos(page) == ["bread"]
    assert await page.locator("#status").text_content() == "waiting for your decision"


async def test_a_reload_reopens_the_chat_and_the_sidebar_opens_renames_and_deletes(page: Page, server: Any) -> None:
    async with server(create_app({"DEMO_SECONDS_PER_TOKEN": 0.005})) as url:
        thread = await start_waiting_chat(page, url)
        assert await page.locator(".approval").count() == 1 and not await page.locator(".tools > .tool").count()
        await page.reload()
        await shows_the_waiting_chat(page)
        await page.click(".approval button.approve")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        answer = await page.locator(".assistant .answer").last.text_content()
        assert await sidebar(page) == ["What is SSE?"]
        page.once("dialog", lambda dialog: dialog.accept("Notes to Ann"))
        await page.click("#thread-list .rename")
        await page.wait_for_function("document.querySelector('#thread-list .open').textContent === 'Notes to Ann'")
        await page.click("#new-chat")
        assert await page.locator(".turn").count() == 0 and await todos(page) == []
        await ask(page, "Hello there")
        assert await sidebar(page) == ["Hello there", "Notes to Ann"]
        await page.click("#thread-list li:nth-child(2) .open")
        await page.wait_for_function("document.querySelectorAll('.turn.user').length === 2")
        assert page.url.endswith(f"?thread={thread}")
        page.once("dialog", lambda dialog: dialog.accept())
        await page.click("#thread-list li:nth-child(1) .delete")
        await page.wait_for_function("document.querySelectorAll('#thread-list li').length === 1")
        assert await sidebar(page) == ["Notes to Ann"]
    assert answer == "(demo model) Done: the note to Ann was sent (demo: nothing left the server)."


async def test_a_chat_begun_on_one_process_is_reopened_and_approved_on_another_on_postgres(page: Page) -> None:
    async with AsyncExitStack() as stack:
        database = await stack.enter_async_context(postgres_server())
        await prepare(database)
        env = {"DATABASE_URL": database, "DEMO_SECONDS_PER_TOKEN": "0.005"}
        (one, _), (two, _) = [await stack.enter_async_context(app_process("example_app", **env)) for _ in range(2)]
        thread = await start_waiting_chat(page, one)
        await page.goto(f"{two}/?thread={thread}")
        await shows_the_waiting_chat(page)
        assert await sidebar(page) == ["What is SSE?"]
        await page.click(".approval button.approve")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        answer = await page.locator(".assistant .answer").last.text_content()
        page.once("dialog", lambda dialog: dialog.accept())
        await page.click("#thread-list .delete")
        await page.wait_for_function("document.querySelectorAll('#thread-list li').length === 0")
        await page.goto(f"{one}/?thread={thread}")
        await page.wait_for_timeout(300)
        assert await page.locator(".turn").count() == 0 and await sidebar(page) == []
    assert answer == "(demo model) Done: the note to Ann was sent (demo: nothing left the server)."


# A page built as the AI SDK documents message persistence: useChat({messages}) from the thread read back.


@pytest.fixture(scope="module")
def thread_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle("react_thread.jsx", tmp_path_factory.mktemp("react-thread"))


async def test_a_use_chat_page_reloaded_shows_the_chat_and_its_pending_approval_and_approving_works(
    page: Page, server: Any, thread_bundle: Path
) -> None:
    app = serve_page(create_app({"DEMO_SECONDS_PER_TOKEN": 0.005}), "/react", thread_bundle)

    async with server(app) as url:
        await page.goto(f"{url}/react?chat=kept")
        for question, answers in (("What is SSE?", 2), (NOTE, 4)):
            await page.fill("#question", question)
            await page.click("#send")
            await page.wait_for_function(f"document.querySelectorAll('#messages li').length === {answers}")
            await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        await page.wait_for_selector(".approval")
        await page.reload()
        await page.wait_for_selector(".approval")
        shown = await page.locator("#messages li").all_text_contents()
        await page.click(".approval .approve")
        await page.wait_for_function("document.querySelector('#messages li:last-child .tool.output-available')")
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        last = await page.locator("#messages li.assistant").last.text_content() or ""
    assert shown[0] == "What is SSE?" and shown[2] == NOTE and len(shown) == 4
    assert shown[1].startswith("(demo model)") and "send_note needs your approval" in shown[3]
    assert "Done: the note to Ann was sent" in last


# useStream from @langchain/langgraph-sdk/react over the example app's LangGraph protocol.


def use_stream_app(script: Path, seconds_per_token: float) -> tuple[Any, list[StreamResult]]:
    """The example app with the useStream page at ``/use-stream``, and the results of its runs as they end."""
    ended: list[StreamResult] = []
    app = create_app({"DEMO_SECONDS_PER_TOKEN": seconds_per_token, "LLMSTREAM_ON_END": lambda _, r: ended.append(r)})
    return serve_page(app, "/use-stream", script), ended


@pytest.fixture(scope="module")
def use_stream_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle("use_stream.jsx", tmp_path_factory.mktemp("use-stream"))


async def test_use_stream_streams_shows_a_call_resumes_an_interrupt_stops_and_opens_another_thread(
    page: Page, server: Any, use_stream_bundle: Path
) -> None:
    app, ended = use_stream_app(use_stream_bundle, seconds_per_token=0.02)

    async def send(question: str) -> None:
        await page.fill("#question", question)
        await page.click("#send")

    async with server(app) as url:
        await page.goto(f"{url}/use-stream")
        await send("What is SSE?")
        await page.wait_for_function("document.getElementById('status').textContent === 'loading'")
        lengths = set()
        for _ in range(20):  # the answer grows word by word
            lengths.add(len(await page.locator("#messages li.ai .text").last.text_content() or ""))
            await page.wait_for_timeout(25)
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        first = await page.locator("#thread").text_content()
        await send("What is the weather in Paris?")
        await page.wait_for_selector("#messages .call")
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        call = await page.locator("#messages .call").first.text_content()
        await send(NOTE)
        await page.wait_for_selector("#interrupt")
        await page.click("#approve")
        await page.wait_for_function("!document.getElementById('interrupt')")
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        approved = await page.locator("#messages li.ai .text").last.text_content()
        await page.goto(f"{url}/use-stream")  # a new thread
        await send("Tell me a long story " * 3)
        await page.wait_for_function("document.querySelector('#messages li.ai .text')?.textContent.length > 5")
        await page.click("#stop")  # its request says on_disconnect "cancel": the run ends with the connection
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        await eventually(lambda: len(ended) == 5)
        await page.fill("#other", first or "")
        await page.click("#open")
        await page.wait_for_function("document.querySelectorAll('#messages li.human').length === 3")
        reopened = await page.locator("#messages li.human .text").all_text_contents()
    assert len(lengths) > 3, "the answer came word by word"
    assert call == "get_weather"
    assert approved == "(demo model) Done: the note to Ann was sent (demo: nothing left the server)."
    assert [result.status for result in ended] == ["completed", "completed", "interrupted", "completed", "cancelled"]
    assert reopened == ["What is SSE?", "What is the weather in Paris?", NOTE]


async def test_use_stream_reloaded_mid_run_rejoins_it_and_shows_each_token_once(
    page: Page, server: Any, use_stream_bundle: Path
) -> None:
    app, ended = use_stream_app(use_stream_bundle, seconds_per_token=0.05)

    async with server(app) as url:
        await page.goto(f"{url}/use-stream?reconnect")
        await page.fill("#question", "What is SSE?")
        await page.click("#send")
        await page.wait_for_function("document.querySelector('#messages li.ai .text')?.textContent.length > 10")
        await page.reload()  # mid-run: the run goes on, and the page rejoins it
        await eventually(lambda: len(ended) == 1, seconds=30)
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        await page.wait_for_timeout(300)
        answers = await page.locator("#messages li.ai .text").all_text_contents()
    assert [result.status for result in ended] == ["completed"], "the reload did not cancel the run"
    assert answers == [ended[0].text], "the whole answer, each token once"


async def test_use_stream_edits_a_question_and_regenerates_an_answer_as_branches(
    page: Page, server: Any, use_stream_bundle: Path
) -> None:
    """LangChain's branching: an answer regenerated (``submit(undefined, {checkpoint})``) and an earlier question
    edited (``submit({messages}, {checkpoint})``), each from its message's parent checkpoint, become branches
    useStream shows (``2/2``); the weather tool the regenerated answer came after does not run again."""
    app, ended = use_stream_app(use_stream_bundle, seconds_per_token=0.005)

    async def ready() -> None:
        await page.wait_for_function("document.getElementById('status').textContent === 'ready'")

    async with server(app) as url:
        await page.goto(f"{url}/use-stream")
        for count, question in enumerate(("What is SSE?", "What is the weather in Paris?"), 1):
            await page.fill("#question", question)
            await page.click("#send")
            await eventually(lambda count=count: len(ended) == count, seconds=30)
            await ready()
        before = await page.locator("#messages li").all_text_contents()
        await page.locator("#messages li.ai .regenerate").last.click()
        await page.wait_for_selector("#messages li.ai:last-child .branch")
        await ready()
        regenerated = await page.locator("#messages li").all_text_contents()
        branch = await page.locator("#messages li.ai:last-child .branch").text_content()
        await page.fill("#edit", "What is HTTP?")
        await page.locator("#messages li.human .edit").first.click()
        await page.wait_for_selector("#messages li.human .branch")
        await ready()
        humans = await page.locator("#messages li.human .text").all_text_contents()
        edited_branch = await page.locator("#messages li.human .branch").first.text_content()
        answers = await page.locator("#messages li.ai .text").all_text_contents()
    assert branch == "2/2" and regenerated[:-1] == before[:-1], "the last answer only, a second branch of it"
    assert regenerated[-1].startswith("(demo model) The demo weather tool says")
    assert [r.status for r in ended] == ["completed"] * 4
    assert len(regenerated) == len(before), "no tool ran again: the same call, the same result, a new answer"
    assert humans == ["What is HTTP?"] and edited_branch == "2/2" and len(answers) == 1
