"""Plugin factories for the framework-based reference agents (``--plugin MODULE:ATTR``).

Each is a zero-argument function returning fresh plugins, so every scenario, worker and
replayer gets its own (``LangGraphPlugin`` wraps the graph's nodes in place; a test model
provider belongs to one run). Offline test models are built in; replay never calls a model,
so the same factories serve ``replaykit record`` and ``replaykit check``::

    replaykit check fixtures/integration_histories/support_desk_agent --workflows reference_agents \\
        --plugin reference_agents.integration_plugins:openai_agents

One integration per history folder: the OpenAI Agents and Pydantic AI plugins each install
their own Pydantic-based data converter, and each rejects the other's.
"""

from __future__ import annotations

from typing import Any


def openai_agents() -> Any:
    """``OpenAIAgentsPlugin`` with the SDK's ``TestModelProvider`` (scripted, offline).

    The model activity heartbeats (the plugin does it at half the heartbeat timeout), so a
    worker that dies during a model call is noticed in seconds, not after the 60 s
    start-to-close timeout.
    """
    from datetime import timedelta

    from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

    from reference_agents.offline_models import support_desk_model_provider

    return OpenAIAgentsPlugin(
        model_params=ModelActivityParameters(
            start_to_close_timeout=timedelta(seconds=60), heartbeat_timeout=timedelta(seconds=2)
        ),
        model_provider=support_desk_model_provider(),
    )


def langgraph() -> Any:
    """``LangGraphPlugin`` with a freshly built triage graph."""
    from temporalio.langgraph import LangGraphPlugin

    from reference_agents.langgraph_agent import GRAPH_NAME, build_triage_graph

    return LangGraphPlugin(graphs={GRAPH_NAME: build_triage_graph()})


def pydantic_ai() -> Any:
    """``PydanticAIPlugin`` (it registers the agents the workflows list)."""
    from pydantic_ai.durable_exec.temporal import PydanticAIPlugin

    return PydanticAIPlugin()
