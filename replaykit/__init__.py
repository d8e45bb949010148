"""replaykit: record, replay-check, version and fault-inject Temporal workflows.

The public API is re-exported here from private modules. Names are resolved lazily (on first
attribute access), so ``import replaykit`` — which the pytest plugin does at start-up — does
not import temporalio until something is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._check": ("CheckOptions", "check_histories", "collect_workflows", "replay_one"),
    "._divergence": ("CheckReport", "Divergence", "HistoryResult"),
    "._errors": ("ConfigError", "HistoryError", "ReplaykitError", "ScenarioError", "ServerError"),
    "._history": (
        "META_KEY", "HistoryFile", "HistoryMeta", "find_history_files", "history_from_json",
        "load_history", "write_history",
    ),
    "._record": ("RecordReport", "record_scenarios"),
    "._scenario": (
        "ExecutionRef", "Scenario", "ScenarioOutcome", "ScenarioRun", "collect_executions",
        "load_scenarios", "run_scenario", "scenario",
    ),
    "._servers": ("RunningServer", "ServerSpec", "parse_server", "start_server",
                  "start_server_async"),
    "._pull": ("PullItem", "PullReport", "pull_histories"),
    "._effects": (
        "EffectAttempt", "EffectSlot", "EffectViolation", "EffectsError", "EffectsLedger",
        "EffectsReport", "idempotent", "verify_effects",
    ),
    "._saga": (
        "SagaError", "SagaReport", "SagaSpec", "SagaStep", "SagaViolation", "load_saga_spec",
        "verify_saga", "verify_saga_files",
    ),
    "._patches": (
        "PatchReport", "PatchRow", "PrePatchReport", "analyze_patches",
        "generate_pre_patch_histories", "scan_patch_sites",
    ),
    "._strict": ("suggest_patch_id",),
    "._show": ("ShowReport", "show_history", "render_html"),
    "._replay": ("BreakPoint", "ReplayOutcome", "Stop", "parse_break_point", "replay_history"),
    "._diff": ("HistoryDiff", "StepDifference", "diff_histories", "diff_history_files"),
    "._lint": ("LintReport", "lint_paths"),
    "._llm_endpoint": (
        "ChatReply", "ChatRequest", "Rule", "ScriptedEndpoint", "ToolCallReply", "reply_error",
        "reply_text", "reply_tool_calls", "scripted_openai",
    ),
    "._cassettes": ("cassette", "cassette_path", "is_cassette_miss", "json_body_matcher"),
    "._faults": (
        "CancelWorkflow", "ExplorationReport", "FailActivity", "FaultPlan", "FaultRunResult",
        "KillServer", "KillWorker", "Point", "SignalWorkflow", "TimeoutActivity",
        "explore_every_step", "explore_examples", "run_fault_plan", "run_fault_plan_async",
    ),
    "._rollback": ("RollbackError", "RollbackReport", "prove_rollback", "prove_rollback_async"),
    "._plugins": ("load_plugins",),
}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'replaykit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only  # noqa: I001
    from ._cassettes import cassette, cassette_path, is_cassette_miss, json_body_matcher
    from ._check import CheckOptions, check_histories, collect_workflows, replay_one
    from ._diff import HistoryDiff, StepDifference, diff_histories, diff_history_files
    from ._divergence import CheckReport, Divergence, HistoryResult
    from ._effects import (
        EffectAttempt, EffectSlot, EffectsError, EffectsLedger, EffectsReport,
        EffectViolation, idempotent, verify_effects,
    )
    from ._errors import ConfigError, HistoryError, ReplaykitError, ScenarioError, ServerError
    from ._history import (
        META_KEY, HistoryFile, HistoryMeta, find_history_files, history_from_json,
        load_history, write_history,
    )
    from ._lint import LintReport, lint_paths
    from ._llm_endpoint import (
        ChatReply, ChatRequest, Rule, ScriptedEndpoint, ToolCallReply, reply_error,
        reply_text, reply_tool_calls, scripted_openai,
    )
    from ._patches import (
        PatchReport, PatchRow, PrePatchReport, analyze_patches,
        generate_pre_patch_histories, scan_patch_sites,
    )
    from ._pull import PullItem, PullReport, pull_histories
    from ._record import RecordReport, record_scenarios
    from ._saga import (
        SagaError, SagaReport, SagaSpec, SagaStep, SagaViolation, load_saga_spec,
        verify_saga, verify_saga_files,
    )
    from ._scenario import (
        ExecutionRef, Scenario, ScenarioOutcome, ScenarioRun, collect_executions,
        load_scenarios, run_scenario, scenario,
    )
    from ._servers import (
        RunningServer, ServerSpec, parse_server, start_server, start_server_async,
    )
    from ._replay import BreakPoint, ReplayOutcome, Stop, parse_break_point, replay_history
    from ._show import ShowReport, render_html, show_history
    from ._strict import suggest_patch_id
    from ._faults import (
        CancelWorkflow, ExplorationReport, FailActivity, FaultPlan, FaultRunResult,
        KillServer, KillWorker, Point, SignalWorkflow, TimeoutActivity, explore_every_step,
        explore_examples, run_fault_plan, run_fault_plan_async,
    )
    from ._rollback import RollbackError, RollbackReport, prove_rollback, prove_rollback_async
    from ._plugins import load_plugins
