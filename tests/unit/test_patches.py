"""Patch lifecycle analysis on recorded PatchDemo histories (replay only, no server).

The histories in ``tests/data/patches/histories`` were recorded on the time-skipping server by
``tests/integration/test_patches.py`` (``REPLAYKIT_REGENERATE_PATCHES=1`` rewrites them):
``record_v1`` predates the patch, ``record_v2`` carries the marker, ``record_v3`` a deprecated
marker, ``pre_patch_generated`` is v2 code run with the patch held off.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import temporalio.api.common.v1
import temporalio.api.history.v1
import temporalio.bridge.proto.workflow_commands as wf_commands
from click.testing import CliRunner
from temporalio.api.enums.v1 import EventType

from replaykit.check import check_histories, suggest_patch_id
from replaykit.check._capture import CapturedCommand
from replaykit.check._strict import _patch_hint
from replaykit.cli.patches import command as patches_command
from replaykit.history import HistoryFile, load_history
from replaykit.history._patch_markers import history_patch_markers
from replaykit.patches import PatchReport, analyze_patches, scan_patch_sites
from replaykit.patches._text import format_patch_report

DATA = Path(__file__).resolve().parents[1] / "data" / "patches"
HIST = DATA / "histories"
PRE = HIST / "record_v1" / "patch-demo-v1.json"
POST = HIST / "record_v2" / "patch-demo-v2.json"
DEPRECATED = HIST / "record_v3" / "patch-demo-v3.json"
GENERATED = HIST / "pre_patch_generated" / "record_v2" / "patch-demo-v2.json"
PATCH = "patch-demo-audit"


@pytest.fixture(autouse=True)
def demo_path() -> Iterator[None]:
    sys.path.insert(0, str(DATA))
    try:
        yield
    finally:
        sys.path.remove(str(DATA))


def _line_of(module: str, needle: str) -> int:
    lines = (DATA / f"{module}.py").read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if needle in text)


def _row(report: PatchReport, patch_id: str = PATCH) -> dict[str, object]:
    rows = {r.patch_id: r.to_json() for r in report.rows}
    assert patch_id in rows, f"no row for {patch_id}: {list(rows)}"
    return rows[patch_id]


# --- the code: AST scan -----------------------------------------------------------------


def test_scan_finds_patched_call_with_constant_id() -> None:
    from patch_demo_v2 import PatchDemoWorkflow

    [site] = scan_patch_sites([PatchDemoWorkflow])
    assert site.patch_id == PATCH
    assert site.deprecated is False
    assert site.workflow_types == ("PatchDemo",)
    assert site.file.endswith("patch_demo_v2.py")
    assert site.line == _line_of("patch_demo_v2", "workflow.patched(PATCH_ID)")


def test_scan_finds_deprecate_patch_and_nothing_in_v1() -> None:
    from patch_demo_v1 import PatchDemoWorkflow as V1
    from patch_demo_v3 import PatchDemoWorkflow as V3

    [site] = scan_patch_sites([V3])
    assert (site.patch_id, site.deprecated) == (PATCH, True)
    assert site.line == _line_of("patch_demo_v3", "deprecate_patch")
    assert scan_patch_sites([V1]) == []


def test_scan_resolves_aliases_class_constants_and_flags_dynamic_ids(tmp_path: Path) -> None:
    (tmp_path / "scan_sample_wf.py").write_text(
        textwrap.dedent(
            """
            from temporalio import workflow as wf
            from temporalio.workflow import deprecate_patch as dp

            def helper(suffix: str) -> bool:
                return wf.patched(f"dyn-{suffix}")

            @wf.defn(name="Sample")
            class SampleWorkflow:
                CHANGE = "class-const"

                @wf.run
                async def run(self) -> None:
                    if wf.patched(self.CHANGE):
                        pass
                    dp(id="old-one")
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("scan_sample_wf")
        sites = scan_patch_sites([module.SampleWorkflow])
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("scan_sample_wf", None)
    found = {(s.patch_id, s.deprecated) for s in sites}
    assert found == {(None, False), ("class-const", False), ("old-one", True)}
    dynamic = next(s for s in sites if s.patch_id is None)
    assert dynamic.expression == "f'dyn-{suffix}'"
    assert dynamic.workflow_types == ("Sample",)  # module-level helper: the module's workflows


# --- the histories: markers ---------------------------------------------------------------


def test_markers_decoded_from_patch_data_and_search_attribute() -> None:
    [marker], problems = history_patch_markers(load_history(POST))
    assert (marker.patch_id, marker.deprecated, problems) == (PATCH, False, [])
    event = load_history(POST).events[marker.event_id - 1]
    assert event.marker_recorded_event_attributes.marker_name == "core_patch"
    [dep], _ = history_patch_markers(load_history(DEPRECATED))
    assert (dep.patch_id, dep.deprecated) == (PATCH, True)
    assert history_patch_markers(load_history(PRE)) == ([], [])
    assert history_patch_markers(load_history(GENERATED)) == ([], [])


def _with_marker_details(details: dict[str, bytes]) -> HistoryFile:
    hf = load_history(PRE)
    history = temporalio.api.history.v1.History()
    history.CopyFrom(hf.history)
    ev = history.events.add()
    ev.event_id = len(history.events)
    ev.event_type = EventType.EVENT_TYPE_MARKER_RECORDED
    ev.marker_recorded_event_attributes.marker_name = "core_patch"
    for key, data in details.items():
        ev.marker_recorded_event_attributes.details[key].payloads.append(
            temporalio.api.common.v1.Payload(data=data)
        )
    return HistoryFile(path=None, workflow_id="x", history=history)


def test_legacy_and_undecodable_markers() -> None:
    legacy = _with_marker_details({"patch_id": b"legacy-id", "deprecated": b"\x01"})
    [m], problems = history_patch_markers(legacy)
    assert (m.patch_id, m.deprecated, problems) == ("legacy-id", True, [])
    broken = _with_marker_details({"patch-data": b"not json"})
    markers, problems = history_patch_markers(broken)
    assert markers == []
    assert len(problems) == 1 and "cannot be decoded" in problems[0]


# --- the lifecycle verdicts ---------------------------------------------------------------


def test_patched_code_replays_both_and_deprecation_is_not_yet_safe() -> None:
    report = analyze_patches([HIST], workflows=["patch_demo_v2"])
    row = _row(report)
    assert row["code_state"] == "patched"
    assert row["histories_with_marker"] == 2  # v2 (active) and v3 (deprecated)
    assert row["histories_with_active_marker"] == 1
    assert row["histories_without_marker"] == 2  # recorded v1 and the generated one
    assert row["histories_failing"] == 0
    assert (row["deprecate_safe"], row["remove_safe"], row["verdict"]) == (False, False, "keep")
    old = [h for h in row["histories"] if h["branch"] == "old"]  # type: ignore[union-attr]
    assert {h["evidence"] for h in old} == {"replay"}
    assert report.exit_code == 0


def test_deprecated_code_fails_pre_patch_histories_only() -> None:
    report = analyze_patches([HIST], workflows=["patch_demo_v3"])
    row = _row(report)
    assert row["code_state"] == "deprecated"
    assert row["verdict"] == "unsafe"
    states = {Path(h["path"]).parent.name: h for h in row["histories"]}  # type: ignore[union-attr]
    assert states["record_v1"]["replays"] is False
    assert states["record_v2"]["replays"] is True and states["record_v3"]["replays"] is True
    assert row["histories_failing"] == 2
    assert report.exit_code == 1
    assert "deprecate_patch() came too early" in str(row["reason"])


def test_deprecated_code_with_only_post_patch_histories() -> None:
    report = analyze_patches([POST, DEPRECATED], workflows=["patch_demo_v3"])
    row = _row(report)
    assert (row["deprecate_safe"], row["remove_safe"]) == (True, False)
    assert row["verdict"] == "keep-deprecated"
    assert report.exit_code == 0
    only_deprecated = _row(analyze_patches([DEPRECATED], workflows=["patch_demo_v3"]))
    assert (only_deprecated["remove_safe"], only_deprecated["verdict"]) == (True, "remove")


def test_removed_patch_uses_position_rule_and_flags_active_markers() -> None:
    report = analyze_patches([PRE, POST, DEPRECATED], workflows=["patch_demo_v4"])
    row = _row(report)
    assert row["code_state"] == "absent"
    states = {Path(h["path"]).parent.name: h for h in row["histories"]}  # type: ignore[union-attr]
    assert states["record_v1"]["branch"] == "old"
    assert states["record_v1"]["evidence"] == "position"
    assert states["record_v2"]["replays"] is False  # non-deprecated marker, no patched() call
    assert states["record_v3"]["replays"] is True  # deprecated markers are ignored
    assert row["verdict"] == "unsafe"
    assert report.exit_code == 1
    clean = analyze_patches([DEPRECATED], workflows=["patch_demo_v4"])
    assert (_row(clean)["verdict"], clean.exit_code) == ("removed", 0)


def test_text_table_has_verdict_and_reason() -> None:
    text = format_patch_report(analyze_patches([HIST], workflows=["patch_demo_v2"]))
    header = text.splitlines()[0]
    assert header.split()[:3] == ["PATCH", "TYPES", "CODE"] and "VERDICT" in header
    assert "KEEP" in text.splitlines()[1]
    assert "reason: 2 histories took the old branch" in text
    assert "patch_demo_v2.py:" in text


# --- the CLI ------------------------------------------------------------------------------


def test_cli_json_rows_and_exit_codes() -> None:
    runner = CliRunner()
    ok = runner.invoke(patches_command, [str(HIST), "-w", "patch_demo_v2", "--json"])
    assert ok.exit_code == 0, ok.output
    [row] = json.loads(ok.output)["patches"]
    for key in (
        "patch_id",
        "histories_with_marker",
        "histories_without_marker",
        "deprecate_safe",
        "remove_safe",
        "workflow_types",
        "code_state",
        "sites",
    ):
        assert key in row
    unsafe = runner.invoke(patches_command, [str(HIST), "-w", "patch_demo_v3"])
    assert unsafe.exit_code == 1, unsafe.output
    assert "UNSAFE" in unsafe.output
    missing = runner.invoke(patches_command, [str(HIST / "nope"), "-w", "patch_demo_v2"])
    assert missing.exit_code == 2
    no_wf = runner.invoke(patches_command, [str(HIST), "-w", "no_such_module_xyz"])
    assert no_wf.exit_code == 2
    bad_combo = runner.invoke(patches_command, ["--generate-old", "x.py"])
    assert bad_combo.exit_code == 2 and "--out" in bad_combo.output


# --- unpatched-change hints ---------------------------------------------------------------


def test_unguarded_step_hint_names_patched_and_source_line() -> None:
    report = check_histories([PRE], workflows=["patch_demo_unguarded"], jobs=0)
    [result] = report.results
    assert result.status == "divergent"
    first = result.first
    assert first is not None and first.kind == "nondeterminism"
    line = _line_of("patch_demo_unguarded", "the unguarded new step")
    assert first.source is not None and f"patch_demo_unguarded.py:{line}" in first.source
    assert first.hint is not None
    assert 'workflow.patched("patch-demo-audit-greeting")' in first.hint
    assert f"patch_demo_unguarded.py:{line}" in first.hint


def test_suggest_patch_id_and_missing_command_hint() -> None:
    assert suggest_patch_id("ResearchAgentWorkflow", "search_web") == (
        "research-agent-workflow-search-web"
    )
    assert suggest_patch_id("X", "audit", removed=True) == "x-drop-audit"
    ev = temporalio.api.history.v1.HistoryEvent(
        event_id=7, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    ev.activity_task_scheduled_event_attributes.activity_type.name = "send_email"
    prev = CapturedCommand(wf_commands.WorkflowCommand(), 0, ("agent.py", 41, "run"))
    hint = _patch_hint("missing-command", None, ev, "Notify", prev)
    assert hint is not None
    assert 'if not workflow.patched("notify-drop-send-email")' in hint
    assert "right after agent.py:41" in hint
    assert _patch_hint("activity-input", None, ev, "Notify", prev) is None


def test_removed_patch_call_is_explained_with_the_marker_and_deprecate_patch() -> None:
    # v4 drops the patched() call while v2 executions that recorded the marker still run.
    report = check_histories([POST], workflows=["patch_demo_v4"], jobs=0)
    [result] = report.results
    first = result.first
    assert result.status == "divergent" and first is not None
    assert (first.kind, first.cause) == ("nondeterminism", "patch-removed")
    [marker] = [m for m in history_patch_markers(load_history(POST))[0] if m.patch_id == PATCH]
    assert first.event_id == marker.event_id and first.event_type == "MarkerRecorded"
    assert f"workflow.patched('{PATCH}')` branch (its marker is event {marker.event_id})" in (
        first.message
    )
    assert first.hint is not None and f"workflow.deprecate_patch('{PATCH}')" in first.hint
    assert "Failure {" not in first.message  # the SDK's debug dump is not repeated
