"""`replaykit replay`: pdb driven over standard input at history events of reference agents.

Each test runs the real command in a subprocess (pdb reads the process's stdin) on a
recorded reference-agent history from fixtures/histories, and asserts where it stopped and
what the workflow frame holds there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from replaykit.cli import main

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = ROOT / "fixtures" / "histories"
WEEKLY = HISTORIES / "weekly_two_cycles" / "weekly-1.json"
APPROVAL = HISTORIES / "approval_edited_and_approved" / "approval-1.json"
OPENAI = HISTORIES / "openai_tool_agent" / "openai-agent-1.json"
GOLDEN = ROOT / "tests" / "data" / "replay" / "weekly_trace.txt"

_CLI = "from replaykit.cli import run; run()"


def _replay(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CLI, "replay", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _line_of(path: Path, text: str) -> int:
    """The (first) line number of ``text`` in a source file (no hard-coded line numbers)."""
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return n
    raise AssertionError(f"{text!r} not in {path}")


def _pdb_answers(out: str) -> list[str]:
    """What pdb printed for each command that prints (``c`` prints nothing of its own)."""
    answers = [part.split("\n", 1)[0].strip() for part in out.split("(Pdb) ")[1:]]
    return [a for a in answers if a and not a.startswith(("replaykit:", "> "))]


def test_stops_at_an_activity_in_the_frame_that_schedules_it() -> None:
    proc = _replay(
        str(WEEKLY),
        "-w",
        "reference_agents.weekly",
        "--break-at",
        "activity:save_report",
        stdin="p self._phase\np summary.text[:33]\np params.cycle\nc\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = _line_of(ROOT / "reference_agents" / "weekly.py", "report_id: str = await")
    assert f"weekly.py({line})run()" in proc.stdout
    assert "event:       41 ActivityTaskScheduled  save_report(" in proc.stdout
    assert f"issued by:   reference_agents/weekly.py:{line} in run" in proc.stdout
    assert _pdb_answers(proc.stdout)[:3] == [
        "'reporting'",
        "'Summary of agent reliability: the'",
        "1",
    ]
    assert "1 stop: clean against the current code" in proc.stdout


def test_next_steps_over_an_await_into_the_task_that_delivers_its_result() -> None:
    proc = _replay(
        str(WEEKLY),
        "-w",
        "reference_agents.weekly",
        "--break-at",
        "activity:save_report",
        stdin="n\np report_id[:12]\nn\np len(report_ids)\nc\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    weekly = ROOT / "reference_agents" / "weekly.py"
    after = _line_of(weekly, "report_ids = [*params.report_ids, report_id]")
    assert f"weekly.py({after})run()" in proc.stdout
    assert f"weekly.py({after + 1})run()" in proc.stdout
    assert _pdb_answers(proc.stdout)[:2] == ["'rpt-weekly-1'", "1"]
    assert "Internal StopIteration" not in proc.stdout


def test_stops_at_a_timer_unsandboxed_too() -> None:
    proc = _replay(
        str(WEEKLY),
        "-w",
        "reference_agents.weekly",
        "--no-sandbox",
        "--break-at",
        "timer:1",
        stdin="p self._phase\np params.period_days\np len(report_ids)\nc\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = _line_of(ROOT / "reference_agents" / "weekly.py", "await workflow.sleep(")
    assert f"weekly.py({line})run()" in proc.stdout
    assert "event:       47 TimerStarted  timer 1: 7d" in proc.stdout
    assert _pdb_answers(proc.stdout)[:3] == ["'sleeping'", "7", "1"]


def test_stops_in_the_signal_handler_when_the_signal_is_delivered() -> None:
    proc = _replay(
        str(APPROVAL),
        "-w",
        "reference_agents.approval",
        "--break-at",
        "signal:approve",
        stdin="p decision.reviewer\np self._status.state\np self._decision\nc\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = _line_of(ROOT / "reference_agents" / "approval.py", "def approve(") + 2
    assert f"approval.py({line})approve()" in proc.stdout
    assert "event:       17 WorkflowExecutionSignaled  signal approve(" in proc.stdout
    assert "consumed at: reference_agents/approval.py" in proc.stdout
    banner = proc.stdout.split("(Pdb) ", 1)[0]
    assert '"reviewer": "alice"' in banner  # the signal's decoded input
    # The handler has not run yet: the decision is still open, the plan awaits approval.
    assert _pdb_answers(proc.stdout)[:3] == ["'alice'", "'awaiting_approval'", "None"]


def test_stops_at_a_child_workflow_and_at_a_result_the_workflow_gathers() -> None:
    planner = HISTORIES / "planner_with_review" / "planner-1.json"
    proc = _replay(
        str(planner),
        "-w",
        "reference_agents.planner",
        "--break-at",
        "child:ExecutorAgentWorkflow@2",
        "--break-at",
        "26",
        stdin="p i\np request.goal\nc\np self._status\np len(handles)\nc\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    source = ROOT / "reference_agents" / "planner.py"
    start = _line_of(source, "await workflow.start_child_workflow(")
    gather = _line_of(source, "await asyncio.gather(*handles)")
    assert f"planner.py({start})<listcomp>()" in proc.stdout
    assert "event:       16 StartChildWorkflowExecutionInitiated  ExecutorAgentWorkflow(" in (
        proc.stdout
    )
    # The first child's result arrives while the planner still waits for all three.
    assert f"awaited at:  reference_agents/planner.py:{gather} in run" in proc.stdout
    assert f"planner.py({gather})run()" in proc.stdout
    assert _pdb_answers(proc.stdout)[:4] == [
        "1",
        "'write a guide to reliable agents'",
        "'executing'",
        "3",
    ]


def test_continue_goes_to_the_next_point_and_quit_stops_stopping() -> None:
    proc = _replay(
        str(APPROVAL),
        "-w",
        "reference_agents.approval",
        "--break-at",
        "signal:approve",
        "--break-at",
        "7",
        "--break-at",
        "activity:execute_plan_step",
        stdin="p plan\nc\np self._status.state\nc\np index\nc\np index\nq\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stops = re.findall(r"stopped at --break-at (\S+)", proc.stdout)
    # In replay order: the plan activity's result, the signal, then the steps until `q`.
    assert stops == [
        "7",
        "signal:approve",
        "activity:execute_plan_step",
        "activity:execute_plan_step",
    ]
    answers = _pdb_answers(proc.stdout)
    assert answers[0].startswith("['Gather inputs for migrate the billing database'")
    assert answers[1] == "'awaiting_approval'"
    assert answers[2:4] == ["0", "1"]
    assert "runs to its end without stopping again" in proc.stdout
    assert "4 stops: clean" in proc.stdout


def test_stops_at_the_divergence_of_a_changed_prompt(tmp_path: Path) -> None:
    source = (ROOT / "reference_agents" / "openai_agent.py").read_text()
    old = '_SYSTEM = "You are a research assistant.'
    assert old in source
    (tmp_path / "changed_agent.py").write_text(
        source.replace(old, '_SYSTEM = "You are a careful research assistant.')
    )
    proc = _replay(
        str(OPENAI),
        "-w",
        "changed_agent",
        "--break-at",
        "divergence",
        stdin="p self._messages[0]['content'][:36]\np turn\np request.max_turns\nc\n",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = _line_of(tmp_path / "changed_agent.py", "reply: AssistantTurn = await")
    assert f"changed_agent.py({line})run()" in proc.stdout
    assert "event:       5 ActivityTaskScheduled  call_chat_with_tools(" in proc.stdout
    assert "[drift] activity call_chat_with_tools: input arguments changed" in proc.stdout
    assert _pdb_answers(proc.stdout)[:3] == ["'You are a careful research assistant'", "1", "6"]
    assert "DIVERGED from the current code" in proc.stdout


def test_stops_where_changed_code_issues_a_command_the_history_lacks(tmp_path: Path) -> None:
    source = (ROOT / "reference_agents" / "approval.py").read_text()
    old = '        self._status.state = "completed"\n'
    assert source.count(old) == 1
    (tmp_path / "extra_step.py").write_text(
        source.replace(
            old,
            (
                "        audit = await workflow.execute_activity(\n"
                "            acts.execute_plan_step, PlanStep(task=request.task, index=99, step='audit'),\n"
                "            start_to_close_timeout=policies.DB_TIMEOUT)\n"
            )
            + old,
        )
    )
    proc = _replay(
        str(APPROVAL),
        "-w",
        "extra_step",
        "--break-at",
        "divergence",
        stdin="p len(outputs)\np self._status.state\nc\n",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = _line_of(tmp_path / "extra_step.py", "audit = await workflow.execute_activity(")
    assert f"extra_step.py({line})run()" in proc.stdout
    assert (
        "[nondeterminism] the code now issues activity execute_plan_step where the history "
        "recorded WorkflowExecutionCompleted" in proc.stdout
    )
    assert _pdb_answers(proc.stdout)[:2] == ["3", "'executing'"]


def test_a_point_the_changed_code_no_longer_reaches_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (ROOT / "reference_agents" / "approval.py").read_text()
    call = source[source.index("        plan: list[str] = await workflow.execute_activity(") :]
    call = call[: call.index(")\n") + 2]
    (tmp_path / "rk_no_plan_call.py").write_text(
        source.replace(call, '        plan: list[str] = ["a", "b"]\n')
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(
        main,
        ["replay", str(APPROVAL), "-w", "rk_no_plan_call", "--break-at", "activity:generate_plan"],
    )
    assert result.exit_code == 1, result.output
    assert "stopped at" not in result.output  # not at the timer now issued in its place
    assert (
        "--break-at activity:generate_plan is in the history, but the replay never reached it"
    ) in result.output
    assert "[nondeterminism] the code now issues timer of 1d" in result.output


def test_a_point_that_never_occurs_lists_the_points_that_do() -> None:
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(APPROVAL),
            "-w",
            "reference_agents.approval",
            "--break-at",
            "activity:nope",
            "--break-at",
            "timer:2",
            "--break-at",
            "signal:approve@2",
        ],
    )
    assert result.exit_code == 2
    text = result.output
    assert "--break-at activity:nope, timer:2, signal:approve@2 never occurs" in text
    assert "activity:generate_plan (x1), activity:execute_plan_step (x3)" in text
    assert "timers: timer:1" in text
    assert "signals: signal:approve (x1)" in text
    assert "child workflows: none" in text
    assert "event ids: 1 .. 40" in text


def test_no_divergence_to_stop_at_is_an_error_too() -> None:
    result = CliRunner().invoke(
        main, ["replay", str(WEEKLY), "-w", "reference_agents.weekly", "--break-at", "divergence"]
    )
    assert result.exit_code == 2
    assert "strict comparison finds no divergence" in result.output


def test_bad_input_gets_the_same_per_file_errors_as_check(tmp_path: Path) -> None:
    bad = tmp_path / "legacy-enum.json"
    text = WEEKLY.read_text().replace(
        '"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"', '"WORKFLOW_EXECUTION_STARTED"'
    )
    bad.write_text(text)
    replay = CliRunner().invoke(main, ["replay", str(bad), "-w", "reference_agents.weekly"])
    check = CliRunner().invoke(
        main, ["check", str(bad), "-w", "reference_agents.weekly", "-j", "0"]
    )
    assert replay.exit_code == 2 and check.exit_code == 2
    reason = replay.output.strip().removeprefix(f"error: {bad}: ")
    assert "WORKFLOW_EXECUTION_STARTED" in reason
    assert reason in check.output
    wrong = CliRunner().invoke(main, ["replay", str(WEEKLY), "-w", "reference_agents.approval"])
    assert wrong.exit_code == 2
    assert "workflow type 'WeeklyResearchAgent' is not among the --workflows given" in wrong.output
    malformed = CliRunner().invoke(
        main, ["replay", str(WEEKLY), "-w", "reference_agents.weekly", "--break-at", "activity:"]
    )
    assert malformed.exit_code == 2 and "expected EVENT_ID" in malformed.output


def test_trace_golden_on_the_weekly_agent() -> None:
    result = CliRunner().invoke(
        main, ["replay", str(WEEKLY), "-w", "reference_agents.weekly", "--trace"]
    )
    assert result.exit_code == 0, result.output
    text = result.output.replace(str(ROOT) + os.sep, "")
    if os.environ.get("REPLAYKIT_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Dap:
    """The few Debug Adapter Protocol requests an editor sends to attach, inspect, go on."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
        self.seq = 0

    def send(self, command: str, **arguments: object) -> None:
        self.seq += 1
        body = json.dumps(
            {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        ).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:  # the adapter closed the connection: fail, never spin on b""
            raise AssertionError(f"debug adapter closed the connection; unread: {self.buf!r}")
        return chunk

    def until(self, kind: str, name: str) -> dict[str, Any]:
        """The next message of that kind (``response``/``event``) and command/event name."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self.buf += self._recv()
            head, rest = self.buf.split(b"\r\n\r\n", 1)
            size = int(head.split(b":")[1])
            while len(rest) < size:
                rest += self._recv()
            message: dict[str, Any] = json.loads(rest[:size])
            self.buf = rest[size:]
            if message.get("type") == kind and name in (
                message.get("command"),
                message.get("event"),
            ):
                return message


def test_debugpy_mode_listens_and_an_editor_sees_the_workflow_frame() -> None:
    pytest.importorskip("debugpy")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CLI,
            "replay",
            str(WEEKLY),
            "-w",
            "reference_agents.weekly",
            "--break-at",
            "timer:1",
            "--debugger",
            "debugpy",
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any("waiting for a debugger to attach" in line for line in lines):
                break  # the replay reached the stop and waits for an editor
            time.sleep(0.2)
        assert proc.poll() is None, "".join(lines)
        dap = _Dap(port)  # something listens on the port: an editor attaches
        dap.send(
            "initialize",
            adapterID="debugpy",
            clientID="replaykit-test",
            linesStartAt1=True,
            columnsStartAt1=True,
            pathFormat="path",
        )
        dap.until("response", "initialize")
        dap.send("attach", justMyCode=False)
        dap.until("event", "initialized")
        dap.send("configurationDone")
        thread = dap.until("event", "stopped")["body"]["threadId"]
        dap.send("stackTrace", threadId=thread)
        top = dap.until("response", "stackTrace")["body"]["stackFrames"][0]
        assert (top["name"], top["line"]) == (
            "run",
            _line_of(ROOT / "reference_agents" / "weekly.py", "await workflow.sleep("),
        )
        assert top["source"]["path"].endswith(os.path.join("reference_agents", "weekly.py"))
        for expression, value in (("self._phase", "'sleeping'"), ("params.period_days", "7")):
            dap.send("evaluate", expression=expression, frameId=top["id"], context="repl")
            assert dap.until("response", "evaluate")["body"]["result"] == value
        dap.send("continue", threadId=thread)
        dap.until("response", "continue")
        dap.send("disconnect")
        assert proc.wait(timeout=120) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # debugpy's adapter runs in the same session
        proc.wait(timeout=30)
        reader.join(timeout=10)
    out = "".join(lines)
    assert f"debugpy listens on 127.0.0.1:{port}" in out
    assert "stopped at --break-at timer:1" in out
    assert "1 stop: clean against the current code" in out


def test_debugpy_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "debugpy", None)
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(WEEKLY),
            "-w",
            "reference_agents.weekly",
            "--break-at",
            "timer:1",
            "--debugger",
            "debugpy",
        ],
    )
    assert result.exit_code == 2
    assert "--debugger debugpy needs the debugpy package" in result.output


def test_trace_is_the_same_after_other_replays_and_checks_in_this_process() -> None:
    from replaykit import replay_history, replay_one

    # A replay, then a check (its source hook wraps the command factory on top of the
    # replay's), then the trace again: no command may be counted twice.
    replay_history(APPROVAL, workflows=["reference_agents.approval"])
    assert replay_one(WEEKLY, workflows=["reference_agents.weekly"]).status == "clean"
    outcome = replay_history(WEEKLY, workflows=["reference_agents.weekly"], trace=True)
    assert outcome.trace is not None
    golden = GOLDEN.read_text()
    assert outcome.trace.replace(str(ROOT) + os.sep, "") == golden[: golden.index("replaykit: ")]
