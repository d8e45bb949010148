"""What the fixtures do: servers, clients, workers, replay assertions and recording.

The fixtures in :mod:`replaykit_pytest.plugin` only wire these to pytest. Blocking work
(starting a server, connecting, replaying) runs in a helper thread with its own event loop,
so it never touches the event loop an async test plugin (pytest-asyncio, anyio) manages.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import inspect
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._settings import Settings

if TYPE_CHECKING:
    import temporalio.client
    import temporalio.worker

    from replaykit.check._divergence import CheckReport
    from replaykit.check._engine import CheckOptions
    from replaykit.history._files import HistoryFile
    from replaykit.servers import RunningServer

__all__ = [
    "ServerPool",
    "TestState",
    "check_replays",
    "history_path_for",
    "in_thread",
    "record_handle",
    "task_queue_for",
]

_T = TypeVar("_T")

NO_WORKFLOWS = (
    "replaykit has no workflows to replay with: pass workflows=[...], or set "
    "@pytest.mark.replaykit(workflows=[...]), the replaykit_workflows ini key or "
    "[tool.replaykit] workflows"
)


def in_thread(fn: Callable[[], _T]) -> _T:
    """Run blocking work in a fresh thread and wait for it (the library's one sync bridge).

    ``asyncio.run`` in the test's own thread would replace (and then clear) the event loop an
    async plugin set for that thread; a helper thread has no loop of its own to disturb.
    """
    from replaykit._internal._sync import call_in_thread

    return call_in_thread(fn, thread_name="replaykit-pytest")


def safe_name(text: str) -> str:
    """A file-name-safe form of a test name or workflow id (the library's one rule)."""
    from replaykit.record._record import safe_name as library_safe_name

    return library_safe_name(text)


# --------------------------------------------------------------------------- servers


class ServerPool:
    """The servers of one pytest session (one per xdist worker), started on first use.

    The session's server comes from flag/ini/pyproject; a ``replaykit`` marker may name
    another one, which is then started once and shared by every test that names it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[tuple[str, str | None], RunningServer] = {}
        self._clients: dict[tuple[str, str | None], temporalio.client.Client] = {}

    def server(self, settings: Settings) -> RunningServer:
        """The running server for ``settings.server`` (started now if needed).

        Raises:
            ServerError: The server could not be started or reached.
        """
        from replaykit.servers import parse_server, start_server

        key = (settings.server, settings.namespace)
        with self._lock:
            running = self._servers.get(key)
            if running is None:
                spec = parse_server(settings.server, namespace=settings.namespace)
                running = in_thread(lambda: start_server(spec))
                self._servers[key] = running
            return running

    def client(self, settings: Settings) -> temporalio.client.Client:
        """A connected client for the server (one per server, shared across tests).

        A temporalio client is not bound to the event loop it was connected on, so one
        connection serves every test, whatever loop each test runs in.
        """
        server = self.server(settings)
        key = (settings.server, settings.namespace)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, Any] = {}
                if settings.data_converter:
                    from replaykit.history._codec import load_data_converter

                    kwargs["data_converter"] = load_data_converter(
                        settings.data_converter, option="[tool.replaykit] data_converter"
                    )
                from replaykit._internal._sync import run_sync

                client = run_sync(
                    lambda: server.client(**kwargs), thread_name="replaykit-pytest", own_thread=True
                )
                self._clients[key] = client
            return client

    def close(self) -> None:
        """Stop every server this pool started."""
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            self._clients.clear()
        for server in servers:
            server.stop()


# --------------------------------------------------------------------------- per test


class TestState:
    """What one test's replaykit fixtures share: its settings and what its workers host."""

    __test__ = False  # not a test class, whatever pytest's python_classes says

    def __init__(self, nodeid: str, name: str, module_path: Path | None, settings: Settings):
        self.nodeid = nodeid
        self.name = name
        self.module_path = module_path
        self.settings = settings
        self.hosted_workflows: list[type] = []
        self.recorded: list[Path] = []
        self.config: Any = None  # the pytest config (for --replaykit-pdb)
        self._executors: list[concurrent.futures.ThreadPoolExecutor] = []
        self._plugins: list[Any] | None = None

    def plugins(self) -> list[Any]:
        """The test's plugin objects, resolved once per test: a marker's factories give each
        test its own (e.g. a fresh test model provider); ini and pyproject factories are
        called once per process, as ``--plugin`` ones are.

        Raises:
            ConfigError: A plugin reference does not resolve to a Temporal plugin.
        """
        if self._plugins is None:
            from replaykit.integrations._plugins import load_plugins

            if any(isinstance(p, str) for p in self.settings.plugins):
                ensure_importable(self.settings.root)
            self._plugins = load_plugins(
                self.settings.plugins,
                option="replaykit plugins",
                fresh=self.settings.plugins_per_test,
            )
        return self._plugins

    def workflows(self, explicit: Sequence[Any] | None) -> list[Any]:
        """Workflows to replay with: explicit > marker/ini/pyproject > what workers hosted."""
        if explicit:
            return list(explicit)
        if self.settings.workflows:
            return list(self.settings.workflows)
        return list(self.hosted_workflows)

    def new_worker(
        self,
        client: temporalio.client.Client,
        *,
        workflows: Sequence[Any] | None = None,
        activities: Sequence[Callable[..., Any]] = (),
        task_queue: str | None = None,
        **worker_kwargs: Any,
    ) -> temporalio.worker.Worker:
        """A worker that replays every task and fails workflows on nondeterminism."""
        import temporalio.worker
        import temporalio.workflow

        from replaykit._internal._errors import ConfigError

        classes = resolve_workflow_classes(self.workflows(workflows), self.settings.root)
        if not classes:
            raise ConfigError(NO_WORKFLOWS)
        failure_types = list(worker_kwargs.pop("workflow_failure_exception_types", ()))
        if temporalio.workflow.NondeterminismError not in failure_types:
            failure_types.append(temporalio.workflow.NondeterminismError)
        kwargs: dict[str, Any] = {
            "workflows": classes,
            "activities": list(activities),
            # Every task replays from history, so a replay bug shows up in the test itself.
            "max_cached_workflows": 0,
            # Nondeterminism fails the workflow instead of retrying its task forever.
            "workflow_failure_exception_types": failure_types,
        }
        if "activity_executor" not in worker_kwargs and any(
            not inspect.iscoroutinefunction(a) for a in activities
        ):
            executor = concurrent.futures.ThreadPoolExecutor(max_workers=8)
            self._executors.append(executor)
            kwargs["activity_executor"] = executor
        from replaykit.integrations._plugins import worker_only_plugins

        extra = worker_only_plugins(client, self.plugins())
        if extra and "plugins" not in worker_kwargs:
            kwargs["plugins"] = extra
        kwargs.update(worker_kwargs)
        for cls in classes:
            if cls not in self.hosted_workflows:
                self.hosted_workflows.append(cls)
        return temporalio.worker.Worker(
            client, task_queue=task_queue or task_queue_for(self.nodeid, self.name), **kwargs
        )

    def close(self) -> None:
        """Release what the test's workers used."""
        for executor in self._executors:
            executor.shutdown(wait=False, cancel_futures=True)
        self._executors.clear()


def task_queue_for(nodeid: str, name: str) -> str:
    """A stable task queue per test, so re-recorded histories do not churn."""
    digest = hashlib.blake2b(nodeid.encode(), digest_size=4).hexdigest()
    return f"replaykit-{safe_name(name)[:40]}-{digest}"


def ensure_importable(root: Path) -> None:
    """Make the project's modules importable by name (workflow modules are named in config)."""
    text = str(root)
    if text not in sys.path:
        sys.path.insert(0, text)


def resolve_workflow_classes(specs: Iterable[Any], root: Path) -> list[type]:
    """Module names, ``module:Class`` names and classes, as workflow classes."""
    from replaykit.check._engine import collect_workflows

    specs = list(specs)
    if any(isinstance(s, str) for s in specs):
        ensure_importable(root)
    return collect_workflows(specs) if specs else []


# --------------------------------------------------------------------------- replay checks


def to_history_item(value: Any) -> HistoryFile | Path:
    """A path, a loaded :class:`HistoryFile` or an SDK ``WorkflowHistory`` as check input."""
    import temporalio.client

    from replaykit.history._files import HistoryFile, history_from_json

    if isinstance(value, HistoryFile):
        return value
    if isinstance(value, temporalio.client.WorkflowHistory):
        return history_from_json(value.to_json_dict(), workflow_id=value.workflow_id)
    if isinstance(value, (str, Path)):
        return Path(value)
    raise TypeError(
        "assert_replays() takes a path, a replaykit HistoryFile or a temporalio "
        f"WorkflowHistory, not {type(value).__name__}"
    )


def check_replays(
    items: Sequence[HistoryFile | Path],
    *,
    workflows: Sequence[Any],
    root: Path,
    options: CheckOptions,
) -> CheckReport:
    """Replay histories in this process (one replayer for all of them), off the test's loop.

    ``options`` come from :meth:`Settings.check_options` (built where every command builds
    them). A replay that overruns ``options.timeout`` seconds is an error result, not a hung
    test (its thread cannot be killed and is abandoned; see :func:`replaykit.check_histories`).

    Raises:
        ConfigError: No workflows, or a workflow module cannot be imported.
    """
    from replaykit._internal._errors import ConfigError
    from replaykit.check._engine import check_histories

    if not workflows:
        raise ConfigError(NO_WORKFLOWS)
    if any(isinstance(w, str) for w in [*workflows, *options.plugins]):
        ensure_importable(root)
    return in_thread(
        lambda: check_histories(list(items), workflows=list(workflows), options=options, jobs=0)
    )


def debug_divergence(
    config: Any, history: HistoryFile | Path, *, workflows: Sequence[Any], settings: Settings
) -> None:
    """``--replaykit-pdb``: replay ``history`` again and stop in pdb at its first divergence.

    Output capture is suspended for the session (as pytest's own ``--pdb`` does), so pdb
    reads the terminal; the replay runs off the test's event loop.
    """
    from replaykit._internal._errors import ReplaykitError
    from replaykit.debug import replay_history

    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.suspend_global_capture(in_=True)
    try:
        ensure_importable(settings.root)
        print(f"\nreplaykit --replaykit-pdb: replaying {history} to its first divergence")
        in_thread(
            lambda: replay_history(
                history,
                workflows=list(workflows),
                points=["divergence"],
                data_converter=settings.data_converter,
                plugins=settings.plugins,
            )
        )
    except ReplaykitError as err:
        print(f"replaykit --replaykit-pdb: cannot stop at the divergence: {err}")
    finally:
        if capman is not None:
            capman.resume_global_capture()


def failure_text(report: CheckReport) -> str | None:
    """The divergence explanation of every history that did not replay clean, else None."""
    bad = [r for r in report.results if r.status != "clean"]
    if not report.results:
        return "no history files found"
    if not bad:
        return None
    return "\n\n".join(r.describe() for r in bad)


# --------------------------------------------------------------------------- recording


def history_path_for(state: TestState, *, name: str | None, index: int) -> Path:
    """``<histories>/<test module path>/<test name>[.<n>].json`` (or ``<name>.json``).

    The test's node id decides the path (not the workflow id, which tests often randomise),
    so the same test finds its recording again on the next run.
    """
    folder = state.settings.histories[0]
    if state.module_path is not None:
        try:
            rel = state.module_path.resolve().relative_to(state.settings.root.resolve())
            folder = folder.joinpath(*rel.with_suffix("").parts)
        except ValueError:
            folder = folder / safe_name(state.module_path.stem)
    if name is not None:
        stem = safe_name(name.removesuffix(".json"))
    else:
        stem = safe_name(state.name) + (f".{index}" if index > 1 else "")
    return folder / f"{stem}.json"


async def record_handle(
    state: TestState,
    handle: temporalio.client.WorkflowHandle[Any, Any],
    *,
    name: str | None = None,
    workflows: Sequence[Any] | None = None,
) -> Path:
    """Record (per ``--replaykit-record``) the handle's history, then check it replays clean.

    ``all`` overwrites, ``new`` writes only a missing file, ``none`` writes nothing and
    requires the file to exist. In every mode the file on disk must then replay clean against
    the current code.

    Raises:
        AssertionError: The history does not replay clean (message: the explanation).
        pytest.fail.Exception: Mode ``none`` and there is no recording yet.
    """
    import pytest

    from replaykit.record._record import write_handle_history

    path = history_path_for(state, name=name, index=len(state.recorded) + 1)
    if path in state.recorded:
        raise ValueError(f"{path} was already recorded by this test; pass name=")
    state.recorded.append(path)
    mode = state.settings.record
    if mode == "all" or (mode == "new" and not path.exists()):
        # The handle's own namespace (its client's), from the public API.
        namespace = (await handle.describe()).namespace
        # write_history is atomic (temp file + rename): xdist workers never see half files.
        await write_handle_history(handle, path, namespace=namespace, scenario=state.nodeid)
    elif not path.exists():
        pytest.fail(
            f"no recorded history at {path} (--replaykit-record={mode}); record it with "
            "`pytest --replaykit-record=new`",
            pytrace=False,
        )
    specs = state.workflows(workflows)
    report = await asyncio.to_thread(
        check_replays,
        [path],
        workflows=specs,
        root=state.settings.root,
        options=state.settings.check_options(),
    )
    text = failure_text(report)
    if text is not None:
        raise AssertionError(text)
    return path
