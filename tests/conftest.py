"""The tests, in folders that say what they need: ``unit/`` (no server: seconds), ``integration/`` (Hypercorn,
Redis, node, processes of their own), ``browser/`` (Chromium); ``support/`` holds what they share (fakes, helpers,
the apps served in processes of their own), importable by module name from every folder.

Fixtures: a real Hypercorn server on loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent / "support"))

from helpers import running

# The properties are about what a body makes, not how fast its examples come: a cold or busy machine (CI) must not
# fail them on Hypothesis' timing checks. Each test's own @settings still names its examples and seed.
settings.register_profile("llmstream", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("llmstream")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Mark a failed test's node, so fixtures can keep evidence (the browser test's screenshot)."""
    outcome = yield
    if outcome.get_result().failed:
        item.failed = True


@pytest.fixture
def server() -> Callable[..., Any]:
    """``async with server(app) as url`` serves the app on loopback for the block."""
    return running
