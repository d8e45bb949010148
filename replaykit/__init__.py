"""replaykit: record, replay-check, version and fault-inject Temporal workflows.

One subpackage per job; each package's ``__init__`` is its contract, and this module hoists
every public name of every job:

- :mod:`replaykit.config` - ``[tool.replaykit]`` and the one settings resolver.
- :mod:`replaykit.history` - history files and the event model.
- :mod:`replaykit.servers` - the embedded, time-skipping and external Temporal servers.
- :mod:`replaykit.integrations` - Temporal plugins and the AI-framework integrations.
- :mod:`replaykit.record` - scenarios, ``record``, ``pull``, the LLM endpoint and cassettes.
- :mod:`replaykit.check` - the check engine, strict comparison, explanations and reports.
- :mod:`replaykit.shadow` - ``shadow``: a cluster's executions checked against the current code.
- :mod:`replaykit.views` - ``show`` and ``diff``.
- :mod:`replaykit.debug` - ``replay``: stepping through a recorded execution.
- :mod:`replaykit.patches` - the ``workflow.patched()`` lifecycle.
- :mod:`replaykit.lint` - static determinism checks.
- :mod:`replaykit.faults` (with :mod:`replaykit.strategies`) - fault injection.
- :mod:`replaykit.sagas` and :mod:`replaykit.effects` - compensation and idempotency.
- :mod:`replaykit.cli` - the command line; ``replaykit._internal`` - shared plumbing.

Names are resolved lazily (on first attribute access), so ``import replaykit`` - which the
pytest plugin does at start-up - does not import temporalio until something is actually used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._internal._errors": (
        "ConfigError",
        "HistoryError",
        "ReplaykitError",
        "ScenarioError",
        "ServerError",
    ),
    # Each public subpackage is hoisted whole, from the subpackage (a test keeps these
    # lists equal to the subpackages' __all__).
    ".config": (
        "ProjectConfig",
        "find_pyproject",
        "load_project_config",
    ),
    ".history": (
        "HistoryFile",
        "HistoryMeta",
        "HistoryView",
        "META_KEY",
        "find_history_files",
        "history_from_json",
        "load_history",
        "view_of",
        "write_history",
    ),
    ".servers": (
        "RunningServer",
        "ServerKind",
        "ServerSpec",
        "find_server_binary",
        "parse_server",
        "start_server",
        "start_server_async",
    ),
    ".integrations": ("load_plugins",),
    ".record": (
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
    ),
    ".check": (
        "CheckOptions",
        "CheckReport",
        "Divergence",
        "HistoryResult",
        "check_histories",
        "collect_workflows",
        "replay_one",
        "suggest_patch_id",
    ),
    ".shadow": (
        "ContinuousOptions",
        "ContinuousReport",
        "HistoryStore",
        "OnTemporalOptions",
        "ShadowInterval",
        "ShadowOptions",
        "ShadowProgress",
        "ShadowReport",
        "StoredRun",
        "in_sample",
        "run_shadow_on_temporal",
        "serve_shadow_worker",
        "shadow_cluster",
        "shadow_cluster_async",
        "shadow_continuous",
        "shadow_continuous_async",
        "shadow_export",
        "shadow_folder",
        "shadow_status",
    ),
    ".views": (
        "HistoryDiff",
        "ShowReport",
        "StepDifference",
        "diff_histories",
        "diff_history_files",
        "render_html",
        "show_history",
    ),
    ".debug": (
        "BreakPoint",
        "ReplayOutcome",
        "Stop",
        "parse_break_point",
        "replay_history",
    ),
    ".patches": (
        "PatchReport",
        "PatchRow",
        "PatchSite",
        "PrePatchReport",
        "analyze_patches",
        "generate_pre_patch_histories",
        "generate_pre_patch_histories_async",
        "scan_patch_sites",
    ),
    ".lint": (
        "RULES",
        "Finding",
        "LintError",
        "LintReport",
        "lint_paths",
    ),
    ".faults": (
        "Baseline",
        "CancelWorkflow",
        "ExecutionSummary",
        "ExplorationReport",
        "FailActivity",
        "Fault",
        "FaultPlan",
        "FaultRunOptions",
        "FaultRunResult",
        "InvariantVerdict",
        "KillServer",
        "KillWorker",
        "Point",
        "PrefixResult",
        "ScenarioSteps",
        "SignalWorkflow",
        "TimeoutActivity",
        "baseline_of",
        "explore_every_step",
        "explore_every_step_async",
        "explore_examples",
        "explore_examples_async",
        "learn_steps",
        "parse_fault",
        "parse_point",
        "replay_prefixes",
        "run_fault_plan",
        "run_fault_plan_async",
    ),
    ".sagas": (
        "ENV_WORLD",
        "PHASES",
        "Leftover",
        "RollbackError",
        "RollbackReport",
        "RollbackRun",
        "SagaError",
        "SagaFileResult",
        "SagaReport",
        "SagaRunReport",
        "SagaSpec",
        "SagaStep",
        "SagaViolation",
        "StepOutcome",
        "load_saga_spec",
        "prove_rollback",
        "prove_rollback_async",
        "verify_saga",
        "verify_saga_files",
    ),
    ".effects": (
        "ENV_LEDGER",
        "EffectAttempt",
        "EffectSlot",
        "EffectViolation",
        "EffectsError",
        "EffectsLedger",
        "EffectsReport",
        "current_slot",
        "idempotent",
        "verify_effects",
    ),
}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from replaykit._internal._errors import (
        ConfigError,
        HistoryError,
        ReplaykitError,
        ScenarioError,
        ServerError,
    )
    from replaykit.config import (
        ProjectConfig,
        find_pyproject,
        load_project_config,
    )
    from replaykit.history import (
        HistoryFile,
        HistoryMeta,
        HistoryView,
        META_KEY,
        find_history_files,
        history_from_json,
        load_history,
        view_of,
        write_history,
    )
    from replaykit.servers import (
        RunningServer,
        ServerKind,
        ServerSpec,
        find_server_binary,
        parse_server,
        start_server,
        start_server_async,
    )
    from replaykit.integrations import (
        load_plugins,
    )
    from replaykit.record import (
        CASSETTE_DIR_ENV,
        ChatReply,
        ChatRequest,
        ExecutionRef,
        PullItem,
        PullReport,
        RecordReport,
        Rule,
        Scenario,
        ScenarioOutcome,
        ScenarioRun,
        ScriptedEndpoint,
        ToolCallReply,
        cassette,
        cassette_path,
        collect_executions,
        collect_executions_async,
        is_cassette_miss,
        json_body_matcher,
        load_scenarios,
        pull_histories,
        pull_histories_async,
        record_scenarios,
        record_scenarios_async,
        reply_error,
        reply_text,
        reply_tool_calls,
        run_scenario,
        run_scenario_async,
        scenario,
        scripted_openai,
    )
    from replaykit.check import (
        CheckOptions,
        CheckReport,
        Divergence,
        HistoryResult,
        check_histories,
        collect_workflows,
        replay_one,
        suggest_patch_id,
    )
    from replaykit.shadow import (
        ContinuousOptions,
        ContinuousReport,
        HistoryStore,
        OnTemporalOptions,
        ShadowInterval,
        ShadowOptions,
        ShadowProgress,
        ShadowReport,
        StoredRun,
        in_sample,
        run_shadow_on_temporal,
        serve_shadow_worker,
        shadow_cluster,
        shadow_cluster_async,
        shadow_continuous,
        shadow_continuous_async,
        shadow_export,
        shadow_folder,
        shadow_status,
    )
    from replaykit.views import (
        HistoryDiff,
        ShowReport,
        StepDifference,
        diff_histories,
        diff_history_files,
        render_html,
        show_history,
    )
    from replaykit.debug import (
        BreakPoint,
        ReplayOutcome,
        Stop,
        parse_break_point,
        replay_history,
    )
    from replaykit.patches import (
        PatchReport,
        PatchRow,
        PatchSite,
        PrePatchReport,
        analyze_patches,
        generate_pre_patch_histories,
        generate_pre_patch_histories_async,
        scan_patch_sites,
    )
    from replaykit.lint import (
        RULES,
        Finding,
        LintError,
        LintReport,
        lint_paths,
    )
    from replaykit.faults import (
        Baseline,
        CancelWorkflow,
        ExecutionSummary,
        ExplorationReport,
        FailActivity,
        Fault,
        FaultPlan,
        FaultRunOptions,
        FaultRunResult,
        InvariantVerdict,
        KillServer,
        KillWorker,
        Point,
        PrefixResult,
        ScenarioSteps,
        SignalWorkflow,
        TimeoutActivity,
        baseline_of,
        explore_every_step,
        explore_every_step_async,
        explore_examples,
        explore_examples_async,
        learn_steps,
        parse_fault,
        parse_point,
        replay_prefixes,
        run_fault_plan,
        run_fault_plan_async,
    )
    from replaykit.sagas import (
        ENV_WORLD,
        PHASES,
        Leftover,
        RollbackError,
        RollbackReport,
        RollbackRun,
        SagaError,
        SagaFileResult,
        SagaReport,
        SagaRunReport,
        SagaSpec,
        SagaStep,
        SagaViolation,
        StepOutcome,
        load_saga_spec,
        prove_rollback,
        prove_rollback_async,
        verify_saga,
        verify_saga_files,
    )
    from replaykit.effects import (
        ENV_LEDGER,
        EffectAttempt,
        EffectSlot,
        EffectViolation,
        EffectsError,
        EffectsLedger,
        EffectsReport,
        current_slot,
        idempotent,
        verify_effects,
    )
