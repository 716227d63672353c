"""A middleware for LangChain's ``create_agent``: tools the client runs (extra ``quart-llmstream[agents]``).

Front ends run some tools themselves (the browser's clock, a form, a map). The client declares them (AG-UI's
and OpenAI's ``tools``, a native body's ``tools``; for the AI SDK they are declared on the server, here), the
model may call them, and the client sends their results in its next request, a continuation on the same
thread. :class:`ClientTools` offers those tools to the model at each call and, when the model calls one, ends
the agent's turn with the call pending (the server's tools called in the same turn run first), so that the
blueprint delivers the call to the client whole. Without it, the agent's tool node answers such a call with
"not a valid tool" and asks the model again::

    agent = create_agent(model, tools=[get_weather], middleware=[ClientTools()], checkpointer=InMemorySaver())

The request's tools reach it through the run's config (``configurable.client_tools``), so one agent, built
once, serves every request. A client tool named like one of the agent's own is not the client's: the
server's tool runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, NotRequired, cast

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse, hook_config
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.config import get_config
from langgraph.runtime import Runtime

__all__ = ["ClientTools", "ClientToolsState"]


class ClientToolsState(AgentState[Any]):
    held_calls: NotRequired[Annotated[list[dict[str, Any]] | None, PrivateStateAttr]]
    """The model's calls while the server's tools of the same turn run: the client's are taken out meanwhile."""


class ClientTools(AgentMiddleware[AgentState[Any], Any, Any]):
    """Offer the client's tools to the model; end the agent's turn when the model calls one."""

    state_schema = ClientToolsState  # its own key besides the agent's

    def __init__(self, *tools: dict[str, Any] | type | Callable[..., Any] | BaseTool) -> None:
        """``tools`` are client tools declared on the server (anything ``bind_tools`` takes; only their
        schemas are used), beside those each request declares."""
        super().__init__()
        self._declared = [convert_to_openai_tool(tool) for tool in tools]
        self._server: set[str] = set()  # the names of the agent's own tools, as its model calls see them

    @property
    def client_tool_names(self) -> frozenset[str]:
        """The names of the client's tools declared here: the blueprint takes their results from the client."""
        return frozenset(tool["function"]["name"] for tool in self._declared)

    def wrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> ModelResponse[Any]:
        return handler(self._offered(request))

    async def awrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]]
    ) -> ModelResponse[Any]:
        return await handler(self._offered(request))

    @hook_config(can_jump_to=["end"])
    def after_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        """The model called the client's tools: end the turn, once the server's tools of the turn have run."""
        last = state["messages"][-1]
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return None
        names = self._names()
        server = [call for call in last.tool_calls if call["name"] not in names]
        if len(server) == len(last.tool_calls):
            return None
        if not server:
            return {"jump_to": "end"}
        held = last.model_copy(update={"tool_calls": server})  # the tool node runs these; the rest wait
        return {"messages": [held], "held_calls": last.tool_calls}

    async def aafter_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self.after_model(state, runtime)

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        """The server's tools of a turn that also called the client's have run: put every call back, and end."""
        calls = cast(ClientToolsState, state).get("held_calls")
        if not calls:
            return None
        last = next(message for message in reversed(state["messages"]) if isinstance(message, AIMessage))
        return {"messages": [last.model_copy(update={"tool_calls": calls})], "held_calls": None, "jump_to": "end"}

    async def abefore_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self.before_model(state, runtime)

    def _tools(self) -> list[dict[str, Any]]:
        requested: Sequence[dict[str, Any]] = get_config().get("configurable", {}).get("client_tools") or ()
        return [*self._declared, *requested]

    def _names(self) -> set[str]:
        return {tool["function"]["name"] for tool in self._tools()} - self._server

    def _offered(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        offered = {_name(tool) for tool in request.tools}
        self._server |= offered
        extra = [tool for tool in self._tools() if tool["function"]["name"] not in offered]
        return request.override(tools=[*request.tools, *extra]) if extra else request


def _name(tool: BaseTool | dict[str, Any]) -> str:
    if isinstance(tool, BaseTool):
        return tool.name
    return str((tool.get("function") or tool).get("name"))
