"""A history the SDK core rejects is a malformed-history input error at once, never a hang.

The validator rejects every such history we know of before replay; these tests hand the
core malformed histories past it (a ``HistoryFile`` built directly, or the validator
switched off in a subprocess) to show the fallback: the core's panic ("Invalid history!",
after which the replay never returns) and its "Fatal error in workflow machines" become
the same per-file error, not the timeout and not a divergence that blames the code.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import google.protobuf.json_format
import pytest
import temporalio.api.history.v1

from replaykit import CheckOptions, check_histories
from replaykit._internal import _sdk_compat
from replaykit.history._files import HistoryFile

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCE = ROOT / "fixtures/histories/approval_deadline/approval-timeout-1.json"
TIMEOUT = 600.0  # far beyond the test: a result that names the timeout is a failure


def _without(*event_ids: int) -> dict[str, Any]:
    doc = json.loads(SOURCE.read_text())
    events = [copy.deepcopy(e) for e in doc["events"] if int(e["eventId"]) not in event_ids]
    for i, e in enumerate(events, 1):
        e["eventId"] = str(i)
    return {"events": events}


def _unvalidated(doc: dict[str, Any]) -> HistoryFile:
    history = google.protobuf.json_format.ParseDict(
        doc, temporalio.api.history.v1.History(), ignore_unknown_fields=True
    )
    return HistoryFile(path=None, workflow_id="approval-timeout-1", history=history)


def _needs_panics_logged_in_process() -> None:
    if not _sdk_compat.core_logs_every_poller_panic():
        pytest.skip(
            "temporalio < 1.35: after an earlier replay in the process the core does not log "
            "its panics (see _sdk_compat.core_logs_every_poller_panic)"
        )


def test_a_core_panic_is_a_malformed_history_in_process() -> None:
    _needs_panics_logged_in_process()
    # WorkflowTaskCompleted 10 dropped: TimerStarted follows WorkflowTaskStarted 9.
    panics = _unvalidated(_without(10))
    clean = _unvalidated(json.loads(SOURCE.read_text()))
    report = check_histories(
        [panics, clean],
        workflows=["reference_agents"],
        jobs=0,
        options=CheckOptions(timeout=TIMEOUT, cache=False),
    )
    first, second = report.results
    assert first.status == "error", first.describe()
    assert first.error is not None
    assert "malformed history" in first.error
    assert "event 10 (TimerStarted)" in first.error
    assert "did not finish" not in first.error
    assert "Stack backtrace" not in first.error
    assert second.status == "clean"  # the replay after it runs on a fresh replayer
    assert report.exit_code == 2


def test_a_task_machine_error_is_malformed_not_a_code_change() -> None:
    # WorkflowTaskStarted 9 dropped: the core fails the activation instead of panicking.
    result = check_histories(
        [_unvalidated(_without(9))],
        workflows=["reference_agents"],
        jobs=0,
        options=CheckOptions(timeout=TIMEOUT, cache=False),
    ).results[0]
    assert result.status == "error", result.describe()
    assert result.error is not None and "malformed history" in result.error
    assert "WorkflowTaskMachine" in result.error
    assert "workflow.patched" not in result.describe()


def test_a_core_panic_in_a_worker_process(tmp_path: Path) -> None:
    # The worker's replay never returns: the worker reports it and leaves; a fresh worker
    # replays the rest. A subprocess, so that the validator can be switched off in it.
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "a-panics.json").write_text(json.dumps(_without(10)))
    (tmp_path / "h" / "b-clean.json").write_text(SOURCE.read_text())
    script = textwrap.dedent(
        f"""
        import json
        import replaykit.history._files as files
        files.check_references = lambda events, path: None
        from replaykit import CheckOptions, check_histories
        report = check_histories(
            [{str(tmp_path / "h")!r}], workflows=["reference_agents"], jobs=1,
            workflow_id="approval-timeout-1", options=CheckOptions(timeout={TIMEOUT}, cache=False),
        )
        print(json.dumps([[r.path, r.status, r.error] for r in report.results]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    results = {Path(p).name: (status, error) for p, status, error in json.loads(out.stdout)}
    status, error = results["a-panics.json"]
    assert status == "error"
    assert "malformed history" in error and "event 10 (TimerStarted)" in error
    assert results["b-clean.json"] == ("clean", None)


def test_a_core_panic_without_a_message_is_reported_at_once() -> None:
    # A started event without a task queue: the core's history feeder panics with no text.
    _needs_panics_logged_in_process()
    doc = json.loads(SOURCE.read_text())
    del doc["events"][0]["workflowExecutionStartedEventAttributes"]["taskQueue"]
    result = check_histories(
        [_unvalidated(doc)],
        workflows=["reference_agents"],
        jobs=0,
        options=CheckOptions(timeout=TIMEOUT, cache=False),
    ).results[0]
    assert result.status == "error"
    assert result.error is not None and "malformed history" in result.error
    assert "did not finish" not in result.error
