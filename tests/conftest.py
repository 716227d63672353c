"""Fixtures: a real Hypercorn server on loopback; the helpers themselves live in ``helpers.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from helpers import running


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
