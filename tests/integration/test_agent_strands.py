"""Strands agents on Temporal's StrandsPlugin: recorded on the embedded server, then checked
against next releases of the agent module (tests/data/agents/strands_agent.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.check._report import format_result_line

from .agent_review import reviewed_change
from .agent_support import check_agent, record_agents, release

pytest.importorskip("temporalio.strands_agents")
pytestmark = [pytest.mark.integration]

MODULE = "strands_agent"
INTEGRATION = "Strands"
AGENT = "workflow 'StrandsAgentWorkflow'"  # TemporalAgent without summary= names no agent


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = record_agents(
        ["tests.data.agents.strands_scenarios"], tmp_path_factory.mktemp("strands")
    )
    return files["strands_agent_run"]


def test_unchanged_code_checks_clean(history: Path) -> None:
    # every message of the agent's list carries a random tracking_id (built-in volatile rule)
    _, result = check_agent(history, f"tests.data.agents.{MODULE}")
    assert result.status == "clean" and result.divergences == (), format_result_line(result)


def test_benign_refactor_passes(history: Path, next_release: Path) -> None:
    module = release(
        next_release,
        MODULE,
        (
            "result = await agent.invoke_async(question)\n        return str(result)",
            "reply = await agent.invoke_async(question)\n        return str(reply)",
        ),
    )
    _, result = check_agent(history, module)
    assert result.status == "clean" and result.divergences == (), format_result_line(result)


def test_prompt_change_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(
        next_release, MODULE, ("Look orders up before", "Always look orders up before")
    )
    d = reviewed_change(history, module, "prompt", integration=INTEGRATION, agent=AGENT)
    # sent as system_prompt, as content blocks and in invocation_state: reported once
    assert d.field == "input.system_prompt", d.field
    assert "system prompt changed" in d.message, d.message
    assert "Always look orders up" in (d.diff or ""), d.diff


def test_tool_added_in_front_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(
        next_release,
        MODULE,
        ("tools=[lookup_order, cancel_order]", "tools=[refund_order, lookup_order, cancel_order]"),
        (
            "@tool\nasync def lookup_order",
            '@tool\nasync def refund_order(order_id: str) -> str:\n    """Refund an order."""\n'
            '    return "refunded"\n\n\n@tool\nasync def lookup_order',
        ),
    )
    d = reviewed_change(history, module, "tools", integration=INTEGRATION, agent=AGENT)
    # by name, not an index-shifted diff of the rest of the list
    assert [(i["name"], i["change"]) for i in d.items] == [("refund_order", "added")], d.items
    assert "tools: added refund_order" in d.message, d.message


def test_model_change_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(next_release, MODULE, ('MODEL = "desk-small"', 'MODEL = "desk-large"'))
    d = reviewed_change(history, module, "model-settings", integration=INTEGRATION, agent=AGENT)
    assert d.diff is not None and "'desk-small' -> 'desk-large'" in d.diff, d.diff


def test_cli_allow_prompt_and_only_prompt(history: Path, next_release: Path) -> None:
    from click.testing import CliRunner

    from replaykit.cli import main

    module = release(
        next_release, MODULE, ("Look orders up before", "Always look orders up before")
    )
    base = ["check", str(history), "--workflows", module, "--plugin", f"{module}:plugin"]
    base += ["--jobs", "0"]
    failed = CliRunner().invoke(main, base)
    assert failed.exit_code == 1, failed.output
    assert failed.output.count("(Strands): system prompt changed") == 1, failed.output
    assert "other input arguments" not in failed.output, failed.output
    assert CliRunner().invoke(main, [*base, "--allow", "prompt"]).exit_code == 0
    assert CliRunner().invoke(main, [*base, "--allow", "tools"]).exit_code == 1
