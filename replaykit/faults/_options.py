"""The run options every fault run shares, as one frozen, keyword-only object.

:func:`~replaykit.faults.run_fault_plan`, :func:`~replaykit.faults.explore_every_step`,
:func:`~replaykit.faults.explore_examples` and :func:`~replaykit.sagas.prove_rollback` (and
their async twins) take ``options=FaultRunOptions(...)``; each option is still accepted as a
keyword of its own. :meth:`FaultRunOptions.merge` is the one place both are folded into one
object, which the functions then pass down instead of listing every option again.

A function's option keywords default to markers of :data:`NOT_GIVEN` (``concurrency: int =
NOT_GIVEN.concurrency``): they read as the option's default in ``help()``, and tell
:meth:`~FaultRunOptions.merge` which keywords the caller actually gave.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from replaykit._internal._errors import ConfigError
from replaykit.servers import RunningServer, ServerSpec

from ._invariants import Baseline

__all__ = ["NOT_GIVEN", "FaultRunOptions", "resolve_options"]


@dataclass(frozen=True, kw_only=True)
class FaultRunOptions:
    """What every fault run shares: the server, the baseline, the workers and the checks.

    Pass it as ``options=`` to :func:`run_fault_plan`, :func:`explore_every_step`,
    :func:`explore_examples` or :func:`~replaykit.sagas.prove_rollback` (and their async
    twins). The same options given as keywords of those functions are merged into it (see
    :meth:`merge`). ``plugins`` and ``scenario_files`` are kept as tuples.
    """

    server: RunningServer | ServerSpec | str | None = None
    """A running server, or a spec to start one for this run (a :class:`ServerSpec` or
    ``"embedded"``/``"timeskip"``/``"HOST:PORT"``; default: embedded, with a temporary
    persistent store when the plan kills the server)."""

    baseline: Baseline | None = None
    """The fault-free run's :func:`baseline_of`, for the outcome and re-run checks.
    Explorations and prove-rollback run without one given (an exploration learns its own)."""

    concurrency: int = 1
    """Scenario instances run at once (workflow ids get ``~N`` suffixes)."""

    standby: bool = True
    """Keep a warm standby worker for fast failover."""

    workflow_task_timeout: float | None = 2.0
    """Seconds; applied to workflows the scenario starts without one."""

    check_replay: bool = True
    """Replay every history strictly afterwards."""

    scenario_files: tuple[str, ...] | None = None
    """Files named in the reproduce command (default: the scenario's file)."""

    worker_context: str | None = None
    """``MODULE:FUNC``; the workers call it with the scenario name and run inside the context
    manager it returns (e.g. an LLM cassette)."""

    data_converter: str | None = None
    """``module:attr`` of the DataConverter or PayloadCodec the scenario's client and the
    workers use (encrypted payloads); histories are decoded with it before the invariants
    read them."""

    plugins: tuple[str, ...] = ()
    """``module:attr`` references of Temporal plugins for the scenario's client, every worker
    process (standbys included) and the replay checks, after the scenario's own
    ``plugins=``."""

    def __post_init__(self) -> None:
        # Sequences given (lists) are kept as tuples: the object is frozen and hashable
        # all the way down, and equal options compare equal whatever sequence built them.
        seq: Sequence[str] = self.plugins
        object.__setattr__(self, "plugins", tuple(seq))
        files: Sequence[str] | None = self.scenario_files
        if files is not None:
            object.__setattr__(self, "scenario_files", tuple(files))

    def replace(self, **changes: Any) -> FaultRunOptions:
        """A copy with ``changes`` (option names as keywords).

        Raises:
            TypeError: A name that is not an option.
        """
        _check_names(changes, "FaultRunOptions.replace")
        return dataclasses.replace(self, **changes)

    @classmethod
    def merge(cls, options: FaultRunOptions | None, /, **keywords: Any) -> FaultRunOptions:
        """``options`` with the option keywords a function was given: the one place both meet.

        A keyword left at its :data:`NOT_GIVEN` marker was not given and changes nothing. A
        given keyword sets its option when ``options`` leaves that option at its default or
        has the same value; without ``options`` the keywords alone make the object.

        Raises:
            TypeError: A keyword that is not an option, or a given keyword whose value
                differs from the one ``options`` sets (named in the message).
        """
        _check_names(keywords, "FaultRunOptions.merge")
        given = {k: v for k, v in keywords.items() if not isinstance(v, _NotGiven)}
        if options is None:
            return cls(**given)
        if not given:
            return options
        asked = cls(**given)  # normalised like options' own values (tuples)
        changes: dict[str, Any] = {}
        for name in given:
            have, want = getattr(options, name), getattr(asked, name)
            if have != want and have != _DEFAULTS[name]:
                raise TypeError(
                    f"{name}={want!r} conflicts with options.{name}={have!r}: "
                    f"give {name} either as a keyword or in options, not both"
                )
            changes[name] = want
        return dataclasses.replace(options, **changes)


_FIELDS = tuple(f.name for f in dataclasses.fields(FaultRunOptions))
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(FaultRunOptions)}


def _check_names(keywords: Mapping[str, object], where: str) -> None:
    unknown = [k for k in keywords if k not in _FIELDS]
    if unknown:
        raise TypeError(
            f"{where}: {', '.join(map(repr, unknown))} "
            f"{'is not an option' if len(unknown) == 1 else 'are not options'} "
            f"(options: {', '.join(_FIELDS)})"
        )


class _NotGiven:
    """Default of one option keyword of a fault function: the caller did not give it.

    Its ``repr`` is the option's default, so signatures and ``help()`` show the real default.
    """

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: object) -> None:
        self.name = name
        self.default = default

    def __repr__(self) -> str:
        return repr(self.default)


class _NotGivenOptions:
    """``NOT_GIVEN.<option>``: the one marker of each option (same object every time)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> _NotGiven:
        try:
            return _MARKERS[name]
        except KeyError:
            raise AttributeError(f"FaultRunOptions has no option {name!r}") from None


_MARKERS = {name: _NotGiven(name, default) for name, default in _DEFAULTS.items()}

#: Typed as the options so ``concurrency: int = NOT_GIVEN.concurrency`` type-checks; each
#: attribute is that option's not-given marker.
NOT_GIVEN = cast(FaultRunOptions, _NotGivenOptions())


def resolve_options(
    options: FaultRunOptions | None,
    params: Mapping[str, Any],
    *,
    where: str = "",
    baseline_unused: str | None = None,
) -> FaultRunOptions:
    """:meth:`FaultRunOptions.merge` of the option keywords among a function's parameters.

    ``params`` is the calling function's ``locals()`` on entry: whichever options it takes as
    keywords are merged, so a keyword in its signature cannot be left out of the merge.
    ``baseline_unused`` is why the function ``where`` has no use for a baseline (explorations
    and prove-rollback compare with something else): one given is then refused.

    Raises:
        TypeError: See :meth:`FaultRunOptions.merge`.
        ConfigError: A baseline given to a function that has no use for it.
    """
    keywords = {k: v for k, v in params.items() if k in _FIELDS}
    opts = FaultRunOptions.merge(options, **keywords)
    loose = sorted(k for k, v in keywords.items() if not isinstance(v, _NotGiven))
    if loose:
        # One way to pass run options: options=FaultRunOptions(...). The keywords still work.
        named = ", ".join(f"{k}=..." for k in loose)
        warnings.warn(
            f"{where or 'this function'}({named}) is deprecated: pass "
            f"options=FaultRunOptions({named}) instead",
            DeprecationWarning,
            stacklevel=3,
        )
    if baseline_unused is not None and opts.baseline is not None:
        raise ConfigError(f"{where}: options.baseline is not used: {baseline_unused}")
    return opts
