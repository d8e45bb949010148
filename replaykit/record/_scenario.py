"""Scenarios: client-side scripts that drive workflows on a real server.

A scenario is an ``async def`` decorated with :func:`scenario`. It receives a
:class:`ScenarioRun` and drives workflows with it (start, signal, update, query, await). A
scenario that raises has failed: that is how users state invariants. Every workflow execution
a scenario produces (the ones it starts, their children, every run of a continue-as-new chain)
is found afterwards through the recorded events, so this works on servers without visibility.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import hashlib
import importlib.util
import inspect
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import temporalio.api.failure.v1
import temporalio.api.history.v1
import temporalio.client
import temporalio.common
import temporalio.service
import temporalio.worker
import temporalio.workflow
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause

from replaykit._internal._errors import ScenarioError
from replaykit._internal._imports import put_workdir_on_path
from replaykit._internal._sdk_compat import is_workflow_class
from replaykit._internal._sync import sync_twin
from replaykit.history._events import CLOSE_KINDS, view_of

__all__ = [
    "ExecutionRef",
    "Scenario",
    "ScenarioOutcome",
    "ScenarioRun",
    "collect_executions",
    "collect_executions_async",
    "load_scenarios",
    "run_scenario",
    "run_scenario_async",
    "scenario",
]

ScenarioFn = Callable[["ScenarioRun"], Awaitable[Any]]


@dataclass(frozen=True)
class Scenario:
    """A named client-side script plus the workflows and activities its worker hosts."""

    name: str
    fn: ScenarioFn
    workflows: tuple[type, ...]
    activities: tuple[Callable[..., Any], ...] = ()
    server: str | None = None
    task_queue: str | None = None
    timeout: float = 300.0
    module_path: str | None = None
    deployment: str | None = None
    versioning_behavior: str | None = None
    #: Temporal plugins (objects, classes, factories or ``module:attr`` strings), resolved
    #: anew for every run so factories give each run its own (e.g. a fresh test model);
    #: ``--plugin`` factories (``extra``), by contrast, are called once per process.
    plugins: tuple[Any, ...] = ()

    def make_plugins(self, extra: Sequence[Any] = ()) -> list[Any]:
        """This scenario's plugins, then those of ``extra`` not already among them.

        Raises:
            ConfigError: A plugin reference does not resolve to a Temporal plugin.
        """
        from replaykit.integrations._plugins import load_plugins, merge_plugins

        own = load_plugins(self.plugins, option=f"scenario {self.name} plugins=", fresh=True)
        return merge_plugins(own, load_plugins(extra))

    async def __call__(self, run: ScenarioRun) -> Any:
        return await self.fn(run)

    @property
    def queue(self) -> str:
        """The task queue its worker polls (stable, so recorded histories are stable)."""
        return self.task_queue or f"replaykit-{self.name}"


def scenario(
    fn: ScenarioFn | None = None,
    *,
    workflows: Sequence[type],
    activities: Sequence[Callable[..., Any]] = (),
    name: str | None = None,
    server: str | None = None,
    task_queue: str | None = None,
    timeout: float = 300.0,
    deployment: str | None = None,
    versioning_behavior: str | None = None,
    plugins: Sequence[Any] = (),
) -> Any:
    """Declare a scenario.

    Args:
        workflows: ``@workflow.defn`` classes the scenario's worker hosts.
        activities: Activity functions the worker hosts.
        name: Defaults to the function name.
        server: Preferred server kind (``embedded``, ``timeskip``) when the caller does not say.
        task_queue: Defaults to ``replaykit-<name>``.
        timeout: Seconds the whole scenario may take before it is failed.
        deployment: ``NAME.BUILD_ID``: run the worker with Worker Versioning on this
            deployment version (made the current version before the scenario runs), so the
            recorded histories carry the versioning behaviour and version.
        versioning_behavior: The worker's default behaviour (``pinned`` or ``auto-upgrade``)
            for workflows whose ``@workflow.defn`` sets none.
        plugins: Temporal plugins for its client and worker, as production applies them
            (``OpenAIAgentsPlugin``, ``LangGraphPlugin``, ...): plugin objects, classes, or
            zero-argument factories returning one plugin or a list (called for every run,
            e.g. to give each run a fresh test model provider), or ``module:attr`` strings.

    Example:
        >>> @scenario(workflows=[ResearchAgentWorkflow], activities=[search_web])
        ... async def research_happy_path(run):
        ...     await run.execute(ResearchAgentWorkflow.run, "agents", id="research-1")
    """

    def wrap(func: ScenarioFn) -> Scenario:
        if not inspect.iscoroutinefunction(func):
            raise ScenarioError(f"scenario {func.__qualname__} must be an async def")
        for wf in workflows:
            if not is_workflow_class(wf):
                raise ScenarioError(
                    f"scenario {func.__qualname__}: {wf!r} is not a @workflow.defn class"
                )
        module = sys.modules.get(func.__module__)
        if deployment is not None:
            from replaykit.history._versioning import parse_deployment_version

            try:
                parse_deployment_version(
                    deployment, what=f"scenario {func.__qualname__}: deployment"
                )
            except ValueError as err:
                raise ScenarioError(str(err)) from None
        if versioning_behavior not in (None, *_BEHAVIORS):
            raise ScenarioError(
                f"scenario {func.__qualname__}: versioning_behavior {versioning_behavior!r}: "
                f"choose from {', '.join(_BEHAVIORS)}"
            )
        return Scenario(
            name=name or func.__name__,
            fn=func,
            workflows=tuple(workflows),
            activities=tuple(activities),
            server=server,
            task_queue=task_queue,
            timeout=timeout,
            module_path=getattr(module, "__file__", None),
            deployment=deployment,
            versioning_behavior=versioning_behavior,
            plugins=tuple(plugins),
        )

    if fn is not None:
        return wrap(fn)
    return wrap


@dataclass(frozen=True)
class ExecutionRef:
    """One workflow execution (one run) a scenario produced."""

    workflow_id: str
    run_id: str
    workflow_type: str = ""
    parent: str | None = None


class _StartRecorder(temporalio.client.Interceptor):
    """Client interceptor that remembers every workflow the scenario's client starts."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _StartRecorderOutbound(next, self)


class _StartRecorderOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, rec: _StartRecorder) -> None:
        super().__init__(next)
        self._rec = rec

    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        run_id = handle.first_execution_run_id or handle.result_run_id or handle.run_id
        if run_id:
            self._rec.started.append((handle.id, run_id))
        return handle


class ScenarioRun:
    """What a scenario function receives: a client and its worker's task queue."""

    def __init__(
        self, client: temporalio.client.Client, task_queue: str, recorder: _StartRecorder
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self._recorder = recorder

    @property
    def namespace(self) -> str:
        """The namespace the scenario runs in."""
        return self.client.namespace

    @property
    def started(self) -> list[tuple[str, str]]:
        """(workflow id, first run id) of every workflow this scenario's client started."""
        return list(self._recorder.started)

    async def start(
        self, workflow: Any, *args: Any, id: str, **kwargs: Any
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        """``Client.start_workflow`` on the scenario's task queue."""
        if "task_queue" in kwargs:
            raise ScenarioError("run.start() sets task_queue itself; use run.client for others")
        if len(args) > 1:
            kwargs["args"] = list(args)
            args = ()
        return await self.client.start_workflow(
            workflow, *args, id=id, task_queue=self.task_queue, **kwargs
        )

    async def execute(self, workflow: Any, *args: Any, id: str, **kwargs: Any) -> Any:
        """``Client.execute_workflow`` on the scenario's task queue."""
        handle = await self.start(workflow, *args, id=id, **kwargs)
        return await handle.result()


@dataclass(frozen=True)
class ScenarioOutcome:
    """What one scenario run produced."""

    name: str
    executions: tuple[ExecutionRef, ...]
    error: BaseException | None = None
    result: Any = None
    histories: dict[ExecutionRef, temporalio.api.history.v1.History] = field(
        default_factory=dict, compare=False
    )
    #: For a failed scenario: a likely reason, e.g. an AI integration without its plugin.
    hint: str | None = None

    @property
    def ok(self) -> bool:
        """True when the scenario function returned without raising."""
        return self.error is None


def load_scenarios(files: Sequence[Path | str], *, pattern: str | None = None) -> list[Scenario]:
    """Import scenario files (or dotted module names) and return their scenarios.

    The one import rule for scenario files, whichever command loads them (``record``,
    ``faults`` and its worker processes, ``patches --generate-old``, ``saga
    prove-rollback``, the pytest fixtures):

    1. the working directory (the project root) is on ``sys.path``, so the project's own
       packages import (:func:`~replaykit._internal._imports.put_workdir_on_path`);
    2. a file inside a package importable from a ``sys.path`` entry is imported under its
       dotted name (its workflow classes are the package's own objects);
    3. any other file's folder goes on ``sys.path`` and the file is imported under its own
       name, so its sibling modules import and the workflow sandbox can import its
       workflows again by name; a private name only when that name is another module's.

    Args:
        files: Python files or importable module names.
        pattern: Keep only scenarios whose name contains it or matches it as a glob
            (like pytest's ``-k`` for a single term).
    """
    put_workdir_on_path()
    found: list[Scenario] = []
    for item in files:
        module = _import_scenario_module(str(item))
        for value in vars(module).values():
            if isinstance(value, Scenario) and value not in found:
                found.append(value)
    if pattern:
        found = [s for s in found if pattern in s.name or fnmatch.fnmatchcase(s.name, pattern)]
    return found


def _import_scenario_module(item: str) -> Any:
    path = Path(item)
    if path.suffix == ".py" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{item}: no such scenario file")
        path = path.resolve()
        module_name = _module_name_for(path)
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ScenarioError(f"{item}: cannot import")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[module_name]
            raise ScenarioError(f"{item}: import failed: {type(err).__name__}: {err}") from err
        return module
    try:
        return importlib.import_module(item)
    except ImportError as err:
        raise ScenarioError(f"{item}: cannot import: {err}") from err


def _module_name_for(path: Path) -> str:
    """The dotted name a file has relative to a sys.path entry, else its own name with its
    folder put on sys.path, else (the name is another module's) a unique private name.

    Using the real dotted name matters: workflow classes defined in the file must be the
    same objects whether imported through the scenario file or through their package.
    """
    for entry in [Path.cwd(), *(Path(p) for p in sys.path if p)]:
        try:
            rel = path.relative_to(entry.resolve())
        except (ValueError, OSError):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts and all(p.isidentifier() for p in parts):
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if len(parts) == 1 or (path.parent / "__init__.py").exists():
                if str(entry.resolve()) not in sys.path:
                    sys.path.insert(0, str(entry.resolve()))
                return ".".join(parts)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    if path.stem.isidentifier() and _importable_as(path.stem, path):
        return path.stem
    digest = hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    return f"_replaykit_scenario_{path.stem}_{digest}"


def _importable_as(name: str, path: Path) -> bool:
    """Whether ``import name`` finds exactly ``path`` (no other module has the name)."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return Path(getattr(loaded, "__file__", "") or "").resolve() == path
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None and Path(spec.origin).resolve() == path


def new_worker(
    client: temporalio.client.Client,
    scn: Scenario,
    *,
    task_queue: str | None = None,
    plugins: Sequence[Any] = (),
    **worker_kwargs: Any,
) -> temporalio.worker.Worker:
    """A worker hosting the scenario's workflows and activities.

    Sync activities get a thread pool; nondeterminism fails the workflow instead of retrying
    its task forever (DESIGN.md: otherwise tests hang). ``plugins`` are resolved plugin
    objects: the worker plugins among them that ``client`` does not already carry are
    passed to the worker.

    Raises:
        WorkflowValidationError: A workflow fails the sandbox's validation (what was
            restricted, where, and which integration plugin is missing).
    """
    from replaykit.integrations._plugins import (
        WorkflowValidationError,
        describe_validation_error,
        worker_only_plugins,
    )

    kwargs: dict[str, Any] = {
        "workflows": list(scn.workflows),
        "activities": list(scn.activities),
        "workflow_failure_exception_types": [temporalio.workflow.NondeterminismError],
    }
    if any(not inspect.iscoroutinefunction(a) for a in scn.activities):
        kwargs["activity_executor"] = concurrent.futures.ThreadPoolExecutor(max_workers=16)
    if scn.deployment is not None:
        kwargs["deployment_config"] = deployment_config(scn.deployment, scn.versioning_behavior)
    extra = worker_only_plugins(client, plugins)
    if extra:
        kwargs["plugins"] = extra
    kwargs.update(worker_kwargs)
    try:
        return temporalio.worker.Worker(client, task_queue=task_queue or scn.queue, **kwargs)
    except RuntimeError as err:
        text = describe_validation_error(err, workflows=scn.workflows, plugins=plugins)
        if text is None:
            raise
        raise WorkflowValidationError(f"scenario {scn.name}: {text}") from err


_BEHAVIORS = {
    "pinned": temporalio.common.VersioningBehavior.PINNED,
    "auto-upgrade": temporalio.common.VersioningBehavior.AUTO_UPGRADE,
}


def deployment_config(
    version: str, behavior: str | None = None
) -> temporalio.worker.WorkerDeploymentConfig:
    """Worker Versioning options for a worker of deployment version ``NAME.BUILD_ID``."""
    return temporalio.worker.WorkerDeploymentConfig(
        version=temporalio.common.WorkerDeploymentVersion.from_canonical_string(version),
        use_worker_versioning=True,
        default_versioning_behavior=_BEHAVIORS.get(
            behavior or "", temporalio.common.VersioningBehavior.UNSPECIFIED
        ),
    )


async def set_current_deployment_version(
    client: temporalio.client.Client, version: str, *, timeout: float = 20.0
) -> None:
    """Make ``NAME.BUILD_ID`` the current version of its deployment (new and AUTO_UPGRADE
    executions go to it).

    The server knows a version only once one of its workers polled, so this retries until
    ``timeout``. The Python SDK has no deployment API: this is the raw
    ``SetWorkerDeploymentCurrentVersion`` call.
    """
    from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest

    name, _, build = version.partition(".")
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace,
        deployment_name=name,
        build_id=build,
        identity=client.identity,
    )
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except temporalio.service.RPCError as err:
            if asyncio.get_running_loop().time() > deadline:
                raise ScenarioError(
                    f"cannot make {version} the current deployment version: {err.message}"
                ) from err
            await asyncio.sleep(0.2)


async def run_scenario_async(
    scn: Scenario,
    client: temporalio.client.Client,
    *,
    with_worker: bool = True,
    task_queue: str | None = None,
    fetch_histories: bool = True,
    plugins: Sequence[Any] = (),
    **worker_kwargs: Any,
) -> ScenarioOutcome:
    """Run one scenario against a connected client and collect what it produced.

    Args:
        scn: The scenario.
        client: A connected client (for the time-skipping server, its environment's client).
        with_worker: Host the scenario's worker in this process (False when workers run
            elsewhere, e.g. fault-injection subprocesses).
        task_queue: Overrides the scenario's queue.
        fetch_histories: Also fetch every produced execution's history.
        plugins: More plugins (``--plugin``, configuration) after the scenario's own; one
            whose name the scenario already has is left out (the scenario's carries its
            settings).
        **worker_kwargs: Passed to ``temporalio.worker.Worker``.
    """
    from replaykit.integrations._plugins import client_with_plugins

    resolved = scn.make_plugins(plugins)
    client = client_with_plugins(client, resolved)
    recorder = _StartRecorder()
    config = client.config()
    config["interceptors"] = [*config["interceptors"], recorder]
    scenario_client = temporalio.client.Client(**config)
    queue = task_queue or scn.queue
    run = ScenarioRun(scenario_client, queue, recorder)
    error: BaseException | None = None
    result: Any = None

    async def drive() -> Any:
        return await _drive_watched(scn, run, client, recorder)

    try:
        if with_worker:
            async with new_worker(client, scn, task_queue=queue, plugins=resolved, **worker_kwargs):
                if scn.deployment is not None:
                    await set_current_deployment_version(client, scn.deployment)
                result = await drive()
        else:
            result = await drive()
    except asyncio.TimeoutError:
        error = ScenarioError(f"scenario {scn.name} timed out after {scn.timeout:g} s")
    except Exception as err:
        error = err
    histories: dict[ExecutionRef, temporalio.api.history.v1.History] = {}
    executions = await collect_executions_async(client, recorder.started, histories=histories)
    if not fetch_histories:
        histories = {}
    return ScenarioOutcome(
        name=scn.name,
        executions=tuple(executions),
        error=error,
        result=result,
        histories=histories,
        hint=_failure_hint(scn, resolved, error),
    )


class WorkflowTaskFailed(ScenarioError):
    """A workflow task of the scenario failed: an exception in workflow code.

    The SDK fails such a task and the server retries it for as long as the execution lives,
    so the scenario would only end at its timeout. The scenario is stopped at the first
    failure instead; the message has the exception and its traceback from the worker.
    """


#: Seconds between looks at the scenario's executions for failed workflow tasks (growing
#: from the first to the second; a failed task is retried after about a second anyway).
_WATCH_EVERY = (0.2, 1.0)


async def _drive_watched(
    scn: Scenario,
    run: ScenarioRun,
    client: temporalio.client.Client,
    recorder: _StartRecorder,
) -> Any:
    """Run the scenario function; stop it at its timeout or at a failed workflow task.

    Raises:
        asyncio.TimeoutError: The scenario ran past ``scn.timeout``.
        WorkflowTaskFailed: A workflow task of one of its executions failed.
    """
    work = asyncio.ensure_future(scn.fn(run))
    watch = asyncio.ensure_future(_first_task_failure(client, recorder, scn.name))
    try:
        done, _ = await asyncio.wait(
            {work, watch}, timeout=scn.timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (work, watch):
            if not task.done():
                task.cancel()
        for task in (work, watch):
            if not task.done():
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopped on purpose
                    pass
    if work in done:
        return work.result()
    if watch in done:
        raise watch.result()
    raise asyncio.TimeoutError


async def _first_task_failure(
    client: temporalio.client.Client, recorder: _StartRecorder, scenario_name: str
) -> WorkflowTaskFailed:
    """Wait for the first failed workflow task among the scenario's executions.

    Looks at the history of every execution the scenario started, and of their children and
    continue-as-new runs, until one has a ``WorkflowTaskFailed`` event for an exception in
    workflow code (other causes, such as a signal arriving during a task, are the server's
    bookkeeping and are retried at once).
    """
    seen: dict[tuple[str, str], int] = {}  # execution -> events already looked at
    closed: set[tuple[str, str]] = set()  # no task can fail any more: not fetched again
    delay = _WATCH_EVERY[0]
    while True:
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, _WATCH_EVERY[1])
        queue = [*recorder.started, *(k for k in seen if k not in recorder.started)]
        for workflow_id, run_id in dict.fromkeys(queue):
            if (workflow_id, run_id) in closed:
                continue
            try:
                history = await client.get_workflow_handle(
                    workflow_id, run_id=run_id
                ).fetch_history()
            except (temporalio.service.RPCError, RuntimeError):
                continue  # not visible yet, or gone: look again next time
            events = history.events
            start = seen.get((workflow_id, run_id), 0)
            seen[(workflow_id, run_id)] = len(events)
            if events and events[-1].event_type in CLOSE_KINDS:
                closed.add((workflow_id, run_id))
            for ev in events[start:]:
                if ev.event_type == _CHILD_STARTED:
                    child = ev.child_workflow_execution_started_event_attributes
                    key = (child.workflow_execution.workflow_id, child.workflow_execution.run_id)
                    seen.setdefault(key, 0)
                elif ev.event_type == _CAN:
                    new_run = ev.workflow_execution_continued_as_new_event_attributes
                    seen.setdefault((workflow_id, new_run.new_execution_run_id), 0)
                elif ev.event_type == _WFT_FAILED:
                    attrs = ev.workflow_task_failed_event_attributes
                    if attrs.cause == _UNHANDLED_FAILURE:
                        return _task_failure_error(
                            scenario_name, history, ev.event_id, attrs.failure
                        )


def _task_failure_error(
    scenario_name: str,
    history: temporalio.client.WorkflowHistory,
    event_id: int,
    failure: temporalio.api.failure.v1.Failure,
) -> WorkflowTaskFailed:
    first = history.events[0].workflow_execution_started_event_attributes
    kind = failure.application_failure_info.type or "error"
    lines = [
        f"scenario {scenario_name}: a workflow task of {first.workflow_type.name} "
        f"(workflow id {history.workflow_id}) failed at event {event_id}: "
        f"{kind}: {failure.message}",
        "the SDK retries a failed workflow task for as long as the execution lives, so the "
        "scenario was stopped (fix the workflow code; the traceback is the worker's):",
    ]
    trace = _user_frames(failure.stack_trace)
    if trace:
        lines.append("Traceback (most recent call last):")
        lines.extend(trace)
    lines.append(f"{kind}: {failure.message}")
    return WorkflowTaskFailed("\n".join(lines))


def _user_frames(stack_trace: str) -> list[str]:
    """The traceback's frames outside the SDK (all of them if none is outside)."""
    frames: list[list[str]] = []
    for line in stack_trace.splitlines():
        if line.lstrip().startswith('File "'):
            frames.append([line.rstrip()])
        elif frames and line.strip():
            frames[-1].append(line.rstrip())
    own = [f for f in frames if "/temporalio/" not in f[0] and "\\temporalio\\" not in f[0]]
    return [line for frame in (own or frames) for line in frame]


def _failure_hint(scn: Scenario, plugins: Sequence[Any], error: BaseException | None) -> str | None:
    from replaykit.integrations._plugins import missing_plugin_hint

    if error is None:
        return None
    hint = missing_plugin_hint(scn.workflows, plugins)
    return None if hint is None or hint in str(error) else hint


_CAN = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
_CHILD_STARTED = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
_WFT_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
_UNHANDLED_FAILURE = (
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
)


async def collect_executions_async(
    client: temporalio.client.Client,
    roots: Sequence[tuple[str, str]],
    *,
    histories: dict[ExecutionRef, temporalio.api.history.v1.History] | None = None,
) -> list[ExecutionRef]:
    """Every execution reachable from ``roots``: continue-as-new runs and child workflows.

    Follows each run's events (``newExecutionRunId`` of a continued-as-new event, the
    child-started events), so it needs no visibility API.
    """
    seen: set[tuple[str, str]] = set()
    out: list[ExecutionRef] = []
    queue: list[tuple[str, str, str | None]] = [(w, r, None) for w, r in roots]
    while queue:
        workflow_id, run_id, parent = queue.pop(0)
        if (workflow_id, run_id) in seen:
            continue
        seen.add((workflow_id, run_id))
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        proto = temporalio.api.history.v1.History(events=history.events)
        view = view_of(proto)
        wf_type = view.started_attrs.workflow_type.name if proto.events else ""
        ref = ExecutionRef(workflow_id, run_id, wf_type, parent)
        out.append(ref)
        if histories is not None:
            histories[ref] = proto
        # Children in the order they started, then the next run of a continue-as-new.
        for ev in view.of_type(_CHILD_STARTED):
            ex = ev.child_workflow_execution_started_event_attributes.workflow_execution
            queue.append((ex.workflow_id, ex.run_id, workflow_id))
        if view.completion is not None and view.completion.event.event_type == _CAN:
            can = view.completion.event.workflow_execution_continued_as_new_event_attributes
            queue.append((workflow_id, can.new_execution_run_id, parent))
    return out


def fresh_id(prefix: str) -> str:
    """A unique workflow id for ad-hoc runs (recorded scenarios should use fixed ids)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


run_scenario = sync_twin(
    run_scenario_async, doc=":func:`run_scenario_async` from sync code (via ``run_sync``)."
)
collect_executions = sync_twin(
    collect_executions_async,
    doc=":func:`collect_executions_async` from sync code (via ``run_sync``).",
)
