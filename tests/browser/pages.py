"""React pages of the tests' own (``tests/js/*.jsx``), bundled by esbuild from the pinned packages and served by
an app beside its routes: one place for what every such page needs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from quart import Quart

from helpers import JS, node_clients

PAGE = '<!doctype html><html><body><div id="root"></div><script src="{script}"></script></body></html>'


def bundle(script: str, folder: Path) -> Path:
    """``tests/js/<script>`` and what it imports, as one browser script in ``folder``."""
    node_clients()
    out = folder / "bundle.js"
    esbuild = [str(JS / "node_modules" / ".bin" / "esbuild"), str(JS / script), "--bundle", "--format=iife"]
    options = ["--jsx=automatic", "--define:process.env.NODE_ENV='production'", f"--outfile={out}"]
    subprocess.run([*esbuild, *options], check=True, capture_output=True, cwd=JS)
    return out


def serve_page(app: Quart, path: str, script: Path) -> Quart:
    """``GET <path>``: a page running ``script`` (served at ``<path>/bundle.js``)."""

    async def page() -> Any:
        return PAGE.format(script=f"{path}/bundle.js")

    async def code() -> Any:
        return script.read_text(), {"Content-Type": "text/javascript"}

    app.add_url_rule(path, f"page{path}", page)
    app.add_url_rule(f"{path}/bundle.js", f"bundle{path}", code)
    return app
