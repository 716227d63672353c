"""Scenario (m), media: what a request with a 5 MB image costs the server.

CPU: 1-token streams on the lean source through a real server, with and without the image, in a process
pinned to one CPU (the difference is the image's cost: reading the body, decoding and checking the image).
Memory: the request side — parsing the JSON body and reading it into a chat request (the image decoded a
piece at a time to check it) — traced with ``tracemalloc``: the peak over the body's bytes, as a multiple of
the image's size.
"""

from __future__ import annotations

import base64
import json
import os
import time
import tracemalloc
from typing import Any

from werkzeug.datastructures import Headers

from bench import load
from bench.processes import cpu_seconds, server

IMAGE_BYTES = 5 * 1000 * 1000


def image_body() -> dict[str, Any]:
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(IMAGE_BYTES - 8)
    url = "data:image/png;base64," + base64.b64encode(image).decode()
    return {"question": "What is in the picture?", "attachments": [{"url": url, "filename": "big.png"}]}


def request_side_peak(body: dict[str, Any]) -> dict[str, float]:
    """Parse the body's bytes and read them into a chat request: CPU, and the peak of memory over the bytes."""
    from quart_llmstream import Settings
    from quart_llmstream.protocols import PROTOCOLS

    raw, protocol, settings = json.dumps(body).encode(), PROTOCOLS["native"], Settings()
    started = time.process_time()
    protocol.read(json.loads(raw), Headers(), settings)
    cpu = time.process_time() - started
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    chat_request = protocol.read(json.loads(raw), Headers(), settings)
    peak = tracemalloc.get_traced_memory()[1] - base
    held = tracemalloc.get_traced_memory()[0] - base  # what the chat request keeps while its stream runs
    tracemalloc.stop()
    del chat_request
    return {"read_cpu_ms": cpu * 1e3, "peak_x": peak / IMAGE_BYTES, "held_x": held / IMAGE_BYTES}


async def attachment_costs(requests: int) -> dict[str, Any]:
    body = image_body()
    results: dict[str, Any] = request_side_peak(body)
    with server("lean") as (pid, port):
        for extra in ({}, {"attachments": body["attachments"]}):
            await load.stream(port, 1, 0.0, **extra)  # warm up
            before = cpu_seconds(pid)
            runs = [await load.stream(port, 1, 0.0, **extra) for _ in range(requests)]
            cpu_ms = (cpu_seconds(pid) - before) / requests * 1e3
            results["with_image" if extra else "without"] = {
                "cpu_ms": cpu_ms,
                "complete": sum(len(r.arrivals) for r in runs),
            }
    results["image_cpu_ms"] = results["with_image"]["cpu_ms"] - results["without"]["cpu_ms"]
    return results
