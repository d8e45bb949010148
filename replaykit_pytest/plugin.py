"""replaykit's pytest plugin: options, markers, fixtures and histories as test items.

Options (group ``replaykit``): ``--replaykit-server``, ``--replaykit-record``,
``--replaykit-strict`` / ``--replaykit-no-strict``, ``--replaykit-pdb``. Ini keys: ``replaykit_workflows``,
``replaykit_histories``, ``replaykit_server``, ``replaykit_strict``. ``[tool.replaykit]`` in
pyproject.toml is honoured. Precedence (flag > marker > ini > ``$TEMPORAL_ADDRESS`` /
``$TEMPORAL_NAMESPACE`` > pyproject > default), the CLI's order, is decided by
:class:`replaykit.config._settings.Resolver` alone.

Fixtures: ``temporal_env``, ``temporal_client``, ``replaykit_worker``, ``assert_replays``,
``replaykit_histories``, ``record_history``, ``replaykit_settings``, ``replaykit_ledger``,
``replaykit_cassette``, ``replaykit_faults``.

Markers: ``replaykit(workflows=..., server=..., strict=...)`` and ``replaykit_faults(...)``.

The hooks and fixtures here only wire pytest to :mod:`replaykit_pytest._support` and
:mod:`replaykit_pytest._items`. Nothing at import time touches ``temporalio``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._items import BATCH_KEY, HistoryBatch, HistoryFileCollector, is_candidate
from ._settings import MARKER_KEYS, RECORD_MODES, Settings, SettingsSources, load_sources
from ._support import (
    ServerPool,
    TestState,
    check_replays,
    debug_divergence,
    failure_text,
    record_handle,
    to_history_item,
)

if TYPE_CHECKING:
    import temporalio.client
    import temporalio.worker

    import replaykit.effects
    from replaykit.check._divergence import CheckReport
    from replaykit.servers import RunningServer

_SOURCES_KEY = pytest.StashKey[SettingsSources]()
_SETTINGS_KEY = pytest.StashKey[Settings]()
_ARGS_KEY = pytest.StashKey[list[Path]]()


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("replaykit", "replaykit: Temporal replay testing")
    group.addoption(
        "--replaykit-server",
        dest="replaykit_server",
        default=None,
        metavar="SERVER",
        help="Temporal server for replaykit fixtures: embedded, timeskip or HOST:PORT "
        "(default: replaykit_server ini, $TEMPORAL_ADDRESS, [tool.replaykit] server, "
        "else timeskip).",
    )
    group.addoption(
        "--replaykit-record",
        dest="replaykit_record",
        default=None,
        metavar="MODE",
        help="record_history mode: none (never write; default), new (write missing "
        "histories), all (rewrite every history).",
    )
    group.addoption(
        "--replaykit-strict",
        dest="replaykit_strict",
        action="store_true",
        default=None,
        help="Compare every command with its recorded event (default).",
    )
    group.addoption(
        "--replaykit-no-strict",
        dest="replaykit_strict",
        action="store_false",
        help="Stock replay checks only (command kind, order, type and id).",
    )
    group.addoption(
        "--replaykit-pdb",
        dest="replaykit_pdb",
        action="store_true",
        default=False,
        help="At the first divergence of a failing history item or assert_replays, replay "
        "it again and drop into pdb in the workflow code there (like --pdb).",
    )
    parser.addini(
        "replaykit_workflows",
        "Workflow modules (packages are walked) or module:Class names replaykit replays "
        "with; setting it turns history files into test items.",
        type="args",
        default=[],
    )
    parser.addini(
        "replaykit_histories",
        "Folders of history files (relative to the ini file); recordings go to the first.",
        type="paths",
        default=[],
    )
    parser.addini(
        "replaykit_server", "Temporal server: embedded, timeskip or HOST:PORT.", default=""
    )
    parser.addini(
        "replaykit_plugins",
        "Temporal plugins (module:attr: an instance, a class or a function returning plugins) "
        "for the test client, workers and replays, e.g. the AI integrations' plugins.",
        type="args",
        default=[],
    )
    parser.addini(
        "replaykit_strict", "Strict replay comparison (default true).", type="bool", default=None
    )
    parser.addini(
        "replaykit_timeout",
        "Seconds one replay (history item, assert_replays) may take before it is reported as "
        "an error (default 120).",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "replaykit(workflows=None, server=None, strict=None, plugins=None): replaykit settings for this test "
        "(flags win over markers, markers over ini and [tool.replaykit]).",
    )
    config.addinivalue_line(
        "markers",
        "replaykit_faults(plan=None, crash=None, max_runs=None, **options): defaults for the "
        "replaykit_faults fixture (a fault plan, or crash='every-step').",
    )
    from replaykit._internal._errors import ReplaykitError

    try:
        sources = load_sources(config)
        settings = sources.resolve()
    except ReplaykitError as err:
        raise pytest.UsageError(f"replaykit: {err}") from None
    config.stash[_SOURCES_KEY] = sources
    config.stash[_SETTINGS_KEY] = settings
    # A worker does not know which history items xdist will send it: replay one at a time.
    config.stash[BATCH_KEY] = HistoryBatch(settings, per_item=hasattr(config, "workerinput"))
    invocation = config.invocation_params.dir
    config.stash[_ARGS_KEY] = [
        (invocation / arg.split("::", 1)[0]).resolve() for arg in config.args if arg
    ]


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS_KEY, None)
    if settings is None:
        return None
    workflows = ", ".join(_spec_name(w) for w in settings.workflows) or "-"
    return (
        f"replaykit: server={settings.server} record={settings.record} "
        f"strict={settings.strict} workflows={workflows}"
    )


def _spec_name(spec: Any) -> str:
    return spec if isinstance(spec, str) else f"{spec.__module__}:{spec.__qualname__}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".json":
        return None
    settings = parent.config.stash.get(_SETTINGS_KEY, None)
    if settings is None or not settings.workflows:
        return None
    if not is_candidate(file_path, settings, parent.config.stash[_ARGS_KEY]):
        return None
    collector: pytest.Collector = HistoryFileCollector.from_parent(parent, path=file_path)
    return collector


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    batch = config.stash.get(BATCH_KEY, None)
    line = batch.summary() if batch is not None else None
    if line is not None:
        terminalreporter.write_line(line)


# --------------------------------------------------------------------------- fixtures


def _settings_for(node: pytest.Item | pytest.Collector | Any) -> Settings:
    """The test's settings: its ``replaykit`` markers (closest wins) fed to the resolver."""
    from replaykit._internal._errors import ReplaykitError

    marker: dict[str, Any] = {}
    for mark in node.iter_markers("replaykit"):
        if mark.args:
            pytest.fail(
                f"@pytest.mark.replaykit takes keyword arguments only ({', '.join(MARKER_KEYS)})",
                pytrace=False,
            )
        for key, value in mark.kwargs.items():
            marker.setdefault(key, value)
    try:
        return node.config.stash[_SOURCES_KEY].resolve(marker)
    except ReplaykitError as err:
        pytest.fail(f"replaykit: {err}", pytrace=False)


@pytest.fixture(scope="session")
def _replaykit_pool() -> Iterator[ServerPool]:
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def replaykit_settings(request: pytest.FixtureRequest) -> Settings:
    """The replaykit settings in force for this test (flags, marker, ini, pyproject)."""
    return _settings_for(request.node)


@pytest.fixture
def _replaykit_state(
    request: pytest.FixtureRequest, replaykit_settings: Settings
) -> Iterator[TestState]:
    node = request.node
    path = getattr(node, "path", None)
    state = TestState(node.nodeid, node.name, Path(path) if path else None, replaykit_settings)
    state.config = request.config
    try:
        yield state
    finally:
        state.close()


def _server_or_fail(pool: ServerPool, settings: Settings) -> RunningServer:
    from replaykit._internal._errors import ServerError

    try:
        return pool.server(settings)
    except ServerError as err:
        pytest.fail(f"replaykit: {err}", pytrace=False)


@pytest.fixture(scope="session")
def temporal_env(request: pytest.FixtureRequest, _replaykit_pool: ServerPool) -> RunningServer:
    """The session's Temporal server (a ``replaykit.RunningServer``), started on first use.

    Which server: ``--replaykit-server`` > ``replaykit_server`` ini > ``$TEMPORAL_ADDRESS`` >
    ``[tool.replaykit] server`` > ``timeskip``. Under pytest-xdist each worker has its own. It is stopped when
    the session ends.
    """
    return _server_or_fail(_replaykit_pool, request.config.stash[_SETTINGS_KEY])


@pytest.fixture
def temporal_client(
    _replaykit_pool: ServerPool, replaykit_settings: Settings, _replaykit_state: TestState
) -> temporalio.client.Client:
    """A client connected to the test's server (a ``replaykit`` marker may pick another).

    On the time-skipping server, ``await handle.result()`` skips time (a 7-day timer
    completes at once). The configured plugins' client side is applied (their data
    converter and interceptors), as ``Client.connect(plugins=...)`` does.
    """
    from replaykit._internal._errors import ReplaykitError, ServerError
    from replaykit.integrations._plugins import client_with_plugins

    _server_or_fail(_replaykit_pool, replaykit_settings)
    try:
        base = _replaykit_pool.client(replaykit_settings)
        return client_with_plugins(base, _replaykit_state.plugins())
    except ServerError as err:
        pytest.fail(f"replaykit: {err}", pytrace=False)
    except ReplaykitError as err:
        pytest.fail(f"replaykit: {err}", pytrace=False)


@pytest.fixture
def replaykit_worker(
    temporal_client: temporalio.client.Client, _replaykit_state: TestState
) -> Callable[..., temporalio.worker.Worker]:
    """A factory of workers that replay every task and fail fast on nondeterminism.

    Call it as ``replaykit_worker(workflows=[...], activities=[...], task_queue=None,
    client=None, **worker_kwargs)`` and use the result as ``async with ... as worker:``
    (``worker.task_queue`` is the queue; by default one stable queue per test). Workflows
    default to the marker / ini / ``[tool.replaykit]`` ones. The worker has
    ``max_cached_workflows=0`` and fails a workflow on ``NondeterminismError`` instead of
    retrying its task forever.
    """
    from replaykit._internal._errors import ReplaykitError

    def factory(
        *,
        workflows: Sequence[Any] | None = None,
        activities: Sequence[Callable[..., Any]] = (),
        task_queue: str | None = None,
        client: temporalio.client.Client | None = None,
        **worker_kwargs: Any,
    ) -> temporalio.worker.Worker:
        try:
            return _replaykit_state.new_worker(
                client or temporal_client,
                workflows=workflows,
                activities=activities,
                task_queue=task_queue,
                **worker_kwargs,
            )
        except ReplaykitError as err:
            pytest.fail(f"replaykit: {err}", pytrace=False)

    return factory


@pytest.fixture
def assert_replays(_replaykit_state: TestState) -> Callable[..., CheckReport]:
    """``assert_replays(history_or_path, workflows=None, strict=None, timeout=None)``.

    Replays a history file (or folder of them, a ``HistoryFile`` or a temporalio
    ``WorkflowHistory``) against the current code and raises ``AssertionError`` whose
    message is the divergence explanation. A plain call: works in sync and async tests.
    A replay that overruns ``timeout`` seconds (default: ini ``replaykit_timeout``, 120) fails
    the assertion instead of hanging the test. Returns the ``CheckReport``.
    """
    from replaykit._internal._errors import ReplaykitError

    def check(
        history_or_path: Any,
        *,
        workflows: Sequence[Any] | None = None,
        strict: bool | None = None,
        timeout: float | None = None,
    ) -> CheckReport:
        __tracebackhide__ = True
        settings = _replaykit_state.settings
        try:
            item = to_history_item(history_or_path)
            report = check_replays(
                [item],
                workflows=_replaykit_state.workflows(workflows),
                root=settings.root,
                options=settings.check_options(
                    **({} if strict is None else {"strict": strict}),
                    **({} if timeout is None else {"timeout": timeout}),
                ),
            )
        except ReplaykitError as err:
            raise AssertionError(f"replaykit: {err}") from None
        text = failure_text(report)
        if text is not None:
            if _replaykit_state.config.getoption("replaykit_pdb", False):
                for result in report.results:
                    if result.status == "divergent":
                        debug_divergence(
                            _replaykit_state.config,
                            Path(result.path) if result.path else item,
                            workflows=_replaykit_state.workflows(workflows),
                            settings=settings,
                        )
            raise AssertionError(text)
        return report

    return check


@pytest.fixture
def replaykit_histories(replaykit_settings: Settings) -> list[Path]:
    """The configured history files (``*.json`` under the histories folders), sorted."""
    from replaykit.history._files import find_history_files

    folders = [f for f in replaykit_settings.histories if f.exists()]
    return find_history_files(folders) if folders else []


@pytest.fixture
def record_history(
    _replaykit_state: TestState,
) -> Callable[..., Awaitable[Path]]:
    """``await record_history(handle, name=None, workflows=None) -> Path``.

    With ``--replaykit-record=all`` the handle's history is (re)written, with ``new`` only
    when the file is missing; with ``none`` (the default) nothing is written and the file
    must exist. Either way the file must then replay clean against the current code. The
    file is ``<histories>/<test module path>/<test name>.json`` (``.2``, ``.3``... for
    further calls; ``name=`` overrides). Writes are atomic.
    """

    async def record(
        handle: temporalio.client.WorkflowHandle[Any, Any],
        *,
        name: str | None = None,
        workflows: Sequence[Any] | None = None,
    ) -> Path:
        __tracebackhide__ = True
        from replaykit._internal._errors import ReplaykitError

        try:
            return await record_handle(_replaykit_state, handle, name=name, workflows=workflows)
        except ReplaykitError as err:
            raise AssertionError(f"replaykit: {err}") from None

    return record


@pytest.fixture
def replaykit_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[replaykit.effects.EffectsLedger]:
    """A fresh effects ledger (SQLite) for this test, also exported as ``$REPLAYKIT_LEDGER``.

    Activities decorated with ``@replaykit.effects.idempotent`` in this process use it; call
    ``replaykit_ledger.verify()`` to check that every effect was applied at most once.
    """
    from replaykit.effects import ENV_LEDGER, EffectsLedger

    path = tmp_path / "replaykit-ledger.sqlite"
    monkeypatch.setenv(ENV_LEDGER, str(path))
    yield EffectsLedger(path)


@pytest.fixture
def replaykit_cassette(
    request: pytest.FixtureRequest, replaykit_settings: Settings
) -> Callable[..., AbstractContextManager[Any]]:
    """``with replaykit_cassette(name=None):`` replays the block's HTTP (LLM) calls.

    The cassette is ``<name>.yaml`` (default: the test's name) in ``$REPLAYKIT_CASSETTE_DIR``
    or ``<project>/fixtures/cassettes``. ``--replaykit-record`` decides recording: ``none``
    replays only (a missing cassette or an unmatched request fails), ``new`` records a
    missing cassette, ``all`` re-records it.
    """
    import os

    from replaykit.record._cassettes import CASSETTE_DIR_ENV, DEFAULT_CASSETTE_DIR, cassette

    modes = {"none": "none", "new": "once", "all": "all"}
    env_dir = os.environ.get(CASSETTE_DIR_ENV)
    folder = Path(env_dir) if env_dir else replaykit_settings.root / DEFAULT_CASSETTE_DIR
    default_name = request.node.name

    def use(name: str | None = None, **kwargs: Any) -> AbstractContextManager[Any]:
        kwargs.setdefault("record_mode", modes[replaykit_settings.record])
        kwargs.setdefault("cassette_dir", folder)
        return cassette(name or default_name, **kwargs)

    return use


__all__ = [
    "RECORD_MODES",
    "assert_replays",
    "record_history",
    "replaykit_cassette",
    "replaykit_histories",
    "replaykit_ledger",
    "replaykit_settings",
    "replaykit_worker",
    "temporal_client",
    "temporal_env",
]

# ``replaykit_prove_rollback`` (saga prove-rollback as an assertion): registered by this import.
from ._rollback_fixture import replaykit_prove_rollback  # noqa: E402

__all__ += ["replaykit_prove_rollback"]

# ``replaykit_faults`` (fault runs as an assertion, fed by the ``replaykit_faults`` marker).
from ._faults_fixture import _replaykit_fault_server, replaykit_faults  # noqa: E402, F401

__all__ += ["replaykit_faults"]
