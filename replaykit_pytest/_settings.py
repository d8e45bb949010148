"""Every replaykit value the plugin uses, decided by replaykit's one resolver.

Precedence is flag > marker > ini > ``$TEMPORAL_ADDRESS`` / ``$TEMPORAL_NAMESPACE`` >
``[tool.replaykit]`` > default, the order every replaykit command uses too, and it is decided
by :class:`replaykit.config._settings.Resolver` alone; this module only gathers the sources. The
plugin's one different default: the time-skipping test server (the CLI's is embedded).
replaykit is imported inside functions so that importing the plugin never imports
``temporalio``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from replaykit.check import CheckOptions
    from replaykit.config._config import ProjectConfig
    from replaykit.config._settings import Resolver

__all__ = ["MARKER_KEYS", "RECORD_MODES", "Settings", "SettingsSources", "load_sources"]

RECORD_MODES = ("none", "new", "all")  # = replaykit.config._settings.RECORD_MODES (tested)

#: Keyword arguments ``@pytest.mark.replaykit(...)`` accepts.
MARKER_KEYS = ("workflows", "server", "strict", "plugins")


@dataclass(frozen=True)
class Settings:
    """The resolved values for one test (or for the session when no marker applies).

    Attributes:
        server: Server spec text: ``embedded``, ``timeskip`` or ``HOST:PORT``.
        namespace: Namespace (``$TEMPORAL_NAMESPACE`` > ``[tool.replaykit]`` > ``default``).
        record: ``none`` (never write), ``new`` (write missing files) or ``all``.
        strict: Compare every command with its recorded event (else stock checks only).
        workflows: Workflow module names, ``module:Class`` names or classes.
        histories: Folders of history files; recordings go to the first.
        root: The project folder (where ``pyproject.toml`` or the rootdir is).
        data_converter: ``module:attr`` of the DataConverter or PayloadCodec (from
            ``[tool.replaykit] data_converter``): the client, workers and replays use it.
        plugins: Temporal plugins (``module:attr`` strings, objects, classes or factories)
            for the test's client, workers and replays: marker > ``replaykit_plugins`` ini >
            ``[tool.replaykit] plugins``.
        timeout: Seconds one replay (a history item, ``assert_replays``) may take before it
            is reported as an error (ini ``replaykit_timeout``; default 120).
    """

    server: str
    namespace: str
    record: str
    strict: bool
    workflows: tuple[Any, ...]
    histories: tuple[Path, ...]
    root: Path
    data_converter: str | None = None
    timeout: float = 120.0
    plugins: tuple[Any, ...] = ()
    #: Whether ``plugins`` came from the test's marker: its factories are then called for
    #: every test (a fresh test model each); ini and pyproject factories, like ``--plugin``,
    #: once per process.
    plugins_per_test: bool = False
    #: ``[tool.replaykit]`` check rules, as ``replaykit check`` applies them.
    allow: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ()
    #: Where ``server`` and ``namespace`` came from (``flag``, ``env TEMPORAL_ADDRESS``, ...).
    server_source: str = "default"
    namespace_source: str = "default"
    #: The resolver these values came from (None only for hand-built settings).
    resolver: Resolver | None = None

    def check_options(self, **overrides: Any) -> CheckOptions:
        """The check options of these settings (built where every command builds them)."""
        from replaykit.check import CheckOptions
        from replaykit.config._settings import Resolver

        resolver = self.resolver or Resolver(face="pytest")
        return CheckOptions.from_settings(resolver, **overrides)


@dataclass(frozen=True)
class SettingsSources:
    """The raw values of every source, kept so markers can be resolved per test."""

    flag_server: str | None
    flag_record: str | None
    flag_strict: bool | None
    ini_server: str | None
    ini_workflows: tuple[str, ...]
    ini_histories: tuple[Path, ...]
    ini_strict: bool | None
    project: ProjectConfig
    rootpath: Path
    ini_timeout: str | None = None
    ini_plugins: tuple[str, ...] = ()

    def resolve(self, marker: Mapping[str, Any] | None = None) -> Settings:
        """Resolve every value; ``marker`` is a ``replaykit`` marker's keyword arguments.

        Raises:
            ConfigError: A value is not valid; the message lists the valid ones.
        """
        from replaykit._internal._errors import ConfigError, ServerError
        from replaykit.config._settings import Resolver

        marker = dict(marker or {})
        unknown = sorted(set(marker) - set(MARKER_KEYS))
        if unknown:
            raise ConfigError(
                f"@pytest.mark.replaykit got unknown argument(s) {unknown}; "
                f"valid: {', '.join(MARKER_KEYS)}"
            )
        settings = Resolver(
            face="pytest",
            flags={
                "server": self.flag_server,
                "record": self.flag_record,
                "strict": self.flag_strict,
            },
            marker={k: marker.get(k) for k in ("server", "workflows", "plugins", "strict")},
            ini={
                "server": self.ini_server,
                "workflows": self.ini_workflows,
                "histories": self.ini_histories,
                "plugins": self.ini_plugins,
                "strict": self.ini_strict,
                "timeout": self.ini_timeout,
            },
            project=self.project,
        )
        server = settings.server()
        namespace = settings.namespace()
        try:
            settings.spec()
        except ServerError as err:
            raise ConfigError(f"replaykit server: {err}") from None
        record = settings.record().value
        strict = settings.strict().value
        workflows = settings.workflows().value
        resolved_plugins = settings.plugins()
        plugins = resolved_plugins.value
        histories = settings.histories(default=(str(self.root / "histories"),)).value
        timeout = settings.timeout().value
        return Settings(
            server=server.value,
            namespace=namespace.value,
            record=str(record),
            strict=strict,
            workflows=tuple(workflows),
            histories=tuple(Path(h).resolve() for h in histories),
            root=self.root,
            data_converter=settings.data_converter().value,
            timeout=timeout,
            plugins=tuple(plugins),
            plugins_per_test=resolved_plugins.source == "marker",
            allow=settings.allow().value,
            volatile=settings.volatile().value,
            fail_on=tuple(sorted(settings.fail_on().value)),
            server_source=server.source,
            namespace_source=namespace.source,
            resolver=settings,
        )

    @property
    def root(self) -> Path:
        """The pyproject's folder when there is one, else pytest's rootdir."""
        return self.project.root or self.rootpath


def load_sources(config: pytest.Config) -> SettingsSources:
    """Gather flags, ini keys and ``[tool.replaykit]`` (nearest pyproject above the rootdir).

    Raises:
        ConfigError: ``[tool.replaykit]`` cannot be read or is invalid.
    """
    from replaykit.config._config import find_pyproject, load_project_config

    inipath = config.inipath
    pyproject = inipath if inipath is not None and inipath.name == "pyproject.toml" else None
    project = load_project_config(pyproject or find_pyproject(config.rootpath))
    ini_strict = config.getini("replaykit_strict")
    return SettingsSources(
        flag_server=config.getoption("replaykit_server"),
        flag_record=config.getoption("replaykit_record"),
        flag_strict=config.getoption("replaykit_strict"),
        ini_server=config.getini("replaykit_server") or None,
        ini_workflows=tuple(config.getini("replaykit_workflows")),
        ini_histories=tuple(Path(p) for p in config.getini("replaykit_histories")),
        ini_strict=ini_strict if isinstance(ini_strict, bool) else None,
        project=project,
        rootpath=Path(config.rootpath),
        ini_timeout=config.getini("replaykit_timeout") or None,
        ini_plugins=tuple(config.getini("replaykit_plugins")),
    )
