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
    "._patches": ("PatchReport", "PatchRow", "analyze_patches"),
    "._patch_scan": ("PatchSite", "scan_patch_sites"),
    "._prepatch": ("PrePatchReport", "generate_pre_patch_histories"),
    "._hints": ("suggest_patch_id",),
    "._show": ("ShowReport", "show_history", "render_html"),
    "._replay": ("BreakPoint", "ReplayOutcome", "Stop", "parse_break_point", "replay_history"),
    "._diff": ("HistoryDiff", "StepDifference", "diff_histories", "diff_history_files"),
    "._lint": ("LintReport", "lint_paths"),
    "._llm_endpoint": (
        "ChatReply", "ChatRequest", "Rule", "ScriptedEndpoint", "ToolCallReply", "reply_error",
        "reply_text", "reply_tool_calls", "scripted_openai",
    ),
    "._cassettes": ("cassette", "cassette_path", "is_cassette_miss", "json_body_matcher"),
    "._plugins": ("load_plugins",),
    # Public submodules: each is the one home of its names, all hoisted here too (a test
    # keeps these lists equal to the submodules' __all__).
    ".effects": (
        "ENV_LEDGER", "EffectAttempt", "EffectSlot", "EffectViolation", "EffectsError",
        "EffectsLedger", "EffectsReport", "current_slot", "idempotent", "verify_effects",
    ),
    ".faults": (
        "Baseline", "CancelWorkflow", "ExecutionSummary", "ExplorationReport", "FailActivity",
        "Fault", "FaultPlan", "FaultRunOptions", "FaultRunResult", "InvariantVerdict",
        "KillServer", "KillWorker", "Point", "PrefixResult", "ScenarioSteps", "SignalWorkflow",
        "TimeoutActivity",
        "baseline_of", "explore_every_step", "explore_every_step_async", "explore_examples",
        "explore_examples_async",
        "learn_steps", "parse_fault", "parse_point", "replay_prefixes", "run_fault_plan",
        "run_fault_plan_async",
    ),
    ".sagas": (
        "ENV_WORLD", "PHASES", "Leftover", "RollbackError", "RollbackReport", "RollbackRun",
        "SagaError", "SagaFileResult", "SagaReport", "SagaRunReport", "SagaSpec", "SagaStep",
        "SagaViolation", "StepOutcome", "load_saga_spec", "prove_rollback",
        "prove_rollback_async", "verify_saga", "verify_saga_files",
    ),
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
    from ._patch_scan import PatchSite, scan_patch_sites
    from ._patches import PatchReport, PatchRow, analyze_patches
    from ._prepatch import PrePatchReport, generate_pre_patch_histories
    from ._pull import PullItem, PullReport, pull_histories
    from ._record import RecordReport, record_scenarios
    from ._scenario import (
        ExecutionRef, Scenario, ScenarioOutcome, ScenarioRun, collect_executions,
        load_scenarios, run_scenario, scenario,
    )
    from ._servers import (
        RunningServer, ServerSpec, parse_server, start_server, start_server_async,
    )
    from ._replay import BreakPoint, ReplayOutcome, Stop, parse_break_point, replay_history
    from ._show import ShowReport, render_html, show_history
    from ._hints import suggest_patch_id
    from ._plugins import load_plugins
    from .effects import (
        ENV_LEDGER, EffectAttempt, EffectSlot, EffectViolation, EffectsError, EffectsLedger,
        EffectsReport, current_slot, idempotent, verify_effects,
    )
    from .faults import (
        Baseline, CancelWorkflow, ExecutionSummary, ExplorationReport, FailActivity, Fault,
        FaultPlan, FaultRunOptions, FaultRunResult, InvariantVerdict, KillServer, KillWorker, Point,
        PrefixResult, ScenarioSteps, SignalWorkflow, TimeoutActivity, baseline_of,
        explore_every_step, explore_every_step_async, explore_examples, explore_examples_async,
        learn_steps,
        parse_fault, parse_point, replay_prefixes, run_fault_plan, run_fault_plan_async,
    )
    from .sagas import (
        ENV_WORLD, PHASES, Leftover, RollbackError, RollbackReport, RollbackRun, SagaError,
        SagaFileResult, SagaReport, SagaRunReport, SagaSpec, SagaStep, SagaViolation,
        StepOutcome, load_saga_spec, prove_rollback, prove_rollback_async, verify_saga,
        verify_saga_files,
    )
