"""The example's chat page in headless Chromium (Debian's package), driven by Playwright.

A failing test leaves a screenshot, whose path it prints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from example_app import create_app
from quart_llmstream import ChatRequest, StreamResult

from helpers import Cutter, eventually
from pages import bundle, serve_page


@asynccontextmanager
async def example(server: Any, seconds_per_token: float = 0.03) -> AsyncIterator[tuple[str, list[StreamResult]]]:
    ended: list[StreamResult] = []

    def on_end(chat_request: ChatRequest, result: StreamResult) -> None:
        ended.append(result)

    app = create_app({"DEMO_SECONDS_PER_TOKEN": seconds_per_token, "LLMSTREAM_ON_END": on_end})
    async with server(app) as url:
        yield url, ended


async def ask(page: Page, question: str) -> None:
    await page.fill("#question", question)
    await page.click("#send")


async def last_answer(page: Page) -> str:
    return await page.locator(".assistant .answer").last.text_content() or ""


async def test_answers_render_incrementally_and_follow_ups_use_the_history(page: Page, server: Any) -> None:
    async with example(server) as (url, ended):
        await page.goto(url)
        await ask(page, "What is SSE?")
        lengths = set()
        while await page.text_content("#status") != "done":
            lengths.add(len(await last_answer(page)))
            await asyncio.sleep(0.01)
        answer = await last_answer(page)
        assert answer.startswith("(demo model) You asked: What is SSE? This is message 1 of our conversation.")
        assert answer == ended[-1].text  # what the server sent is what the page shows
        intermediate = {n for n in lengths if 0 < n < len(answer)}
        assert len(intermediate) >= 5, f"the answer did not grow token by token: {sorted(lengths)}"

        await ask(page, "And what did I ask before?")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        follow_up = await last_answer(page)
        assert "This is message 2 of our conversation. Earlier you asked: What is SSE?" in follow_up


async def test_stop_aborts_the_request_and_the_server_cancels_the_run(page: Page, server: Any) -> None:
    async with example(server, seconds_per_token=0.1) as (url, ended):
        await page.goto(url)
        await ask(page, "Tell me a long story")
        await page.wait_for_function("document.querySelector('.assistant .answer')?.textContent.length > 20")
        await page.click("#stop")
        await page.wait_for_function("document.getElementById('status').textContent === 'stopped'")
        await eventually(lambda: ended)
        assert [result.status for result in ended] == ["cancelled"]
        assert 20 < len(ended[0].text) < 200


async def test_model_output_is_shown_as_text_never_as_html(page: Page, server: Any) -> None:
    payload = "<img src=x onerror=alert(1)>"
    async with example(server) as (url, _):
        await page.goto(url)
        await ask(page, payload)
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        assert payload in await last_answer(page)
        assert await page.locator("#log img").count() == 0
        assert page.dialogs == []  # type: ignore[attr-defined]


async def test_tool_calls_and_results_are_shown(page: Page, server: Any) -> None:
    async with example(server) as (url, _):
        await page.goto(url)
        await ask(page, "What is the weather in Paris?")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        tools = await page.locator(".assistant .tool").all_text_contents()
        assert tools == ['get_weather({"city": "Paris"})', "→ sunny and 21 degrees in Paris (demo data)"]
        assert (
            await last_answer(page)
            == "(demo model) The demo weather tool says: sunny and 21 degrees in Paris (demo data)."
        )


async def test_a_tool_the_page_runs_answers_the_model_and_the_answer_goes_on(page: Page, server: Any) -> None:
    """The model calls the browser's clock: the page runs it and sends the result back on the same thread."""
    async with example(server) as (url, ended):
        await page.goto(url)
        await ask(page, "What time is it?")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        call, result = await page.locator(".assistant .tool").all_text_contents()
        assert call == "get_local_time({})"
        browser_time = result.removeprefix("→ ")
        assert browser_time.startswith(await page.evaluate("new Date().toString().slice(0, 15)"))
        assert await last_answer(page) == f"(demo model) Your browser says it is {browser_time} where you are."
        assert [result.status for result in ended] == ["completed", "completed"], "the call, then its continuation"

        await ask(page, "What did I ask before?")
        await page.wait_for_function("document.querySelectorAll('.assistant .answer').length === 2")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        assert "This is message 2 of our conversation. Earlier you asked: What time is it?" in await last_answer(page)


async def test_a_dropped_connection_resumes_and_the_answer_shows_once_whole(page: Page, server: Any) -> None:
    async with example(server, seconds_per_token=0.05) as (url, ended):
        cutter = Cutter(url)  # the page talks to the server through a proxy that can drop its connections
        async with cutter as proxy_url:
            await page.goto(proxy_url)
            await ask(page, "Tell me a long story")
            await page.wait_for_function("document.querySelector('.assistant .answer')?.textContent.length > 20")
            assert not ended, "the connection drops mid-answer"
            connections_before_cut = cutter.connections
            cutter.cut()
            done = "document.getElementById('status').textContent === 'done'"
            await page.wait_for_function(done, timeout=20_000)
            assert cutter.connections > connections_before_cut, "the page reconnected"
        assert [result.status for result in ended] == ["completed"]
        assert await last_answer(page) == ended[0].text


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_a_call_that_needs_approval_waits_for_the_users_decision(page: Page, server: Any, decision: str) -> None:
    """``send_note`` runs under ``HumanInTheLoopMiddleware``: the answer stops at the interrupt, the page shows
    the call with Approve and Reject, and the decision resumes the thread."""
    async with example(server) as (url, ended):
        await page.goto(url)
        await ask(page, "Send a note to Ann saying hello")
        await page.wait_for_function("document.getElementById('status').textContent === 'waiting for your decision'")
        waiting = await page.locator(".assistant .approval .tool").text_content()
        assert waiting == 'send_note({"to":"Ann","text":"hello"}) needs your approval'
        assert [result.status for result in ended] == ["interrupted"]
        await page.click(f".assistant .approval button.{decision}")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        answer = await last_answer(page)
        assert [result.status for result in ended] == ["interrupted", "completed"]
    if decision == "approve":
        assert answer == "(demo model) Done: the note to Ann was sent (demo: nothing left the server)."
    else:
        assert answer.startswith("(demo model) Nothing was sent: User rejected the tool call for `send_note`")


async def test_the_to_do_list_is_shared_the_page_edits_it_and_the_agent_edits_it(page: Page, server: Any) -> None:
    """The page's list goes with each request as the thread's state; the agent's tool changes it, and the page
    follows the tool's argument as the model writes it (predicted), then the state the graph confirms."""
    async with example(server) as (url, _):
        await page.goto(url)
        await page.fill("#todo-text", "bread")
        await page.click("#add-todo button")
        await ask(page, "Add milk to my list")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        items = await page.locator("#todo-list li").all_text_contents()
        assert [item.removesuffix(" Remove") for item in items] == ["bread", "milk"]
        assert await last_answer(page) == "(demo model) Done: the to-do list now has 2 items."
        await page.click("#todo-list li:first-child button.remove")  # the page edits it too
        await ask(page, "Add eggs to my list")
        await page.wait_for_function("document.querySelectorAll('.assistant .answer').length === 2")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        items = await page.locator("#todo-list li").all_text_contents()
    assert [item.removesuffix(" Remove") for item in items] == ["milk", "eggs"]


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG of a grey square, small enough to attach."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_an_attached_image_shows_as_a_thumbnail_reaches_the_model_and_is_there_after_a_reload(
    page: Page, server: Any
) -> None:
    picture = png()
    async with example(server) as (url, _):
        await page.goto(url)
        await page.set_input_files("#files", files=[{"name": "grey.png", "mimeType": "image/png", "buffer": picture}])
        await ask(page, "What is in the picture?")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        thumbnail = page.locator(".user img.thumbnail")
        assert await thumbnail.get_attribute("alt") == "grey.png"
        assert await thumbnail.evaluate("image => image.naturalWidth") == 2, "the thumbnail shows the picture"
        answer = await last_answer(page)
        await page.reload()  # the chat in the address is read back from its thread, the picture with it
        await page.wait_for_function("document.querySelector('.user img.thumbnail')?.naturalWidth === 2")
        assert await page.locator(".user img.thumbnail").count() == 1
    assert answer.startswith(f"(demo model) You sent 1 attachment: image/png, {len(picture)} bytes. You asked:")


# A page built as the AI SDK documents it (useChat from @ai-sdk/react, resume on), bundled by esbuild.


@pytest.fixture(scope="module")
def react_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle("react_chat.jsx", tmp_path_factory.mktemp("react"))


@asynccontextmanager
async def react_example(server: Any, script: Path) -> AsyncIterator[str]:
    async with server(serve_page(create_app({"DEMO_SECONDS_PER_TOKEN": 0.01}), "/react", script)) as url:
        yield url


async def react_ask(page: Page, question: str, messages: int) -> None:
    await page.fill("#question", question)
    await page.click("#send")
    await page.wait_for_function(f"document.querySelectorAll('#messages li').length === {messages}")
    await page.wait_for_function("document.getElementById('status').textContent === 'ready'")


async def test_use_chat_keeps_every_answer_of_a_multi_turn_chat_with_resume_on(
    page: Page, server: Any, react_bundle: Path
) -> None:
    """Each answer has its own message id: with one id per chat, the second answer replaced the first."""
    async with react_example(server, react_bundle) as url:
        await page.goto(f"{url}/react?chat=multi")
        await react_ask(page, "What is SSE?", 2)
        await react_ask(page, "What did I ask before?", 4)
        roles = await page.eval_on_selector_all("#messages li", "items => items.map(i => i.className)")
        ids = await page.eval_on_selector_all("#messages li.assistant", "items => items.map(i => i.dataset.id)")
        answers = await page.locator("#messages li.assistant").all_text_contents()
    assert roles == ["user", "assistant", "user", "assistant"]
    assert len(set(ids)) == 2
    assert answers[0].startswith("(demo model) You asked: What is SSE? This is message 1")
    assert "This is message 2 of our conversation. Earlier you asked: What is SSE?" in answers[1]


async def test_use_chat_reloaded_after_an_answer_ended_shows_it_once(
    page: Page, server: Any, react_bundle: Path
) -> None:
    """On load ``useChat({resume: true})`` asks for the chat's stream: a finished one is ``204``, not a replay."""
    async with react_example(server, react_bundle) as url:
        await page.goto(f"{url}/react?chat=reload")
        await react_ask(page, "What is SSE?", 2)
        answered = await page.locator("#messages li.assistant").all_text_contents()
        resumes: list[int] = []
        page.on("response", lambda r: resumes.append(r.status) if r.url.endswith("/reload/stream") else None)
        await page.reload()
        await eventually(lambda: resumes, seconds=10)
        await asyncio.sleep(0.5)  # time for a replay to show, if one came
        after = await page.locator("#messages li.assistant").all_text_contents()
    assert resumes == [204]
    assert after == answered


async def test_thumbs_on_an_answer_rate_its_run_and_the_metrics_count_it(page: Page, server: Any) -> None:
    from quart_llmstream import Feedback

    rated: list[tuple[ChatRequest, Feedback]] = []
    ended: list[StreamResult] = []
    app = create_app({
        "DEMO_SECONDS_PER_TOKEN": 0.0,
        "LLMSTREAM_ON_END": lambda _, result: ended.append(result),
        "LLMSTREAM_ON_FEEDBACK": lambda chat_request, feedback: rated.append((chat_request, feedback)),
    })  # fmt: skip
    async with server(app) as url:
        await page.goto(url)
        await ask(page, "What is SSE?")
        await page.wait_for_function("document.getElementById('status').textContent === 'done'")
        await page.locator(".assistant .thumbs-down").last.click()
        await page.wait_for_selector(".assistant .rated")
        assert (await page.locator(".assistant .rated").last.text_content() or "").strip() == "thanks"
        assert await page.locator(".assistant .thumbs-up").last.is_disabled()
        async with httpx.AsyncClient() as client:
            exposition = (await client.get(f"{url}/metrics")).text
            proxied = await client.get(f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403, "this host's scraper only: not a client a proxy on this host forwards"
    [(asking, feedback)] = rated
    assert (feedback.run_id, feedback.score) == (ended[-1].run_id, 0.0)
    assert feedback.thread_id is not None and asking.thread_id == feedback.thread_id
    started = 'llmstream_streams_started_total{llmstream_blueprint="llmstream",llmstream_protocol="native"} 1.0'
    assert started in exposition
