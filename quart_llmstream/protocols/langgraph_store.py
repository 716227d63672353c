"""LangGraph's store API (``/store/items``, ``/store/items/search``, ``/store/namespaces``) over the assistant's
graph's own store (``graph.store``: what its nodes and tools reach as ``runtime.store``), so a page reads and
writes the memories its agent keeps.

Each owner has their part of it, as LangGraph's docs scope a store by its users (an ``@auth.on.store`` handler
asserting ``namespace[0] == ctx.user.identity``): a namespace's first label is its owner's id. A caller names only
namespaces under their own id (any other is a ``403``, whether or not it holds anything); a search or a listing
with no prefix looks under it. A blueprint serving one user (``single_user``) has the whole store — but for the
library's own namespaces (``llmstream``: thread records, runs to rate), never served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, StringConstraints
from quart import Response, request

from ..errors import RequestError
from ..owners import LIBRARY_NAMESPACE
from .langgraph_body import checked_body, json_response
from .threads import ThreadAccess

__all__ = ["store_routes"]

Label = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256, pattern=r"^[^.]+$")]
Namespace = Annotated[list[Label], Field(max_length=16)]


class _Put(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: Namespace
    key: Annotated[StrictStr, StringConstraints(min_length=1, max_length=1024)]
    value: dict[str, Any]
    index: Literal[False] | list[StrictStr] | None = None
    ttl: float | None = Field(default=None, gt=0)


class _Delete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: Namespace
    key: Annotated[StrictStr, StringConstraints(min_length=1, max_length=1024)]


class _Search(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace_prefix: Namespace = []
    filter: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    query: StrictStr | None = None
    refresh_ttl: bool | None = None


class _Namespaces(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: int | None = Field(default=None, ge=1)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


def store_routes(threads: ThreadAccess, name: str) -> list[tuple[str, str, Callable[..., Any]]]:
    """The store's routes, on the graph the blueprint's factory builds: each caller has their part of it (a caller
    the ``stream_owner`` hook names no one for, none: ``403``); without the hook the one user has all of it."""

    async def scoped() -> tuple[Any, str | None]:
        """The graph's store (``404`` when it keeps none), and the caller, whose namespaces it serves."""
        owner = (await threads.for_request()).owner
        store = getattr(await threads.assistant_graph(), "store", None)
        if store is None:
            raise RequestError(404, "not_found", f"the graph of assistant {name} keeps no store")
        return store, owner

    async def put_item() -> Response:
        body = await checked_body(_Put)
        store, owner = await scoped()
        namespace = _owned(body.namespace, owner)
        if body.ttl is not None and not getattr(store, "supports_ttl", False):
            raise RequestError(422, "invalid_request", "ttl: this store keeps no time to live")
        await store.aput(namespace, body.key, body.value, index=body.index, ttl=body.ttl)
        return Response(status=204)

    async def get_item() -> Response:
        store, owner = await scoped()
        key, labels = request.args.get("key"), request.args.get("namespace", "")
        if not key:
            raise RequestError(422, "invalid_request", "key: required")
        refresh = request.args.get("refresh_ttl")
        item = await store.aget(
            _owned(labels.split("."), owner), key, refresh_ttl=None if refresh is None else refresh.lower() == "true"
        )
        return json_response(None if item is None else item.dict())

    async def delete_item() -> Response:
        body = await checked_body(_Delete)
        store, owner = await scoped()
        await store.adelete(_owned(body.namespace, owner), body.key)
        return Response(status=204)

    async def search_items() -> Response:
        body = await checked_body(_Search)
        store, owner = await scoped()
        prefix = _owned(body.namespace_prefix or _mine(owner), owner)
        try:
            found = await store.asearch(
                prefix,
                filter=body.filter,
                limit=body.limit,
                offset=body.offset,
                query=body.query,
                refresh_ttl=body.refresh_ttl,
            )
        except (ValueError, TypeError, KeyError) as error:  # a filter the store cannot read
            raise RequestError(422, "invalid_request", f"filter: {error}") from None
        return json_response({"items": [item.dict() for item in found]})

    async def list_namespaces() -> Response:
        body = await checked_body(_Namespaces)
        store, owner = await scoped()
        labels = body.prefix or _mine(owner)  # no prefix: the caller's own, or (one user) the whole store
        prefix = _owned(labels, owner) if labels else None
        suffix = None if body.suffix is None else tuple(body.suffix)
        listed = await store.alist_namespaces(
            prefix=prefix, suffix=suffix, max_depth=body.max_depth, limit=body.limit, offset=body.offset
        )
        clients = [list(namespace) for namespace in listed if namespace[0] != LIBRARY_NAMESPACE]
        return json_response({"namespaces": clients})

    return [
        ("/store/items", "PUT", put_item),
        ("/store/items", "GET", get_item),
        ("/store/items", "DELETE", delete_item),
        ("/store/items/search", "POST", search_items),
        ("/store/namespaces", "POST", list_namespaces),
    ]


def _mine(owner: str | None) -> list[str]:
    return [] if owner is None else [owner]


def _owned(labels: list[str], owner: str | None) -> tuple[str, ...]:
    """``labels`` as a namespace the caller may reach: under their own id (or, serving one user, anywhere but the
    library's own); else a ``403``. A label is never empty nor holds a period (the store joins labels with one)."""
    if not labels:
        raise RequestError(422, "invalid_request", "namespace: at least one label (the library's own are not served)")
    if any(not label or "." in label for label in labels):
        raise RequestError(422, "invalid_request", "namespace: labels, each non-empty and without a period")
    if labels[0] == LIBRARY_NAMESPACE or (owner is not None and labels[0] != owner):
        raise RequestError(403, "forbidden", "namespace: its first label is the caller's own id")
    return tuple(labels)
