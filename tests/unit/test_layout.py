"""The package's shape: modules that import each other in one direction — every import counted, those made only
for a type checker (``TYPE_CHECKING``) and inside functions included — each stage of the data flow importing
only what comes before it, and none too long to read (docs/development.md draws it)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "quart_llmstream"
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The package's modules that ``path`` imports anywhere: at its top, under ``TYPE_CHECKING``, in a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("quart_llmstream"):
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("quart_llmstream"))
    return found


def test_no_import_cycle_in_the_package() -> None:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: imports_of(path) & set(modules) - {name} for name, path in modules.items()}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycle = trail[trail.index(name) :]
            # a package's __init__ importing its own submodules is not a cycle unless a submodule imports it back
            raise AssertionError(f"import cycle: {' -> '.join((*cycle, name))}")
        for imported in graph[name]:
            if not (imported.startswith(name + ".") and modules[name].name == "__init__.py"):
                visit(imported, (*trail, name))

    for name in graph:
        visit(name, ())


def test_no_module_is_over_300_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imports_of(path) & set(modules) - {name} for name, path in modules.items()}


def _in(name: str, *packages: str) -> bool:
    return any(name == f"quart_llmstream.{p}" or name.startswith(f"quart_llmstream.{p}.") for p in packages)


VIEWS = (
    "blueprint",
    "resume",
    "thread_routes",
    "thread_access",
    "thread_runs",
    "signals",
    "feedback",
    "extension",
    "routes",
)  # what wires the stages together, at the top
NEVER = {
    "request": ("protocols", "run", "logs", *VIEWS),  # body -> ChatRequest knows no protocol, run or log
    "logs": ("protocols", "run", "request", *VIEWS),  # the seam between run and wire knows neither
    "run": ("protocols", *VIEWS),  # the run never writes frames
    "protocols": ("run", *VIEWS),  # the wire never reaches back into the run
    "metrics": ("request", "run", "logs", "protocols", "testing", *VIEWS),  # fed by the stages, knows none of them
}


def test_each_stage_imports_only_what_comes_before_it_in_the_data_flow() -> None:
    crossings = [
        f"{name} -> {imported}"
        for name, imports in graph().items()
        for stage, forbidden in NEVER.items()
        if _in(name, stage)
        for imported in imports
        if _in(imported, *forbidden)
    ]
    assert crossings == []
    assert _in("quart_llmstream.run.threads.hold", "run") and not _in("quart_llmstream.runner", "run")


def test_the_layout_check_reads_type_checking_and_function_imports(tmp_path: Path) -> None:
    """The walk sees an import made only for a type checker, and one made inside a function."""
    module = tmp_path / "quart_llmstream" / "x.py"
    module.parent.mkdir()
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\ndef f():\n    from .b import B\n"
    )
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "quart_llmstream"
    try:
        assert {"quart_llmstream.a", "quart_llmstream.b"} <= imports_of(module)
    finally:
        PACKAGE = saved


def test_the_development_guide_has_a_row_for_each_folder_and_a_folder_for_each_kind_of_change() -> None:
    guide = (PACKAGE.parent / "docs" / "development.md").read_text()
    folders = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists())
    assert folders == ["logs", "metrics", "protocols", "request", "run", "testing"]
    for folder in folders:
        assert f"| `{folder}/` |" in guide, f"no row for {folder}/"
    for change, folder in (("a fifth wire protocol", "protocols/"), ("a new request field", "request/")):
        assert f"| {change}" in guide and f"`{folder}`" in guide.split(f"| {change}")[1].split("\n")[0]
    assert (PACKAGE / "run" / "threads" / "hold.py").exists() and "| a new rule about threads" in guide


def test_the_import_paths_of_0_2_still_give_the_public_names() -> None:
    import quart_llmstream
    from quart_llmstream.chat_request import ChatRequest
    from quart_llmstream.routes import RunnableFactory, create_blueprint
    from quart_llmstream.run import Run, StopReason
    from quart_llmstream.state import emit_state

    assert (create_blueprint, ChatRequest, emit_state) == (
        quart_llmstream.create_blueprint,
        quart_llmstream.ChatRequest,
        quart_llmstream.emit_state,
    )
    assert RunnableFactory is quart_llmstream.RunnableFactory and Run and StopReason


def test_no_two_test_modules_share_a_name() -> None:
    """pytest imports a test module by its name: a second of the same name in another folder stops the run."""
    tests = PACKAGE.parent / "tests"
    names = [path.name for path in tests.rglob("test_*.py") if "node_modules" not in path.parts]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
