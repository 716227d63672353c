"""Chaos: waves of 200 concurrent streams with disconnects, failing runs and slow readers.

Every stream that stays connected gets exactly its tokens and a final frame; every abandoned run is
cancelled; tasks return to their baseline; resident memory does not grow from wave to wave.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
from quart import Quart

from quart_llmstream import ChatRequest, create_blueprint

from fakes import QUESTION_PROMPT, ProbedChatModel
from sse_parser import parse

STREAMS = 200
WAVES = 3
TOKENS = 20


def resident_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4


class Plan:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.id = index
        self.kind = rng.choice(["normal", "normal", "disconnect", "failing", "slow"])
        self.leave_after = rng.randint(1, TOKENS - 5)
        self.fail_at = rng.randint(1, TOKENS - 1)


async def run_stream(client: httpx.AsyncClient, url: str, plan: Plan) -> bytes:
    body = b""
    async with client.stream("POST", url, json={"question": "q", "plan": plan.id}) as response:
        async for chunk in response.aiter_raw():
            body += chunk
            if plan.kind == "disconnect" and len(parse(body).messages) >= plan.leave_after:
                return body
            if plan.kind == "slow":
                await asyncio.sleep(0.01)
    return body


async def test_chaos_waves_end_every_stream_well(server: Any) -> None:
    rng = random.Random(7)
    models: dict[int, ProbedChatModel] = {}
    plans: dict[int, Plan] = {}

    def factory(chat_request: ChatRequest) -> Any:
        plan = plans[chat_request.body["plan"]]
        model = ProbedChatModel(
            responses=[[f"t{i} " for i in range(TOKENS)]],
            delay=0.005,
            fail_at=plan.fail_at if plan.kind == "failing" else None,
        )
        models[plan.id] = model
        return QUESTION_PROMPT | model

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(factory, heartbeat=0))
    limits = httpx.Limits(max_connections=STREAMS, max_keepalive_connections=0)
    resident = []
    # Hypercorn keeps a closed connection's tasks until its keep-alive timeout: make that short.
    async with server(app, keep_alive_timeout=0.2) as url:
        await asyncio.sleep(0.1)
        baseline = len(asyncio.all_tasks())
        for wave in range(WAVES):
            wave_plans = [Plan(rng, wave * STREAMS + i) for i in range(STREAMS)]
            plans.update((p.id, p) for p in wave_plans)
            async with httpx.AsyncClient(timeout=30, limits=limits) as client:  # its connections close after
                bodies = await asyncio.gather(*(run_stream(client, f"{url}/chat", p) for p in wave_plans))
            for plan, body in zip(wave_plans, bodies, strict=True):
                check(plan, body, models[plan.id])
            for _ in range(300):  # abandoned runs end within moments
                if len(asyncio.all_tasks()) <= baseline:
                    break
                await asyncio.sleep(0.01)
            assert len(asyncio.all_tasks()) <= baseline, "tasks leaked"
            for plan in wave_plans:
                if plan.kind == "disconnect":
                    assert models[plan.id].probe.cancelled_at is not None, f"abandoned run {plan.id} not cancelled"
            resident.append(resident_kib())
    assert resident[-1] - resident[0] < 20 * 1024, f"resident memory grew across waves: {resident} KiB"


def check(plan: Plan, body: bytes, model: ProbedChatModel) -> None:
    stream = parse(body)
    if plan.kind == "disconnect":
        return
    assert stream.incomplete == ""
    assert stream.messages[-1] == "[DONE]"
    tokens = [json.loads(m)["token"] for m in stream.messages[:-1] if "token" in json.loads(m)]
    if plan.kind == "failing":
        assert tokens == [f"t{i} " for i in range(plan.fail_at)]
        assert json.loads(stream.messages[-2])["code"] == "internal_error"
    else:
        assert tokens == [f"t{i} " for i in range(TOKENS)]
        assert model.probe.finished == 1
