"""Worker Versioning on the embedded dev server: record on two deployment versions, pull with
versioning filters, check a new build (PINNED executions of other versions are listed as
``pinned``, AUTO_UPGRADE ones are checked), overrides, and the rollout report.
"""

from __future__ import annotations

import asyncio
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.protobuf import field_mask_pb2
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionOptionsRequest
from temporalio.common import PinnedVersioningOverride, WorkerDeploymentVersion

from replaykit.check import CheckOptions, check_histories
from replaykit.cli.check import command as check_command
from replaykit.cli.pull import command as pull_command
from replaykit.cli.rollout import command as rollout_command
from replaykit.history import find_history_files, load_history
from replaykit.history._versioning import versioning_view
from replaykit.record import load_scenarios, pull_histories_async, record_scenarios_async
from replaykit.record._pull import versioning_query
from replaykit.servers import RunningServer, parse_server, start_server

pytestmark = [pytest.mark.integration]

DATA = Path(__file__).resolve().parents[1] / "data" / "versioning"


@pytest.fixture(scope="module", autouse=True)
def demo_path() -> Iterator[None]:
    sys.path.insert(0, str(DATA))
    try:
        yield
    finally:
        sys.path.remove(str(DATA))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(parse_server("embedded")) as running:
        yield running


def _pull(server: RunningServer, out: Path, query: str | None = None) -> dict[str, Path]:
    async def main() -> None:
        client = await server.client()
        report = await pull_histories_async(client, query=query, out_dir=out)
        assert report.ok

    asyncio.run(main())
    return {load_history(p).workflow_id: p for p in find_history_files([out])}


@pytest.fixture(scope="module")
def pulled(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Executions recorded on rollout.v1 and rollout.v2, then pulled (order-1 still runs)."""
    recorded = tmp_path_factory.mktemp("recorded")
    scenarios = {s.name: s for s in load_scenarios([DATA / "rollout_scenarios.py"])}

    async def main() -> None:
        client = await server.client()
        report = await record_scenarios_async(
            [scenarios["rollout_v1"], scenarios["rollout_v2"]], client, out_dir=recorded
        )
        assert report.ok, [s.error for s in report.scenarios]

    asyncio.run(main())
    # The recorded histories carry versioning (the scenario's worker ran on its version).
    v1 = versioning_view(load_history(recorded / "rollout_v1" / "order-1.json").events)
    assert (v1.behavior, v1.version) == ("pinned", "rollout.v1")
    return _pull(server, tmp_path_factory.mktemp("pulled"))


def test_histories_record_behaviour_and_version(pulled: dict[str, Path]) -> None:
    views = {wid: versioning_view(load_history(p).events) for wid, p in pulled.items()}
    assert {wid: (v.behavior, v.version) for wid, v in views.items()} == {
        "order-1": ("pinned", "rollout.v1"),
        "chat-1": ("auto-upgrade", "rollout.v2"),
        "order-2": ("pinned", "rollout.v2"),
        "chat-2": ("auto-upgrade", "rollout.v2"),
        "chat-3": ("auto-upgrade", "rollout.v2"),
    }
    # The AUTO_UPGRADE execution started on v1 and moved to v2.
    assert views["chat-1"].versions == ("rollout.v1", "rollout.v2")
    assert not load_history(pulled["order-1"]).is_closed


def test_check_new_build_lists_pinned_and_fails_auto_upgrade(
    pulled: dict[str, Path], tmp_path: Path
) -> None:
    report_path, junit = tmp_path / "r.json", tmp_path / "r.xml"
    result = CliRunner().invoke(
        check_command,
        [
            *map(str, pulled.values()),
            "--workflows",
            "rollout_v3",
            "-j",
            "0",
            "--deployment-version",
            "rollout.v3",
            "--json-report",
            str(report_path),
            "--junit-xml",
            str(junit),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "pinned to rollout.v1: does not run rollout.v3" in result.output
    assert "pinned to rollout.v2: does not run rollout.v3" in result.output
    assert "2 pinned to other versions" in result.output
    data = json.loads(report_path.read_text())
    status = {r["workflow_id"]: r["status"] for r in data["results"]}
    assert status == {
        "order-1": "pinned",
        "order-2": "pinned",
        "chat-1": "divergent",
        "chat-2": "divergent",
        "chat-3": "divergent",
    }
    chat = next(r for r in data["results"] if r["workflow_id"] == "chat-1")
    assert chat["versioning"]["behavior"] == "auto-upgrade"
    assert chat["versioning"]["version"] == "rollout.v2"
    assert chat["divergences"][0]["kind"] in ("nondeterminism", "drift"), chat["divergences"]
    assert data["summary"]["pinned"] == 2
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == "2" and suite.get("failures") == "3"
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert all(
        "does not run rollout.v3" in (c.find("skipped").get("message") or "")  # type: ignore[union-attr]
        for c in skipped
    )
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert {"versioning_behavior", "deployment_version"} <= set(props)


def test_include_pinned_checks_them_too(pulled: dict[str, Path]) -> None:
    report = check_histories(
        list(pulled.values()),
        workflows=["rollout_v3"],
        jobs=0,
        options=CheckOptions(deployment_version="rollout.v3", include_pinned=True),
    )
    assert len(report.divergent) == 5 and not report.pinned


def test_current_build_passes_and_keeps_v1_pinned(pulled: dict[str, Path]) -> None:
    report = check_histories(
        list(pulled.values()),
        workflows=["rollout_v1"],
        jobs=0,
        options=CheckOptions(deployment_version="rollout.v2"),
    )
    assert report.exit_code == 0
    assert [r.workflow_id for r in report.pinned] == ["order-1"]
    assert {r.workflow_id for r in report.clean} == {"order-2", "chat-1", "chat-2", "chat-3"}


def test_rollout_report_answers_ramp_and_drain(pulled: dict[str, Path]) -> None:
    paths = [str(p) for p in pulled.values()]
    # v3 breaks the AUTO_UPGRADE agents, and chat-3 is running: it would fail on v3.
    bad = CliRunner().invoke(
        rollout_command,
        [*paths, "-w", "rollout_v3", "--deployment-version", "rollout.v3", "-j", "0", "--json"],
    )
    assert bad.exit_code == 1, bad.output
    data = json.loads(bad.output)
    assert data["can_ramp"] is False
    assert [b.split(" ")[0] for b in data["blocking"]] == ["chat-3"]
    assert len(data["notes"]) == 2  # chat-1, chat-2: closed, diverge, never replay again
    rows = {r["version"]: r for r in data["versions"]}
    assert (rows["rollout.v1"]["pinned"], rows["rollout.v1"]["pinned_running"]) == (1, 1)
    assert (
        rows["rollout.v2"]["pinned"],
        rows["rollout.v2"]["auto_upgrade"],
        rows["rollout.v2"]["auto_upgrade_running"],
    ) == (1, 3, 1)
    assert rows["rollout.v2"]["checked_divergent"] == 3
    assert data["drain"]["rollout.v1"]["can_drain"] is False
    assert "order-1" in data["drain"]["rollout.v1"]["reason"]
    assert data["drain"]["rollout.v2"]["can_drain"] is True
    # The deployed code as the next build: everything that will run it replays clean.
    good = CliRunner().invoke(
        rollout_command,
        [*paths, "-w", "rollout_v1", "--deployment-version", "rollout.v3", "-j", "0"],
    )
    assert good.exit_code == 0, good.output
    assert "can ramp rollout.v3: YES" in good.output
    assert "can drain rollout.v1: NO" in good.output
    print(bad.output, good.output)


def test_pull_filters_by_version_and_behaviour(server: RunningServer, tmp_path: Path) -> None:
    on_v1 = _pull(server, tmp_path / "v1", versioning_query(None, deployment_version="rollout.v1"))
    assert set(on_v1) == {"order-1"}
    auto = _pull(
        server, tmp_path / "auto", versioning_query(None, versioning_behavior="auto-upgrade")
    )
    assert set(auto) == {"chat-1", "chat-2", "chat-3"}
    pinned_v2 = _pull(
        server,
        tmp_path / "pv2",
        versioning_query(
            "WorkflowType='OrderAgent'",
            deployment_version="rollout.v2",
            versioning_behavior="pinned",
        ),
    )
    assert set(pinned_v2) == {"order-2"}
    cli = CliRunner().invoke(
        pull_command,
        [
            "--server",
            server.address,
            "--out",
            str(tmp_path / "cli"),
            "--deployment-version",
            "rollout.v1",
            "--versioning-behavior",
            "pinned",
            "-q",
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert [load_history(p).workflow_id for p in find_history_files([tmp_path / "cli"])] == [
        "order-1"
    ]
    bad = CliRunner().invoke(
        pull_command,
        ["--server", server.address, "--out", str(tmp_path / "bad"), "--deployment-version", "v1"],
    )
    assert bad.exit_code == 2 and "NAME.BUILD_ID" in bad.output


def test_override_onto_the_checked_version_is_checked(
    server: RunningServer, pulled: dict[str, Path], tmp_path: Path
) -> None:
    """order-1 (pinned to v1, running) gets a pinned override to v2: a v2 check checks it."""

    async def override() -> None:
        client = await server.client()
        version = WorkerDeploymentVersion("rollout", "v2")
        await client.workflow_service.update_workflow_execution_options(
            UpdateWorkflowExecutionOptionsRequest(
                namespace=client.namespace,
                workflow_execution={"workflow_id": "order-1"},
                workflow_execution_options=WorkflowExecutionOptions(
                    versioning_override=PinnedVersioningOverride(version)._to_proto()
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["versioning_override"]),
                identity="test",
            )
        )

    asyncio.run(override())
    moved = _pull(server, tmp_path / "moved", "WorkflowId='order-1'")["order-1"]
    view = versioning_view(load_history(moved).events)
    assert view.override == "pinned:rollout.v2" and view.version == "rollout.v2"
    on_v2 = check_histories(
        [moved],
        workflows=["rollout_v1"],
        jobs=0,
        options=CheckOptions(deployment_version="rollout.v2"),
    )
    assert on_v2.results[0].status == "clean"
    on_v3 = check_histories(
        [moved],
        workflows=["rollout_v3"],
        jobs=0,
        options=CheckOptions(deployment_version="rollout.v3"),
    )
    assert on_v3.results[0].status == "pinned"
    assert "override at event" in (on_v3.results[0].pinned_reason or "")
