"""Fault injection: kill real workers and servers, fail and time out activities, verify.

See :func:`run_fault_plan` (one plan), :func:`explore_every_step` (a kill at every step) and
:func:`explore_examples` (random plans, shrunk). ``replaykit faults`` is the command line.
"""

from ._explore import (
    ExplorationReport,
    PrefixResult,
    ScenarioSteps,
    explore_every_step,
    explore_examples,
    learn_steps,
    replay_prefixes,
)
from ._invariants import Baseline, ExecutionSummary, InvariantVerdict
from ._options import FaultRunOptions
from ._plan import (
    CancelWorkflow,
    FailActivity,
    Fault,
    FaultPlan,
    KillServer,
    KillWorker,
    Point,
    SignalWorkflow,
    TimeoutActivity,
    parse_fault,
    parse_point,
)
from ._report import format_result
from ._runner import FaultRunResult, baseline_of, run_fault_plan, run_fault_plan_async
from ._session import format_exploration

__all__ = [
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
    "explore_examples",
    "format_exploration",
    "format_result",
    "learn_steps",
    "parse_fault",
    "parse_point",
    "replay_prefixes",
    "run_fault_plan",
    "run_fault_plan_async",
]
