"""replaykit: record, replay-check, version and fault-inject Temporal workflows.

The public API is re-exported here; the modules behind it are private.
"""

from __future__ import annotations

from ._check import CheckOptions, check_histories, collect_workflows, replay_one
from ._divergence import CheckReport, Divergence, HistoryResult
from ._errors import ConfigError, HistoryError, ReplaykitError, ScenarioError, ServerError
from ._history import (
    META_KEY,
    HistoryFile,
    HistoryMeta,
    find_history_files,
    history_from_json,
    load_history,
    write_history,
)
from ._record import RecordReport, record_scenarios
from ._scenario import (
    ExecutionRef,
    Scenario,
    ScenarioOutcome,
    ScenarioRun,
    collect_executions,
    load_scenarios,
    run_scenario,
    scenario,
)
from ._servers import RunningServer, ServerSpec, parse_server, start_server

__all__ = [
    "META_KEY",
    "CheckOptions",
    "CheckReport",
    "ConfigError",
    "Divergence",
    "ExecutionRef",
    "HistoryError",
    "HistoryFile",
    "HistoryMeta",
    "HistoryResult",
    "RecordReport",
    "ReplaykitError",
    "RunningServer",
    "Scenario",
    "ScenarioError",
    "ScenarioOutcome",
    "ScenarioRun",
    "ServerError",
    "ServerSpec",
    "check_histories",
    "collect_executions",
    "collect_workflows",
    "find_history_files",
    "history_from_json",
    "load_history",
    "load_scenarios",
    "parse_server",
    "record_scenarios",
    "replay_one",
    "run_scenario",
    "scenario",
    "start_server",
    "write_history",
]
