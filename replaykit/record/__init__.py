"""Recording histories: scenarios on a real server, pulls from a cluster, LLM cassettes.

- ``_scenario``: the scenario API (client-side scripts that drive workflows).
- ``_record``: running scenarios and saving each execution's history (``replaykit record``).
- ``_pull``: a cluster's executions into history files (``replaykit pull``).
- ``_llm_endpoint``: a scripted OpenAI-compatible endpoint for offline recording.
- ``_cassettes``: vcrpy cassettes for LLM calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._record": (
        "RecordReport",
        "record_scenarios",
        "record_scenarios",
        "record_scenarios_async",
    ),
    "._scenario": (
        "ExecutionRef",
        "Scenario",
        "ScenarioOutcome",
        "ScenarioRun",
        "collect_executions",
        "collect_executions",
        "collect_executions_async",
        "load_scenarios",
        "run_scenario",
        "run_scenario",
        "run_scenario_async",
        "scenario",
    ),
    "._pull": (
        "PullItem",
        "PullReport",
        "pull_histories",
        "pull_histories",
        "pull_histories_async",
    ),
    "._llm_endpoint": (
        "ChatReply",
        "ChatRequest",
        "Rule",
        "ScriptedEndpoint",
        "ToolCallReply",
        "reply_error",
        "reply_text",
        "reply_tool_calls",
        "scripted_openai",
    ),
    "._cassettes": (
        "CASSETTE_DIR_ENV",
        "cassette",
        "cassette_path",
        "is_cassette_miss",
        "json_body_matcher",
    ),
}

__all__ = [
    "CASSETTE_DIR_ENV",
    "ChatReply",
    "ChatRequest",
    "ExecutionRef",
    "PullItem",
    "PullReport",
    "RecordReport",
    "Rule",
    "Scenario",
    "ScenarioOutcome",
    "ScenarioRun",
    "ScriptedEndpoint",
    "ToolCallReply",
    "cassette",
    "cassette_path",
    "collect_executions",
    "collect_executions_async",
    "is_cassette_miss",
    "json_body_matcher",
    "load_scenarios",
    "pull_histories",
    "pull_histories_async",
    "record_scenarios",
    "record_scenarios_async",
    "reply_error",
    "reply_text",
    "reply_tool_calls",
    "run_scenario",
    "run_scenario_async",
    "scenario",
    "scripted_openai",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._cassettes import CASSETTE_DIR_ENV as CASSETTE_DIR_ENV
    from ._cassettes import cassette as cassette
    from ._cassettes import cassette_path as cassette_path
    from ._cassettes import is_cassette_miss as is_cassette_miss
    from ._cassettes import json_body_matcher as json_body_matcher
    from ._llm_endpoint import ChatReply as ChatReply
    from ._llm_endpoint import ChatRequest as ChatRequest
    from ._llm_endpoint import Rule as Rule
    from ._llm_endpoint import ScriptedEndpoint as ScriptedEndpoint
    from ._llm_endpoint import ToolCallReply as ToolCallReply
    from ._llm_endpoint import reply_error as reply_error
    from ._llm_endpoint import reply_text as reply_text
    from ._llm_endpoint import reply_tool_calls as reply_tool_calls
    from ._llm_endpoint import scripted_openai as scripted_openai
    from ._pull import PullItem as PullItem
    from ._pull import PullReport as PullReport
    from ._pull import pull_histories as pull_histories
    from ._pull import pull_histories_async as pull_histories_async
    from ._record import RecordReport as RecordReport
    from ._record import record_scenarios as record_scenarios
    from ._record import record_scenarios_async as record_scenarios_async
    from ._scenario import ExecutionRef as ExecutionRef
    from ._scenario import Scenario as Scenario
    from ._scenario import ScenarioOutcome as ScenarioOutcome
    from ._scenario import ScenarioRun as ScenarioRun
    from ._scenario import collect_executions as collect_executions
    from ._scenario import collect_executions_async as collect_executions_async
    from ._scenario import load_scenarios as load_scenarios
    from ._scenario import run_scenario as run_scenario
    from ._scenario import run_scenario_async as run_scenario_async
    from ._scenario import scenario as scenario
