"""History budgets and the versioning view on recorded reference-agent histories (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from replaykit import ConfigError
from replaykit.check._budget import (
    BudgetLimits,
    chain_budgets,
    chain_key,
    format_budget,
    measure_budget,
    parse_budget_limits,
)
from replaykit.config import load_project_config
from replaykit.history import load_history
from replaykit.history._versioning import (
    parse_deployment_version,
    pinned_elsewhere,
    versioning_view,
)
from replaykit.record._pull import versioning_query

if TYPE_CHECKING:
    from temporalio.api.history.v1 import HistoryEvent

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
    view = versioning_view(
        load_history(FIXTURES / "research_happy_path" / "research-1.json").events
    )
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
    py.write_text(
        '[tool.replaykit]\ndeployment_version = "agents.v2"\n'
        'budgets = { events_warn = 5000, payload_error = "1MB" }\n'
    )
    config = load_project_config(py)
    assert config.deployment_version == "agents.v2"
    assert config.budgets == {"events_warn": 5000, "payload_error": "1MB"}
    py.write_text("[tool.replaykit]\nbudgets = { events_warm = 1 }\n")
    with pytest.raises(ConfigError, match="unknown budget 'events_warm'"):
        load_project_config(py)


def test_deployment_version_and_pull_query() -> None:
    assert parse_deployment_version(" agents.v2 ") == "agents.v2"
    with pytest.raises(ValueError, match="NAME.BUILD_ID"):
        parse_deployment_version("agents")
    query = versioning_query(
        "WorkflowType='A'", deployment_version="agents.v2", versioning_behavior="auto-upgrade"
    )
    assert query == (
        "(WorkflowType='A') AND TemporalWorkerDeploymentVersion IN "
        "('agents:v2', 'agents.v2') AND TemporalWorkflowVersioningBehavior = "
        "'AutoUpgrade'"
    )
    assert versioning_query(None) is None


def _event(event_id: int, **attrs: object) -> HistoryEvent:
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.history.v1 import HistoryEvent

    ((name, value),) = attrs.items()
    kind = {
        "workflow_execution_started_event_attributes": "WORKFLOW_EXECUTION_STARTED",
        "workflow_task_completed_event_attributes": "WORKFLOW_TASK_COMPLETED",
        "workflow_execution_options_updated_event_attributes": "WORKFLOW_EXECUTION_OPTIONS_UPDATED",
        "workflow_execution_continued_as_new_event_attributes": "WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
    }[name]
    return HistoryEvent(
        event_id=event_id, event_type=EventType.Value(f"EVENT_TYPE_{kind}"), **{name: value}
    )  # type: ignore[arg-type]


def test_versioning_view_reads_overrides_inheritance_and_old_fields() -> None:
    from temporalio.api.deployment.v1 import WorkerDeploymentVersion as V
    from temporalio.api.enums.v1 import ContinueAsNewVersioningBehavior, VersioningBehavior
    from temporalio.api.history.v1 import (
        WorkflowExecutionContinuedAsNewEventAttributes as CAN,
    )
    from temporalio.api.history.v1 import (
        WorkflowExecutionOptionsUpdatedEventAttributes as Upd,
    )
    from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as Start
    from temporalio.api.history.v1 import WorkflowTaskCompletedEventAttributes as WTC
    from temporalio.api.workflow.v1 import VersioningOverride

    pinned = VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
    start = _event(1, workflow_execution_started_event_attributes=Start())
    on_v1 = _event(
        4,
        workflow_task_completed_event_attributes=WTC(
            versioning_behavior=pinned,
            deployment_version=V(deployment_name="agents", build_id="v1"),
        ),
    )
    view = versioning_view([start, on_v1])
    assert (view.behavior, view.version) == ("pinned", "agents.v1")
    assert pinned_elsewhere(view, "agents.v2") == "pinned to agents.v1: does not run agents.v2"
    assert pinned_elsewhere(view, "agents.v1") is None
    # An auto-upgrade override (later) moves it to whatever is current: checked.
    auto = _event(
        5,
        workflow_execution_options_updated_event_attributes=Upd(
            versioning_override=VersioningOverride(auto_upgrade=True)
        ),
    )
    moved = versioning_view([start, on_v1, auto])
    assert moved.behavior == "auto-upgrade" and moved.override == "auto-upgrade"
    assert pinned_elsewhere(moved, "agents.v2") is None
    # ...and unsetting it restores the pin.
    unset = _event(
        6, workflow_execution_options_updated_event_attributes=Upd(unset_versioning_override=True)
    )
    assert versioning_view([start, on_v1, auto, unset]).behavior == "pinned"
    # The deprecated string field of older servers.
    old = _event(
        4,
        workflow_task_completed_event_attributes=WTC(
            versioning_behavior=pinned, worker_deployment_version="agents.v0"
        ),
    )
    assert versioning_view([start, old]).version == "agents.v0"
    # A child that inherited a pinned version and has completed no task yet.
    child = _event(
        1,
        workflow_execution_started_event_attributes=Start(
            inherited_pinned_version=V(deployment_name="agents", build_id="v1")
        ),
    )
    inherited = versioning_view([child])
    assert (inherited.behavior, inherited.version) == ("pinned", "agents.v1")
    # Upgrade on continue-as-new is recorded on the run that continued.
    can = _event(
        7,
        workflow_execution_continued_as_new_event_attributes=CAN(
            initial_versioning_behavior=(
                ContinueAsNewVersioningBehavior.CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE
            )
        ),
    )
    assert versioning_view([start, on_v1, can]).continue_as_new_behavior == "auto-upgrade"
    assert "pinned to agents.v1" in view.describe()


def test_scenario_rejects_bad_deployment_options() -> None:
    from reference_agents.research import ResearchAgentWorkflow
    from replaykit import ScenarioError, scenario

    async def fn(run: object) -> None:
        pass

    with pytest.raises(ScenarioError, match="NAME.BUILD_ID"):
        scenario(fn, workflows=[ResearchAgentWorkflow], deployment="no-dot")
    with pytest.raises(ScenarioError, match="versioning_behavior 'sticky'"):
        scenario(
            fn, workflows=[ResearchAgentWorkflow], deployment="a.b", versioning_behavior="sticky"
        )
    ok = scenario(
        fn, workflows=[ResearchAgentWorkflow], deployment="a.b", versioning_behavior="auto-upgrade"
    )
    assert (ok.deployment, ok.versioning_behavior) == ("a.b", "auto-upgrade")


def test_check_cli_rejects_a_malformed_deployment_version() -> None:
    from click.testing import CliRunner

    from replaykit.cli.check import command

    result = CliRunner().invoke(
        command,
        [
            str(FIXTURES / "research_happy_path"),
            "-w",
            "reference_agents",
            "--deployment-version",
            "v2",
        ],
    )
    assert result.exit_code == 2 and "expected NAME.BUILD_ID" in result.output


def test_show_prints_the_budget_with_the_chain(tmp_path: Path) -> None:
    from replaykit.views import show_history

    report = show_history(
        FIXTURES / "support_conversation" / "support-1.run2.json", html_out=tmp_path / "s.html"
    )
    text = report.format_text()
    assert "2 runs in the chain" in text and "args[0]['memory']" in text
    assert "grows by" in (tmp_path / "s.html").read_text()


def test_pulled_runs_chain_by_run_ids_not_file_names(tmp_path: Path) -> None:
    """Pulled files are named <id>__<run id>.json: the started events' run ids join them."""
    import shutil

    from replaykit.check import check_histories

    for path in (FIXTURES / "support_conversation").glob("*.json"):
        run_id = load_history(path).run_id
        shutil.copy(path, tmp_path / f"support-1__{run_id}.json")
    report = check_histories([tmp_path], workflows=["reference_agents"], jobs=0)
    runs = sorted(r.budget.chain_runs for r in report.results if r.budget is not None)
    assert runs == [1, 2]
    last = next(r.budget for r in report.results if r.budget and r.budget.chain_runs == 2)
    (reply,) = [lp for lp in last.loops if lp.subject == "generate_support_reply"]
    assert reply.iterations == 3
    # Only the second run present: it is measured alone (its first run is missing).
    alone = [
        p
        for p in tmp_path.iterdir()
        if load_history(p)
        .events[0]
        .workflow_execution_started_event_attributes.continued_execution_run_id
    ]
    single = check_histories(alone, workflows=["reference_agents"], jobs=0)
    assert single.results[0].budget is not None and single.results[0].budget.chain_runs == 1
