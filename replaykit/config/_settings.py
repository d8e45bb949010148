"""The one settings resolver: which value of each replaykit setting applies, and from where.

Every face asks this module: the CLI commands (``record``, ``check``, ``shadow``, ``patches``,
``faults``, ``pull``, ``saga``, ``replay``, ``rollout``) and the pytest plugin (its fixtures and
markers).
The order is the same for every setting and every face, highest first:

1. ``flag``      a command-line option (``--server``, ``--replaykit-server``, ...)
2. ``marker``    ``@pytest.mark.replaykit(...)`` (pytest only)
3. ``ini``       a ``replaykit_*`` ini key (pytest only)
4. ``env``       a variable Temporal itself defines: ``TEMPORAL_ADDRESS`` (server) and
   ``TEMPORAL_NAMESPACE`` (namespace), and ``REPLAYKIT_VERDICT_CACHE`` (the verdict cache
   folder, so CI can point every job at a restored cache); no other setting reads the
   environment
5. ``pyproject`` ``[tool.replaykit]``
6. ``scenario``  the scenario's own preference (``@scenario(server="timeskip")``), where a
   command runs scenarios (``record``, ``patches --generate-old``, ``faults``)
7. ``default``   the face's default

Only the defaults differ per face: the CLI starts the embedded dev server (what a
recording should run on), the pytest plugin the time-skipping test server (tests with long
timers finish at once). Each resolved value knows its source, so an invalid value names
where it came from.

This module must not import ``temporalio`` (the pytest plugin resolves settings in every
session it is loaded into).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from replaykit._internal._errors import ConfigError, ServerError

from ._config import ProjectConfig
from ._server_spec import ENV_ADDRESS, ENV_NAMESPACE, ServerSpec, parse_server_value

__all__ = [
    "DEFAULT_RECORD_MODE",
    "DEFAULT_REPLAY_TIMEOUT",
    "DEFAULT_STRICT",
    "RECORD_MODES",
    "parse_server",
    "resolve",
    "CLI_DEFAULT_SERVER",
    "DEFAULT_VERDICT_CACHE",
    "DEFAULT_NAMESPACE",
    "ENV_VARS",
    "FAIL_ON_CHOICES",
    "FAIL_ON_KINDS",
    "HARVEST_MODES",
    "PYTEST_DEFAULT_SERVER",
    "SHADOW_FETCH_CONCURRENCY",
    "SHADOW_MAX_RPS",
    "SHADOW_TASK_QUEUE",
    "Face",
    "Resolved",
    "Resolver",
    "default_fail_on",
    "default_shadow_store",
    "fault_server_spec",
    "scenario_server_groups",
    "pick",
]

T = TypeVar("T")
_S = TypeVar("_S")
Face = Literal["cli", "pytest"]

CLI_DEFAULT_SERVER = "embedded"
PYTEST_DEFAULT_SERVER = "timeskip"
DEFAULT_NAMESPACE = "default"
#: Compare every command with its recorded event (the stock replayer's checks only: False).
DEFAULT_STRICT = True
#: Seconds one replay may take before it is reported as an error.
DEFAULT_REPLAY_TIMEOUT = 120.0
#: What the pytest plugin writes: nothing, missing histories, or every history again.
RECORD_MODES = ("none", "new", "all")
DEFAULT_RECORD_MODE = "none"

#: How each source names a setting in an error message.
_LABELS = {
    "flag": "--{dashed}",
    "marker": "{name}",  # as the marker spells its keyword: strict=...
    "ini": "replaykit_{name}",
    "pyproject": "[tool.replaykit] {name}",
}
#: Seconds a scenario may run when neither ``--timeout`` nor the scenario says.
DEFAULT_SCENARIO_TIMEOUT = 300.0

#: The environment variables Temporal defines that stand for a replaykit setting.
ENV_VARS: Mapping[str, str] = {
    "server": ENV_ADDRESS,
    "namespace": ENV_NAMESPACE,
    "verdict_cache": "REPLAYKIT_VERDICT_CACHE",
}

#: Where the verdict cache lives when nothing says otherwise: below the project folder (the
#: pyproject's, else the current one), so ``.replaykit/`` can be git-ignored and cached in CI.
DEFAULT_VERDICT_CACHE = os.path.join(".replaykit", "verdicts")

#: Values of the verdict cache setting that turn it off.
_OFF = ("0", "false", "off", "no", "none")

#: Divergence kinds ``fail_on`` may name (``budget`` fails histories over a history limit).
FAIL_ON_KINDS = ("nondeterminism", "drift", "option-change")
FAIL_ON_CHOICES = (*FAIL_ON_KINDS, "budget")

#: ``pytest --replaykit-harvest`` record modes (pytest-recording's): write missing files,
#: rewrite every file, write nothing.
HARVEST_MODES = ("new", "all", "none")


def default_fail_on() -> frozenset[str]:
    """The divergence kinds that fail a history when nothing says otherwise.

    The one place this default lives: ``CheckOptions``, ``replaykit check`` and the pytest
    plugin all take it from here.
    """
    return frozenset({"nondeterminism", "drift"})


#: ``shadow``: histories fetched at once, and requests per second to the cluster at most
#: (a Temporal Cloud namespace allows about 2,000; a shadow must not starve production).
SHADOW_FETCH_CONCURRENCY = 8
SHADOW_MAX_RPS = 100.0
#: ``shadow --on-temporal`` / ``shadow-worker``: the task queue the coordinator hands out on.
SHADOW_TASK_QUEUE = "replaykit-shadow"


def default_shadow_store() -> str:
    """Where ``shadow`` keeps the histories it fetched, so a next shadow fetches only what
    is new or has grown: ``$XDG_CACHE_HOME/replaykit/shadow``, else
    ``~/.cache/replaykit/shadow`` (beside the parsed-history cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "replaykit", "shadow")


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """A setting's value and the source it came from.

    Attributes:
        value: The value.
        source: ``"flag"``, ``"marker"``, ``"ini"``, ``"env TEMPORAL_ADDRESS"``,
            ``"pyproject"``, ``"scenario"`` or ``"default"``.
    """

    value: T
    source: str


def _is_set(value: Any) -> bool:
    if value is None or value == "":
        return False
    return not (isinstance(value, (list, tuple)) and not value)


def pick(
    name: str,
    *,
    flag: Any = None,
    marker: Any = None,
    ini: Any = None,
    env: Mapping[str, str] | None = None,
    project: Any = None,
    scenario: Any = None,
    default: Any = None,
    choices: Sequence[str] | None = None,
) -> Resolved[Any]:
    """The first source that sets ``name``, in the one precedence order.

    Empty strings, empty sequences and None count as "not set". The environment counts only
    for the settings in :data:`ENV_VARS`; ``env`` is the environment to read (default
    ``os.environ``).

    Raises:
        ConfigError: The chosen value is not one of ``choices``; the message names its source.
    """
    environ = os.environ if env is None else env
    var = ENV_VARS.get(name)
    env_value = environ.get(var) if var else None
    rows: tuple[tuple[str, Any], ...] = (
        ("flag", flag),
        ("marker", marker),
        ("ini", ini),
        (f"env {var}", env_value),
        ("pyproject", project),
        ("scenario", scenario),
    )
    for source, value in rows:
        if _is_set(value):
            _check_choice(name, value, choices, source)
            return Resolved(value, source)
    return Resolved(default, "default")


def _check_choice(name: str, value: Any, choices: Sequence[str] | None, source: str) -> None:
    if choices is None:
        return
    values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    for v in values:
        if v not in choices:
            raise ConfigError(
                f"{name}={v!r} (from {source}) is not valid; choose from: {', '.join(choices)}"
            )


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, type)):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(value)
    return (value,)


@dataclass(frozen=True)
class Resolver:
    """Every source of one run; ask it for a setting.

    Attributes:
        face: ``"cli"`` or ``"pytest"``: only the defaults depend on it.
        flags: Command-line values by setting name (unset: None or empty).
        marker: ``@pytest.mark.replaykit`` keyword arguments (pytest only).
        ini: ``replaykit_*`` ini values by setting name (pytest only).
        project: ``[tool.replaykit]``.
        env: The environment (default: ``os.environ`` when asked).
    """

    face: Face = "cli"
    flags: Mapping[str, Any] = field(default_factory=dict)
    marker: Mapping[str, Any] = field(default_factory=dict)
    ini: Mapping[str, Any] = field(default_factory=dict)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    env: Mapping[str, str] | None = None

    def with_marker(self, marker: Mapping[str, Any]) -> Resolver:
        """The same sources with a test's marker arguments."""
        return replace(self, marker=dict(marker))

    def _pick(
        self,
        name: str,
        *,
        project: Any = None,
        scenario: Any = None,
        default: Any = None,
        choices: Sequence[str] | None = None,
        sequence: bool = False,
    ) -> Resolved[Any]:
        conv = _tuple if sequence else (lambda v: v)
        return pick(
            name,
            flag=conv(self.flags.get(name)),
            marker=conv(self.marker.get(name)),
            ini=conv(self.ini.get(name)),
            env=self.env,
            project=project,
            scenario=scenario,
            default=default,
            choices=choices,
        )

    # ------------------------------------------------------------------ the settings

    def server(self, *, scenario: str | None = None) -> Resolved[str]:
        """``embedded``, ``timeskip`` or ``HOST:PORT`` (not yet validated: see :meth:`spec`)."""
        default = CLI_DEFAULT_SERVER if self.face == "cli" else PYTEST_DEFAULT_SERVER
        got = self._pick("server", project=self.project.server, scenario=scenario, default=default)
        return Resolved(str(got.value).strip(), got.source)

    def namespace(self) -> Resolved[str]:
        """The namespace (default ``default``)."""
        got = self._pick("namespace", project=self.project.namespace, default=DEFAULT_NAMESPACE)
        return Resolved(str(got.value), got.source)

    def spec(self, *, scenario: str | None = None, db_filename: str | None = None) -> ServerSpec:
        """The server spec of the resolved server and namespace.

        Raises:
            ServerError: The server or namespace is not valid; the message names the sources.
        """
        server = self.server(scenario=scenario)
        namespace = self.namespace()
        try:
            return parse_server_value(
                server.value, namespace=namespace.value, db_filename=db_filename
            )
        except ServerError as err:
            raise ServerError(
                f"{err} (server {server.value!r} from {server.source}, namespace "
                f"{namespace.value!r} from {namespace.source})"
            ) from None

    def workflows(self) -> Resolved[tuple[Any, ...]]:
        """Workflow modules, ``module:Class`` names (or classes, from a marker)."""
        got = self._pick("workflows", project=self.project.workflows, default=(), sequence=True)
        return Resolved(tuple(got.value), got.source)

    def histories(self, *, default: Sequence[str] = ()) -> Resolved[tuple[str, ...]]:
        """History folders or files; ``[tool.replaykit]`` paths relative to its folder."""
        project = tuple(self.project.path(h) for h in self.project.histories)
        got = self._pick("histories", project=project, default=tuple(default), sequence=True)
        return Resolved(tuple(str(h) for h in got.value), got.source)

    def plugins(self) -> Resolved[tuple[Any, ...]]:
        """Temporal plugins (``module:attr``; objects too from a marker)."""
        got = self._pick("plugins", project=self.project.plugins, default=(), sequence=True)
        return Resolved(tuple(got.value), got.source)

    def data_converter(self) -> Resolved[str | None]:
        """``module:attr`` of the DataConverter or PayloadCodec, or None."""
        return self._pick("data_converter", project=self.project.data_converter)

    def harvest(self) -> Resolved[str | None]:
        """The folder ``pytest --replaykit-harvest`` saves histories to (None: no harvest)."""
        got = self._pick("harvest")
        return Resolved(str(got.value) if got.value else None, got.source)

    def harvest_mode(self) -> Resolved[str]:
        """``new`` (write missing files; the default), ``all`` (rewrite) or ``none``."""
        got = self._pick("harvest_mode", default="new", choices=HARVEST_MODES)
        return Resolved(str(got.value), got.source)

    def fail_on(self) -> Resolved[frozenset[str]]:
        """Divergence kinds that fail (default: :func:`default_fail_on`)."""
        got = self._pick(
            "fail_on",
            project=self.project.fail_on,
            default=None,
            choices=FAIL_ON_CHOICES,
            sequence=True,
        )
        value = default_fail_on() if got.value is None else frozenset(got.value)
        return Resolved(value, got.source)

    def allow(self) -> Resolved[tuple[str, ...]]:
        """Allow rules."""
        got = self._pick("allow", project=self.project.allow, default=(), sequence=True)
        return Resolved(tuple(got.value), got.source)

    def volatile(self) -> Resolved[tuple[str, ...]]:
        """``activity:NAME.PATH`` rules for values new on every run."""
        got = self._pick("volatile", project=self.project.volatile, default=(), sequence=True)
        return Resolved(tuple(got.value), got.source)

    def jobs(self) -> Resolved[int | None]:
        """Worker processes (None: the CPU count; 0: in this process)."""
        return self._pick("jobs", project=self.project.jobs)

    def scenario_timeout(self, *, scenario: float | None = None) -> Resolved[float]:
        """Seconds a scenario may run: ``--timeout`` > the scenario's own ``timeout=`` > 300.

        Raises:
            ConfigError: The value is not a positive number; the message names its source.
        """
        got = self._pick("scenario_timeout", scenario=scenario, default=DEFAULT_SCENARIO_TIMEOUT)
        try:
            value = float(got.value)
        except (TypeError, ValueError):
            value = -1.0
        if not value > 0:
            raise ConfigError(
                f"scenario timeout {got.value!r} (from {got.source}) must be a positive "
                "number of seconds"
            )
        return Resolved(value, got.source)

    def with_scenario_timeouts(self, scenarios: Sequence[_S]) -> list[_S]:
        """The scenarios, each with the timeout it runs with (:meth:`scenario_timeout` of its
        own ``timeout=``): ``record`` and ``faults`` time their scenarios through here.

        ``scenarios`` are dataclasses with a ``timeout``
        (:class:`replaykit.record._scenario.Scenario`; this module imports no temporalio).

        Raises:
            ConfigError: A timeout is not a positive number; the message names its source.
        """
        return [
            replace(  # type: ignore[type-var]
                scn, timeout=self.scenario_timeout(scenario=getattr(scn, "timeout", None)).value
            )
            for scn in scenarios
        ]

    def shadow_store(self) -> Resolved[str]:
        """The folder of ``shadow``'s history store (default: :func:`default_shadow_store`)."""
        got = self._pick(
            "shadow_store",
            project=self.project.path(self.project.shadow_store)
            if self.project.shadow_store
            else None,
            default=default_shadow_store(),
        )
        return Resolved(str(got.value), got.source)

    def fetch_concurrency(self) -> Resolved[int]:
        """``shadow``: histories fetched at once."""
        return self._pick("fetch_concurrency", default=SHADOW_FETCH_CONCURRENCY)

    def max_rps(self) -> Resolved[float]:
        """``shadow``: requests per second to the cluster, at most."""
        return self._pick("max_rps", default=SHADOW_MAX_RPS)

    def shadow_task_queue(self) -> Resolved[str]:
        """``shadow --on-temporal`` and ``shadow-worker``: ``--task-queue`` > the default."""
        return self._pick("task_queue", default=SHADOW_TASK_QUEUE)

    def deployment_version(self) -> Resolved[str | None]:
        """``NAME.BUILD_ID`` of the Worker Deployment version this code is."""
        return self._pick("deployment_version", project=self.project.deployment_version)

    def verdict_cache(self) -> Resolved[str | None]:
        """The verdict cache folder, or None when it is off.

        Flag ``--verdict-cache DIR`` (``False``: ``--no-verdict-cache``) >
        ``$REPLAYKIT_VERDICT_CACHE`` > ``[tool.replaykit] verdict_cache`` > the default
        ``.replaykit/verdicts`` below the project folder. A value ``false`` / ``off`` / ``0``
        (or ``verdict_cache = false``) turns it off. A relative folder from the pyproject is
        relative to the pyproject's folder; from a flag or the environment, to the current one.
        """
        if self.flags.get("verdict_cache") is False:
            return Resolved(None, "flag")
        project = self.project.verdict_cache
        got = self._pick(
            "verdict_cache",
            project="off" if project is False else project,
            default=str((self.project.root or Path.cwd()) / DEFAULT_VERDICT_CACHE),
        )
        value = str(got.value).strip()
        if value.lower() in _OFF:
            return Resolved(None, got.source)
        if got.source == "pyproject":
            value = self.project.path(value)
        return Resolved(os.path.abspath(value), got.source)

    def strict(self) -> Resolved[bool]:
        """Compare every command with its recorded event (default :data:`DEFAULT_STRICT`).

        Raises:
            ConfigError: The value is not a bool; the message names its source.
        """
        got = self._pick("strict", project=self.project.strict, default=DEFAULT_STRICT)
        if not isinstance(got.value, bool):
            raise ConfigError(
                f"{_label('strict', got.source)}={got.value!r} is not valid; "
                "choose from: True, False"
            )
        return Resolved(got.value, got.source)

    def timeout(self) -> Resolved[float]:
        """Seconds one replay may take (default :data:`DEFAULT_REPLAY_TIMEOUT`).

        Raises:
            ConfigError: Not a number > 0; the message names its source.
        """
        got = self._pick("timeout", project=self.project.timeout, default=DEFAULT_REPLAY_TIMEOUT)
        try:
            value = -1.0 if isinstance(got.value, bool) else float(got.value)
        except (TypeError, ValueError):
            value = -1.0
        if not value > 0:
            raise ConfigError(
                f"{_label('timeout', got.source)}={got.value!r} is not valid; "
                "give seconds (a number > 0)"
            )
        return Resolved(value, got.source)

    def record(self) -> Resolved[str]:
        """The pytest plugin's record mode (default :data:`DEFAULT_RECORD_MODE`)."""
        got = self._pick("record", default=DEFAULT_RECORD_MODE, choices=RECORD_MODES)
        return Resolved(str(got.value), got.source)


def _label(name: str, source: str) -> str:
    """How ``source`` spells setting ``name`` (``replaykit_timeout``, ``--timeout``, ...)."""
    form = _LABELS.get(source, "{name}")
    return form.format(name=name, dashed=name.replace("_", "-"))


def fault_server_spec(
    spec: ServerSpec | None, *, kills_server: bool, workdir: str | None = None
) -> tuple[ServerSpec, str | None]:
    """The spec a fault run starts, and the folder made for its store (None: none made).

    The one place that decides the persistent store: a run that kills the server needs the
    embedded server with a SQLite store (``--db-filename``) that survives the kill; without
    one given, a temporary store is made (under ``workdir`` when given; the caller removes the
    returned folder). Other runs keep the spec as it is (default: embedded, in memory).

    Raises:
        ServerError: The run kills the server but the spec is not the embedded server.
    """
    spec = spec or ServerSpec("embedded")
    if not kills_server:
        return spec, None
    if spec.kind != "embedded":
        raise ServerError(
            "killing the server needs the embedded server (--server embedded), "
            f"not {spec.kind} {spec.address or ''}".rstrip()
        )
    if spec.db_filename is not None:
        return spec, None
    folder = tempfile.mkdtemp(prefix="replaykit-faults-server-", dir=workdir)
    return replace(spec, db_filename=os.path.join(folder, "server.db")), folder


def scenario_server_groups(
    scenarios: Sequence[_S], resolver: Resolver, *, db_filename: str | None = None
) -> list[tuple[ServerSpec, list[_S]]]:
    """The scenarios grouped by the server spec each runs on, in first-seen order.

    Each scenario's server is ``resolver.spec(scenario=<its server= preference>)``: a flag,
    ``$TEMPORAL_ADDRESS`` or ``[tool.replaykit] server`` outranks the scenario's own
    ``server=``, which outranks the default. ``scenarios`` are objects with a ``server``
    attribute (:class:`replaykit.record._scenario.Scenario`; this module imports no temporalio).

    ``db_filename`` (a persistent store: ``--db-filename``, or the one server kills need)
    goes to every scenario when the server was chosen above the scenarios (a flag, the
    environment or the pyproject: a store on a server that cannot have one is an error),
    and only to the embedded servers when each scenario's own preference chose: a scenario
    on the time-skipping server keeps its in-memory store. ``record``, ``patches
    --generate-old`` and ``faults`` all group through here.

    Raises:
        ServerError: A resolved server or namespace is not valid (the message names sources),
            or a store was given with a server chosen above the scenarios that is not the
            embedded one.
    """
    chosen_above = resolver.server().source not in ("default",)
    groups: dict[ServerSpec, list[_S]] = {}
    for scn in scenarios:
        preference = getattr(scn, "server", None)
        spec = resolver.spec(scenario=preference)
        if db_filename and (chosen_above or spec.kind == "embedded"):
            spec = resolver.spec(scenario=preference, db_filename=db_filename)
        groups.setdefault(spec, []).append(scn)
    return list(groups.items())


def resolve(
    name: str,
    *,
    flag: Any = None,
    marker: Any = None,
    ini: Any = None,
    project: Any = None,
    default: Any = None,
    choices: Sequence[str] | None = None,
) -> Any:
    """The value of :func:`replaykit.config._settings.pick` (same order, same rules), without its source.

    Empty strings, empty sequences and None count as "not set".

    Raises:
        ConfigError: The chosen value is not one of ``choices``.
    """
    return pick(
        name, flag=flag, marker=marker, ini=ini, project=project, default=default, choices=choices
    ).value


def parse_server(
    value: str | None,
    *,
    namespace: str | None = None,
    db_filename: str | None = None,
) -> ServerSpec:
    """Turn a server spec string into a :class:`ServerSpec`.

    Args:
        value: ``"embedded"``, ``"timeskip"`` or ``"HOST:PORT"``. ``None`` (or empty) means
            ``$TEMPORAL_ADDRESS`` when set, else ``"embedded"``.
        namespace: Namespace; ``None`` means ``$TEMPORAL_NAMESPACE`` when set, else
            ``"default"``.
        db_filename: Persistent SQLite store for the embedded server.

    Returns:
        The spec.

    Raises:
        ServerError: The value is not one of the valid forms, or the options do not fit it.
    """
    if not value or namespace is None:
        # The one resolver decides the fallbacks ($TEMPORAL_ADDRESS / $TEMPORAL_NAMESPACE).
        resolver = Resolver()
        value = value or resolver.server().value
        namespace = resolver.namespace().value if namespace is None else namespace
    return parse_server_value(value, namespace=namespace, db_filename=db_filename)
