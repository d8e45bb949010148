"""Stepping through a recorded execution: breakpoints at history events, and a trace.

``replaykit replay`` replays one history in this process with the SDK's own ``Replayer`` (in
debug mode: activations run inline on the main thread and the deadlock detector is off, so
a debugger can sit at a stop for as long as it likes). Two hooks make history events visible
in the workflow's own code:

* **commands** (activity scheduled, timer started, child started, workflow completed, …): the
  hook on the instance's command factory (the one :mod:`replaykit.check._capture` uses for source
  lines) sees each command being created; once its SDK caller has filled it in, the n-th
  command of a kind that produces an ordered event is paired with the n-th such recorded
  event, exactly as strict comparison pairs them. A stop there is in the user frame that
  issued the command.
* **deliveries** (activity completed, timer fired, signal, child completed, …): an event is
  delivered in the first workflow task started after it. A trace function sees where the
  workflow resumes in that activation: a signal is consumed by its handler, other events by
  the coroutine that wakes up (the n-th one that resumes takes the n-th delivered event).

A stop prints the decoded event and the workflow frame, then hands over to pdb (or debugpy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import temporalio.worker
import temporalio.workflow

from replaykit._internal._errors import ConfigError, ReplaykitError
from replaykit._internal._sdk_compat import workflow_type_name
from replaykit.check._capture import CapturingRunner, RunCapture
from replaykit.check._divergence import Divergence
from replaykit.history._files import HistoryFile, load_history

from ._debuggers import Debugger, PdbDebugger, Stop
from ._points import BreakPoint, parse_break_point
from ._stepper import _Stepper, _SteppingRunner
from ._targets import _Index, _resolve
from ._trace import _payload_details, format_trace

if TYPE_CHECKING:
    pass

__all__ = ["ReplayOutcome", "replay_history"]

# --------------------------------------------------------------------------- entry point


@dataclass(frozen=True)
class ReplayOutcome:
    """What a ``replaykit replay`` run did.

    Attributes:
        history: The history replayed.
        stops: Every stop made, in order.
        divergences: What strict comparison finds (the first one explains the rest).
        replay_error: The stock replayer's failure, if the replay failed.
        trace: The ``--trace`` text (None unless asked).
        missed: Points the history has but the replay never stopped at (the current code
            no longer reaches them).
    """

    history: HistoryFile
    stops: tuple[Stop, ...]
    divergences: tuple[Divergence, ...]
    replay_error: str | None
    trace: str | None = None
    missed: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 replays clean, 1 diverges."""
        return 1 if self.divergences or self.replay_error else 0

    def summary(self) -> str:
        """One closing line (and the first divergence, if any)."""
        notes = "".join(
            f"replaykit: --break-at {label} is in the history, but the replay never reached "
            "it (the current code no longer issues or awaits it there)\n"
            for label in self.missed
        )
        return notes + self._verdict()

    def _verdict(self) -> str:
        n = len(self.history.events)
        stops = f", {len(self.stops)} stop{'s' if len(self.stops) != 1 else ''}"
        if not self.divergences and not self.replay_error:
            return f"replaykit: replayed {n} events{stops}: clean against the current code"
        head = f"replaykit: replayed {n} events{stops}: DIVERGED from the current code"
        if self.divergences:
            return head + "\n" + self.divergences[0].describe()
        return f"{head}\n  {self.replay_error}"


def _decorate_sandbox(runner: temporalio.worker.WorkflowRunner) -> temporalio.worker.WorkflowRunner:
    """What the SDK's debug mode does to a sandboxed runner it is handed directly (ours is
    wrapped, so the SDK cannot see it): let debugger modules through."""
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    if not isinstance(runner, SandboxedWorkflowRunner):
        return runner
    import dataclasses

    return dataclasses.replace(
        runner,
        restrictions=runner.restrictions.with_passthrough_modules(
            "_pydevd_bundle",
            "_pydevd_frame_eval",
            "pydevd",
            "debugpy",
            "pdb",
            "bdb",
            "cmd",
            "readline",
            "rlcompleter",
            "code",
            "codeop",
        ),
    )


def replay_history(
    history: HistoryFile | str | Path,
    *,
    workflows: Sequence[str | type],
    points: Sequence[BreakPoint | str] = (),
    trace: bool = False,
    debugger: Debugger | None = None,
    sandbox: bool = True,
    data_converter: str | None = None,
    plugins: Sequence[Any] = (),
    workflow_id: str | None = None,
    echo: Callable[[str], None] = print,
) -> ReplayOutcome:
    """Replay one history in this process, stopping at ``points`` in the workflow's code.

    Args:
        history: A history file or a loaded :class:`HistoryFile`.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        points: ``--break-at`` points (parsed or text).
        trace: Build the event-by-event trace (history and code side by side).
        debugger: What each stop is handed to (default: pdb when there are points).
        sandbox: Replay in the SDK sandbox.
        data_converter: ``module:attr`` of the recorded histories' converter or codec.
        plugins: Temporal plugins for the replayer (as for ``check``: ``module:attr``
            strings, objects, classes or factories).
        workflow_id: Workflow id for plain exports without replaykit metadata.
        echo: Where stop banners go.

    Raises:
        HistoryError: The file cannot be read (the same per-file errors as ``check``).
        ConfigError: The workflows or the data converter cannot be loaded.
        PointError: A point is malformed or never occurs in the history.
    """
    from replaykit._internal._runtime import quiet_runtime
    from replaykit._internal._sync import run_sync
    from replaykit.check._engine import CheckOptions, collect_workflows, replay_one
    from replaykit.check._explain import explain_replay_failure
    from replaykit.check._strict import compare_run
    from replaykit.history._codec import decoded_history_file, has_codec, load_data_converter
    from replaykit.integrations._plugins import (
        RunnerWrapPlugin,
        WorkflowValidationError,
        describe_validation_error,
        load_plugins,
        plugin_data_converter,
        replayer_plugins,
    )
    from replaykit.views._timeline import build_timeline

    hf = (
        history
        if isinstance(history, HistoryFile)
        else load_history(Path(history), workflow_id=workflow_id)
    )
    parsed = [p if isinstance(p, BreakPoint) else parse_break_point(p) for p in points]
    classes = collect_workflows(workflows)
    names = {workflow_type_name(c) for c in classes}
    if hf.workflow_type and hf.workflow_type not in names:
        raise ConfigError(
            f"{hf.path or hf.display_name}: workflow type {hf.workflow_type!r} is not among the "
            f"--workflows given (they define {', '.join(sorted(names))})"
        )
    base = load_data_converter(data_converter) if data_converter else None
    loaded = load_plugins(plugins)
    # The converter plugins install (OpenAI Agents, ADK: Pydantic-based) wrote the payloads.
    converter = plugin_data_converter(loaded, base) or base
    decoded = decoded_history_file(hf, data_converter) if has_codec(base) else hf
    index = _Index(decoded)
    path = str(hf.path) if hf.path else hf.display_name
    divergence: Divergence | None = None
    if any(p.kind == "divergence" for p in parsed):
        result = replay_one(
            hf,
            workflows=classes,
            options=CheckOptions(
                sandbox=sandbox, cache=False, data_converter=data_converter, plugins=tuple(plugins)
            ),
        )
        if result.status == "error":
            raise ReplaykitError(f"{path}: {result.error}")
        divergence = result.divergences[0] if result.divergences else None
    targets = _resolve(parsed, index, divergence, path)
    timeline = {t.event_id: t for t in build_timeline(decoded)}
    summaries = {eid: t.summary for eid, t in timeline.items()}

    def describe(event_id: int) -> str:
        t = timeline[event_id]
        return f"{event_id} {t.event_type}  {t.summary}".rstrip()

    def details(event_id: int) -> str:
        return _payload_details(timeline[event_id].attributes)

    if targets and debugger is None:
        debugger = PdbDebugger()
    stepper = _Stepper(
        index,
        targets,
        debugger=debugger,
        echo=echo,
        describe=describe,
        details=details,
        divergence=divergence,
        trace=trace,
    )
    inner: temporalio.worker.WorkflowRunner = (
        _decorate_sandbox(temporalio.worker.workflow_sandbox.SandboxedWorkflowRunner())
        if sandbox
        else temporalio.worker.UnsandboxedWorkflowRunner()
    )
    captures: list[CapturingRunner] = []

    def wrap(runner: temporalio.worker.WorkflowRunner) -> temporalio.worker.WorkflowRunner:
        # After every plugin configured the runner (as `check` does it): a plugin adjusts a
        # SandboxedWorkflowRunner only when it is handed one.
        capture = CapturingRunner(runner, sources=False, default_converter=converter is None)
        captures.append(capture)
        return _SteppingRunner(capture, stepper)

    replayer = temporalio.worker.Replayer(
        workflows=classes,
        workflow_runner=inner,
        runtime=quiet_runtime(),
        debug_mode=True,
        plugins=[*replayer_plugins(loaded), RunnerWrapPlugin(wrap)],
        **({"data_converter": base} if base is not None else {}),
    )
    if not captures:
        raise ConfigError(
            "a plugin removed the replayer's workflow runner; replaykit cannot "
            "step through the replay"
        )
    capture = captures[-1]

    async def run() -> temporalio.worker.WorkflowReplayResult:
        return await replayer.replay_workflow(
            hf.to_workflow_history(), raise_on_replay_failure=False
        )

    try:
        result_ = run_sync(run)
    except RuntimeError as err:
        text = describe_validation_error(err, workflows=classes, plugins=loaded)
        if text is None:
            raise
        raise WorkflowValidationError(text) from err
    run_capture: RunCapture | None = capture.take(result_.history.run_id)
    failure = result_.replay_failure
    divergences: list[Divergence] = []
    if run_capture is not None:
        divergences = compare_run(
            decoded.view,
            run_capture,
            task_queue=hf.task_queue,
            replay_failed=failure is not None,
            frameworks=hf.meta.frameworks if hf.meta is not None else None,
        )
    error = None
    if failure is not None:
        error = f"{type(failure).__name__}: {failure}"
        if not any(d.kind == "nondeterminism" for d in divergences):
            divergences.insert(0, explain_replay_failure(failure, hf, run_capture))
    elif run_capture is not None and run_capture.failure and hf.is_closed:
        divergences.insert(
            0,
            Divergence(
                kind="nondeterminism",
                cause="workflow-task-failed",
                message=f"the workflow raised during replay: {run_capture.failure}",
            ),
        )
    wanted = [
        label
        for table in (
            targets.commands,
            targets.local,
            targets.patch,
            targets.deliveries,
            targets.tasks,
        )
        for labels in table.values()
        for label in labels
    ]
    reached = {label for stop in stepper.stops for label in stop.labels}
    missed = (
        tuple(dict.fromkeys(label for label in wanted if label not in reached))
        if stepper.stopping
        else ()
    )
    return ReplayOutcome(
        history=hf,
        missed=missed,
        stops=tuple(stepper.stops),
        divergences=tuple(d for d in divergences if d.kind != "option-change"),
        replay_error=error,
        trace=format_trace(index, stepper, summaries) if trace else None,
    )
