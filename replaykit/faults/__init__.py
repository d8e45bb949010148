"""Fault injection, public face of :mod:`replaykit.faults`.

A :class:`FaultPlan` lists faults (:class:`KillWorker`, :class:`KillServer`,
:class:`FailActivity`, :class:`TimeoutActivity`, :class:`CancelWorkflow`,
:class:`SignalWorkflow`) at crash :class:`Point` s; :func:`run_fault_plan` runs a scenario
under one plan on a real server and verifies the invariants, :func:`explore_every_step` kills
at every step, :func:`explore_examples` draws random plans and shrinks a failing one
(:mod:`replaykit.strategies` has the Hypothesis strategies). :class:`FaultRunOptions` holds
the options they (and :func:`replaykit.sagas.prove_rollback`) share, passed as ``options=``.
``replaykit faults`` is the command line.
"""

from replaykit.faults._explore import (
    ExplorationReport,
    PrefixResult,
    explore_every_step,
    explore_every_step_async,
    explore_examples,
    explore_examples_async,
    replay_prefixes,
)
from replaykit.faults._invariants import Baseline, ExecutionSummary, InvariantVerdict
from replaykit.faults._options import FaultRunOptions
from replaykit.faults._plan import (
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
from replaykit.faults._runner import (
    FaultRunResult,
    baseline_of,
    run_fault_plan,
    run_fault_plan_async,
)
from replaykit.faults._steps import ScenarioSteps, learn_steps

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
    "explore_every_step_async",
    "explore_examples",
    "explore_examples_async",
    "learn_steps",
    "parse_fault",
    "parse_point",
    "replay_prefixes",
    "run_fault_plan",
    "run_fault_plan_async",
]
