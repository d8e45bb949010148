"""Configuration: reading and validating ``[tool.replaykit]`` in pyproject.toml.

Which value of a setting applies (flag > marker > ini > Temporal's environment variables >
pyproject > the scenario's preference > default) is decided by :mod:`replaykit.config._settings`
alone (its :func:`~replaykit.config._settings.resolve` serves the untyped values: paths, output
folders). Bad values fail loudly and list the valid ones.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replaykit._internal._errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ProjectConfig", "find_pyproject", "load_project_config"]

_KNOWN_KEYS = {
    "workflows": "list of module names",
    "histories": "folder (or list of folders) of history files",
    "scenarios": "list of scenario files or modules",
    "server": "embedded | timeskip | HOST:PORT",
    "namespace": "namespace name",
    "fail_on": "list of divergence kinds",
    "allow": "list of allow rules",
    "volatile": "list of activity:NAME.PATH rules for values new on every run",
    "jobs": "number of worker processes",
    "data_converter": "module:attr of the DataConverter or PayloadCodec histories use",
    "deployment_version": "NAME.BUILD_ID: the Worker Deployment version being checked",
    "budgets": 'table of history limits (events_warn, bytes_error = "50MB", horizon, ...)',
    "plugins": "list of module:attr naming Temporal plugins (OpenAIAgentsPlugin, ...)",
    "strict": "true | false: compare every command with its recorded event",
    "timeout": "seconds one replay may take before it is reported as an error",
    "verdict_cache": "folder of the verdict cache (default .replaykit/verdicts), or false",
    "shadow_store": "folder where `replaykit shadow` keeps fetched histories",
}


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[tool.replaykit]`` table, validated; ``root`` is the pyproject's folder."""

    root: Path | None = None
    workflows: tuple[str, ...] = ()
    histories: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    server: str | None = None
    namespace: str | None = None
    fail_on: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    jobs: int | None = None
    data_converter: str | None = None
    deployment_version: str | None = None
    budgets: dict[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    strict: bool | None = None
    timeout: float | None = None
    #: ``[tool.replaykit] verdict_cache``: a folder (relative to the pyproject), or False.
    verdict_cache: str | bool | None = None
    shadow_store: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def path(self, value: str) -> str:
        """A configured path, made relative to the pyproject's folder."""
        if self.root is None or Path(value).is_absolute():
            return value
        return str(self.root / value)


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (default: cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _str_list(name: str, value: Any, source: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{source}: [tool.replaykit] {name} must be a string or a list of strings")


def load_project_config(pyproject: Path | None = None) -> ProjectConfig:
    """Read ``[tool.replaykit]``; an absent file or table gives an empty config."""
    path = pyproject or find_pyproject()
    if path is None:
        return ProjectConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from err
    table = data.get("tool", {}).get("replaykit")
    if table is None:
        return ProjectConfig(root=path.parent)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.replaykit] must be a table")
    unknown = sorted(set(table) - set(_KNOWN_KEYS))
    if unknown:
        valid = ", ".join(f"{k} ({v})" for k, v in _KNOWN_KEYS.items())
        raise ConfigError(f"{path}: unknown [tool.replaykit] key(s) {unknown}; valid: {valid}")
    jobs = table.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 0):
        raise ConfigError(f"{path}: [tool.replaykit] jobs must be a whole number >= 0")
    budgets = table.get("budgets", {})
    if not isinstance(budgets, dict):
        raise ConfigError(
            f"{path}: [tool.replaykit] budgets must be a table, e.g. "
            'budgets = { events_warn = 5000, payload_error = "1MB" }'
        )
    if budgets:
        from ._budgets import parse_budget_limits

        try:
            parse_budget_limits(budgets, source=f"{path}: [tool.replaykit] budgets")
        except ValueError as err:
            raise ConfigError(str(err)) from err
    strict = table.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise ConfigError(f"{path}: [tool.replaykit] strict must be true or false")
    timeout = table.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise ConfigError(f"{path}: [tool.replaykit] timeout must be seconds (a number > 0)")
    for key in ("server", "namespace", "data_converter", "deployment_version", "shadow_store"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{path}: [tool.replaykit] {key} must be a string")
    verdict_cache = table.get("verdict_cache")
    if verdict_cache is not None and not (isinstance(verdict_cache, str) or verdict_cache is False):
        raise ConfigError(f"{path}: [tool.replaykit] verdict_cache must be a folder name or false")
    return ProjectConfig(
        root=path.parent,
        workflows=_str_list("workflows", table.get("workflows", []), path),
        histories=_str_list("histories", table.get("histories", []), path),
        scenarios=_str_list("scenarios", table.get("scenarios", []), path),
        server=table.get("server"),
        namespace=table.get("namespace"),
        fail_on=_str_list("fail_on", table.get("fail_on", []), path),
        allow=_str_list("allow", table.get("allow", []), path),
        volatile=_str_list("volatile", table.get("volatile", []), path),
        jobs=jobs,
        data_converter=table.get("data_converter"),
        deployment_version=table.get("deployment_version"),
        budgets=dict(budgets),
        plugins=_str_list("plugins", table.get("plugins", []), path),
        strict=strict,
        timeout=None if timeout is None else float(timeout),
        verdict_cache=verdict_cache,
        shadow_store=table.get("shadow_store"),
        raw=dict(table),
    )
