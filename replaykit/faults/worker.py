"""A fault-injection worker process: ``python -m replaykit.faults.worker ...``.

It hosts one scenario's workflows and activities (loaded from the scenario file by name) with
``max_cached_workflows=0``, logs every activity attempt and completed workflow task to the
control channel, and applies the run's fault plan from the inside: it SIGKILLs itself at a
crash point, fails or stalls activity attempts, and asks the parent to kill the server, cancel
or signal a workflow.

The process serves one run after another (a *session* each, configured by a JSON line on
stdin), so runs reuse warm processes instead of paying for imports and a connection each time.
A standby session builds everything, prints ``ready`` and waits for ``go`` before it polls, so
taking over from a killed worker costs one line on a pipe.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import temporalio.activity
import temporalio.bridge.proto.workflow_activation
import temporalio.bridge.proto.workflow_completion
import temporalio.client
import temporalio.exceptions
import temporalio.worker

from replaykit._internal._sdk_compat import wrap_bridge_worker

from ._control import Control
from ._plan import (
    CancelWorkflow,
    FailActivity,
    FaultPlan,
    KillServer,
    KillWorker,
    Point,
    SignalWorkflow,
    TimeoutActivity,
    workflow_id_matches,
)

_PID = os.getpid()
_REQUEST_WAIT = 120.0


@dataclass
class _RunInfo:
    workflow_id: str
    workflow_type: str


class Injector:
    """Decides, at each observed moment, which faults fire (shared by both hooks)."""

    def __init__(self, control: Control, plan: FaultPlan) -> None:
        self.control = control
        self.plan = plan
        self._progress_logged = False

    def progress(self, what: str) -> None:
        """Log this process's first unit of progress (recovery time measurements)."""
        if not self._progress_logged:
            self._progress_logged = True
            self.control.event(_PID, "progress", what)

    def _matches(
        self,
        point: Point,
        *,
        kind: str,
        workflow_id: str,
        workflow_type: str,
        index: int | None = None,
        activity: str | None = None,
        attempt: int | None = None,
        activity_id: str | None = None,
    ) -> bool:
        if point.kind != kind:
            return False
        if point.workflow_type and point.workflow_type != workflow_type:
            return False
        if point.workflow_id and not workflow_id_matches(point.workflow_id, workflow_id):
            return False
        if kind in ("workflow-task", "timer"):
            return point.index == index
        if point.activity != activity or point.attempt != attempt:
            return False
        return not point.activity_id or point.activity_id == activity_id

    async def at_point(self, *, workflow_id: str, **where: Any) -> None:
        """Fire every one-shot fault whose point this is."""
        for number, fault in enumerate(self.plan.faults):
            if not isinstance(fault, (KillWorker, KillServer, CancelWorkflow, SignalWorkflow)):
                continue
            if not self._matches(fault.at, workflow_id=workflow_id, **where):
                continue
            if not self.control.claim(number, workflow_id, _PID, fault.describe()):
                continue
            if isinstance(fault, KillWorker):
                self.control.event(_PID, "kill", f"{number}:{workflow_id}")
                # Flush nothing, close nothing: this is the crash being simulated.
                os.kill(_PID, signal.SIGKILL)
                time.sleep(60)  # never reached: SIGKILL cannot be handled
            payload: dict[str, Any] = {}
            action = "kill-server"
            if isinstance(fault, CancelWorkflow):
                action = "cancel"
            elif isinstance(fault, SignalWorkflow):
                action = "signal"
                payload = {"signal": fault.signal, "args": list(fault.args)}
            request = self.control.request(number, action, workflow_id, payload)
            await self._await_request(request)

    async def _await_request(self, request: int) -> None:
        deadline = time.monotonic() + _REQUEST_WAIT
        while time.monotonic() < deadline:
            state, _ = self.control.request_state(request)
            if state != "pending":
                return
            await asyncio.sleep(0.01)


class _BridgeProxy:
    """Wraps the SDK's bridge worker to see activations and their completions.

    Outbound interceptors cannot see timers nor know when a workflow task reached the server;
    the completion call returns only after core reported the task, which is the crash point
    "after workflow task K".
    """

    def __init__(self, inner: Any, injector: Injector) -> None:
        self._inner = inner
        self._injector = injector
        self._activations: dict[
            str, temporalio.bridge.proto.workflow_activation.WorkflowActivation
        ] = {}
        self._runs: dict[str, _RunInfo] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def poll_workflow_activation(
        self,
    ) -> temporalio.bridge.proto.workflow_activation.WorkflowActivation:
        act = await self._inner.poll_workflow_activation()
        for job in act.jobs:
            if job.HasField("initialize_workflow"):
                init = job.initialize_workflow
                self._runs[act.run_id] = _RunInfo(init.workflow_id, init.workflow_type)
        # An eviction can be polled before the completion it follows has returned: keep the
        # activation that does work, or the completion hook would see only the eviction.
        if not all(job.HasField("remove_from_cache") for job in act.jobs):
            self._activations[act.run_id] = act
        return act  # type: ignore[no-any-return]

    async def complete_workflow_activation(
        self, comp: temporalio.bridge.proto.workflow_completion.WorkflowActivationCompletion
    ) -> None:
        # Take the activation this completion answers *before* sending it: once core has the
        # completion it may hand out the run's next activation, which would replace it here
        # before our await returns (seen as a lost timer point under load).
        act = self._activations.pop(comp.run_id, None)
        await self._inner.complete_workflow_activation(comp)
        run = self._runs.get(comp.run_id)
        if act is None or run is None or act.is_replaying or not comp.HasField("successful"):
            return
        if all(job.HasField("remove_from_cache") for job in act.jobs):
            return
        injector = self._injector
        injector.progress("workflow-task")
        control = injector.control
        task_no = control.add_wft(comp.run_id, act.history_length, run.workflow_id, _PID)
        timer_numbers: list[int] = []
        for cmd in comp.successful.commands:
            if cmd.HasField("start_timer"):
                number = control.add_timer(comp.run_id, cmd.start_timer.seq)
                if number is not None:
                    timer_numbers.append(number)
        where = {"workflow_id": run.workflow_id, "workflow_type": run.workflow_type}
        if task_no is not None:
            await injector.at_point(kind="workflow-task", index=task_no, **where)
        for number in timer_numbers:
            await injector.at_point(kind="timer", index=number, **where)


class _ActivityInterceptor(temporalio.worker.Interceptor):
    def __init__(self, injector: Injector) -> None:
        self._injector = injector

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityInbound(next, self._injector)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    def __init__(
        self, next: temporalio.worker.ActivityInboundInterceptor, injector: Injector
    ) -> None:
        super().__init__(next)
        self._injector = injector

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        info = temporalio.activity.info()
        injector = self._injector
        control = injector.control
        injector.progress("activity")
        workflow_id = info.workflow_id or ""
        row = control.attempt_started(
            pid=_PID,
            workflow_id=workflow_id,
            run_id=info.workflow_run_id or "",
            activity_type=info.activity_type,
            activity_id=info.activity_id,
            attempt=info.attempt,
        )
        where: dict[str, Any] = {
            "workflow_id": workflow_id,
            "workflow_type": info.workflow_type or "",
            "activity": info.activity_type,
            "attempt": info.attempt,
            "activity_id": info.activity_id,
        }
        await injector.at_point(kind="activity-start", **where)
        for number, fault in enumerate(injector.plan.faults):
            if not isinstance(fault, (FailActivity, TimeoutActivity)):
                continue
            if fault.activity != info.activity_type or not fault.covers(info.attempt):
                continue
            if fault.activity_id and fault.activity_id != info.activity_id:
                continue
            if isinstance(fault, FailActivity):
                control.attempt_ended(
                    row,
                    "failed",
                    error_type=fault.error_type,
                    non_retryable=fault.non_retryable,
                    injected=str(number),
                )
                raise temporalio.exceptions.ApplicationError(
                    f"replaykit injected failure ({fault.describe()})",
                    type=fault.error_type,
                    non_retryable=fault.non_retryable,
                )
            await self._stall(fault, info, row, number)
        try:
            result = await super().execute_activity(input)
        except BaseException as err:
            error_type, non_retryable = _error_type(err)
            outcome = "cancelled" if isinstance(err, asyncio.CancelledError) else "failed"
            control.attempt_ended(row, outcome, error_type=error_type, non_retryable=non_retryable)
            raise
        # The function returned: the side effect happened. Dying now loses the result.
        control.attempt_ended(row, "returned")
        await injector.at_point(kind="activity-returned", **where)
        control.attempt_ended(row, "completed")
        return result

    async def _stall(
        self, fault: TimeoutActivity, info: temporalio.activity.Info, row: int, number: int
    ) -> None:
        limit: timedelta | None = (
            info.heartbeat_timeout if fault.timeout == "heartbeat" else info.start_to_close_timeout
        )
        if limit is None:
            limit = info.start_to_close_timeout or timedelta(seconds=10)
        self._injector.control.attempt_ended(row, "stalled", injected=str(number))
        # Outlive the timeout without heartbeating, then give up: the server has moved on and
        # ignores whatever this attempt reports.
        await asyncio.sleep(limit.total_seconds() + 0.5)
        raise temporalio.exceptions.ApplicationError(
            f"replaykit stalled this attempt past its {fault.timeout} timeout",
            type="ReplaykitStalled",
        )


def _error_type(err: BaseException) -> tuple[str, bool]:
    if isinstance(err, temporalio.exceptions.ApplicationError):
        return err.type or type(err).__name__, err.non_retryable
    return type(err).__name__, False


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m replaykit.faults.worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    return parser.parse_args(argv)


async def _connect(address: str, namespace: str) -> temporalio.client.Client:
    from replaykit._internal._runtime import quiet_runtime

    deadline = time.monotonic() + 60
    while True:
        try:
            return await temporalio.client.Client.connect(
                address, namespace=namespace, runtime=quiet_runtime()
            )
        except RuntimeError:
            # The server may be restarting (a server-kill fault): keep trying.
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


class _Lines:
    """Lines of stdin as an asyncio queue (``None`` at end of file), read by a daemon thread."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self.queue.put_nowait, line.strip())
            loop.call_soon_threadsafe(self.queue.put_nowait, None)

        threading.Thread(target=read, name="replaykit-stdin", daemon=True).start()

    async def get(self) -> str | None:
        return await self.queue.get()


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def _main(args: argparse.Namespace) -> int:
    """Serve sessions until stdin closes: ``idle`` -> session JSON -> ``ready`` [-> ``go``] ->
    ``running`` -> ``stop`` -> ``idle``. A process is reused by run after run (imports and the
    connection are what make a worker process slow to start), until a plan kills it."""
    client = await _connect(args.address, args.namespace)
    lines = _Lines()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _say("idle")
    while not stop.is_set():
        line = await lines.get()
        if line is None:
            return 0
        if not line.startswith("{"):
            continue  # a late ``stop`` or ``go`` for a session that is already over
        if not await _session(client, json.loads(line), lines, stop):
            return 0
        _say("idle")
    return 0


async def _session(
    client: temporalio.client.Client,
    cfg: dict[str, Any],
    lines: _Lines,
    stop: asyncio.Event,
) -> bool:
    """Host one run's worker; False when the process should exit (stdin closed)."""
    from replaykit.effects._ledger import ENV_LEDGER
    from replaykit.record._scenario import load_scenarios, new_worker

    found = [s for s in load_scenarios([cfg["scenario_file"]]) if s.name == cfg["scenario"]]
    if not found:
        _say(f"error: no scenario {cfg['scenario']!r} in {cfg['scenario_file']}")
        return True
    scn = found[0]
    from replaykit.integrations._plugins import client_with_plugins

    plugins = scn.make_plugins(cfg.get("plugins") or ())
    client = client_with_plugins(client, plugins)
    if cfg.get("data_converter"):
        from replaykit.history._codec import load_data_converter

        # A new client on the same connection, with the run's data converter.
        client = temporalio.client.Client(
            **{**client.config(), "data_converter": load_data_converter(cfg["data_converter"])}
        )
    if cfg.get("ledger"):
        os.environ[ENV_LEDGER] = cfg["ledger"]
    else:
        os.environ.pop(ENV_LEDGER, None)
    control = Control(cfg["control"])
    try:
        plan = FaultPlan.from_json(control.get_meta("plan", {"faults": []}))
        injector = Injector(control, plan)
        worker = new_worker(
            client,
            scn,
            task_queue=cfg["task_queue"],
            max_cached_workflows=0,
            interceptors=[_ActivityInterceptor(injector)],
            graceful_shutdown_timeout=timedelta(seconds=0),
            plugins=plugins,
        )
        wrap_bridge_worker(worker, lambda core: _BridgeProxy(core, injector))
        standby = bool(cfg.get("standby"))
        control.event(_PID, "ready", "standby" if standby else "active")
        _say("ready")
        if standby:
            line = await lines.get()
            if line != "go":
                # Not needed after all. The unstarted worker is just dropped: finalizing a core
                # worker that never polled waits for polls that never come.
                return line is not None
        with contextlib.ExitStack() as stack:
            if cfg.get("worker_context"):
                stack.enter_context(_worker_context(cfg["worker_context"], scn.name))
            async with worker:
                # Poll first, log after: the successor's first poll is what a failover waits for.
                control.event(_PID, "go")
                _say("running")
                ended = asyncio.create_task(lines.get())
                stopped = asyncio.create_task(stop.wait())
                await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                line = ended.result() if ended.done() else None
                ended.cancel()
        return line is not None and not stop.is_set()
    finally:
        control.close()


def _worker_context(ref: str, scenario_name: str) -> contextlib.AbstractContextManager[Any]:
    """``MODULE:FUNC`` called with the scenario name: a context the worker runs inside (for
    example serving the activities' LLM calls from the scenario's cassette)."""
    module_name, _, attr = ref.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    cm: contextlib.AbstractContextManager[Any] = factory(scenario_name)
    return cm


def main(argv: list[str] | None = None) -> None:
    """Entry point; exits with ``os._exit`` (the SDK may crash at interpreter exit)."""
    args = _parse(argv)
    try:
        code = asyncio.run(_main(args))
    except Exception as err:
        text = " ".join(f"{type(err).__name__}: {err}".split())
        print(f"error: {text}", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError, ValueError):
            _say(f"error: {text}")  # the parent shows it when the process ends unready
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
