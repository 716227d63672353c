"""The package as released: the wheel and the sdist built from this tree, the wheel installed (not editable)
in a fresh venv, imported from outside the source tree, and serving a stream through a real Hypercorn.

Every other test runs on the editable install, which maps the source folder and would hide a subpackage the
wheel left out. The venv is made once per session, and pip's cache keeps the second install quick.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import quart_llmstream

from helpers import free_port, listening
from sse_parser import parse

ROOT = Path(__file__).parents[2]
SMOKE_APP = """
from langchain_core.language_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from quart import Quart
from quart_llmstream import create_blueprint

prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
app = Quart(__name__)
app.register_blueprint(create_blueprint(lambda _: prompt | FakeListChatModel(responses=["from the wheel"])))
"""
IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
import quart_llmstream
names = sorted(m.name for m in pkgutil.walk_packages(quart_llmstream.__path__, "quart_llmstream."))
for name in names:
    importlib.import_module(name)
from importlib.metadata import version
print(json.dumps({"file": quart_llmstream.__file__, "modules": names,
                  "version": quart_llmstream.__version__, "metadata": version("quart-llmstream")}))
"""

BARE_APP = """
import asyncio, json
from langchain_core.language_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from quart import Quart
from quart_llmstream import LLMStream, create_blueprint
from quart_llmstream.metrics import OTelMetrics, PrometheusMetrics

prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
factory = lambda _: prompt | FakeListChatModel(responses=["bare"])
seen = {}


def refusal(make):
    try:
        make()
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def app_with(config=None, **options):
    app = Quart(__name__)
    app.config.update(config or {})
    app.register_blueprint(create_blueprint(factory, **options))
    return app


async def main():
    client = app_with(stream_owner=lambda r: r.headers.get("X-User")).test_client()
    chat = await client.post("/chat", json={"question": "hi"}, headers={"X-User": "a"})
    seen["chat"] = [chat.status_code, await chat.get_data(as_text=True)]
    seen["threads"] = (await client.get("/chat/threads", headers={"X-User": "a"})).status_code
    seen["feedback"] = refusal(lambda: app_with(on_feedback=lambda request, feedback: None))
    seen["redis"] = refusal(lambda: app_with(resume="redis://127.0.0.1:1"))
    seen["langfuse"] = refusal(lambda: app_with({"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk"}))
    seen["otel"] = refusal(OTelMetrics)
    seen["prometheus"] = refusal(PrometheusMetrics)

asyncio.run(main())
print(json.dumps(seen))
"""


def tracked_modules() -> set[str]:
    """The package's modules as git tracks them: what a release must hold."""
    listed = subprocess.run(
        ["git", "ls-files", "quart_llmstream"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return {path for path in listed if path.endswith(".py")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The sdist and the wheel that ``python -m build`` makes from the working tree (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True, capture_output=True)
    [sdist], [wheel] = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    yield {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel (and the extras its optional modules need) installed; its ``bin`` folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # this pip installs
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
    subprocess.run([*pip, f"{dist['wheel']}[redis,agents]", "hypercorn"], check=True, capture_output=True)
    return venv / "bin"


def test_the_wheel_and_the_sdist_hold_every_module_git_tracks(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        in_wheel = set(wheel.namelist())
    with tarfile.open(dist["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(f"{top}/") for name in sdist.getnames()}
    modules = tracked_modules()
    assert {"quart_llmstream/logs/redis.py", "quart_llmstream/protocols/ag_ui.py"} <= modules
    assert modules - in_wheel == set(), "modules missing from the wheel"
    assert modules - in_sdist == set(), "modules missing from the sdist"
    assert "quart_llmstream/py.typed" in in_wheel
    assert {
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "tests/integration/test_packaging.py",
        "tests/js/package-lock.json",
    } <= in_sdist
    assert not any("node_modules" in name for name in in_sdist)
    assert top == f"quart_llmstream-{quart_llmstream.__version__}"


def test_twine_check_passes_on_both(dist: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_installed_wheel_imports_every_module_from_outside_the_tree(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "python"), "-c", IMPORT_EVERY_MODULE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": str(installed)},
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["file"].startswith(str(installed.parent)), "imported from the venv, not the source tree"
    expected = {path.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for path in tracked_modules()}
    assert set(found["modules"]) | {"quart_llmstream"} == expected
    assert found["version"] == found["metadata"] == quart_llmstream.__version__


async def test_the_installed_wheel_serves_a_stream_through_hypercorn(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "smoke_app.py").write_text(SMOKE_APP)
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "hypercorn"), "smoke_app:app", "--bind", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env={"PATH": str(installed)},
    )
    try:
        await listening(port, seconds=20)
        async with httpx.AsyncClient(timeout=20) as client:
            response = await client.post(f"http://127.0.0.1:{port}/chat", json={"question": "hello"})
    finally:
        server.terminate()
        server.wait(10)
    stream = parse(response.content)
    assert "".join(json.loads(m)["token"] for m in stream.messages[:-1]) == "from the wheel"
    assert stream.messages[-1] == "[DONE]"


def test_the_wheel_alone_serves_a_chain_and_each_option_that_needs_an_extra_names_it(
    dist: dict[str, Path], tmp_path: Path
) -> None:
    """quart and langchain-core are its only hard dependencies: with nothing else installed a chain streams (its
    owner's thread routes are not served: without LangGraph nothing keeps a thread), and what needs an extra says
    which, when the app starts."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
    subprocess.run([*pip, str(dist["wheel"])], check=True, capture_output=True)
    (tmp_path / "bare_app.py").write_text(BARE_APP)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "bare_app.py"], cwd=tmp_path, capture_output=True, text=True, env={}
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    status, body = seen["chat"]
    assert status == 200 and [json.loads(m)["token"] for m in parse(body.encode()).messages[:-1]] == list("bare")
    assert seen["threads"] == 404
    assert seen["feedback"].startswith("ConfigError") and "[agents]" in seen["feedback"]
    assert seen["redis"].startswith("ConfigError") and "[redis]" in seen["redis"]
    assert seen["langfuse"].startswith("ConfigError") and "[langfuse]" in seen["langfuse"]
    assert "[otel]" in seen["otel"] and "[prometheus]" in seen["prometheus"]
