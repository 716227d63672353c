"""The LangGraph protocol against the real thing: the same graph served by LangGraph's own server (``langgraph dev``,
from ``langgraph-cli[inmem]``) and by this blueprint, the same client code (``langgraph-sdk``) run against both,
and the answers compared — the events of each stream mode in the same order with the same data, the thread's
state, history and interrupts — ids, timestamps and the servers' own metadata aside."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from langchain_core.messages import convert_to_messages
from langgraph.store.memory import InMemoryStore
from langgraph_sdk import get_client
from quart import Quart

from quart_llmstream import LLMStream, create_blueprint
from quart_llmstream.run.threads.messages import CANCELLED

from helpers import SUPPORT, free_port, listening, running, subprocess_env

sys.path.insert(0, str(SUPPORT / "langgraph_reference"))
from graph import build, build_nested

REFERENCE = SUPPORT / "langgraph_reference"
MODES = ["values", "messages-tuple", "updates", "custom", "events", "tasks", "checkpoints", "debug"]
USE_STREAMS_MODES = ["values", "messages-tuple"]
VOLATILE = {
    "id",
    "run_id",
    "thread_id",
    "checkpoint_id",
    "parent_checkpoint_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "timestamp",
    "parent_ids",
    "parents",  # a subgraph's checkpoint's metadata: its parents' checkpoint ids
}
VOLATILE |= {"checkpoint", "parent_checkpoint", "checkpoint_ns", "task_id", "lc_run_id", "assistant_id", "graph_id"}


@asynccontextmanager
async def langgraph_dev() -> AsyncIterator[str]:
    """LangGraph's own server on a free port (it listens once ready, some seconds in), run in a copy of the folder
    (it writes files of its own beside the graph), the tests' fakes importable."""
    langgraph = shutil.which("langgraph") or str(Path(sys.executable).parent / "langgraph")
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "reference"
        shutil.copytree(REFERENCE, folder)
        command = [langgraph, "dev", "--no-browser", "--no-reload", "--port", str(port), "--allow-blocking"]
        log = (Path(scratch) / "server.log").open("wb")
        process = subprocess.Popen(
            command, cwd=folder, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            await listening(port, seconds=90)
            yield f"http://127.0.0.1:{port}"
        except BaseException:
            print((Path(scratch) / "server.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            os.killpg(process.pid, 15)  # it serves from a child process: the whole group
            await asyncio.to_thread(process.wait, 20)
            log.close()


def ours() -> Quart:
    """The blueprint serving the graph, its store also the threads' records' (as an app keeps them in one), its
    runs' streams kept (for background runs to be joined)."""
    app = Quart(__name__)
    graph = build(checkpointer=True, store=InMemoryStore())
    LLMStream(app, thread_store=graph.store)
    served = create_blueprint(lambda _: graph, name="agent", protocol="langgraph", single_user=True, resume="memory")
    app.register_blueprint(served)  # its runs kept: listed, joined
    nested = build_nested(checkpointer=True)
    served = create_blueprint(lambda _: nested, name="nested", protocol="langgraph", single_user=True)
    app.register_blueprint(served, url_prefix="/nested")  # LangGraph's server serves both graphs at one address
    return app


# what LangGraph's server adds to a checkpoint's metadata (to a subgraph's, its run's checkpoint_map)
SERVERS_OWN = {"created_by", "run_attempt", "user_id", "checkpoint_map"}


def plain(value: Any) -> Any:
    """``value`` with what differs between any two runs left out: ids, timestamps, the servers' own metadata."""
    if isinstance(value, dict):
        return {
            key: plain(item)
            for key, item in value.items()
            if key not in VOLATILE and key not in SERVERS_OWN and not key.startswith(("langgraph_", "__"))
        }
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def event_part(event: dict[str, Any]) -> Any:
    """An ``events`` frame. The root's input is the graph's input: the client's messages, as this server checked
    them (LangChain's messages, beside ``question`` and ``chat_history``), as LangGraph's server got them (the
    client's dicts): compared as messages; a resume, as the value each interrupt gets."""
    graph_input = event.get("data", {}).get("input", {})
    if event.get("event") != "on_chain_start" or event.get("parent_ids") or not isinstance(graph_input, dict):
        return plain(event)
    if "messages" in graph_input:
        graph_input = [(message.type, message.text) for message in convert_to_messages(graph_input["messages"])]
    elif "resume" in graph_input:  # this server's Command answers each interrupt by its id, checked
        resume = graph_input["resume"]
        keys = list(resume) if isinstance(resume, dict) else []
        graph_input = resume[keys[0]] if len(keys) == 1 and is_interrupt_id(keys[0]) else resume
    return plain(event | {"data": {"input": graph_input}})


def is_interrupt_id(key: str) -> bool:
    return len(key) == 32 and all(character in "0123456789abcdef" for character in key)


def history_part(states: list[dict[str, Any]]) -> list[Any]:
    """A thread's history. The input of each run (the ``__start__`` task's result): compared as messages (this
    server stores them checked, LangGraph's as the client sent them)."""
    for state in states:
        for task in state["tasks"]:
            result = task["result"]
            if task["name"] == "__start__" and isinstance(result, dict) and "messages" in result:
                task["result"] = [(message.type, message.text) for message in convert_to_messages(result["messages"])]
    return [plain(state) for state in states]


def message_part(data: Any) -> Any:
    """A ``messages`` frame: the chunk, and of its metadata the node and step (the rest is each server's own)."""
    chunk, metadata = data
    return [plain(chunk), {key: metadata.get(key) for key in ("langgraph_node", "langgraph_step")}]


def first_seen_part(data: dict[str, Any]) -> Any:
    """A ``messages/metadata`` frame (the older ``messages`` mode): the metadata, not the message's id it is under."""
    return [plain(seen) for seen in data.values()]


PARTS = {"messages": message_part, "events": event_part, "messages/metadata": first_seen_part}


TURNS: list[tuple[str, dict[str, Any]]] = [
    ("plain", {"input": {"messages": [{"role": "user", "content": "hello there"}]}}),
    ("tool", {"input": {"messages": [{"role": "user", "content": "the weather please"}]}}),
    ("interrupt", {"input": {"messages": [{"role": "user", "content": "send a note"}]}}),
    ("resumed", {"command": {"resume": {"decisions": [{"type": "approve"}]}}}),
    ("paused", {"input": {"messages": [{"role": "user", "content": "weather again"}]}, "interrupt_before": ["tools"]}),
    ("went on", {"input": None, "interrupt_after": ["tools"]}),
    ("went on again", {"input": None}),
]


async def streamed(client: Any, thread: str, payload: dict[str, Any]) -> list[tuple[str, Any]]:
    parts = client.runs.stream(thread, "agent", **({"stream_mode": MODES} | payload))
    return [(part.event, PARTS.get(part.event, plain)(part.data)) async for part in parts if part.event != "metadata"]


async def parent_checkpoint_of_last_answer(client: Any, thread: str) -> dict[str, Any]:
    """What useStream's ``getMessagesMetadata(message).firstSeenState.parent_checkpoint`` is for the thread's last
    answer: the checkpoint before the state the answer first appears in."""
    answer = (await client.threads.get_state(thread))["values"]["messages"][-1]["id"]
    history = await client.threads.get_history(thread, limit=100)  # newest first
    first_seen = next(s for s in reversed(history) if answer in [m["id"] for m in s["values"].get("messages", [])])
    return first_seen["parent_checkpoint"]


async def stored(client: Any) -> dict[str, Any]:
    """The store: a memory the agent's tool keeps, read by the client; items put, searched, listed, deleted."""
    seen: dict[str, Any] = {}
    thread = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread, "agent", input={"messages": [{"role": "user", "content": "remember this"}]})
    seen["store, the agent's memory"] = plain(await client.store.get_item(["notes", "memories"], key="m1"))
    await client.store.put_item(["notes", "day"], "k1", {"text": "hello", "n": 1})
    await client.store.put_item(["notes", "day"], "k2", {"text": "bye", "n": 2})
    seen["store, an item"] = plain(await client.store.get_item(["notes", "day"], key="k2"))
    seen["store, none"] = await client.store.get_item(["notes", "day"], key="nope")
    seen["store, found"] = plain(await client.store.search_items(["notes", "day"], filter={"n": 2}))
    found = (await client.store.search_items(["notes"]))["items"]
    seen["store, all"] = sorted((item["key"], item["namespace"]) for item in found)
    seen["store, namespaces"] = sorted((await client.store.list_namespaces())["namespaces"])
    await client.store.delete_item(["notes", "day"], key="k1")
    seen["store, deleted"] = await client.store.get_item(["notes", "day"], key="k1")
    return seen


async def nested_session(url: str) -> dict[str, Any]:
    """A thread stopped inside a subgraph: its state (the subgraph's task, its checkpoint; with ``subgraphs``, the
    subgraph's own state), the state at a checkpoint named as an object, and the run that resumes it."""
    client, seen = get_client(url=url), {}
    thread = (await client.threads.create())["thread_id"]
    seen["nested, stopped"] = plain(await client.runs.wait(thread, "nested", input={"topic": "tea"}))
    state = await client.threads.get_state(thread)
    seen["nested, state"] = plain(state)
    seen["nested, the task's checkpoint"] = sorted(state["tasks"][0]["checkpoint"] or {})
    deep = await client.threads.get_state(thread, subgraphs=True)
    seen["nested, with subgraphs"] = plain(deep)
    inner = deep["tasks"][0]["state"]["checkpoint"]
    seen["nested, the subgraph's checkpoint"] = plain(await client.threads.get_state(thread, checkpoint=inner))
    seen["nested, at a checkpoint"] = plain(await client.threads.get_state(thread, checkpoint=state["checkpoint"]))
    seen["nested, resumed"] = plain(await client.runs.wait(thread, "nested", command={"resume": "yes"}))
    seen["nested, ended"] = plain(await client.threads.get_state(thread))
    return seen


async def session(url: str) -> dict[str, Any]:
    """The client code both servers get: turns in every stream mode, an interrupt resumed, the thread read."""
    client = get_client(url=url)
    thread = (await client.threads.create())["thread_id"]
    seen: dict[str, Any] = {}
    for label, payload in TURNS[:4]:
        seen[label] = await streamed(client, thread, payload)
        if label == "interrupt":
            seen["waiting"] = plain(await client.threads.get_state(thread))
    seen["state"] = plain(await client.threads.get_state(thread))
    seen["history"] = [plain(state) for state in await client.threads.get_history(thread, limit=4)]
    seen["waited"] = plain(
        await client.runs.wait(thread, "agent", input={"messages": [{"role": "user", "content": "x"}]})
    )
    try:
        await client.runs.wait(thread, "nobody", input={"messages": [{"role": "user", "content": "x"}]})
    except httpx.HTTPStatusError as error:
        seen["unknown assistant"] = error.response.status_code
    for label, options in (("no such thread", {}), ("no such thread, made", {"if_not_exists": "create"})):
        nowhere = str(uuid.uuid4())
        try:
            await client.runs.wait(nowhere, "agent", input={"messages": [{"role": "user", "content": "x"}]}, **options)
            seen[label] = (await client.threads.get(nowhere))["status"]
        except httpx.HTTPStatusError as error:
            seen[label] = error.response.status_code
    for label, payload in TURNS[4:]:  # a breakpoint before the tools, and the run that goes on from it
        seen[label] = await streamed(client, thread, payload)
        if label == "paused":
            seen["paused state"] = plain(await client.threads.get_state(thread))
            seen["paused thread"] = (await client.threads.get(thread))["status"]
    regenerate = await parent_checkpoint_of_last_answer(client, thread)  # useStream's regenerate, as it finds it
    seen["regenerated"] = await streamed(client, thread, {"input": None, "checkpoint": regenerate})
    seen["regenerated state"] = plain(await client.threads.get_state(thread))
    seen["regenerated thread"] = (await client.threads.get(thread))["status"]
    seen["regenerated history"] = [plain(state) for state in await client.threads.get_history(thread, limit=3)]
    gated = (await client.threads.create())["thread_id"]  # an interrupt in useStream's modes: no updates asked for
    note = {"input": {"messages": [{"role": "user", "content": "send a note"}]}, "stream_mode": USE_STREAMS_MODES}
    seen["interrupt, in useStream's modes"] = await streamed(client, gated, note)
    older = {"input": {"messages": [{"role": "user", "content": "the weather please"}]}}
    older_thread = (await client.threads.create())["thread_id"]
    seen["the older messages mode"] = await streamed(
        client, older_thread, older | {"stream_mode": ["messages", "values"]}
    )
    seen |= await stored(client)
    assistant = (await client.assistants.search(graph_id="agent"))[0]["assistant_id"]  # LangGraph's: a UUID
    seen["assistants, counted"] = await client.assistants.count(graph_id="agent")
    for label, ask in (("counted", client.assistants.count), ("searched", client.assistants.search)):
        try:
            seen[f"assistants, of no graph, {label}"] = await ask(graph_id="nobody")
        except httpx.HTTPStatusError as error:
            seen[f"assistants, of no graph, {label}"] = error.response.status_code
    seen["assistants, by metadata"] = await client.assistants.search(graph_id="agent", metadata={"k": "v"})
    seen["assistant's versions"] = plain(await client.assistants.get_versions(assistant))
    seen["graph"] = await client.assistants.get_graph(assistant)
    seen["graph, xray"] = await client.assistants.get_graph(assistant, xray=True)
    seen["schemas"] = await client.assistants.get_schemas(assistant)
    seen["subgraphs"] = await client.assistants.get_subgraphs(assistant, recurse=True)
    return seen


CHAT_UI_ANSWER = "Successfully handled tool call."  # what Agent Chat UI sends for each call left open


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def status_of(call: Any) -> Any:
    """What ``call`` answers, or its HTTP status when it is refused."""
    try:
        return await call
    except httpx.HTTPStatusError as error:
        return error.response.status_code


async def until_waiting(client: Any, thread: str) -> None:
    """Until the run on ``thread`` waits in its tool (the model's call is in the thread's state)."""
    for _ in range(200):
        if (await client.threads.get_state(thread))["next"] == ["tools"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run never reached its tool")


async def queued_in_requests(client: Any, thread: str) -> dict[str, Any]:
    """Runs streamed and waited for (``runs.stream``, ``runs.wait``) that wait their turn, then an interrupt."""

    async def events(text: str, **options: Any) -> list[str]:
        stream = client.runs.stream(thread, "agent", input=ask(text), stream_mode="values", **options)
        return [part.event async for part in stream]

    seen: dict[str, Any] = {}
    going = asyncio.create_task(events("please wait"))
    await until_waiting(client, thread)
    streamed = asyncio.create_task(events("streamed behind", multitask_strategy="enqueue"))
    waited = asyncio.create_task(client.runs.wait(thread, "agent", input=ask("waited"), multitask_strategy="enqueue"))
    await asyncio.sleep(1.0)
    seen["queued in requests, listed"] = [run["status"] for run in await client.runs.list(thread, limit=3)]
    stopping = await client.runs.create(thread, "agent", input=ask("now at last"), multitask_strategy="interrupt")
    await client.runs.join(thread, stopping["run_id"])
    (
        seen["queued in requests, the stream going on"],
        seen["queued in requests, the stream waiting"],
    ) = await asyncio.gather(going, streamed)
    await waited  # LangGraph's server answers the thread's values; this server the run's own (none)
    seen["queued in requests, after"] = [run["status"] for run in await client.runs.list(thread, limit=4)]
    asked = (await client.threads.get_state(thread))["values"]["messages"]
    seen["queued in requests, asked"] = [m["content"] for m in asked if m["type"] == "human"][-2:]
    return seen


async def found(url: str) -> dict[str, Any]:
    """Threads searched by status, ids and metadata past a page, with their values; a new thread's state; a state
    written at an earlier checkpoint (a fork); history filtered by metadata and from a checkpoint."""
    client, seen, tag = get_client(url=url), {}, {"tag": str(uuid.uuid4())}
    gated = (await client.threads.create(metadata=tag))["thread_id"]
    await client.runs.wait(gated, "agent", input=ask("send a note"))  # waits for a decision: interrupted
    idle = [(await client.threads.create(metadata=tag))["thread_id"] for _ in range(3)]
    for thread, word in zip(idle, ("one", "two", "three"), strict=True):
        await client.runs.wait(thread, "agent", input=ask(f"hello {word}"))
    seen["found, interrupted, past a page"] = [
        t["thread_id"] == gated for t in await client.threads.search(metadata=tag, status="interrupted", limit=2)
    ]
    read = await client.threads.get(gated)
    seen["found, a thread's fields"] = sorted(read), read["config"], read["error"]
    seen["found, a thread's interrupts"] = [sorted(i) for i in next(iter(read["interrupts"].values()))]
    by_ids = await client.threads.search(ids=[idle[0], gated])
    seen["found, by ids"] = sorted((t["thread_id"] == gated, t["status"]) for t in by_ids)
    listed = await client.threads.search(metadata=tag, limit=10)
    seen["found, their first messages"] = sorted(t["values"]["messages"][0]["content"] for t in listed)
    oldest_first = await client.threads.search(metadata=tag, sort_by="created_at", sort_order="asc")
    seen["found, oldest first"] = [t["values"]["messages"][0]["content"] for t in oldest_first]
    by_status = await client.threads.search(metadata=tag, sort_by="status", limit=2)
    seen["found, by status"] = [t["status"] for t in by_status]
    by_id = await client.threads.search(metadata=tag, sort_by="thread_id", sort_order="asc")
    seen["found, by id"] = [t["thread_id"] for t in by_id] == sorted(t["thread_id"] for t in by_id)
    selected = await client.threads.search(metadata=tag, select=["thread_id", "status"], limit=2)
    seen["found, selected"] = [sorted(t) for t in selected]
    fresh = (await client.threads.create())["thread_id"]
    state = await client.threads.get_state(fresh)
    seen["found, a new thread's state"] = (state["checkpoint"], state["metadata"], state["values"])
    thread = idle[0]
    await client.runs.wait(thread, "agent", input=ask("and again"))
    earlier = (await client.threads.get_history(thread, metadata={"source": "input"}))[0]  # the second turn's input
    seen["found, inputs"] = len(await client.threads.get_history(thread, metadata={"source": "input"}))
    fork = {"messages": [{"type": "human", "content": "fork"}]}
    written = await client.threads.update_state(thread, fork, checkpoint_id=earlier["checkpoint_id"])
    forked = await client.threads.get_state(thread, checkpoint_id=written["checkpoint"]["checkpoint_id"])
    seen["found, forked"] = [m["content"] for m in forked["values"]["messages"]]
    seen["found, forked from"] = forked["parent_checkpoint"]["checkpoint_id"] == earlier["checkpoint_id"]
    at = {"checkpoint_id": earlier["checkpoint_id"], "checkpoint_ns": ""}
    seen["found, history from a checkpoint"] = len(await client.threads.get_history(thread, checkpoint=at))
    seen["found, history of no thread"] = await status_of(client.threads.get_history(str(uuid.uuid4())))
    return seen


async def stateless_in_the_background(client: Any) -> dict[str, Any]:
    """A run on no thread, in the background (``runs.create(None, ...)``), and a batch of them: answered at once,
    and they run (a tool keeps a memory in the store); one whose thread is kept (``on_completion="keep"``)."""

    async def remembered() -> Any:
        for _ in range(100):
            if item := await client.store.get_item(["notes", "memories"], "m1"):
                return item["value"]
            await asyncio.sleep(0.05)
        return None

    await client.store.delete_item(["notes", "memories"], "m1")
    run = await client.runs.create(None, "agent", input=ask("please remember this"))
    seen = {"stateless in the background": run["status"], "stateless in the background, its effect": await remembered()}
    await client.store.delete_item(["notes", "memories"], "m1")
    runs = await client.runs.create_batch(
        [{"assistant_id": "agent", "input": ask(text)} for text in ("hi", "remember")]
    )
    seen["a batch"] = [(run["status"], run["assistant_id"] is not None) for run in runs]
    seen["a batch, its effect"] = await remembered()
    seen["a batch, not a list"] = await status_of(client.http.post("/runs/batch", json={"assistant_id": "agent"}))
    kept = await client.runs.create(None, "agent", input=ask("keep this one"), on_completion="keep")
    await client.runs.join(kept["thread_id"], kept["run_id"])
    seen["stateless, its thread kept"] = plain(await client.threads.get(kept["thread_id"]))
    seen["stateless, its thread kept, its runs"] = [run["status"] for run in await client.runs.list(kept["thread_id"])]
    waited = await client.runs.wait(None, "agent", input=ask("and this"), on_completion="keep")
    seen["stateless, its thread kept, waited"] = plain(waited)
    bogus = client.http.post("/runs/wait", json={"assistant_id": "agent", "input": ask("x"), "on_completion": "no"})
    seen["stateless, kept or not"] = await status_of(bogus)
    return seen


async def followed(url: str) -> dict[str, Any]:
    """A thread's stream, joined before its runs: a run waited for, then one in the background in two modes; each
    run's frames in its modes, a ``run_done`` after each (``lifecycle``: only those and the runs' starts). The modes
    as LangGraph's server reads them (``stream_modes``: it does not read the ``stream_mode`` its SDKs send)."""
    client = get_client(url=url)
    thread = (await client.threads.create())["thread_id"]
    got: dict[str, list[tuple[str, Any]]] = {"run_modes": [], "lifecycle": []}

    async def follow(mode: str) -> None:
        async for part in await client.threads.join_stream(thread, params={"stream_modes": mode}):
            got[mode].append((part.event, PARTS.get(part.event, plain)(part.data)))

    followers = [asyncio.create_task(follow(mode)) for mode in got]
    await asyncio.sleep(1)  # joined
    await client.runs.wait(thread, "agent", input=ask("hello there"))
    run = await client.runs.create(thread, "agent", input=ask("the weather please"), stream_mode=["updates", "values"])
    await client.runs.join(thread, run["run_id"])
    for _ in range(50):  # the last frame of each follower, at the pace each server looks for them
        if all(frames.count(("metadata", {"status": "run_done"})) == 2 for frames in got.values()):
            break
        await asyncio.sleep(0.1)
    for follower in followers:
        follower.cancel()
    return {f"a thread's stream, {mode}": frames for mode, frames in got.items()}


async def kept(url: str) -> dict[str, Any]:
    """A thread copied, a run of it deleted, runs cancelled (one rolled back, some by ids), threads pruned."""
    client, seen = get_client(url=url), {}
    thread = (await client.threads.create(metadata={"topic": "tea"}))["thread_id"]
    await client.runs.wait(thread, "agent", input=ask("hello there"))
    second = await client.runs.create(thread, "agent", input=ask("and again"))
    await client.runs.join(thread, second["run_id"])
    copy = await client.threads.copy(thread)
    seen["copy"] = plain(copy)
    seen["copy, state"] = plain(await client.threads.get_state(copy["thread_id"]))
    seen["copy, history"] = history_part(await client.threads.get_history(copy["thread_id"]))
    await client.runs.wait(copy["thread_id"], "agent", input=ask("on the copy"))
    seen["copy, after a turn"] = plain(await client.threads.get_state(copy["thread_id"]))
    seen["original, after the copy's turn"] = plain(await client.threads.get_state(thread))
    seen["run deleted"] = await client.runs.delete(thread, second["run_id"])
    seen["run deleted, state"] = plain(await client.threads.get_state(thread))
    seen["run deleted, history"] = history_part(await client.threads.get_history(thread))
    seen["run deleted, run"] = await status_of(client.runs.get(thread, second["run_id"]))
    seen["run deleted, runs"] = len(await client.runs.list(thread))
    waiting = await client.runs.create(thread, "agent", input=ask("please wait"))
    await until_waiting(client, thread)
    cancel = client.runs.cancel(thread, waiting["run_id"], wait=True, action="rollback")
    seen["rolled back, cancel"] = plain(await status_of(cancel))
    seen["rolled back, state"] = plain(await client.threads.get_state(thread))
    seen["rolled back, run"] = await status_of(client.runs.get(thread, waiting["run_id"]))
    seen["rolled back, thread"] = (await client.threads.get(thread))["status"]
    waiting = await client.runs.create(thread, "agent", input=ask("please wait"))
    await until_waiting(client, thread)
    seen["cancelled by ids"] = await client.runs.cancel_many(thread_id=thread, run_ids=[waiting["run_id"]])
    await client.runs.join(thread, waiting["run_id"])
    seen["cancelled by ids, run"] = (await client.runs.get(thread, waiting["run_id"]))["status"]
    seen["cancelled by ids, state"] = plain(await client.threads.get_state(thread))
    seen["cancelled by ids, thread"] = (await client.threads.get(thread))["status"]
    done = {"type": "tool", "tool_call_id": "call_wait_1", "name": "wait_a_while", "content": CHAT_UI_ANSWER}
    after = await client.runs.wait(thread, "agent", input={"messages": [done, {"type": "human", "content": "hi"}]})
    seen["after a stop, as Agent Chat UI goes on"] = [(m["type"], m["content"]) for m in after["messages"][-3:]]
    waiting = await client.runs.create(thread, "agent", input=ask("please wait"))
    await until_waiting(client, thread)
    queued = await client.runs.create(
        thread, "agent", input=ask("then this"), multitask_strategy="enqueue", metadata={"who": "ann"}
    )
    read, again = await client.runs.get(thread, queued["run_id"]), await client.runs.get(thread, queued["run_id"])
    seen["queued, described"] = (  # LangGraph's server adds its own and the thread's metadata to the run's
        read["metadata"]["who"],
        read["multitask_strategy"],
        read["created_at"] == again["created_at"],
    )
    dropped = await client.runs.create(thread, "agent", input=ask("never this"), multitask_strategy="enqueue")
    seen["queued"] = queued["status"], dropped["status"]
    seen["queued, listed"] = [run["status"] for run in await client.runs.list(thread, limit=3)]
    await client.runs.cancel(thread, dropped["run_id"], wait=True)
    seen["queued, one cancelled"] = (await client.runs.get(thread, dropped["run_id"]))["status"]
    await client.runs.cancel(thread, waiting["run_id"])
    await client.runs.join(thread, queued["run_id"])
    seen["queued, ran"] = (await client.runs.get(thread, queued["run_id"]))["status"]
    asked = (await client.threads.get_state(thread))["values"]["messages"]
    seen["queued, asked"] = [m["content"] for m in asked if m["type"] == "human"][-2:]
    waiting = await client.runs.create(thread, "agent", input=ask("please wait"))
    await until_waiting(client, thread)
    kept_run, gone, never = [
        await client.runs.create(thread, "agent", input=ask(text), multitask_strategy="enqueue")
        for text in ("kept", "gone", "never")
    ]
    await client.runs.cancel(thread, kept_run["run_id"], wait=True, action="rollback")
    seen["queued, rolled back"] = (await client.runs.get(thread, kept_run["run_id"]))["status"]
    seen["queued, deleted"] = await status_of(client.runs.delete(thread, gone["run_id"]))
    seen["queued, deleted, run"] = await status_of(client.runs.get(thread, gone["run_id"]))
    stopping = await client.runs.create(thread, "agent", input=ask("now"), multitask_strategy="interrupt")
    await client.runs.join(thread, stopping["run_id"])
    seen["queued, interrupted"] = [
        (await client.runs.get(thread, run["run_id"]))["status"] for run in (waiting, never, stopping)
    ]
    asked = (await client.threads.get_state(thread))["values"]["messages"]
    seen["queued, interrupted, asked"] = [m["content"] for m in asked if m["type"] == "human"][-2:]
    seen |= await queued_in_requests(client, thread)
    seen |= await stateless_in_the_background(client)
    seen["pruned"] = await client.threads.prune([copy["thread_id"], str(uuid.uuid4())])
    seen["pruned, thread"] = await status_of(client.threads.get(copy["thread_id"]))
    seen["pruned, keep latest"] = await status_of(client.threads.prune([thread], strategy="keep_latest"))
    return seen


async def test_the_same_client_code_gets_the_same_answers_from_langgraphs_server_and_from_the_blueprint() -> None:
    async with langgraph_dev() as reference:
        theirs = await session(reference) | await nested_session(reference) | await kept(reference)
        theirs |= await found(reference) | await followed(reference)
    async with running(ours()) as url:
        mine = await session(url) | await nested_session(f"{url}/nested") | await kept(url) | await found(url)
        mine |= await followed(url)
    for label, _ in TURNS:
        assert [event for event, _ in mine[label]] == [event for event, _ in theirs[label]], label
        for index, (got, want) in enumerate(zip(mine[label], theirs[label], strict=True)):
            assert got == want, (label, index, got, want)
    assert mine["no such thread"] == 404 and mine["no such thread, made"] == "idle"
    for label in (
        "waiting",
        "state",
        "history",
        "waited",
        "unknown assistant",
        "no such thread",
        "no such thread, made",
    ):
        assert mine[label] == theirs[label], label
    assert mine["assistants, counted"] == 1 and len(mine["assistant's versions"]) == 1
    for label in ("graph", "graph, xray", "schemas", "paused state", "paused thread"):
        assert mine[label] == theirs[label], label
    assert [e for e, _ in mine["interrupt, in useStream's modes"]] == [
        e for e, _ in theirs["interrupt, in useStream's modes"]
    ]
    assert mine["interrupt, in useStream's modes"] == theirs["interrupt, in useStream's modes"]
    assert "messages/partial" in [event for event, _ in mine["the older messages mode"]]
    assert mine["the older messages mode"] == theirs["the older messages mode"]
    for label in ("regenerated", "regenerated state", "regenerated thread"):
        assert mine[label] == theirs[label], label
    assert mine["regenerated history"] == theirs["regenerated history"]
    assert mine["store, the agent's memory"]["value"] == {"text": "likes tea"}
    assert mine["store, namespaces"] == [["notes", "day"], ["notes", "memories"]], "the library's own not listed"
    assert mine["nested, the task's checkpoint"] != [] and mine["nested, ended"]["values"]["verdict"] == "tea: yes!"
    for label in [key for key in theirs if key.startswith(("store", "nested", "assistant"))]:
        assert mine[label] == theirs[label], label
    assert mine["subgraphs"] == theirs["subgraphs"]
    assert [event for event, _ in mine["a thread's stream, lifecycle"]] == ["metadata"] * 4
    assert mine["a thread's stream, run_modes"][-1] == ("metadata", {"status": "run_done"})
    for label in ("a thread's stream, run_modes", "a thread's stream, lifecycle"):
        assert mine[label] == theirs[label], label
    assert mine["copy, state"]["values"]["messages"][-1]["content"] == "Answer to and again"
    assert len(mine["copy, history"]) == 8 and mine["run deleted, run"] == 404
    assert mine["rolled back, state"]["values"] == mine["run deleted, state"]["values"]
    assert mine["pruned"] == {"pruned_count": 1} and mine["pruned, thread"] == 404
    assert mine["queued"] == ("pending", "pending") and mine["queued, ran"] == "success"
    assert mine["queued, asked"] == ["please wait", "then this"]
    assert mine["queued, interrupted"] == ["interrupted", "interrupted", "success"]
    assert mine["queued, interrupted, asked"] == ["please wait", "now"] and mine["queued, deleted, run"] == 404
    assert mine["queued in requests, listed"] == ["pending", "pending", "running"]
    assert mine["queued, described"] == ("ann", "enqueue", True)
    assert mine["stateless in the background, its effect"] == {"text": "likes tea"}
    assert mine["a batch"] == [("pending", True)] * 2 and mine["a batch, its effect"] == {"text": "likes tea"}
    assert mine["a batch, not a list"] == 422
    assert mine["found, interrupted, past a page"] == [True] and mine["found, forked from"] is True
    assert mine["found, oldest first"] == ["send a note", "hello one", "hello two", "hello three"]
    assert mine["found, by status"] == ["interrupted", "idle"] and mine["found, by id"] is True
    assert mine["found, a new thread's state"] == (None, None, {}) and mine["found, history of no thread"] == 404
    assert (
        mine["queued in requests, the stream waiting"] == [] and mine["queued in requests, asked"][-1] == "now at last"
    )
    for label in [
        key
        for key in theirs
        if key.startswith(
            ("copy", "original", "run deleted", "rolled", "cancel", "queued", "stateless", "a batch", "found")
        )
    ]:
        assert mine[label] == theirs[label], label
    for label in ("pruned", "pruned, thread", "pruned, keep latest"):
        assert mine[label] == theirs[label], label
    going_on, theirs_going_on = (
        mine["after a stop, as Agent Chat UI goes on"],
        theirs["after a stop, as Agent Chat UI goes on"],
    )
    assert going_on[1:] == theirs_going_on[1:] == [("human", "hi"), ("ai", "Answer to hi")]
    assert theirs_going_on[0] == ("tool", CHAT_UI_ANSWER) and going_on[0] == ("tool", CANCELLED), "the tool never ran"
