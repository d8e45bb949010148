"""Configuration: ``[tool.replaykit]`` in pyproject.toml, and the one precedence resolver.

Every surface (CLI flags, pytest flags, markers, ini keys, pyproject) goes through
:func:`resolve`, so precedence is decided in one place: flag > marker > ini > pyproject >
default. Bad values fail loudly and list the valid ones.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ProjectConfig", "find_pyproject", "load_project_config", "resolve"]

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
    "plugins": "list of module:attr naming Temporal plugins (OpenAIAgentsPlugin, ...)",
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
    plugins: tuple[str, ...] = ()
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
    for key in ("server", "namespace", "data_converter"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{path}: [tool.replaykit] {key} must be a string")
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
        plugins=_str_list("plugins", table.get("plugins", []), path),
        raw=dict(table),
    )


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
    """Pick the first value that is set, in precedence order flag > marker > ini > project.

    Empty strings, empty sequences and None count as "not set".

    Raises:
        ConfigError: The chosen value is not one of ``choices``.
    """
    for source, value in (("flag", flag), ("marker", marker), ("ini", ini), ("pyproject", project)):
        if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
            continue
        _check_choice(name, value, choices, source)
        return value
    return default


def _check_choice(name: str, value: Any, choices: Sequence[str] | None, source: str) -> None:
    if choices is None:
        return
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if v not in choices:
            raise ConfigError(
                f"{name}={v!r} (from {source}) is not valid; choose from: {', '.join(choices)}"
            )
