"""Temporal plugins (the AI-framework integrations among them), named and applied one way.

Agents on Temporal are built through plugins: ``OpenAIAgentsPlugin``, ``LangGraphPlugin``,
``PydanticAIPlugin``, ... A plugin configures the client (data converter, interceptors), every
worker (activities, interceptors, sandbox passthrough, run context) and the replayer. This
module is the one place that turns what users name (``--plugin MODULE:ATTR``,
``[tool.replaykit] plugins``, ``@scenario(plugins=...)``, pytest markers) into plugin objects
and applies them as production applies them:

* client plugins go on the client (a worker built on that client gets them from it, as the
  SDK does it, so they are never applied twice);
* worker plugins that are not client plugins go on the worker;
* worker plugins go on the replayer, and replaykit's capturing runner is put around the runner
  *after* every plugin has configured it, so a plugin that adjusts a
  ``SandboxedWorkflowRunner`` (passthrough modules) still sees one.
"""

from __future__ import annotations

import ast
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import temporalio.client
import temporalio.worker

from replaykit._internal._errors import ConfigError
from replaykit._internal._imports import resolve_ref
from replaykit._internal._sdk_compat import is_workflow_validation_error

__all__ = [
    "KNOWN_INTEGRATIONS",
    "RunnerWrapPlugin",
    "WorkflowValidationError",
    "client_with_plugins",
    "describe_validation_error",
    "integrations_used",
    "load_plugins",
    "merge_plugins",
    "missing_plugin_hint",
    "plugin_data_converter",
    "replayer_plugins",
    "worker_only_plugins",
]


def _is_plugin(value: object) -> bool:
    return isinstance(value, (temporalio.client.Plugin, temporalio.worker.Plugin))


#: What each factory (or plugin class) made, by the factory's identity; the factory itself
#: is kept alive with it, so an id is never reused for another object.
_MADE: dict[int, tuple[Any, list[Any]]] = {}
_MADE_LOCK = threading.RLock()


def load_plugins(
    refs: Iterable[Any], *, option: str = "--plugin", fresh: bool = False
) -> list[Any]:
    """The plugin objects ``refs`` name, in order.

    Each ref is a plugin object, a plugin class (instantiated with no arguments), a callable
    taking no arguments that returns one plugin or a list of them (a factory, e.g. one that
    builds a plugin with a test model provider), or a string ``module:attr`` /
    ``path/to/file.py:attr`` naming any of these.

    A factory or class is called **at most once per process**: every later load of the same
    factory, under any spelling of its reference (every replay, replayer restart, worker and
    run of the process), gets the plugins that first call made. Plugins such as
    ``LangGraphPlugin`` rewrite module-level state when they are built and fail when built
    twice; a plugin is configuration, applied to each client, worker and replayer anew. A
    ``file.py`` reference executes the file once per process. Check worker processes each
    call the factory once.

    Args:
        refs: What to load.
        option: Where the refs came from, for error messages.
        fresh: Call factories anew instead: a scenario's own ``plugins=`` are resolved for
            every run, so that each run gets its own (a scripted test model is consumed by
            one run).

    Raises:
        ConfigError: A ref does not import, its call fails, or it is not a Temporal plugin.
    """
    out: list[Any] = []
    for ref in refs:
        out.extend(_load_one(ref, option, fresh=fresh))
    return out


def _load_one(ref: Any, option: str, *, fresh: bool) -> list[Any]:
    label = ref if isinstance(ref, str) else getattr(ref, "__qualname__", None) or repr(ref)
    value = resolve_ref(ref, option=option) if isinstance(ref, str) else ref
    if _is_plugin(value) or not callable(value):
        return _checked(value, label, option)
    if fresh:
        return _call_factory(value, label, option)
    with _MADE_LOCK:
        made = _MADE.get(id(value))
        if made is not None and made[0] is value:
            return list(made[1])
        items = _call_factory(value, label, option)
        _MADE[id(value)] = (value, items)
        return list(items)


def _call_factory(factory: Callable[[], Any], label: str, option: str) -> list[Any]:
    try:
        value = factory()
    except Exception as err:
        raise ConfigError(
            f"{option} {label}: calling it to make the plugin failed: {type(err).__name__}: {err}"
        ) from err
    return _checked(value, label, option)


def _checked(value: Any, label: str, option: str) -> list[Any]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not _is_plugin(item):
            raise ConfigError(
                f"{option} {label}: expected a Temporal plugin (temporalio.client.Plugin or "
                "temporalio.worker.Plugin), a plugin class, or a function returning plugins; "
                f"got {type(item).__name__}"
            )
    return items


def _plugin_key(plugin: Any) -> str:
    try:
        return str(plugin.name())
    except Exception:  # noqa: BLE001 - a plugin without a usable name(): key by its type
        return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def merge_plugins(own: Sequence[Any], extra: Sequence[Any]) -> list[Any]:
    """``own`` plugins, then those of ``extra`` whose name is not already among them.

    A scenario's own plugin carries its settings (a test model provider, say), so it wins
    over a plugin of the same name given on the command line or in the configuration.
    """
    names = {_plugin_key(p) for p in own}
    return [*own, *(p for p in extra if _plugin_key(p) not in names)]


def client_with_plugins(
    client: temporalio.client.Client, plugins: Sequence[Any]
) -> temporalio.client.Client:
    """``client`` with the client plugins among ``plugins`` applied (the same connection).

    Returns ``client`` itself when there is none to add.
    """
    extra = [p for p in plugins if isinstance(p, temporalio.client.Plugin)]
    if not extra:
        return client
    config = client.config()
    present = {_plugin_key(p) for p in config.get("plugins", [])}
    config["plugins"] = [
        *config.get("plugins", []),
        *(p for p in extra if _plugin_key(p) not in present),
    ]
    return temporalio.client.Client(**config)


def worker_only_plugins(client: temporalio.client.Client, plugins: Sequence[Any]) -> list[Any]:
    """The worker plugins a ``Worker`` on ``client`` still needs passed explicitly.

    A worker takes the client's plugins that are worker plugins itself; passing them again
    would apply them twice (the SDK warns about it).
    """
    on_client = {_plugin_key(p) for p in client.config().get("plugins", [])}
    return [
        p
        for p in plugins
        if isinstance(p, temporalio.worker.Plugin) and _plugin_key(p) not in on_client
    ]


def replayer_plugins(plugins: Sequence[Any]) -> list[Any]:
    """The plugins that configure a ``Replayer`` (the worker plugins)."""
    return [p for p in plugins if isinstance(p, temporalio.worker.Plugin)]


def plugin_data_converter(plugins: Sequence[Any], base: Any = None) -> Any:
    """The data converter ``plugins`` make of ``base`` (None: the SDK default), as a
    client with them would use it; None when no plugin changes it and ``base`` is None."""
    import temporalio.converter

    start = base if base is not None else temporalio.converter.DataConverter.default
    config: Any = {"data_converter": start, "interceptors": [], "plugins": list(plugins)}
    for plugin in plugins:
        if isinstance(plugin, temporalio.client.Plugin):
            config = plugin.configure_client(config)
    converter = config.get("data_converter", start)
    if base is None and converter is start:
        return None
    return converter


class RunnerWrapPlugin(temporalio.worker.Plugin):
    """A replayer plugin, applied last, that wraps the runner the other plugins configured."""

    def __init__(
        self, wrap: Callable[[temporalio.worker.WorkflowRunner], temporalio.worker.WorkflowRunner]
    ) -> None:
        self._wrap = wrap

    def name(self) -> str:
        return "replaykit.capture"

    def configure_worker(
        self, config: temporalio.worker.WorkerConfig
    ) -> temporalio.worker.WorkerConfig:
        return config

    async def run_worker(
        self,
        worker: temporalio.worker.Worker,
        next: Callable[[temporalio.worker.Worker], Awaitable[None]],
    ) -> None:
        await next(worker)

    def configure_replayer(
        self, config: temporalio.worker.ReplayerConfig
    ) -> temporalio.worker.ReplayerConfig:
        runner = config.get("workflow_runner")
        if runner is not None:
            config["workflow_runner"] = self._wrap(runner)
        return config

    def run_replayer(
        self,
        replayer: temporalio.worker.Replayer,
        histories: AsyncIterator[temporalio.client.WorkflowHistory],
        next: Callable[
            [temporalio.worker.Replayer, AsyncIterator[temporalio.client.WorkflowHistory]],
            AbstractAsyncContextManager[AsyncIterator[temporalio.worker.WorkflowReplayResult]],
        ],
    ) -> AbstractAsyncContextManager[AsyncIterator[temporalio.worker.WorkflowReplayResult]]:
        return next(replayer, histories)


# ---------------------------------------------------------------------------------------
# Known integrations, for errors that say which plugin is missing

#: Import prefix in workflow code -> (integration, the plugin to pass, the PyPI extra).
KNOWN_INTEGRATIONS: dict[str, tuple[str, str, str]] = {
    "agents": (
        "OpenAI Agents SDK",
        "temporalio.openai_agents:OpenAIAgentsPlugin",
        "temporalio[openai-agents]",
    ),
    "temporalio.openai_agents": (
        "OpenAI Agents SDK",
        "temporalio.openai_agents:OpenAIAgentsPlugin",
        "temporalio[openai-agents]",
    ),
    "temporalio.contrib.openai_agents": (
        "OpenAI Agents SDK",
        "temporalio.openai_agents:OpenAIAgentsPlugin",
        "temporalio[openai-agents]",
    ),
    "langgraph": (
        "LangGraph",
        "temporalio.langgraph.LangGraphPlugin(graphs={...})",
        "temporalio[langgraph]",
    ),
    "temporalio.langgraph": (
        "LangGraph",
        "temporalio.langgraph.LangGraphPlugin(graphs={...})",
        "temporalio[langgraph]",
    ),
    "langchain_core": (
        "LangGraph",
        "temporalio.langgraph.LangGraphPlugin(graphs={...})",
        "temporalio[langgraph]",
    ),
    "google.adk": ("Google ADK", "temporalio.google_adk:GoogleAdkPlugin", "temporalio[google-adk]"),
    "temporalio.google_adk": (
        "Google ADK",
        "temporalio.google_adk:GoogleAdkPlugin",
        "temporalio[google-adk]",
    ),
    "strands": (
        "Strands Agents",
        "temporalio.strands_agents:StrandsPlugin",
        "temporalio[strands-agents]",
    ),
    "temporalio.strands_agents": (
        "Strands Agents",
        "temporalio.strands_agents:StrandsPlugin",
        "temporalio[strands-agents]",
    ),
    "deepagents": (
        "Deep Agents",
        "temporalio.deepagents:DeepAgentsPlugin",
        "temporalio[deepagents]",
    ),
    "temporalio.deepagents": (
        "Deep Agents",
        "temporalio.deepagents:DeepAgentsPlugin",
        "temporalio[deepagents]",
    ),
    "pydantic_ai": (
        "Pydantic AI",
        "pydantic_ai.durable_exec.temporal:PydanticAIPlugin (and AgentPlugin)",
        "pydantic-ai-slim[temporal]",
    ),
}


def _imported_modules(path: str) -> set[str]:
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _integration_imports(workflows: Iterable[type]) -> dict[str, set[str]]:
    """Integration -> the import prefixes (of :data:`KNOWN_INTEGRATIONS`) that named it."""
    found: dict[str, set[str]] = {}
    for wf in workflows:
        module = sys.modules.get(wf.__module__)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        for name in _imported_modules(path):
            for prefix, info in KNOWN_INTEGRATIONS.items():
                if name == prefix or name.startswith(prefix + "."):
                    found.setdefault(info[0], set()).add(prefix)
    return found


def integrations_used(workflows: Iterable[type]) -> list[tuple[str, str, str]]:
    """The known AI integrations the modules of ``workflows`` import (deduplicated)."""
    return [_info(name) for name in _integration_imports(workflows)]


def _info(integration: str) -> tuple[str, str, str]:
    return next(info for info in KNOWN_INTEGRATIONS.values() if info[0] == integration)


def _plugin_names(plugins: Sequence[Any]) -> str:
    return " ".join(
        f"{type(p).__module__}.{type(p).__qualname__} {_plugin_key(p)}" for p in plugins
    ).lower()


_INTEGRATION_PLUGIN_WORDS = {
    "OpenAI Agents SDK": "openai",
    "LangGraph": "langgraph",
    "Google ADK": "adk",
    "Strands Agents": "strands",
    "Deep Agents": "deepagents",
    "Pydantic AI": "pydantic",
}


#: Integrations built on another one, whose plugin also runs that one's code in workflows:
#: Deep Agents' loop is a LangGraph graph on LangChain, and its plugin passes them through
#: the sandbox. Their imports need no plugin of their own, unless the workflow code uses
#: the other integration's Temporal API itself (``temporalio.langgraph``: graphs and
#: entrypoints registered with LangGraphPlugin).
_BUILT_ON: dict[str, tuple[str, frozenset[str]]] = {
    "Deep Agents": ("LangGraph", frozenset({"langgraph", "langchain_core"})),
}


def missing_plugin_hint(workflows: Iterable[type], plugins: Sequence[Any]) -> str | None:
    """Which plugin to pass, when the workflow code imports an integration whose plugin is
    not among ``plugins``; None otherwise. Only plugins really missing are named: a Deep
    Agents workflow imports LangChain and LangGraph, which the Deep Agents plugin covers."""
    given = _plugin_names(plugins)
    used = _integration_imports(workflows)
    covered = {
        base
        for top, (base, prefixes) in _BUILT_ON.items()
        if (top in used or _INTEGRATION_PLUGIN_WORDS[top] in given)
        and base in used
        and used[base] <= prefixes
    }
    hints = []
    for integration in used:
        if integration in covered:
            continue
        if _INTEGRATION_PLUGIN_WORDS.get(integration, "\0") in given:
            continue
        _, plugin, extra = _info(integration)
        hints.append(
            f"the workflow code imports {integration} but no {integration} "
            f"plugin is applied: pass --plugin naming {plugin} (or a function "
            f"returning it), set [tool.replaykit] plugins, or give the scenario "
            f"plugins=[...] (install: pip install '{extra}')"
        )
    return "; ".join(hints) or None


class WorkflowValidationError(ConfigError):
    """A workflow could not be loaded by the worker or replayer (sandbox validation)."""


def _user_frame(err: BaseException) -> str | None:
    tb = traceback.extract_tb(err.__traceback__)
    skip = ("/temporalio/", "/importlib/", "<frozen ", "/site-packages/", "/dist-packages/")
    for frame in reversed(tb):
        if not any(s in frame.filename for s in skip):
            return f"{frame.filename}:{frame.lineno}"
    if tb:
        return f"{tb[-1].filename}:{tb[-1].lineno}"
    return None


def describe_validation_error(
    err: BaseException, *, workflows: Iterable[type] = (), plugins: Sequence[Any] = ()
) -> str | None:
    """A readable account of ``Failed validating workflow X``: what the sandbox rejected,
    where, and which plugin is missing; None when ``err`` is not such an error."""
    if not is_workflow_validation_error(err):
        return None
    chain: list[BaseException] = []
    cause: BaseException | None = err.__cause__
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    root = chain[-1] if chain else err
    parts = [str(err)]
    if root is not err:
        text = " ".join(str(root).split())
        parts.append(f"root cause: {type(root).__name__}: {text}")
        where = _user_frame(root)
        if where:
            parts.append(f"at {where}")
    hint = missing_plugin_hint(workflows, plugins)
    if hint:
        parts.append(hint)
    return "; ".join(parts)
