"""The example app, served the way the README says, streams from its offline demo model."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from example_app import create_app

from helpers import free_port, listening, node, post_stream, tokens
from sse_parser import parse

ROOT = Path(__file__).parents[2]


def readme_serve_command() -> list[str]:
    """The hypercorn part of the README's run command (the first code block)."""
    block = (ROOT / "README.md").read_text().split("```bash", 1)[1].split("```", 1)[0]
    [line] = [line for line in block.splitlines() if "hypercorn example_app:app" in line]
    serve = line.split("&&")[-1].strip()
    return shlex.split(serve)


async def test_the_readme_run_command_serves_the_demo_without_keys_or_network() -> None:
    command = readme_serve_command()
    assert command[0].endswith("hypercorn") and "example_app:app" in command
    port = free_port()
    args = [re.sub(r":5000$", f":{port}", arg) for arg in command[1:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANGFUSE_"))}
    server = subprocess.Popen([sys.executable, "-m", "hypercorn", *args], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        await listening(port, seconds=20)
        async with httpx.AsyncClient(timeout=20) as client:
            page = await client.get(f"http://127.0.0.1:{port}/")
            assert page.status_code == 200 and "<script" in page.text
            response = await client.post(f"http://127.0.0.1:{port}/api/chat", json={"question": "hello"})
        stream = parse(response.content)
        assert stream.messages[-1] == "[DONE]"
        text = "".join(tokens(stream.messages))
        assert text.startswith("(demo model) You asked: hello")
    finally:
        server.terminate()
        _, logged = server.communicate(timeout=10)
    # the app sets up logging as docs/operating.md says: the library's INFO lines, with time, level, logger, process
    pattern = r"^\d{4}-\d\d-\d\d [\d:,]+ INFO quart_llmstream \[\d+\] Langfuse tracing is off"  # a worker's pid
    assert re.search(pattern, logged.decode(), re.MULTILINE), logged.decode()[-2000:]


async def test_the_demo_model_streams_at_a_pace_and_answers_from_the_question(server: Any) -> None:
    async with server(create_app()) as url:
        _, stream = await post_stream(f"{url}/api/chat", {"question": "What is SSE?"})
    assert stream.messages[-1] == "[DONE]"
    pieces = tokens(stream.messages)
    assert len(pieces) > 10
    assert "".join(pieces).startswith("(demo model) You asked: What is SSE?")
    names = [e.event for e in stream.events]
    assert names[0] == "start" and names[-2] == "end"


async def test_the_example_agent_over_ag_ui_passes_ag_ui_validate_with_every_feature_it_can_infer(
    server: Any, tmp_path: Path
) -> None:
    """A session recorded from the example's AG-UI endpoint with @ag-ui/client: a weather question (a server
    tool), a to-do (shared and predicted state), a note to approve (human in the loop), approved."""
    async with server(create_app({"DEMO_SECONDS_PER_TOKEN": 0.0})) as url:
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/api/ag-ui/chat",
            threadId="t1",
            runId="r1",
            messages=[{"id": "u1", "role": "user", "content": "What is the weather in Paris?"}],
            turns=["Add milk to my list", "Send a note to Ann saying hello"],
            answer={"status": "resolved", "payload": {"approved": True}},
        )
    assert done["error"] is None and done["runs"] == 4 and done["state"] == {"todos": ["milk"]}
    recording = tmp_path / "session.sse"
    recording.write_text("".join(done["streams"]))
    checked = subprocess.run(
        [Path(sys.executable).parent / "ag-ui-validate", "--json", "--features", "shared-state", str(recording)],
        capture_output=True,
        text=True,
    )
    report = json.loads(checked.stdout)
    assert checked.returncode == 0 and report["summary"]["errors"] == 0, report
    inferable = {feature: status for feature, status in report["features"].items() if status != "not-inferable"}
    assert inferable == dict.fromkeys(
        ["agentic-chat", "backend-tool-rendering", "human-in-the-loop", "shared-state", "predictive-state-updates"],
        "exercised",
    )
