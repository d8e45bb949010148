"""Deep Agents (``DeepAgentsPlugin``) end to end.

``tests/data/agents/deep_agent.py`` (a named Deep Agent with a system prompt, one tool of
its own and a model name, on the integration's own ``mock_model_provider``) is recorded on
the embedded server, then checked against copies of its module with one change each, as
the next release of an agent repository would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.check._report import format_result_line
from replaykit.integrations._agents import AGENT_CAUSES

from .agent_support import check_agent, record_agents, release

pytest.importorskip("temporalio.deepagents")
pytestmark = [pytest.mark.integration]

MODULE = "tests.data.agents.deep_agent"

CHANGES = {
    "prompt": [("Answer in one sentence.", "Answer at length.")],
    "tools": [
        (
            '"""Look up the capital city of a country."""',
            '"""Look up the capital city of a country or a region."""',
        )
    ],
    "model-settings": [('MODEL = "fake-model"', 'MODEL = "fake-model-large"')],
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = record_agents(["tests.data.agents.deep_scenarios"], tmp_path_factory.mktemp("deep"))
    return files["deep_agent_run"]


def test_unchanged_code_checks_clean(history: Path) -> None:
    _, result = check_agent(history, MODULE)
    assert result.status == "clean", format_result_line(result)
    assert result.divergences == (), format_result_line(result)


@pytest.mark.parametrize("cause", sorted(CHANGES))
def test_reviewed_change_is_named_and_allowed_by_its_cause_only(
    history: Path, next_release: Path, cause: str
) -> None:
    module = release(next_release, "deep_agent", *CHANGES[cause])
    _, result = check_agent(history, module)
    assert result.status == "divergent"
    text = format_result_line(result)
    # a new model name also changes the plugin's activity summary (`invoke_model[<model>]`):
    # an option change, reported but passing
    found = [d for d in result.divergences if d.kind != "option-change"]
    assert {d.cause for d in found} == {cause}, text
    assert {d.integration for d in found} == {"DeepAgents"}, text
    # both model calls changed. The agent's name (create_deep_agent(name=...)) is on its
    # own turns: the second call (after the tool result) carries it, and the first is the
    # same agent (same prompt, tools and model as recorded), so both findings name it
    assert len(found) == 2, text
    first = found[0]
    for d in found:
        assert d.agent == "researcher", text
        assert "agent 'researcher' (DeepAgents)" in d.message
    # no plugin is missing: the Deep Agents plugin runs the LangGraph loop
    assert "plugin is applied" not in text
    if cause == "prompt":
        assert first.diff == (
            "messages[system]: 'You are a research assistant. Answer in one sentence.'"
            " -> 'You are a research assistant. Answer at length.'"
        ), first.diff
    if cause == "tools":
        assert [(i["name"], i["change"]) for i in first.items] == [
            ("lookup_capital", "description changed")
        ], first.items
    if cause == "model-settings":
        assert "'fake-model' -> 'fake-model-large'" in (first.diff or ""), first.diff

    _, allowed = check_agent(history, module, allow=(cause,))
    assert allowed.status == "clean", format_result_line(allowed)
    assert {d.cause for d in allowed.allowed} == {cause}
    for other in sorted(AGENT_CAUSES - {cause}):
        _, refused = check_agent(history, module, allow=(other,))
        assert refused.status == "divergent", (other, format_result_line(refused))


def test_benign_refactor_passes(history: Path, next_release: Path) -> None:
    module = release(
        next_release,
        "deep_agent",
        (
            '    return {"France": "Paris"}.get(country, "unknown")',
            '    return _CAPITALS.get(country, "unknown")',
        ),
        ("@tool\n", '_CAPITALS = {"France": "Paris"}  # one table for every lookup\n\n\n@tool\n'),
    )
    _, result = check_agent(history, module)
    assert result.status == "clean", format_result_line(result)
    assert result.divergences == ()
