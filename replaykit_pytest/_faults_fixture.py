"""The ``replaykit_faults`` fixture and the ``@pytest.mark.replaykit_faults`` marker.

Thin on purpose: it resolves the scenario and the plan (call arguments win over the marker's),
calls :func:`replaykit.run_fault_plan` (after a fault-free baseline run) or
:func:`replaykit.explore_every_step`, and turns a violation into an ``AssertionError`` whose
message is the readable report. Nothing here imports ``temporalio`` until a run is asked for.

Fault runs need worker processes that a plan may kill, and a server a plan may kill and
restart: they use one embedded dev server per session with a persistent store (started on first
use), or the external cluster the settings resolve to (``--replaykit-server HOST:PORT``, a
marker, the ``replaykit_server`` ini key, ``$TEMPORAL_ADDRESS`` or ``[tool.replaykit] server``;
worker kills only), in the resolved namespace.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from replaykit.faults._explore import ExplorationReport
    from replaykit.faults._plan import FaultPlan
    from replaykit.faults._runner import FaultRunResult
    from replaykit.record._scenario import Scenario
    from replaykit.servers import RunningServer

    from ._settings import Settings

__all__ = ["FAULT_MARKER_KEYS", "replaykit_faults"]

#: Keyword arguments ``@pytest.mark.replaykit_faults`` and the fixture's call take.
FAULT_MARKER_KEYS = (
    "scenario",
    "name",
    "plan",
    "crash",
    "kill",
    "max_runs",
    "points",
    "concurrency",
    "parallel",
    "worker_context",
    "data_converter",
    "plugins",
    "raise_on_failure",
)


class _FaultServer:
    """The session's fault-run servers (one per resolved server), started on first use and
    stopped at session end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str | None, str], RunningServer] = {}
        self._folders: list[str] = []

    def get(self, settings: Settings) -> RunningServer:
        """The server fault runs under ``settings`` use: the resolved external cluster, else
        the embedded server with a persistent store (a plan may kill it)."""
        from replaykit.config._server_spec import ServerSpec, parse_server_value
        from replaykit.config._settings import fault_server_spec
        from replaykit.servers import start_server

        resolved = parse_server_value(settings.server, namespace=settings.namespace)
        external = resolved.kind == "external"
        key = (resolved.address, resolved.namespace)
        with self._lock:
            running = self._running.get(key)
            if running is None:
                spec, folder = fault_server_spec(
                    resolved if external else ServerSpec("embedded", namespace=resolved.namespace),
                    kills_server=not external,
                )
                if folder is not None:
                    self._folders.append(folder)
                running = self._running[key] = start_server(spec)
            return running

    def close(self) -> None:
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
            folders, self._folders = self._folders, []
        for server in running:
            server.stop()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _plan_of(value: Any) -> FaultPlan:
    """A ``FaultPlan`` from a plan, one fault, a list of faults, a JSON text or its dict."""
    from replaykit.faults._plan import FaultPlan

    if value is None:
        return FaultPlan()
    if isinstance(value, FaultPlan):
        return value
    if isinstance(value, str):
        return FaultPlan.loads(value)
    if isinstance(value, dict):
        return FaultPlan.from_json(value)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            return FaultPlan.from_json(list(value))
        return FaultPlan(tuple(value))
    return FaultPlan((value,))


def _scenario_of(scenario: Any, name: str | None, root: Path) -> Scenario:
    from replaykit.record._scenario import Scenario, load_scenarios

    if isinstance(scenario, Scenario):
        return scenario
    if scenario is None:
        raise AssertionError("replaykit_faults: give a scenario (or scenario= on the marker)")
    text = str(scenario)
    if "::" in text and name is None:
        text, name = text.split("::", 1)
    path = Path(text)
    if not path.is_absolute() and (root / path).exists():
        text = str(root / path)
    found = load_scenarios([text])
    matches = [s for s in found if name is None or s.name == name]
    if len(matches) != 1:
        names = ", ".join(s.name for s in found) or "none"
        raise AssertionError(
            f"replaykit_faults: pick one scenario of {scenario} with name= (found {names})"
        )
    return matches[0]


def run_faults(
    server: RunningServer,
    root: Path,
    scenario: Any = None,
    plan: Any = None,
    **options: Any,
) -> FaultRunResult | ExplorationReport:
    """Run one plan (after a baseline) or every-step; ``AssertionError`` on a violation.

    Args:
        server: The server fault runs use.
        root: Relative scenario paths are resolved here (the rootdir) when they exist there.
        scenario: A ``Scenario``, a scenario file or module, or ``"FILE::NAME"``.
        plan: A ``FaultPlan``, a fault, a list of faults, or the JSON form (``--plan``).
        **options: ``name`` (scenario name in a file), ``crash="every-step"``, ``kill``
            (``worker``/``server``), ``max_runs``, ``points`` (point kinds), ``concurrency``,
            ``parallel``, ``worker_context`` (``MODULE:FUNC``), ``data_converter``
            (``module:attr``; default ``[tool.replaykit] data_converter``),
            ``raise_on_failure`` (default True).

    Returns:
        The plan's ``FaultRunResult``, or the ``ExplorationReport`` of every-step.
    """
    __tracebackhide__ = True
    from replaykit._internal._errors import ReplaykitError
    from replaykit.faults import FaultRunOptions
    from replaykit.faults._explore import explore_every_step
    from replaykit.faults._report import format_result
    from replaykit.faults._runner import baseline_of, run_fault_plan
    from replaykit.faults._session import format_exploration

    unknown = set(options) - set(FAULT_MARKER_KEYS)
    if unknown:
        raise AssertionError(
            f"replaykit_faults: unknown option(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(FAULT_MARKER_KEYS)})"
        )
    crash = options.get("crash")
    if crash not in (None, "every-step"):
        raise AssertionError(f"replaykit_faults: crash={crash!r}; the only mode is 'every-step'")
    raise_on_failure = options.get("raise_on_failure", True)
    try:
        scn = _scenario_of(scenario, options.get("name"), root)
        fault_plan = _plan_of(plan)
        common = FaultRunOptions(
            server=server,
            concurrency=options.get("concurrency", 1),
            worker_context=options.get("worker_context"),
            data_converter=options.get("data_converter"),
            plugins=tuple(_plugin_refs(options.get("plugins"))),
        )
        if crash == "every-step":
            if fault_plan.faults:
                raise AssertionError("replaykit_faults: give plan= or crash='every-step', not both")
            points = options.get("points")
            report = explore_every_step(
                scn,
                kill=options.get("kill", "worker"),
                max_runs=options.get("max_runs"),
                point_kinds=[points] if isinstance(points, str) else points,
                parallel=options.get("parallel"),
                options=common,
            )
            if raise_on_failure and report.exit_code != 0:
                raise AssertionError(format_exploration(report))
            return report
        base = run_fault_plan(scn, type(fault_plan)(), options=common)
        if base.error or not base.ok:
            raise AssertionError(format_result(base, header=f"{scn.name}: baseline run failed:"))
        if not fault_plan.faults:
            return base
        result = run_fault_plan(scn, fault_plan, options=common.replace(baseline=baseline_of(base)))
    except ReplaykitError as err:
        raise AssertionError(f"replaykit_faults: {err}") from None
    if raise_on_failure and not result.ok:
        raise AssertionError(format_result(result, header=f"{scn.name}: {fault_plan.describe()}"))
    return result


def _marker_options(node: Any) -> dict[str, Any]:
    """The test's ``replaykit_faults`` markers merged, the closest first; a positional
    argument is the plan."""
    merged: dict[str, Any] = {}
    for mark in node.iter_markers("replaykit_faults"):
        if len(mark.args) > 1:
            pytest.fail(
                "@pytest.mark.replaykit_faults takes at most one positional argument (the plan)",
                pytrace=False,
            )
        options = dict(mark.kwargs)
        if mark.args:
            options.setdefault("plan", mark.args[0])
        unknown = set(options) - set(FAULT_MARKER_KEYS)
        if unknown:
            pytest.fail(
                f"@pytest.mark.replaykit_faults: unknown option(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(FAULT_MARKER_KEYS)})",
                pytrace=False,
            )
        for key, value in options.items():
            merged.setdefault(key, value)
    return merged


@pytest.fixture(scope="session")
def _replaykit_fault_server() -> Iterator[_FaultServer]:
    holder = _FaultServer()
    try:
        yield holder
    finally:
        holder.close()


@pytest.fixture
def replaykit_faults(
    request: pytest.FixtureRequest, _replaykit_fault_server: _FaultServer
) -> Callable[..., FaultRunResult | ExplorationReport]:
    """``replaykit_faults(scenario=None, plan=None, **options)``: a fault run as an assertion.

    Runs the scenario fault-free, then under ``plan`` (or, with ``crash="every-step"``, kills
    the worker at every step), on real worker processes, and checks the invariants (outcome,
    strict replay, no completed step re-run, retry policy, effects exactly once). A violation
    raises ``AssertionError`` with the report (the minimal plan and a reproduce command).
    Options not given in the call come from ``@pytest.mark.replaykit_faults(...)``::

        @pytest.mark.replaykit_faults(crash="every-step", max_runs=5)
        def test_survives_kills(replaykit_faults):
            replaykit_faults("scenarios.py::order_idempotent")
    """
    from replaykit._internal._errors import ReplaykitError

    defaults: Mapping[str, Any] = _marker_options(request.node)
    root = Path(str(request.config.rootpath))
    settings = request.getfixturevalue("replaykit_settings")
    if settings.data_converter and "data_converter" not in defaults:
        defaults = {**defaults, "data_converter": settings.data_converter}
    if settings.plugins and "plugins" not in defaults:
        defaults = {**defaults, "plugins": settings.plugins}

    def run(scenario: Any = None, plan: Any = None, **options: Any) -> Any:
        __tracebackhide__ = True
        merged = {**defaults, **options}
        scenario = scenario if scenario is not None else merged.pop("scenario", None)
        merged.pop("scenario", None)
        plan = plan if plan is not None else merged.pop("plan", None)
        merged.pop("plan", None)
        try:
            server = _replaykit_fault_server.get(settings)
        except ReplaykitError as err:
            raise AssertionError(f"replaykit_faults: {err}") from None
        return run_faults(server, root, scenario, plan, **merged)

    return run


def _plugin_refs(value: Any) -> tuple[str, ...]:
    """Plugins for fault runs: ``module:attr`` strings (worker processes import them).

    A plugin object cannot travel to a worker process; a scenario's own ``plugins=`` (which
    the workers load with the scenario) is the place for objects and factories.
    """
    if value is None:
        return ()
    refs = (value,) if isinstance(value, str) else tuple(value)
    bad = [r for r in refs if not isinstance(r, str)]
    if bad:
        raise AssertionError(
            f"replaykit_faults: plugins must be 'module:attr' strings (worker processes import "
            f"them), not {type(bad[0]).__name__}; give plugin objects or factories to the "
            "scenario's own @scenario(plugins=[...]) instead"
        )
    return refs
