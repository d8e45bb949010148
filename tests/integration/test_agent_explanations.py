"""Model calls explained in agent terms, on histories recorded through real plugins.

The tiny test agents (``tests/data/agents``) are recorded on the embedded server through
``OpenAIAgentsPlugin`` (with the integration's own ``TestModelProvider``) and
``LangGraphPlugin`` (with a langchain fake chat model), then checked against copies of their
modules with one change each, as the next release of an agent repository would be.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replaykit.check._report import format_result_line

from .agent_support import check_agent, record_agents, release

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One history per test agent, recorded through its plugin on the embedded server."""
    out = tmp_path_factory.mktemp("agent-histories")
    files = record_agents(["tests.data.agents.agent_scenarios"], out)
    assert set(files) == {"support_agent", "langgraph_agent", "pydantic_agent"}, files
    return files


def test_unchanged_agents_check_clean(recorded: dict[str, Path]) -> None:
    # LangGraph's checkpoint ids, task ids, first-attempt times and message ids, and Pydantic
    # AI's request timestamps and capability ids, are new on every run (built-in volatile
    # rules); the OpenAI Agents input is stable.
    for scenario, module in (
        ("support_agent", "tests.data.agents.oa_agent"),
        ("langgraph_agent", "tests.data.agents.lg_agent"),
        ("pydantic_agent", "tests.data.agents.pai_agent"),
    ):
        _, result = check_agent(recorded[scenario], module)
        assert result.status == "clean", format_result_line(result)
        assert result.divergences == (), format_result_line(result)


def test_prompt_changed_halfway_shows_the_changed_words(
    recorded: dict[str, Path], next_release: Path
) -> None:
    module = release(
        next_release, "oa_agent", ("Always be polite and hand", "Always be brief and hand")
    )
    report, result = check_agent(recorded["support_agent"], module)
    assert result.status == "divergent"
    causes = {d.cause for d in result.divergences}
    assert causes == {"prompt"}, format_result_line(result)
    first = result.divergences[0]
    assert first.agent == "Triage" and first.integration == "OpenAI Agents"
    assert first.field == "input.system_instructions"
    assert "agent 'Triage' (OpenAI Agents): instructions changed" in first.message
    assert first.diff is not None and "[-polite-]{+brief+}" in first.diff
    assert len(first.recorded) > 3900  # the change is in the middle of a ~4 KB prompt
    text = format_result_line(result)
    assert "[-polite-]{+brief+}" in text
    # the code: line is the user's Runner.run call, not the agents SDK's internals
    assert first.source is not None and "oa_agent_next.py" in first.source, first.source
    assert "site-packages" not in text
    payload = json.loads(json.dumps(report.to_json()))
    (jd, *_) = payload["results"][0]["divergences"]
    assert jd["cause"] == "prompt" and jd["agent"] == "Triage"
    assert "[-polite-]{+brief+}" in jd["diff"]

    for allow in (
        ("prompt",),
        ("activity:invoke_model_activity.input.system_instructions",),
        ("activity-input",),
    ):
        _, allowed = check_agent(recorded["support_agent"], module, allow=allow)
        assert allowed.status == "clean", (allow, format_result_line(allowed))
        assert {d.cause for d in allowed.allowed} == {"prompt"}
    _, other = check_agent(recorded["support_agent"], module, allow=("tools",))
    assert other.status == "divergent"


def test_tool_and_model_setting_changes_are_named(
    recorded: dict[str, Path], next_release: Path
) -> None:
    module = release(
        next_release,
        "oa_agent",
        ('"""Look an order up by its id.', '"""Look an order up by its id or tracking number.'),
        ("TEMPERATURE = 0.2", "TEMPERATURE = 0.7"),
    )
    _, result = check_agent(recorded["support_agent"], module)
    by_cause = {d.cause: d for d in result.divergences}
    assert set(by_cause) == {"tools", "model-settings"}, format_result_line(result)
    tools = by_cause["tools"]
    assert "tools: lookup_order: description changed" in tools.message
    assert [(i["name"], i["change"]) for i in tools.items] == [
        ("lookup_order", "description changed")
    ]
    assert "-> 'Look an order up by its id or tracking number.'" in (tools.diff or "")
    settings = by_cause["model-settings"]
    assert settings.field == "input.model_settings"
    assert "0.2 -> 0.7" in (settings.diff or "")
    _, allowed = check_agent(recorded["support_agent"], module, allow=("tools", "model-settings"))
    assert allowed.status == "clean"


def test_langgraph_state_change_and_dotted_allow(
    recorded: dict[str, Path], next_release: Path
) -> None:
    module = release(
        next_release,
        "lg_agent",
        ("HumanMessage(content=question)", 'HumanMessage(content="Customer says: " + question)'),
    )
    _, result = check_agent(recorded["langgraph_agent"], module)
    assert result.status == "divergent"
    (d,) = result.divergences
    assert d.cause == "input" and d.integration == "LangGraph", format_result_line(result)
    assert d.agent == "graph 'react-agent', node 'agent'"
    assert d.subject == "activity react-agent.agent"
    # only the real change: no checkpoint ids, task ids or timestamps in the diff
    assert d.diff is not None and "Customer says" in d.diff
    assert "checkpoint" not in d.diff and "node_first_attempt_time" not in d.diff
    assert d.source is not None and "lg_agent_next.py" in d.source, d.source
    # a dotted activity name is matched whole: react-agent.agent + field input
    _, allowed = check_agent(
        recorded["langgraph_agent"], module, allow=("activity:react-agent.agent.input",)
    )
    assert allowed.status == "clean", format_result_line(allowed)


def test_user_volatile_rule_on_a_dotted_activity(
    recorded: dict[str, Path], next_release: Path
) -> None:
    module = release(
        next_release,
        "lg_agent",
        ("HumanMessage(content=question)", 'HumanMessage(content="Customer says: " + question)'),
    )
    _, result = check_agent(
        recorded["langgraph_agent"],
        module,
        volatile=("activity:react-agent.agent.args.*.messages.*.content",),
    )
    assert result.status == "clean", format_result_line(result)


def test_cli_allow_prompt_and_volatile_flag(
    recorded: dict[str, Path], next_release: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from replaykit.cli import main

    module = release(
        next_release, "oa_agent", ("Always be polite and hand", "Always be brief and hand")
    )
    base = [
        "check",
        str(recorded["support_agent"]),
        "--workflows",
        module,
        "--plugin",
        f"{module}:plugin",
        "--jobs",
        "0",
    ]
    report = tmp_path / "report.json"
    failed = CliRunner().invoke(main, [*base, "--json-report", str(report)])
    assert failed.exit_code == 1, failed.output
    assert "agent 'Triage' (OpenAI Agents): instructions changed" in failed.output
    assert "[-polite-]{+brief+}" in failed.output
    (d, *_) = json.loads(report.read_text())["results"][0]["divergences"]
    assert (d["cause"], d["agent"], d["field"]) == ("prompt", "Triage", "input.system_instructions")
    allowed = CliRunner().invoke(main, [*base, "--allow", "prompt"])
    assert allowed.exit_code == 0, allowed.output
    bad = CliRunner().invoke(main, [*base, "--volatile", "react-agent.agent.input"])
    assert bad.exit_code == 2 and "activity:NAME.PATH" in bad.output, bad.output
