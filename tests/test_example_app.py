"""The example app serves a streaming chat on its offline demo model, with no key and no network."""

from __future__ import annotations

import json
from typing import Any

from example_app import create_app

from conftest import post_stream


async def test_the_example_app_streams_from_its_offline_demo_model(server: Any) -> None:
    async with server(create_app()) as url:
        _, stream = await post_stream(f"{url}/api/chat", {"question": "What is SSE?"})
    assert stream.messages[-1] == "[DONE]"
    tokens = [json.loads(m)["token"] for m in stream.messages[:-1]]
    assert len(tokens) > 10
    assert "".join(tokens).startswith("(demo model) You asked: What is SSE?")
