"""History budgets and the versioning view on recorded reference-agent histories (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit._budget import (
    BudgetLimits,
    chain_budgets,
    chain_key,
    format_budget,
    measure_budget,
    parse_budget_limits,
)
from replaykit._config import load_project_config
from replaykit._errors import ConfigError
from replaykit._history import load_history
from replaykit._pull import versioning_query
from replaykit._versioning import parse_deployment_version, pinned_elsewhere, versioning_view

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "histories"


def _chain(folder: str) -> list:
    paths = sorted((FIXTURES / folder).glob("*.json"), key=lambda p: chain_key(str(p)) or ("", 0))
    return chain_budgets([(str(p), measure_budget(load_history(p).events)) for p in paths])


def test_support_agent_conversation_growth_is_named() -> None:
    """The support agent sends its whole memory to every reply: input grows per turn."""
    last = _chain("support_conversation")[-1]
    (loop,) = [lp for lp in last.loops if lp.subject == "generate_support_reply"]
    assert loop.iterations == 3 and loop.quadratic and loop.continues_as_new
    assert loop.growing_argument == "args[0]['memory']"
    assert loop.items_growth == pytest.approx(2.0)  # a user and an assistant message per turn
    limit, left = loop.first_limit() or ("", 0)
    assert limit == "payload" and left > 1000  # far beyond the default 1000-turn horizon
    assert not last.flagged
    print("\n".join(format_budget(last)))


def test_monitoring_agent_is_bounded_by_continue_as_new() -> None:
    budgets = _chain("monitoring_continue_as_new")
    last = budgets[-1]
    assert last.chain_runs == 2 and budgets[0] is not None and budgets[0].continues_as_new
    (loop,) = [lp for lp in last.loops if lp.subject == "run_monitoring_check"]
    assert loop.iterations == 6 and not loop.quadratic
    assert loop.first_limit() is None  # events and bytes are bounded per run
    assert "bounded by continue-as-new" in loop.describe()
    assert all(b is not None and not b.flagged for b in budgets)
    print("\n".join(format_budget(last)))


def test_unversioned_fixture_is_never_pinned() -> None:
    view = versioning_view(load_history(FIXTURES / "research_happy_path" / "research-1.json").events)
    assert not view.versioned and view.describe() == "unversioned"
    assert pinned_elsewhere(view, "agents.v2") is None


def test_limits_parse_sizes_and_reject_unknown_keys() -> None:
    limits = parse_budget_limits(["payload_error=1MB", "events-warn=5000", "horizon=50"])
    assert (limits.payload_error, limits.events_warn, limits.horizon) == (1024 * 1024, 5000, 50)
    assert parse_budget_limits({"bytes_warn": "2.5MB"}).bytes_warn == int(2.5 * 1024 * 1024)
    with pytest.raises(ValueError, match="unknown budget 'event'"):
        parse_budget_limits(["event=1"])
    with pytest.raises(ValueError, match="not a number or size"):
        parse_budget_limits(["events_warn=lots"])
    assert BudgetLimits().events_error == 51_200


def test_project_config_budgets_and_deployment_version(tmp_path: Path) -> None:
    py = tmp_path / "pyproject.toml"
    py.write_text('[tool.replaykit]\ndeployment_version = "agents.v2"\n'
                  'budgets = { events_warn = 5000, payload_error = "1MB" }\n')
    config = load_project_config(py)
    assert config.deployment_version == "agents.v2"
    assert config.budgets == {"events_warn": 5000, "payload_error": "1MB"}
    py.write_text('[tool.replaykit]\nbudgets = { events_warm = 1 }\n')
    with pytest.raises(ConfigError, match="unknown budget 'events_warm'"):
        load_project_config(py)


def test_deployment_version_and_pull_query() -> None:
    assert parse_deployment_version(" agents.v2 ") == "agents.v2"
    with pytest.raises(ValueError, match="NAME.BUILD_ID"):
        parse_deployment_version("agents")
    query = versioning_query("WorkflowType='A'", deployment_version="agents.v2",
                             versioning_behavior="auto-upgrade")
    assert query == ("(WorkflowType='A') AND TemporalWorkerDeploymentVersion IN "
                     "('agents:v2', 'agents.v2') AND TemporalWorkflowVersioningBehavior = "
                     "'AutoUpgrade'")
    assert versioning_query(None) is None
