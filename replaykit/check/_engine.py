"""The check engine: replay every history against the current code, strictly, in parallel.

Each history is replayed by the SDK's own ``Replayer`` (sandboxed, as production workers
run), through a :class:`~replaykit.check._capture.CapturingRunner` that records every command the
code issues; :func:`~replaykit.check._strict.compare_run` then compares those commands with the
recorded events. Histories are validated before replay (the SDK core can hang on corrupted
ones) and replayed in worker processes that are killed and replaced if a replay never ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import multiprocessing
import os
import pkgutil
import queue as queue_mod
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import temporalio.api.history.v1
import temporalio.client
import temporalio.worker
import temporalio.workflow

from replaykit._internal._errors import ConfigError, HistoryError, ReplaykitError
from replaykit._internal._runtime import core_rejection, core_rejections, quiet_runtime
from replaykit._internal._sdk_compat import is_workflow_class, workflow_type_name
from replaykit._internal._sync import run_sync
from replaykit.config._budgets import parse_budget_limits
from replaykit.config._settings import (
    DEFAULT_REPLAY_TIMEOUT,
    DEFAULT_STRICT,
    Resolver,
    default_fail_on,
)
from replaykit.history._cache import HistoryCache
from replaykit.history._codec import (
    decode_history,
    foreign_encodings,
    has_codec,
    load_data_converter,
)
from replaykit.history._files import HistoryFile, HistoryMeta, find_history_files
from replaykit.history._harvest_meta import read_harvest_info
from replaykit.history._versioning import (
    parse_deployment_version,
    pinned_elsewhere,
    versioning_view,
)
from replaykit.integrations._agents import AGENT_CAUSES, parse_volatile_rules
from replaykit.integrations._plugins import (
    RunnerWrapPlugin,
    WorkflowValidationError,
    describe_validation_error,
    load_plugins,
    missing_plugin_hint,
    plugin_data_converter,
    replayer_plugins,
)

from ._budget import BudgetLimits, chain_budgets, measure_budget
from ._capture import (
    CapturingRunner,
    RunCapture,
    capture_replay_output,
    skip_identity_payload_passes,
)
from ._divergence import CheckReport, Divergence, HistoryResult, Status
from ._explain import explain_replay_failure
from ._malformed import (
    NO_WORKFLOW_TASK,
    malformed_failure,
    malformed_message,
    watch_worker_for_core_rejections,
)
from ._strict import compare_run
from ._verdicts import DependencyTracker, VerdictCache, note_check_input, record_host_imports

__all__ = [
    "CheckGroup",
    "CheckOptions",
    "check_histories",
    "check_history_stream",
    "collect_workflows",
    "plan_checks",
    "replay_one",
    "report_options",
]


@dataclass(frozen=True)
class CheckOptions:
    """How to check. Defaults are what ``replaykit check`` does.

    Attributes:
        strict: Compare every command with its recorded event (else stock checks only).
        fail_on: Divergence kinds that fail a history.
        allow: Allow rules: a kind (``drift``), a cause (``timer-duration``, ``prompt``), or
            ``activity:<type>[.<field>]`` / ``<subject>.<field>`` (activity types may
            contain dots: ``activity:react-agent.agent.input``).
        volatile: ``activity:<type>.<path>`` rules: values that are new on every run by
            design, not compared (on top of the AI integrations' built-in ones).
        sandbox: Replay in the SDK sandbox (as production workers do).
        timeout: Seconds one replay may take before it is reported as an error (its worker
            process is killed; an in-process replay's thread is abandoned).
        cache: Cache parsed histories (binary protobuf keyed on file content).
        data_converter: ``module:attr`` naming the ``DataConverter`` (or ``PayloadCodec``)
            the histories were recorded with, for encrypted or compressed payloads.
        deployment_version: The Worker Deployment version being checked
            (``NAME.BUILD_ID``): histories PINNED to another version get status ``pinned``.
        include_pinned: Judge PINNED histories on other versions like any other.
        budget: Limits every history's budget is measured against; ``budget`` in
            ``fail_on`` fails histories over (or projected to reach) a limit.
        plugins: Temporal plugins the replayer gets, as production workers do (the AI
            integrations: ``OpenAIAgentsPlugin``, ``LangGraphPlugin``, ...): ``module:attr``
            strings, plugin objects, classes or factories (see
            :func:`~replaykit.integrations._plugins.load_plugins`). Strings travel to worker processes;
            objects need forked workers or ``jobs=0``.
        verdict_cache: Folder of the verdict cache (None: off): a stored pass is reused
            when the history, every module its replay imported and every option that
            changes a verdict are unchanged (see :mod:`replaykit.check._verdicts`).
    """

    strict: bool = DEFAULT_STRICT
    fail_on: frozenset[str] = field(default_factory=default_fail_on)
    allow: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    sandbox: bool = True
    timeout: float = DEFAULT_REPLAY_TIMEOUT
    cache: bool = True
    cache_dir: str | None = None
    data_converter: str | None = None
    deployment_version: str | None = None
    include_pinned: bool = False
    budget: BudgetLimits = BudgetLimits()
    plugins: tuple[Any, ...] = ()
    verdict_cache: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Resolver, *, budget_flags: Sequence[str] = (), **overrides: Any
    ) -> CheckOptions:
        """The options the resolved settings give: the one place they are built.

        Every command that checks (``check``, ``patches``, ``rollout``) and the pytest plugin
        build their options here, so a setting means the same everywhere: strict, timeout,
        fail_on, allow, volatile, data converter, plugins, deployment version and budgets
        come from ``settings`` (flag > marker > ini > environment > pyproject > default).

        Args:
            settings: The run's settings resolver.
            budget_flags: ``--budget KEY=VALUE`` texts, over ``[tool.replaykit] budgets``.
            **overrides: Options no setting holds (``sandbox``, ``cache``, ``include_pinned``)
                or that the caller fixes. The verdict cache stays off unless given here
                (``verdict_cache=settings.verdict_cache().value``): only the commands whose
                result is the verdict reuse one (``check`` and the pytest history items;
                ``patches`` and ``rollout`` need every replay's observations).

        Raises:
            ConfigError: A setting's value is not valid.
        """
        version = settings.deployment_version().value
        try:
            budget = parse_budget_limits(
                settings.project.budgets, source="[tool.replaykit] budgets"
            )
            budget = parse_budget_limits(budget_flags, base=budget)
            deployment = parse_deployment_version(version) if version else None
        except ValueError as err:
            raise ConfigError(str(err)) from None
        values: dict[str, Any] = {
            "strict": settings.strict().value,
            "timeout": settings.timeout().value,
            "fail_on": settings.fail_on().value,
            "allow": settings.allow().value,
            "volatile": settings.volatile().value,
            "data_converter": settings.data_converter().value,
            "plugins": tuple(settings.plugins().value),
            "deployment_version": deployment,
            "budget": budget,
        }
        values.update(overrides)
        return cls(**values)


def collect_workflows(specs: Iterable[str | type]) -> list[type]:
    """Import modules (packages are walked) and collect every ``@workflow.defn`` class.

    Args:
        specs: Module names, ``module:Class`` names, or classes.

    Raises:
        ConfigError: A module cannot be imported or defines no workflow.
    """
    found: dict[str, type] = {}
    for spec in specs:
        if isinstance(spec, type):
            _add_workflow(found, spec, origin=spec.__module__)
            continue
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as err:
            raise ConfigError(
                f"--workflows {spec}: cannot import {module_name!r}: {type(err).__name__}: {err}"
            ) from err
        if attr:
            value = getattr(module, attr, None)
            if not isinstance(value, type):
                raise ConfigError(f"--workflows {spec}: {module_name} has no class {attr!r}")
            _add_workflow(found, value, origin=spec)
            continue
        modules = [module]
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=module.__name__ + "."):
                try:
                    modules.append(importlib.import_module(info.name))
                except Exception as err:
                    raise ConfigError(
                        f"--workflows {spec}: cannot import {info.name!r}: "
                        f"{type(err).__name__}: {err}"
                    ) from err
        before = len(found)
        for mod in modules:
            for value in vars(mod).values():
                if is_workflow_class(value) and value.__module__ == mod.__name__:
                    _add_workflow(found, value, origin=mod.__name__)
        if len(found) == before:
            raise ConfigError(f"--workflows {spec}: no @workflow.defn class found in it")
    return list(found.values())


#: Per-file error for a history that names no workflows and was given none.
NO_WORKFLOWS_FOR_FILE = (
    "no workflows to replay with: pass --workflows MODULE or set [tool.replaykit] workflows "
    "(harvested files name their own; this one does not)"
)


@dataclass(frozen=True)
class CheckGroup:
    """Histories that replay with the same workflows and options.

    Attributes:
        entries: The histories.
        workflows: What to collect workflow classes from.
        options: The options, with plugins and data converter filled in from metadata.
        from_metadata: Something was taken from the files' harvest metadata.
        error: Set when the group cannot be replayed at all (reported per file).
        extra_workflows: ``module:Class`` the files name, used for the workflow types that
            ``workflows`` (given by the caller) do not define.
    """

    entries: tuple[HistoryFile | Path, ...]
    workflows: tuple[str | type, ...]
    options: CheckOptions
    from_metadata: bool = False
    error: str | None = None
    extra_workflows: tuple[str, ...] = ()


def plan_checks(
    entries: Sequence[HistoryFile | Path],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions,
) -> list[CheckGroup]:
    """Split histories by what their replay needs: the one place harvest metadata is read.

    What the caller gives wins: workflows (``--workflows``, ``[tool.replaykit]``), plugins and
    a data converter. What it does not give comes from each file's harvest metadata (written by
    ``pytest --replaykit-harvest``): the workflow class the test's worker registered (also
    when workflows are given, for a type they do not define, such as a workflow a test module
    defines), its plugins and data converter. Files that need different plugins or converters go to
    different groups (each gets its own replayer). Files with no workflows from either place
    form a group with an error.
    """
    given = tuple(workflows)
    if not entries:
        return [CheckGroup((), given, options)]
    groups: dict[tuple[Any, ...], list[HistoryFile | Path]] = {}
    for entry in entries:
        info = read_harvest_info(entry)
        if info is None:
            key: tuple[Any, ...] = ("given",)
        else:
            key = (
                "harvest",
                info.workflows,
                () if options.plugins else info.plugins,
                options.data_converter or info.data_converter,
            )
        groups.setdefault(key, []).append(entry)
    out: list[CheckGroup] = []
    for key, members in groups.items():
        if key[0] == "given":
            if not given:
                out.append(CheckGroup(tuple(members), (), options, error=NO_WORKFLOWS_FOR_FILE))
            else:
                out.append(CheckGroup(tuple(members), given, options))
            continue
        _, meta_workflows, meta_plugins, converter = key
        group_workflows = given or tuple(meta_workflows)
        extra = tuple(meta_workflows) if given else ()
        if not group_workflows:
            out.append(CheckGroup(tuple(members), (), options, error=NO_WORKFLOWS_FOR_FILE))
            continue
        group_options = dataclasses.replace(
            options,
            plugins=options.plugins or tuple(meta_plugins),
            data_converter=converter,
        )
        out.append(
            CheckGroup(
                tuple(members),
                group_workflows,
                group_options,
                from_metadata=True,
                extra_workflows=extra,
            )
        )
    return out


def _workflow_type(cls: type) -> str:
    return workflow_type_name(cls)


def _add_workflow(found: dict[str, type], cls: type, *, origin: str) -> None:
    if not is_workflow_class(cls):
        raise ConfigError(f"{origin}: {cls.__qualname__} is not a @workflow.defn class")
    name = workflow_type_name(cls)
    other = found.get(name)
    if other is not None and other is not cls:
        raise ConfigError(
            f"workflow type {name!r} is defined twice: {other.__module__}.{other.__qualname__} "
            f"and {cls.__module__}.{cls.__qualname__}"
        )
    found[name] = cls


def _allowed(rule: str, d: Divergence) -> bool:
    if rule in (d.kind, d.cause):
        return True
    if (
        rule == "activity-input"
        and d.cause in AGENT_CAUSES
        and (d.subject or "").startswith("activity ")
    ):
        return True  # agent-level causes refine an activity-input change
    if rule.startswith("activity:"):
        subject = d.subject or ""
        if not subject.startswith("activity "):
            return False
        return _names_field(rule.removeprefix("activity:"), subject.split(" ", 1)[1], d.field)
    if d.subject:
        return _names_field(rule, d.subject.split(" ", 1)[-1], d.field, need_field=True)
    return False


def _names_field(target: str, name: str, field: str | None, *, need_field: bool = False) -> bool:
    """``target`` is ``name`` or ``name.<field prefix>``; names may contain dots
    (``react-agent.agent``), so the name is matched whole, never split at a dot."""
    if target == name:
        return not need_field
    if not target.startswith(name + "."):
        return False
    return (field or "").startswith(target[len(name) + 1 :])


def _verdict(
    hf: HistoryFile,
    divergences: list[Divergence],
    options: CheckOptions,
    *,
    seconds: float,
    stock_error: str | None,
) -> HistoryResult:
    kept = [d for d in divergences if not any(_allowed(r, d) for r in options.allow)]
    allowed = tuple(d for d in divergences if d not in kept)
    failing = any(d.kind in options.fail_on for d in kept)
    versioning = versioning_view(hf.events)
    budget = measure_budget(hf.events, options.budget)
    pinned = (
        None if options.include_pinned else pinned_elsewhere(versioning, options.deployment_version)
    )
    result = HistoryResult(
        path=str(hf.path) if hf.path else None,
        workflow_id=hf.workflow_id,
        workflow_type=hf.workflow_type,
        status="pinned" if pinned else "divergent" if failing else "clean",
        divergences=tuple(kept),
        events=len(hf.events),
        seconds=seconds,
        stock_error=stock_error,
        allowed=allowed,
        versioning=versioning,
        pinned_reason=pinned,
        budget=budget,
        closed=hf.is_closed,
    )
    return _budget_verdict(result, options)


def _budget_verdict(result: HistoryResult, options: CheckOptions) -> HistoryResult:
    """``--fail-on budget``: a history over (or projected to reach) a limit fails.

    Idempotent, so it can run again once a continue-as-new chain's runs are joined.
    """
    if result.status not in ("clean", "divergent") or "budget" not in options.fail_on:
        return result
    if any(d.kind in options.fail_on for d in result.divergences):
        return result  # diverges whatever the budget says
    over = result.budget is not None and result.budget.flagged
    status: Status = "divergent" if over else "clean"
    return result if status == result.status else dataclasses.replace(result, status=status)


def _with_chain_budgets(results: list[HistoryResult], options: CheckOptions) -> list[HistoryResult]:
    """Runs of one continue-as-new chain (``<id>.json``, ``<id>.run2.json``) measured together."""
    budgets = chain_budgets([(r.path, r.budget) for r in results])
    return [
        _budget_verdict(dataclasses.replace(r, budget=b), options) if b is not r.budget else r
        for r, b in zip(results, budgets, strict=True)
    ]


#: Held by a replay with plugins for as long as it runs (see :meth:`_Replay.run`).
_PLUGIN_REPLAYS = threading.Lock()


class _Replay:
    """One replayer (and its capturing runner) reused for many histories."""

    def __init__(
        self,
        workflows: Sequence[type],
        options: CheckOptions,
        *,
        tracker: DependencyTracker | None = None,
    ) -> None:
        self.tracker = tracker
        inner: temporalio.worker.WorkflowRunner = (
            temporalio.worker.workflow_sandbox.SandboxedWorkflowRunner()
            if options.sandbox
            else temporalio.worker.UnsandboxedWorkflowRunner()
        )
        self.options = options
        self.workflows = list(workflows)
        converter = load_data_converter(options.data_converter) if options.data_converter else None
        self.plugins = load_plugins(options.plugins)
        # The converter the plugins install (OpenAI Agents, ADK: Pydantic-based) is the one
        # recorded payloads were written with; strict comparison decodes with it too.
        plugged = plugin_data_converter(self.plugins, converter)
        self.converter = plugged if plugged is not None else converter
        default = self.converter is None
        self.runner: CapturingRunner | None = None

        def capture(runner: temporalio.worker.WorkflowRunner) -> temporalio.worker.WorkflowRunner:
            # Applied after every plugin: a plugin adjusts a SandboxedWorkflowRunner only
            # when it is given one, so the capture must not hide it from them.
            wrapped = CapturingRunner(
                runner,
                sources=options.strict,
                default_converter=default,
                track_files=tracker is not None,
            )
            self.runner = wrapped
            return wrapped

        self.replayer = temporalio.worker.Replayer(
            workflows=list(workflows),
            workflow_runner=inner,
            runtime=quiet_runtime(),
            plugins=[*replayer_plugins(self.plugins), RunnerWrapPlugin(capture)],
            **({"data_converter": converter} if converter is not None else {}),
        )
        if self.runner is None:  # a plugin dropped the runner: capture what it left
            raise ConfigError(
                "a plugin removed the replayer's workflow runner; replaykit cannot capture commands"
            )

    async def run(
        self,
        items: AsyncIterator[tuple[int, HistoryFile]],
        on_result: Callable[[int, HistoryResult], None],
    ) -> None:
        """Replay ``(key, history)`` pairs in order; report each as ``on_result(key, r)``."""
        pending: list[tuple[int, HistoryFile, float]] = []

        async def histories() -> AsyncIterator[temporalio.client.WorkflowHistory]:
            async for key, hf in items:
                started = time.perf_counter()
                if not hf.view.has_workflow_task:  # the SDK's replayer would wait forever
                    on_result(key, _error_result(hf.path or hf.display_name, NO_WORKFLOW_TASK))
                    continue
                compared = hf
                if has_codec(self.converter) and self.options.strict:
                    # The replayer decodes the recorded payloads itself; the comparison
                    # needs them decoded too (current values are captured before encoding).
                    try:
                        decoded = await decode_history(hf.history, self.converter)
                    except ValueError as err:
                        on_result(key, _error_result(hf.path or hf.display_name, str(err)))
                        continue
                    compared = dataclasses.replace(hf, history=decoded)
                pending.append((key, compared, started))
                yield hf.to_workflow_history()

        exclusive = bool(self.plugins)
        if exclusive:
            # Plugins may set process-wide state around a replay (the OpenAI Agents plugin's
            # run context installs a global agent runner and model provider, and restores the
            # old ones on exit): two such replays at once in one process, e.g. parallel fault
            # runs checking their histories, would undo each other's. One at a time.
            got = await asyncio.to_thread(_PLUGIN_REPLAYS.acquire, True, self.options.timeout)
            if not got:
                raise ReplaykitError(
                    f"waited {self.options.timeout:g} s for another replay with plugins in "
                    "this process to finish (plugins may set process-wide state, so replays "
                    "with plugins run one at a time)"
                )
        try:
            async with self.replayer.workflow_replay_iterator(histories()) as results:
                async for result in results:
                    key, hf, started = pending.pop(0)
                    on_result(key, self._judge(hf, result, time.perf_counter() - started))
        except RuntimeError as err:
            text = describe_validation_error(err, workflows=self.workflows, plugins=self.plugins)
            if text is None:
                raise
            raise WorkflowValidationError(text) from err
        finally:
            if exclusive:
                _PLUGIN_REPLAYS.release()

    def _judge(
        self, hf: HistoryFile, result: temporalio.worker.WorkflowReplayResult, seconds: float
    ) -> HistoryResult:
        assert self.runner is not None
        capture = self.runner.take(result.history.run_id)
        verdict = self._verdict(hf, result, capture, seconds)
        printed = capture.printed() if capture is not None else None
        if printed and verdict.status in ("divergent", "error"):
            # What the code printed is shown under a failing history only.
            verdict = dataclasses.replace(verdict, output=printed)
        return verdict

    def _verdict(
        self,
        hf: HistoryFile,
        result: temporalio.worker.WorkflowReplayResult,
        capture: RunCapture | None,
        seconds: float,
    ) -> HistoryResult:
        failure = result.replay_failure
        malformed = malformed_failure(failure)
        if malformed is not None:  # the history's fault, not the code's: no divergence
            return _error_result(hf.path or hf.display_name, malformed)
        divergences: list[Divergence] = []
        if self.options.strict and capture is not None:
            divergences = compare_run(
                hf.view,
                capture,
                task_queue=hf.task_queue,
                replay_failed=failure is not None,
                converter=self.converter,
                volatile=self.options.volatile,
                frameworks=hf.meta.frameworks if hf.meta is not None else None,
            )
        stock = None
        if failure is not None:
            stock = f"{type(failure).__name__}: {failure}"
            explained = explain_replay_failure(failure, hf, capture)
            # Our own first finding is more precise when there is one; keep the stock
            # explanation only when strict comparison found nothing to blame.
            if not any(d.kind == "nondeterminism" for d in divergences):
                divergences.insert(0, explained)
        elif capture is not None and capture.failure and hf.is_closed:
            divergences.insert(
                0,
                Divergence(
                    kind="nondeterminism",
                    cause="workflow-task-failed",
                    message=f"the workflow raised during replay: {capture.failure}",
                    hint="the current code fails where the recorded run did not",
                ),
            )
        if any(d.kind == "nondeterminism" for d in divergences):
            # Only the workflow this history runs: another module's integration is no reason.
            missing = missing_plugin_hint(
                [w for w in self.workflows if _workflow_type(w) == hf.workflow_type],
                self.plugins,
            )
            if missing:
                first = divergences[0]
                divergences[0] = dataclasses.replace(
                    first, hint=f"{first.hint}; {missing}" if first.hint else missing
                )
        # Whatever the verdict: payloads nobody here can read make any verdict unfounded.
        # (With a codec, only strict mode decodes the recorded payloads to look at them; the
        # stock replay decodes what it needs itself and fails on what it cannot read.)
        readable = not has_codec(self.converter) or self.options.strict
        foreign = foreign_encodings(hf.history, self.converter) if readable else []
        if foreign and self.converter is None:
            return _error_result(
                hf.path or hf.display_name,
                f"payloads use encoding {', '.join(map(repr, foreign))}, which the default "
                "data converter cannot read: the history was recorded with a payload codec "
                "or a custom payload converter. Pass --data-converter MODULE:ATTR (or set "
                "[tool.replaykit] data_converter) naming that DataConverter or PayloadCodec",
            )
        if foreign:
            return _error_result(
                hf.path or hf.display_name,
                f"payloads use encoding {', '.join(map(repr, foreign))}, which the data "
                "converter in use (--data-converter, or the plugins') cannot read after its "
                "codec, if any: it is not the one the history was recorded with",
            )
        verdict = _verdict(hf, divergences, self.options, seconds=seconds, stock_error=stock)
        if self.tracker is not None and verdict.status == "clean":
            classes = [w for w in self.workflows if _workflow_type(w) == hf.workflow_type]
            deps = self.tracker.describe(
                capture.modules if capture is not None else None,
                opened=(capture.opened or ()) if capture is not None else (),
                root=classes[0].__module__ if classes else None,
            )
            verdict = dataclasses.replace(verdict, dependencies=deps)
        return verdict


def replay_one(
    history: HistoryFile | str | Path,
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
) -> HistoryResult:
    """Check one history in this process; handy in tests.

    A replay that overruns ``options.timeout`` is reported as an error; its thread cannot be
    killed and stays blocked until the process exits (see :func:`check_histories`).
    """
    report = check_histories([history], workflows=workflows, options=options, jobs=0)
    return report.results[0]


def _load(
    item: HistoryFile | Path, workflow_id: str | None, cache: HistoryCache | None
) -> HistoryFile:
    if isinstance(item, HistoryFile):
        return item
    note_check_input(item)  # read here, maybe while another history replays
    if cache is not None:
        return cache.load(item, workflow_id=workflow_id)
    from replaykit.history._files import load_history

    return load_history(item, workflow_id=workflow_id)


def _error_result(path: Path | str | None, message: str) -> HistoryResult:
    return HistoryResult(
        path=str(path) if path is not None else None,
        workflow_id=None,
        workflow_type=None,
        status="error",
        error=message,
    )


def check_histories(
    items: Iterable[HistoryFile | str | Path],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    jobs: int | None = None,
    workflow_id: str | None = None,
    shard: tuple[int, int] | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
) -> CheckReport:
    """Check history files (folders are searched for ``*.json``) against current code.

    Args:
        items: Files, folders or loaded :class:`HistoryFile` objects.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        options: See :class:`CheckOptions`.
        jobs: Worker processes (default: CPU count); 0 replays in this process. Either way a
            replay that overruns ``options.timeout`` is reported as an error: a worker process
            is killed; an in-process replay (``jobs=0``, or workflow classes that cannot be
            re-imported elsewhere, such as ones defined in ``__main__``) is abandoned in its
            thread, which stays blocked until the process exits.
        workflow_id: Workflow id for plain exports without replaykit metadata.
        shard: ``(k, n)``: check only the k-th of n slices (1-based) of the sorted files.
            Anything but integers ``1 <= k <= n`` raises :class:`ConfigError`.
        on_result: Called with each result as it arrives (progress output).

    Returns:
        A :class:`CheckReport`; input errors are results with status ``error``.
    """
    options = options or CheckOptions()
    if shard is not None:
        _validate_shard(shard)
    started = time.perf_counter()
    results: list[HistoryResult] = []
    entries: list[HistoryFile | Path] = []
    for item in items:
        if isinstance(item, HistoryFile):
            entries.append(item)
            continue
        try:
            entries.extend(find_history_files([item]))
        except HistoryError as err:
            results.append(_error_result(err.path, err.reason))
    if shard is not None:
        k, n = shard
        entries = [e for i, e in enumerate(entries) if i % n == k - 1]

    def emit(result: HistoryResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    for r in list(results):
        if on_result is not None:
            on_result(r)
    used_jobs = 0
    cache_on = False
    notes: list[str] = []
    stored = 0
    for group in plan_checks(entries, workflows=workflows, options=options):
        if group.error is not None:
            for entry in group.entries:
                path = entry.path if isinstance(entry, HistoryFile) else entry
                emit(_error_result(path, group.error))
            continue
        try:
            run = _check_group(
                list(group.entries),
                group.workflows,
                group.options,
                jobs,
                workflow_id,
                emit,
                extra_workflows=group.extra_workflows,
            )
        except ConfigError as err:
            if not group.from_metadata:
                raise
            # A harvested file names what cannot be loaded here: that file's error, not the run's.
            for entry in group.entries:
                path = entry.path if isinstance(entry, HistoryFile) else entry
                emit(_error_result(path, f"{err} (named by the file's harvest metadata)"))
            continue
        used_jobs = max(used_jobs, run.jobs)
        cache_on = cache_on or run.verdict_cache
        stored += run.stored
        if run.note:
            notes.append(run.note)
    jobs = used_jobs
    order = {str(e.path if isinstance(e, HistoryFile) else e): i for i, e in enumerate(entries)}
    results.sort(
        key=lambda r: (r.status != "error" or r.path not in order, order.get(r.path or "", -1))
    )
    results = _with_chain_budgets(results, options)
    return CheckReport(
        results=tuple(results),
        seconds=time.perf_counter() - started,
        options=report_options(
            options,
            jobs,
            verdict_cache=cache_on,
            verdict_cache_note="; ".join(dict.fromkeys(notes)) or None,
            verdicts_stored=stored,
        ),
    )


def _remeasured(
    result: HistoryResult, path: Path, options: CheckOptions, workflow_id: str | None
) -> HistoryResult:
    """A reused pass with its budget and versioning measured again from the history (a
    budget finding or loop is shown on every check; a chain's runs are measured together)."""
    try:
        hf = _load(path, workflow_id, HistoryCache(options.cache_dir) if options.cache else None)
    except HistoryError:
        return result
    budget = measure_budget(hf.events, options.budget)
    return dataclasses.replace(result, budget=budget, versioning=versioning_view(hf.events))


def _open_verdict_cache(
    options: CheckOptions,
    workflow_classes: Sequence[type],
    workflow_id: str | None,
    entries: Sequence[HistoryFile | Path],
) -> tuple[VerdictCache | None, str | None]:
    """The verdict cache of this run, or None and why it is off (None: not asked for)."""
    if not options.verdict_cache or not entries:
        return None, None
    verdicts = VerdictCache(
        options.verdict_cache,
        options=options,
        workflows=workflow_classes,
        workflow_id=workflow_id,
    )
    if verdicts.disabled is not None:
        return None, verdicts.disabled
    return verdicts, None


@dataclass(frozen=True)
class _Prepared:
    """What checking with some workflows needs before any replay (see :func:`_prepare`).

    Attributes:
        classes: The workflow classes.
        module_specs: ``module:Class`` names worker processes import, or None when a class
            cannot be imported elsewhere (defined in ``__main__`` or a function).
    """

    classes: list[type]
    module_specs: list[str] | None

    def jobs(
        self, requested: int | None, options: CheckOptions, *, count: int | None = None
    ) -> int:
        """Worker processes for ``count`` histories (None: a stream): ``requested`` (None:
        the CPU count), 0 when the workflows or the plugins cannot reach a worker."""
        jobs = (os.cpu_count() or 1) if requested is None else requested
        if count is not None:
            jobs = min(jobs, count) if jobs > 0 else 0
        if self.module_specs is None:
            jobs = 0  # classes defined in __main__ or a test cannot be re-imported elsewhere
        if (
            options.plugins
            and jobs > 0
            and _start_method() != "fork"
            and not all(isinstance(p, str) for p in options.plugins)
        ):
            jobs = 0  # plugin objects reach forked workers only; name them as strings
        return jobs


def _prepare(
    workflows: Sequence[str | type],
    options: CheckOptions,
    *,
    extra_workflows: Sequence[str] = (),
) -> _Prepared:
    """Collect the workflow classes and load what every replay needs, so that a bad
    workflow module, data converter, volatile rule or plugin reference fails before any
    replay: the one setup of :func:`check_histories`' groups and :func:`check_history_stream`.

    ``extra_workflows`` (``module:Class`` from harvest metadata) add only the workflow types
    ``workflows`` do not define.
    """
    # The verdict cache keys on what importing the workflows imported, so it watches that.
    watch = record_host_imports() if options.verdict_cache else contextlib.nullcontext()
    with watch:
        classes = collect_workflows(workflows)
        if extra_workflows:
            have = {_workflow_type(c) for c in classes}
            try:
                named = collect_workflows(extra_workflows)
            except ConfigError:
                named = []  # the given workflows stand; a type they lack is reported per history
            added = [c for c in named if _workflow_type(c) not in have]
            classes.extend(added)
            workflows = [*workflows, *(f"{c.__module__}:{c.__qualname__}" for c in added)]
    if options.data_converter:
        load_data_converter(options.data_converter)
    parse_volatile_rules(options.volatile)
    if options.plugins:
        load_plugins(options.plugins)
    return _Prepared(classes, _importable_specs(workflows, classes))


@dataclass(frozen=True)
class _GroupRun:
    """What checking one group did: worker processes used, and the verdict cache's part."""

    jobs: int
    verdict_cache: bool = False
    note: str | None = None
    stored: int = 0


def _check_group(
    entries: list[HistoryFile | Path],
    workflows: Sequence[str | type],
    options: CheckOptions,
    jobs: int | None,
    workflow_id: str | None,
    emit: Callable[[HistoryResult], None],
    *,
    extra_workflows: Sequence[str] = (),
) -> _GroupRun:
    """Replay one group of histories that share workflows and options (reusing stored passes
    when ``options.verdict_cache`` is set).

    ``extra_workflows`` (``module:Class`` from harvest metadata) add only the workflow types
    ``workflows`` do not define.
    """
    prepared = _prepare(workflows, options, extra_workflows=extra_workflows)
    workflow_classes = prepared.classes
    verdicts, cache_note = _open_verdict_cache(options, workflow_classes, workflow_id, entries)
    if verdicts is None and options.verdict_cache:
        options = dataclasses.replace(options, verdict_cache=None)  # workers track nothing
    reasons: dict[str, str] = {}
    reused: list[HistoryResult] = []
    replay_entries = entries
    if verdicts is not None:
        replay_entries = []
        for entry in entries:
            if isinstance(entry, HistoryFile):
                if entry.path is not None:
                    reasons[str(entry.path)] = "given as a loaded history, not a file"
                replay_entries.append(entry)
                continue
            got = verdicts.lookup(entry)
            if isinstance(got, HistoryResult):
                if got.path in verdicts.remeasure:
                    got = _remeasured(got, entry, options, workflow_id)
                reused.append(got)
            else:
                reasons[str(entry)] = got
                replay_entries.append(entry)
    jobs = prepared.jobs(jobs, options, count=len(replay_entries))

    def emit_stored(result: HistoryResult) -> None:
        if verdicts is not None and not result.reused:
            not_stored = verdicts.store(result)
            result = dataclasses.replace(
                result,
                recheck_reason=reasons.get(result.path or ""),
                not_stored=not_stored,
                dependencies=None,
            )
        emit(result)

    for r in reused:
        emit_stored(r)
    if replay_entries:
        if jobs == 0:
            _check_in_process(replay_entries, workflow_classes, options, workflow_id, emit_stored)
        else:
            assert prepared.module_specs is not None
            _check_in_pool(
                replay_entries, prepared.module_specs, options, workflow_id, jobs, emit_stored
            )
    return _GroupRun(
        jobs=jobs,
        verdict_cache=verdicts is not None,
        note=cache_note,
        stored=verdicts.stored if verdicts is not None else 0,
    )


def check_history_stream(
    source: Iterable[HistoryFile | Path],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    jobs: int | None = None,
    window: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
) -> CheckReport:
    """Check histories as a stream yields them, replaying while the stream still produces.

    The same check as :func:`check_histories` (validation, the worker-process pool, strict
    comparison, verdicts), for a source that is not a list of files: ``shadow`` fetches
    histories from a cluster while earlier ones replay. The pool reads the stream from a
    thread of its own, so the source may block until its next history is ready.

    Args:
        source: Loaded :class:`HistoryFile` objects (sent to the workers as binary protobuf)
            or history file paths (loaded by the workers); consumed once, lazily.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        options: See :class:`CheckOptions`.
        jobs: Worker processes (default: CPU count). 0 (or workflow classes that cannot be
            re-imported elsewhere) replays in this process, also while the stream produces.
        window: Histories handed to the pool ahead of their verdicts, at most (default: 8
            per worker), so a fast source does not pile up histories in memory.
        on_result: Called with each result as it arrives, in arrival order.

    Returns:
        A :class:`CheckReport` with the results in arrival order.
    """
    options = options or CheckOptions()
    started = time.perf_counter()
    prepared = _prepare(workflows, options)
    workflow_classes, module_specs = prepared.classes, prepared.module_specs
    jobs = prepared.jobs(jobs, options)
    results: list[HistoryResult] = []

    def emit(result: HistoryResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if jobs == 0:
        _check_in_process(source, workflow_classes, options, None, emit)
    else:
        assert module_specs is not None
        _check_in_pool(
            source,
            module_specs,
            options,
            None,
            jobs,
            emit,
            window=window or 8 * jobs,
            ctx=_stream_context(module_specs),
            first_ctx=multiprocessing.get_context("fork") if _start_method() == "fork" else None,
        )
    return CheckReport(
        results=tuple(_with_chain_budgets(results, options)),
        seconds=time.perf_counter() - started,
        options=report_options(options, jobs),
    )


def report_options(options: CheckOptions, jobs: int, **extra: Any) -> dict[str, Any]:
    """The options a report records (what was checked, and how), plus ``extra``."""
    return {
        "strict": options.strict,
        "fail_on": sorted(options.fail_on),
        "allow": list(options.allow),
        "volatile": list(options.volatile),
        "sandbox": options.sandbox,
        "jobs": jobs,
        "deployment_version": options.deployment_version,
        "include_pinned": options.include_pinned,
        "budget": dataclasses.asdict(options.budget),
        **extra,
    }


def _stream_context(module_specs: Sequence[str]) -> Any:
    """The multiprocessing context of a stream's workers: a fork server.

    A stream's source runs threads and usually a client (with the SDK's Rust runtime) in
    this process, if not yet then soon, so forking it is unsafe for any worker started once
    the stream flows (a replacement after a kill); spawned workers import temporalio and
    every workflow module again (seconds each, more on a loaded machine). A fork server
    forks them from a clean process that imported those modules once. (The first workers
    are forked directly while this process is still clean: see :func:`check_history_stream`.)
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx: Any = multiprocessing.get_context("forkserver")
    roots = {spec.partition(":")[0] for spec in module_specs}
    loaded = [
        name
        for name in list(sys.modules)
        if name != "__main__" and any(name == r or name.startswith(r + ".") for r in roots)
    ]
    ctx.set_forkserver_preload(["replaykit.check._engine", *sorted(loaded)])
    return ctx


def _validate_shard(shard: object) -> None:
    """``(k, n)`` with integers ``1 <= k <= n``, else a ConfigError saying so."""
    ok = (
        isinstance(shard, tuple)
        and len(shard) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
        and 1 <= shard[0] <= shard[1]
    )
    if not ok:
        raise ConfigError(
            f"shard={shard!r}: expected (k, n) with 1 <= k <= n (the k-th of n slices, 1-based)"
        )


def _importable_specs(specs: Sequence[str | type], classes: Sequence[type]) -> list[str] | None:
    out: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            out.append(spec)
        else:
            module = spec.__module__
            if module == "__main__" or "<locals>" in spec.__qualname__:
                return None
            out.append(f"{module}:{spec.__qualname__}")
    return out


#: Histories an in-process check reads from its source ahead of the replay, at most.
IN_PROCESS_READ_AHEAD = 16


def _check_in_process(
    entries: Iterable[HistoryFile | Path],
    workflows: Sequence[type],
    options: CheckOptions,
    workflow_id: str | None,
    emit: Callable[[HistoryResult], None],
) -> None:
    """Replay in this process (see :func:`_replay_in_process`), what the workflow code
    prints captured per history (:func:`~replaykit.check._capture.capture_replay_output`)."""
    with capture_replay_output():
        _replay_in_process(entries, workflows, options, workflow_id, emit)


def _replay_in_process(
    source: Iterable[HistoryFile | Path],
    workflows: Sequence[type],
    options: CheckOptions,
    workflow_id: str | None,
    emit: Callable[[HistoryResult], None],
) -> None:
    """Replay in this process, each pipeline in a thread watched for ``options.timeout``.

    The source is read by a thread of its own, at most :data:`IN_PROCESS_READ_AHEAD`
    histories ahead of the replay, so a source that fetches (a shadow worker's batch)
    fetches while earlier histories replay.

    A replay the SDK core never finishes cannot be cancelled (asyncio cannot interrupt it, and
    a thread cannot be killed); but it does not hold the GIL, so this thread sees it overrun,
    reports that history as an error, abandons the stuck thread (it stays blocked until the
    process exits) and replays the rest on a fresh replayer in a new thread.
    """
    import threading

    cache = HistoryCache(options.cache_dir) if options.cache else None
    tracker = DependencyTracker() if options.verdict_cache else None
    lock = threading.Lock()
    arrived = threading.Condition(lock)  # a history was read, the source ended, or one left
    entries: list[HistoryFile | Path] = []
    todo: list[tuple[int, HistoryFile | Path]] = []
    remaining: set[int] = set()
    source_ended = False
    stopping = False
    inbox: queue_mod.Queue[tuple[Any, int, Any]] = queue_mod.Queue()

    def read_source() -> None:
        nonlocal source_ended
        try:
            for entry in source:
                with arrived:
                    while len(todo) >= IN_PROCESS_READ_AHEAD and not stopping:
                        arrived.wait()
                    if stopping:
                        return
                    todo.append((len(entries), entry))
                    remaining.add(len(entries))
                    entries.append(entry)
                    arrived.notify_all()
        except BaseException as err:  # noqa: BLE001 - re-raised by the calling thread
            inbox.put((read_source, -1, err))
        finally:
            with arrived:
                source_ended = True
                arrived.notify_all()
            inbox.put((read_source, -2, None))

    def more() -> bool:
        """Histories still to judge, read or not yet read (under the lock)."""
        return bool(remaining) or not source_ended

    @dataclass
    class _Pipeline:
        abandoned: bool = False
        in_flight: dict[int, float] = field(default_factory=dict)  # index -> since (monotonic)
        thread: Any = None
        rejections: int = 0  # core panics on malformed histories before this pipeline

    def run_pipeline(pipe: _Pipeline) -> None:
        def deliver(index: int, result: HistoryResult) -> None:
            with lock:
                if pipe.abandoned:
                    return
                pipe.in_flight.pop(index, None)
                now = time.monotonic()
                for other in pipe.in_flight:  # queued behind this one until now
                    pipe.in_flight[other] = now
            inbox.put((pipe, index, result))

        async def items() -> AsyncIterator[tuple[int, HistoryFile]]:
            while True:
                with arrived:
                    while not todo and not source_ended and not pipe.abandoned:
                        arrived.wait()
                    if pipe.abandoned or not todo:
                        return
                    index, entry = todo.pop(0)
                    arrived.notify_all()  # room for the reader
                try:
                    hf = _load(entry, workflow_id, cache)
                except HistoryError as err:
                    deliver(index, _error_result(err.path, err.reason))
                    continue
                with lock:
                    pipe.in_flight[index] = time.monotonic()
                yield index, hf

        try:
            run_sync(lambda: _Replay(workflows, options, tracker=tracker).run(items(), deliver))
        except BaseException as err:  # noqa: BLE001 - re-raised by the calling thread
            inbox.put((pipe, -1, err))
        finally:
            inbox.put((pipe, -2, None))

    def start() -> _Pipeline:
        pipe = _Pipeline(rejections=core_rejections())
        pipe.thread = threading.Thread(
            target=run_pipeline, args=(pipe,), name="replaykit-check", daemon=True
        )
        pipe.thread.start()
        return pipe

    reader = threading.Thread(target=read_source, name="replaykit-check-source", daemon=True)
    reader.start()
    current = start()
    try:
        while True:
            with lock:
                if not more():
                    break
            try:
                pipe, index, payload = inbox.get(timeout=0.2)
            except queue_mod.Empty:
                pipe = None
            if pipe is read_source and index == -1:
                raise payload
            if pipe is current:
                if index == -1:
                    raise payload
                if index == -2:  # the pipeline ended; anything left was never replayed
                    with arrived:
                        lost = sorted(remaining - {i for i, _ in todo})
                        todo[:0] = [(i, entries[i]) for i in lost]
                        again = more()
                    if again:
                        current = start()
                    continue
                with lock:
                    fresh = index in remaining
                    remaining.discard(index)
                if fresh:
                    emit(payload)
            with arrived:
                oldest = min(current.in_flight.items(), key=lambda kv: kv[1], default=None)
                # A core panic on a malformed history: that replay never returns either.
                rejected = core_rejection(current.rejections)
                if oldest is None or (
                    rejected is None and time.monotonic() - oldest[1] <= options.timeout
                ):
                    continue
                current.abandoned = True
                stuck = oldest[0]
                # the innocent ones queued behind it go first on the fresh replayer
                todo[:0] = [(i, entries[i]) for i in sorted(current.in_flight) if i != stuck]
                fresh = stuck in remaining
                remaining.discard(stuck)
                entry = entries[stuck]
                arrived.notify_all()
            if fresh:
                path = entry.path or entry.display_name if isinstance(entry, HistoryFile) else entry
                emit(
                    _error_result(
                        path,
                        malformed_message(rejected)
                        if rejected is not None
                        else (
                            f"replay did not finish within {options.timeout:g} s (the SDK can "
                            "hang on corrupted histories); in-process replays cannot be killed, "
                            "so its thread was abandoned and the remaining histories replay on "
                            "a fresh replayer"
                        ),
                    )
                )
            with lock:
                again = more()
            if again:
                current = start()
    finally:
        with arrived:
            stopping = True  # a reader waiting for room stops reading
            arrived.notify_all()
    # Let the last pipeline leave its replayer before returning: plugins set process-wide
    # state around a replay (OpenAI Agents: the default agent runner) and restore it on exit;
    # a next check starting before that would see it restored under its feet.
    if not current.abandoned:
        current.thread.join(options.timeout)


# ---------------------------------------------------------------------------------------
# Worker processes


#: Replay pipelines per process. Histories replay one at a time in each pipeline (the
#: capture and the patch analysis rely on that). Two pipelines in one process measured
#: +15 % alone but nothing with one worker per core, and they break that assumption.
_PIPELINES_IN_PROCESS = 1
_PIPELINES_PER_WORKER = 1


@dataclass
class _Slot:
    process: Any
    in_flight: dict[int, float] = field(default_factory=dict)  # index -> started (monotonic)
    exited: float | None = None  # when a clean exit was first seen


#: Seconds to wait for the queued results of a worker that exited cleanly.
_EXIT_GRACE = 5.0


def _memoize_compiles() -> None:
    """Compile each workflow source once per check worker.

    The sandbox re-imports the workflow modules for every history. Without bytecode files
    (PYTHONDONTWRITEBYTECODE, common in CI images) every re-import compiles the source again,
    ~20 % of a replay. Code objects are immutable, so handing the same one to every
    re-import is what a bytecode file would give. Keyed on path and exact source text.
    """
    import importlib._bootstrap_external as bootstrap_external

    loader = bootstrap_external.SourceLoader
    original = loader.source_to_code
    if getattr(original, "_replaykit", False):
        return
    compiled: dict[tuple[Any, bytes], Any] = {}

    def source_to_code(self: Any, data: Any, path: Any, *, _optimize: int = -1) -> Any:
        if not isinstance(data, bytes):
            return original(self, data, path, _optimize=_optimize)
        key = (path, data)
        code = compiled.get(key)
        if code is None:
            code = compiled[key] = original(self, data, path, _optimize=_optimize)
        return code

    setattr(source_to_code, "_replaykit", True)  # noqa: B010 - a marker on a function object
    setattr(loader, "source_to_code", source_to_code)  # noqa: B010


def _worker_main(
    modules: list[str],
    options: CheckOptions,
    workflow_id: str | None,
    tasks: Any,
    results: Any,
    worker_index: int,
) -> None:
    """Entry point of a check worker process."""
    # A Ctrl-C reaches the terminal's whole process group: the parent decides what it means
    # (a check stops; a continuous shadow judges what it selected, then ends) and stops its
    # workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker forked again after the parent made its own SDK runtime (a stream's source
    # connects once the first workers run) must not reuse that runtime: its threads were
    # not forked. A fresh worker has none cached; this one makes its own.
    quiet_runtime.cache_clear()
    if not os.environ.get("REPLAYKIT_DEBUG"):
        # Verdicts travel through the result queue; what the SDK core prints when it panics
        # on a broken history (pages of Rust backtrace) would only bury the report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        if options.verdict_cache:
            with record_host_imports():
                workflows = collect_workflows(modules)
        else:
            workflows = collect_workflows(modules)
    except ReplaykitError as err:
        results.put(("fatal", worker_index, str(err)))
        return
    cache = HistoryCache(options.cache_dir) if options.cache else None
    tracker = DependencyTracker() if options.verdict_cache else None
    skip_identity_payload_passes()
    _memoize_compiles()

    flight: dict[int, Any] = {}  # index -> task payload, in start order, until its result is sent
    flight_lock = threading.Lock()

    def leave() -> None:
        results.put(("done", worker_index))
        for q in (results, tasks):
            q.close()
            q.join_thread()
        os._exit(0)

    watch_worker_for_core_rejections(
        in_flight=lambda: _locked_items(flight, flight_lock),
        report=lambda i, p, m: results.put(
            ("result", worker_index, i, _error_result(_payload_label(p), m))
        ),
        requeue=lambda i, p: tasks.put((i, p)),
        leave=leave,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def items() -> AsyncIterator[tuple[int, HistoryFile]]:
            while True:
                task = await loop.run_in_executor(None, tasks.get)
                if task is None:
                    return
                index, payload = task
                with flight_lock:
                    flight[index] = payload
                results.put(("start", worker_index, index))
                try:
                    hf = _load(_task_entry(payload), workflow_id, cache)
                except HistoryError as err:
                    error = _error_result(err.path, err.reason)
                    with flight_lock:
                        flight.pop(index, None)
                    results.put(("result", worker_index, index, error))
                    continue
                yield index, hf

        def on_result(index: int, result: HistoryResult) -> None:
            with flight_lock:
                flight.pop(index, None)
            results.put(("result", worker_index, index, result))

        await asyncio.gather(
            *(
                _Replay(workflows, options, tracker=tracker).run(items(), on_result)
                for _ in range(_PIPELINES_PER_WORKER)
            )
        )

    try:
        with capture_replay_output():  # what workflow code prints: per history, not fd 1
            run_sync(main)
    except BaseException as err:  # noqa: BLE001 - reported to the parent, never swallowed
        results.put(("fatal", worker_index, f"check worker failed: {type(err).__name__}: {err}"))
    finally:
        results.put(("done", worker_index))
        # A multiprocessing queue writes from a feeder thread: flush it before leaving, or
        # the last results (and "done") can be lost with the process.
        results.close()
        results.join_thread()
        # The SDK's runtime can crash at interpreter exit (DESIGN.md); leave cleanly.
        os._exit(0)


def _locked_items(flight: dict[int, Any], lock: threading.Lock) -> list[tuple[int, Any]]:
    with lock:
        return list(flight.items())


def _start_method() -> str:
    """``fork`` when it is safe, else ``spawn``.

    Forked workers inherit the imported workflow modules and start in milliseconds instead
    of re-importing temporalio (~1 s each). Forking is unsafe once the SDK's Rust runtime
    (with its threads) exists in this process, or while other threads run; then spawn.
    """
    import threading

    import temporalio.runtime

    if sys.platform != "linux" or threading.active_count() > 1:
        return "spawn"
    ref = getattr(temporalio.runtime, "_runtime_ref", None)
    if ref is None or getattr(ref, "_default_runtime", True) or quiet_runtime.cache_info().currsize:
        return "spawn"
    return "fork"


@dataclass(frozen=True)
class _WireHistory:
    """A loaded history on its way to a worker process: binary protobuf, not JSON."""

    path: str | None
    workflow_id: str
    events: bytes
    meta: HistoryMeta | None
    digest: str

    def load(self) -> HistoryFile:
        history = temporalio.api.history.v1.History.FromString(self.events)
        path = Path(self.path) if self.path is not None else None
        return HistoryFile(
            path=path,
            workflow_id=self.workflow_id,
            history=history,
            meta=self.meta,
            digest=self.digest,
        )


def _task_payload(entry: HistoryFile | Path) -> str | _WireHistory:
    """What a worker is sent: a file's path (it loads the file), or a loaded history."""
    if isinstance(entry, HistoryFile):
        return _WireHistory(
            path=str(entry.path) if entry.path is not None else None,
            workflow_id=entry.workflow_id,
            events=entry.history.SerializeToString(),
            meta=entry.meta,
            digest=entry.digest,
        )
    return str(entry)


def _task_entry(payload: str | _WireHistory) -> HistoryFile | Path:
    return Path(payload) if isinstance(payload, str) else payload.load()


def _payload_label(payload: str | _WireHistory) -> str:
    if isinstance(payload, str):
        return payload
    return payload.path or payload.workflow_id


def _entry_label(entry: HistoryFile | Path) -> str:
    return entry.display_name if isinstance(entry, HistoryFile) else str(entry)


def _check_in_pool(
    entries: Iterable[HistoryFile | Path],
    modules: list[str],
    options: CheckOptions,
    workflow_id: str | None,
    jobs: int,
    emit: Callable[[HistoryResult], None],
    *,
    window: int | None = None,
    ctx: Any = None,
    first_ctx: Any = None,
) -> None:
    """Replay ``entries`` in ``jobs`` worker processes, reading them as the workers need them.

    ``entries`` may be a lazy stream (``shadow`` fetches while the pool replays): a feeder
    thread hands them out, at most ``window`` ahead of the verdicts when a window is given.
    ``ctx`` is the multiprocessing context (default: :func:`_start_method`'s); ``first_ctx``,
    when given, starts the first ``jobs`` workers (a fork while this process is still
    clean), ``ctx`` the ones that replace them later.
    """
    ctx = ctx if ctx is not None else multiprocessing.get_context(_start_method())
    starting = first_ctx if first_ctx is not None else ctx
    tasks: Any = ctx.Queue()
    results: Any = ctx.Queue()
    paths: dict[int, str] = {}  # index -> what an error result names
    payloads: dict[int, Any] = {}  # index -> the task, to hand out again
    remaining: set[int] = set()
    lock = threading.Lock()
    fed = threading.Event()
    closing = threading.Event()  # the check ended early: the feeder must stop
    feed_error: list[BaseException] = []
    ahead = threading.Semaphore(window) if window else None
    owed_stops = 0  # stop markers of the workers started before the feed ended

    def feed() -> None:
        nonlocal owed_stops
        try:
            iterator = iter(entries)
            index = -1
            while True:
                if ahead is not None:
                    ahead.acquire()
                if closing.is_set():
                    return
                try:
                    entry = next(iterator)
                except StopIteration:
                    return
                index += 1
                payload = _task_payload(entry)
                with lock:
                    paths[index] = _entry_label(entry)
                    payloads[index] = payload
                    remaining.add(index)
                tasks.put((index, payload))
        except BaseException as err:  # noqa: BLE001 - re-raised by the supervising thread
            feed_error.append(err)
        finally:
            with lock:
                fed.set()
                for _ in range(owed_stops):
                    tasks.put(None)
                owed_stops = 0

    def finish(index: int, result: HistoryResult) -> None:
        remaining.discard(index)
        payloads.pop(index, None)
        if ahead is not None:
            ahead.release()
        emit(result)

    slots: dict[int, _Slot] = {}
    started: list[Any] = []
    finished = False
    next_worker = 0

    def spawn() -> None:
        nonlocal next_worker, owed_stops
        worker_index = next_worker
        next_worker += 1
        with lock:  # one stop marker per pipeline of every worker ever started, after the feed
            if fed.is_set():
                for _ in range(_PIPELINES_PER_WORKER):
                    tasks.put(None)
            else:
                owed_stops += _PIPELINES_PER_WORKER
        proc = starting.Process(
            target=_worker_main,
            args=(modules, options, workflow_id, tasks, results, worker_index),
            daemon=True,
        )
        proc.start()
        started.append(proc)
        slots[worker_index] = _Slot(proc)

    for _ in range(jobs):
        spawn()
    starting = ctx
    feeder = threading.Thread(target=feed, name="replaykit-check-feed", daemon=True)
    feeder.start()
    done = 0
    try:
        while not (fed.is_set() and not remaining):
            if feed_error:
                raise feed_error[0]
            try:
                msg = results.get(timeout=1.0)
            except queue_mod.Empty:
                msg = None
            if msg is not None:
                kind, worker_index = msg[0], msg[1]
                slot = slots.get(worker_index)
                if kind == "start" and slot is not None:
                    slot.in_flight[msg[2]] = time.monotonic()
                elif kind == "result":
                    index, result = msg[2], msg[3]
                    if index in remaining:
                        finish(index, result)
                    if slot is not None:
                        slot.in_flight.pop(index, None)
                elif kind == "fatal":
                    raise ConfigError(msg[2])
                elif kind == "done":
                    done += 1
                    slots.pop(worker_index, None)
            now = time.monotonic()
            for worker_index, slot in list(slots.items()):
                oldest = min(slot.in_flight.items(), key=lambda kv: kv[1], default=None)
                hung = oldest is not None and now - oldest[1] > options.timeout
                died = not slot.process.is_alive()
                if died and not hung and slot.process.exitcode == 0:
                    # A clean exit puts its last results on the queue first: give them time
                    # to be read before calling anything in flight lost.
                    if slot.exited is None:
                        slot.exited = now
                    if not slot.in_flight or now - slot.exited < _EXIT_GRACE:
                        continue
                if not (hung or died):
                    continue
                slot.process.kill()
                slot.process.join(5)
                slots.pop(worker_index, None)
                stuck = oldest[0] if oldest is not None else None
                if stuck is not None and stuck in remaining:
                    reason = (
                        f"replay did not finish within {options.timeout:g} s; the worker "
                        "was killed (the SDK can hang on corrupted histories)"
                        if hung
                        else "replay crashed its worker process "
                        f"(exit code {slot.process.exitcode})"
                    )
                    finish(stuck, _error_result(paths[stuck], reason))
                for other in slot.in_flight:  # innocent bystanders: replay them elsewhere
                    if other != stuck and other in remaining:
                        tasks.put((other, payloads[other]))
                if remaining or not fed.is_set():
                    spawn()
            if not slots and (remaining or not fed.is_set()):
                spawn()
        finished = True
    finally:
        closing.set()
        if ahead is not None:
            ahead.release()  # a feeder waiting for room sees the check ended
        for slot in slots.values():
            if slot.process.is_alive():
                slot.process.kill()
        for proc in started:
            proc.join(5)
        # Stop the queues' feeder threads: a thread left running here would make the next
        # check in this process spawn its workers instead of forking them (see
        # _start_method). Only a finished check is sure to have an empty task pipe to flush.
        if not finished:
            tasks.cancel_join_thread()
        tasks.close()
        results.close()
        if finished:
            tasks.join_thread()
