"""Tools a client declares for the model to call and runs itself (AG-UI's ``tools``, OpenAI's ``tools``, a
native body's ``tools``): checked, and each written as the OpenAI function-tool dict ``bind_tools`` takes."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import RequestError
from ..settings import Settings

__all__ = ["client_tools"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_JSON = 64 * 1024
_NO_PARAMETERS = {"type": "object", "properties": {}}  # ChatAnthropic refuses a tool without parameters


def client_tools(declared: Any, settings: Settings, where: str = "tools") -> list[dict[str, Any]]:
    """``declared`` (a list of ``{"type": "function", "function": {...}}`` or ``{name, description,
    parameters}``) as OpenAI function tools; :class:`RequestError` naming the tool that is wrong."""
    if declared is None:
        return []
    if not isinstance(declared, list):
        raise RequestError(400, "invalid_request", f"{where}: must be a list of tools")
    if len(declared) > settings.max_tools:
        raise RequestError(400, "invalid_request", f"{where}: at most {settings.max_tools} tools, got {len(declared)}")
    tools = [_tool(item, f"{where}.{index}") for index, item in enumerate(declared)]
    names = [tool["function"]["name"] for tool in tools]
    if twice := sorted({name for name in names if names.count(name) > 1}):
        raise RequestError(400, "invalid_request", f"{where}: {', '.join(twice)} declared more than once")
    return tools


def _tool(item: Any, where: str) -> dict[str, Any]:
    function = item.get("function") if isinstance(item, dict) and item.get("type") == "function" else item
    if not isinstance(function, dict):
        raise RequestError(400, "invalid_request", f"{where}: a tool is an object with a name")
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RequestError(400, "invalid_request", f"{where}: the name must be 1 to 64 of A-Z, a-z, 0-9, _ and -")
    label = f"{where} ({name})"
    if len(json.dumps(item)) > _MAX_JSON:
        raise RequestError(400, "invalid_request", f"{label}: over 64 KB of JSON")
    description, parameters = function.get("description"), function.get("parameters")
    if description is not None and not isinstance(description, str):
        raise RequestError(400, "invalid_request", f"{label}: the description must be a string")
    if parameters is None:
        parameters = _NO_PARAMETERS
    elif not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        raise RequestError(400, "invalid_request", f"{label}: parameters must be a JSON Schema of an object")
    tool = {"name": name, "parameters": parameters} | ({"description": description} if description else {})
    return {"type": "function", "function": tool}
