"""The docs hold together: every relative link of the README and of ``docs/`` names a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_names_a_file_that_exists() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in LINK.findall(page.read_text())
        if "://" not in target and not (page.parent / target).exists()
    ]
    assert len(pages) > 5 and not broken


def test_every_file_of_the_project_a_page_names_exists() -> None:
    """Paths a page names in code spans (tests, the example app, the package's modules): moved files leave none
    behind."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = re.compile(r"`((?:tests|example_app|quart_llmstream|bench)/[\w/.-]+\.(?:py|mjs|jsx|json))")
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in pages
        for path in named.findall(page.read_text())
        if not (ROOT / path).exists() and not path.startswith("bench/results/")  # what the bench writes
    ]
    assert not missing


def test_the_chat_view_the_development_guide_shows_is_the_code() -> None:
    guide = (ROOT / "docs" / "development.md").read_text()
    [shown] = re.findall(r"reads top to bottom:\n\n```python\n(.*?)```", guide, re.DOTALL)
    code = (ROOT / "quart_llmstream" / "blueprint.py").read_text()
    lines = [line.split("  #")[0].strip() for line in shown.splitlines() if line.strip()]
    assert len(lines) > 5 and [line for line in lines if line not in code] == []


def test_the_operating_guide_lists_every_metric_as_the_code_names_it() -> None:
    """Each instrument's row: its OpenTelemetry and Prometheus names, kind, unit and attributes, as the code has them;
    and no row for a metric the code does not have."""
    import re

    from quart_llmstream.metrics import INSTRUMENTS
    from quart_llmstream.metrics.prometheus import prometheus_name

    guide = (ROOT / "docs" / "operating.md").read_text()
    rows = {row[0]: row for row in re.findall(r"^\| `([\w.]+)` \| `(\w+)` \| ([\w-]+ ?[\w]*) \| `([^`]+)` \|([^|]*)\|",
                                               guide, re.MULTILINE)}  # fmt: skip
    kinds = {"counter": "counter", "updown": "up-down counter", "histogram": "histogram"}
    assert set(rows) == {spec.name for spec in INSTRUMENTS}
    for spec in INSTRUMENTS:
        _, prometheus, kind, unit, attributes = rows[spec.name]
        total = "_total" if spec.kind == "counter" else ""
        assert (prometheus, kind.strip(), unit) == (prometheus_name(spec) + total, kinds[spec.kind], spec.unit)
        assert re.findall(r"`([\w.]+)`", attributes) == list(spec.attributes[2:]), spec.name


def test_the_readme_names_every_extra_a_user_installs() -> None:
    """Each optional dependency an app may want (not the project's own ``test`` and ``example``) is in the README."""
    import tomllib

    root = Path(__file__).parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    readme = (root / "README.md").read_text()
    assert [extra for extra in extras if extra not in ("test", "example") and f"`[{extra}]`" not in readme] == []
