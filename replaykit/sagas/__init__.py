"""Sagas and rollback, public face of :mod:`replaykit.sagas._verify` and :mod:`replaykit.sagas._rollback`.

:func:`verify_saga` checks one history's compensations against a :class:`SagaSpec`
(:func:`verify_saga_files` every history file of folders, returning a
:class:`SagaRunReport`); :func:`prove_rollback` fails every forward step on a real server
and compares the world before and after each run. Each takes the saga as ``spec=``; the
fault-run options prove-rollback shares with the fault runs are
:class:`replaykit.faults.FaultRunOptions` (``options=``).
"""

from replaykit.sagas._rollback import (
    ENV_WORLD,
    PHASES,
    Leftover,
    RollbackError,
    RollbackReport,
    RollbackRun,
    prove_rollback,
    prove_rollback_async,
)
from replaykit.sagas._verify import (
    SagaError,
    SagaFileResult,
    SagaReport,
    SagaRunReport,
    SagaSpec,
    SagaStep,
    SagaViolation,
    StepOutcome,
    load_saga_spec,
    verify_saga,
    verify_saga_files,
)

__all__ = [
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
]
