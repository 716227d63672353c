"""A path under an API's prefix that no route serves (:attr:`.base.Protocol.owns_prefix`), refused as the API
refuses anything: a ``404``, or a ``405`` where a route serves the path with other methods."""

from __future__ import annotations

from quart import Response, current_app, request
from werkzeug.exceptions import HTTPException

from ..errors import RequestError

__all__ = ["UNSERVED_METHODS", "unserved"]

UNSERVED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


async def unserved(rest: str = "") -> Response:
    """The view of a path under an API's prefix that no route serves: a :class:`RequestError`, ``405`` (with
    ``Allow``) when a route serves it with other methods, else ``404``."""
    adapter = current_app.create_url_adapter(request)
    allowed = []
    for method in UNSERVED_METHODS:
        try:
            rule, _ = adapter.match(request.path, method=method, return_rule=True)  # type: ignore[union-attr]
        except HTTPException:  # none for it, or a redirect
            continue
        if rule.endpoint != request.url_rule.endpoint:  # type: ignore[union-attr]
            allowed.append(method)
    if allowed:
        raise RequestError(405, "method_not_allowed", "Method Not Allowed", allow=allowed)
    raise RequestError(404, "not_found", "Not Found")
