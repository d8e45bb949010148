"""The ``replaykit_prove_rollback`` fixture: :func:`replaykit.prove_rollback` as an assertion.

Thin on purpose: it resolves the scenario and the saga, calls the library, and turns a report
with leftovers into an ``AssertionError`` whose message is the report. Nothing here imports
``temporalio`` until the fixture is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from replaykit.sagas._rollback import RollbackReport

__all__ = ["replaykit_prove_rollback"]


def prove_or_fail(
    scenario: Any,
    *,
    snapshot: Callable[[], Any] | str,
    spec: Any = None,
    steps: Sequence[Any] | None = None,
    name: str | None = None,
    **options: Any,
) -> RollbackReport:
    """Run prove-rollback; raise ``AssertionError`` (the report) unless the world came back.

    Args:
        scenario: A ``Scenario``, or a scenario file / module (then ``name`` picks one).
        snapshot: The world-snapshot function, or ``"module:function"``.
        spec: A ``SagaSpec`` or ``"module:NAME"`` (or pass ``steps``).
        steps: ``(forward, compensation)`` pairs.
        name: Scenario name when ``scenario`` is a file.
        **options: Passed to :func:`replaykit.prove_rollback` (``server``, ``only``,
            ``phases``, ``include_cancel``, ``ignore``...). The server defaults to a fresh
            embedded dev server for the call.
    """
    __tracebackhide__ = True
    from replaykit._internal._errors import ReplaykitError
    from replaykit.record._scenario import Scenario, load_scenarios
    from replaykit.sagas._rollback import load_snapshot, prove_rollback
    from replaykit.sagas._verify import load_saga_spec

    try:
        if not isinstance(scenario, Scenario):
            found = load_scenarios([str(scenario) if isinstance(scenario, Path) else scenario])
            matches = [s for s in found if name is None or s.name == name]
            if len(matches) != 1:
                names = ", ".join(s.name for s in found) or "none"
                raise AssertionError(
                    f"replaykit: pick one scenario of {scenario} with name= (found {names})"
                )
            scenario = matches[0]
        if isinstance(spec, str):
            spec = load_saga_spec(spec)
        if isinstance(snapshot, str):
            snapshot = load_snapshot(snapshot)
        report = prove_rollback(
            scenario,
            spec=spec if spec is not None else (steps or ()),
            snapshot=snapshot,
            raise_on_failure=False,
            **options,
        )
    except ReplaykitError as err:
        raise AssertionError(f"replaykit: {err}") from None
    if not report.ok:
        raise AssertionError(report.format())
    return report


@pytest.fixture
def replaykit_prove_rollback() -> Callable[..., RollbackReport]:
    """``replaykit_prove_rollback(scenario, spec=..., snapshot=..., **options)``.

    Fails every forward step of the saga on a real server (before and after its side effect,
    and by cancelling the workflow at it), compares the world snapshot after each run with the
    one before, and raises ``AssertionError`` listing every leftover or violation. Returns the
    ``RollbackReport``. A plain call: works in sync and async tests.
    """
    return prove_or_fail
