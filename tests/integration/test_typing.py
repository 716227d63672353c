"""The options as a type checker sees them: a misspelled or mistyped option is an error in the user's editor,
before any app starts (mypy runs in a process of its own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from quart_llmstream import Options, Settings


def test_the_typed_options_are_the_settings() -> None:
    assert set(Options.__annotations__) == set(Settings.model_fields)


def test_a_type_checker_refuses_a_misspelled_or_mistyped_option(tmp_path: Path) -> None:
    options = {"correct": "max_history=3", "misspelled": "max_histroy=3", "mistyped": 'on_disconnect="stay"'}
    for name, option in options.items():
        (tmp_path / f"{name}.py").write_text(
            "from langchain_core.runnables import RunnableLambda\n"
            "from quart_llmstream import create_blueprint\n"
            f"create_blueprint(lambda request: RunnableLambda(lambda x: x), {option})\n"
        )
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path)]
    done = subprocess.run(
        [*command, *(str(tmp_path / f"{name}.py") for name in options)], capture_output=True, text=True
    )
    errors = {name for name in options if f"{name}.py:3: error" in done.stdout}
    assert errors == {"misspelled", "mistyped"}, done.stdout[-3000:]
