"""The missing-plugin hint names only a plugin that is really missing."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from replaykit.integrations._plugins import missing_plugin_hint


class DeepAgentsPlugin:  # named as the real one: hints look at the plugin's type name
    __module__ = "temporalio.deepagents._plugin"


class LangGraphPlugin:
    __module__ = "temporalio.langgraph._plugin"


@pytest.fixture()
def workflow_importing(tmp_path: Path) -> Iterator[object]:
    made: list[str] = []

    def make(source: str) -> type:
        name = f"_hint_wf_{len(made)}"
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module
        made.append(name)
        return type("Workflow", (), {"__module__": name})

    yield make
    for name in made:
        del sys.modules[name]


DEEP_AGENT = (
    "from langchain_core.tools import tool\n"
    "def run():\n"
    "    from temporalio.deepagents import create_temporal_deep_agent\n"
)


def test_deep_agents_plugin_covers_its_langgraph_imports(workflow_importing) -> None:  # type: ignore[no-untyped-def]
    wf = workflow_importing(DEEP_AGENT)
    assert missing_plugin_hint([wf], [DeepAgentsPlugin()]) is None


def test_without_a_plugin_only_deep_agents_is_named(workflow_importing) -> None:  # type: ignore[no-untyped-def]
    wf = workflow_importing(DEEP_AGENT)
    hint = missing_plugin_hint([wf], [])
    assert hint is not None
    assert "imports Deep Agents but no Deep Agents plugin is applied" in hint
    assert "temporalio.deepagents:DeepAgentsPlugin" in hint
    assert "LangGraph" not in hint


def test_langgraph_api_in_a_deep_agents_workflow_still_needs_its_plugin(workflow_importing) -> None:  # type: ignore[no-untyped-def]
    wf = workflow_importing(DEEP_AGENT + "from temporalio.langgraph import graph\n")
    hint = missing_plugin_hint([wf], [DeepAgentsPlugin()])
    assert hint is not None and "no LangGraph plugin is applied" in hint
    assert "Deep Agents" not in hint
    assert missing_plugin_hint([wf], [DeepAgentsPlugin(), LangGraphPlugin()]) is None


def test_langgraph_alone(workflow_importing) -> None:  # type: ignore[no-untyped-def]
    wf = workflow_importing("from langgraph.graph import StateGraph\n")
    hint = missing_plugin_hint([wf], [])
    assert hint is not None and hint.startswith(
        "the workflow code imports LangGraph but no LangGraph plugin is applied"
    )
    assert missing_plugin_hint([wf], [LangGraphPlugin()]) is None
