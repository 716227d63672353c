"""The README's test command: the one CI runs, and on a machine it may not set up, a stop with what to run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def readme_commands() -> list[str]:
    """The command lines of the README's first code block."""
    block = (ROOT / "README.md").read_text().split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    [test_command] = [line for line in readme_commands() if "test" in line and "hypercorn" not in line]
    assert test_command == "scripts/test"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert f"exec {test_command}" in ci


def test_without_root_or_sudo_it_stops_at_once_with_the_command_to_run(tmp_path: Path) -> None:
    """A PATH with python3 and no chromium, redis-server or working sudo, as a user who is not root."""
    (tmp_path / "python3").symlink_to(sys.executable)
    for name, script in {"id": "echo 1000", "sudo": "exit 1", "dirname": 'echo "${1%/*}"'}.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{script}\n")
        (tmp_path / name).chmod(0o755)
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "test")],
        env={"PATH": str(tmp_path), "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 2
    assert "sudo apt-get install -y chromium redis-server" in done.stderr
