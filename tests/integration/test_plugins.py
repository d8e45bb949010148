"""Temporal plugins (the AI integrations) through record, check, faults and show — real
servers, the real ``temporalio-openai-agents`` package with its own test model provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from replaykit import CheckOptions, check_histories, load_history

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DATA = "tests/data/plugins"
SCENARIOS = f"{DATA}/oa_scenarios.py"
PLUGIN = "tests.data.plugins.oa_tools:plugin"


def _replaykit(
    *args: str, cwd: Path = ROOT, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from replaykit.cli import run; run()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plugin-histories")
    proc = _replaykit("record", SCENARIOS, "-k", "travel", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _replaykit("record", SCENARIOS, "-k", "headers", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_scenario_plugins_record_and_check_clean(recorded: Path) -> None:
    hf = load_history(recorded / "travel" / "travel-1.json")
    types = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in hf.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    # The plugin's model activity ran twice (tool call, then answer), the tool once.
    assert types == ["invoke_model_activity", "get_weather", "invoke_model_activity"]
    proc = _replaykit(
        "check",
        str(recorded / "travel"),
        "--workflows",
        "tests.data.plugins.oa_tools",
        "--plugin",
        PLUGIN,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 clean" in proc.stdout


def test_check_without_the_plugin_names_it(recorded: Path) -> None:
    proc = _replaykit(
        "check", str(recorded / "travel"), "--workflows", "tests.data.plugins.oa_tools"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no OpenAI Agents SDK plugin is applied" in proc.stdout
    assert "temporalio.openai_agents:OpenAIAgentsPlugin" in proc.stdout


def test_pyproject_plugins_setting_serves_check(recorded: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.replaykit]\nworkflows = ["tests.data.plugins.oa_tools"]\nplugins = ["{PLUGIN}"]\n'
    )
    proc = _replaykit("check", str(recorded / "travel"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_library_check_takes_plugin_objects_and_factories(recorded: Path) -> None:
    from tests.data.plugins.oa_tools import plugin

    for plugins in ((plugin,), (plugin(),), (PLUGIN,)):
        report = check_histories(
            [recorded / "travel"],
            workflows=["tests.data.plugins.oa_tools"],
            options=CheckOptions(plugins=plugins, cache=False),
            jobs=0,
        )
        assert [r.status for r in report.results] == ["clean"], report.results


def test_bad_plugin_reference_is_a_usage_error(recorded: Path) -> None:
    proc = _replaykit(
        "check",
        str(recorded / "travel"),
        "--workflows",
        "tests.data.plugins.oa_tools",
        "--plugin",
        "tests.data.plugins.oa_tools:INSTRUCTIONS",
    )
    assert proc.returncode == 2
    assert "expected a Temporal plugin" in proc.stderr and "INSTRUCTIONS" in proc.stderr


def test_histories_with_headers_load_and_check(recorded: Path) -> None:
    # OpenAI Agents trace spans: a map of payloads under header.fields.
    travel = json.loads((recorded / "travel" / "travel-1.json").read_text())
    started = travel["events"][0]["workflowExecutionStartedEventAttributes"]
    assert "__openai_span" in started["header"]["fields"]
    # A real context-propagation interceptor: headers on the start and on the activity.
    path = recorded / "headers" / "headers-1.json"
    raw = json.loads(path.read_text())
    headered = [
        e["eventType"]
        for e in raw["events"]
        if any("header" in v for k, v in e.items() if k.endswith("Attributes"))
    ]
    assert headered == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
    ]
    load_history(path)
    proc = _replaykit(
        "check",
        str(recorded / "headers"),
        "--workflows",
        "tests.data.plugins.headers",
        "--plugin",
        "tests.data.plugins.headers:context_plugin",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _replaykit("show", str(path))
    assert proc.returncode == 0, proc.stderr


def test_a_decoded_header_is_still_rejected(recorded: Path, tmp_path: Path) -> None:
    raw = json.loads((recorded / "headers" / "headers-1.json").read_text())
    fields = raw["events"][0]["workflowExecutionStartedEventAttributes"]["header"]["fields"]
    fields["x-request-context"] = {"tenant": "acme"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    proc = _replaykit("check", str(bad), "--workflows", "tests.data.plugins.headers")
    assert proc.returncode == 2
    assert "header.fields.x-request-context is not an encoded payload" in proc.stdout + proc.stderr


def test_sandbox_validation_failure_says_what_where_and_which_plugin(tmp_path: Path) -> None:
    scenarios = f"{DATA}/agent_scenarios.py"
    proc = _replaykit("record", scenarios, "--out", str(tmp_path))
    assert proc.returncode == 1
    out = proc.stdout
    assert "Failed validating workflow SampleAgentWorkflow" in out
    assert "root cause: RestrictedWorkflowAccessError" in out
    assert "broken_agent.py:6" in out  # the user's import line, not the SDK's frames
    assert "temporalio.openai_agents:OpenAIAgentsPlugin" in out
    # With the plugin from the command line the same scenario records and checks clean.
    proc = _replaykit(
        "record", scenarios, "--out", str(tmp_path), "--plugin", f"{scenarios}:haiku_plugin"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _replaykit(
        "check", str(tmp_path / "sample_agent"), "--workflows", "tests.data.plugins.broken_agent"
    )
    assert proc.returncode == 2
    assert "root cause: RestrictedWorkflowAccessError" in proc.stderr
    assert "OpenAIAgentsPlugin" in proc.stderr
    proc = _replaykit(
        "check",
        str(tmp_path / "sample_agent"),
        "--workflows",
        "tests.data.plugins.broken_agent",
        "--plugin",
        f"{scenarios}:haiku_plugin",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_fault_worker_that_cannot_start_says_why() -> None:
    proc = _replaykit("faults", f"{DATA}/agent_scenarios.py", "--kill-worker", "workflow-task:1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "exited (waiting for 'ready')" in proc.stdout
    assert "Failed validating workflow SampleAgentWorkflow" in proc.stdout
    assert "OpenAIAgentsPlugin" in proc.stdout


def test_every_step_crash_on_a_plugin_agent_passes() -> None:
    # Every worker process (standbys included) gets the scenario's plugin; the replay
    # checks of every fault run get it too.
    proc = _replaykit(
        "faults", SCENARIOS, "-k", "travel", "--crash", "every-step", "--json", timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)[0]
    runs = report["runs"]
    assert len(runs) >= 8, [r["plan"] for r in runs]
    assert all(r["ok"] for r in runs)


def test_concurrent_replays_with_plugins_in_one_process_stay_correct(recorded: Path) -> None:
    # The OpenAI Agents plugin installs a process-wide agent runner around each replay and
    # restores the previous one when it ends; parallel fault runs check their histories in
    # threads of one process. Overlapping replays must not undo each other's plugin state.
    import threading

    from tests.data.plugins.oa_tools import plugin

    results: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            report = check_histories(
                [recorded / "travel"] * 3,
                workflows=["tests.data.plugins.oa_tools"],
                options=CheckOptions(plugins=(plugin,), cache=False),
                jobs=0,
            )
            results.extend(r.status for r in report.results)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert results == ["clean"] * 12, results
