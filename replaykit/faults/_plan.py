"""Fault plans: what to inject into a scenario run, and where.

A plan is a tuple of faults. Crash-like faults (kill the worker, kill the server, cancel the
workflow, send a signal) fire once at a :class:`Point`; activity faults (fail, time out) apply to
a range of attempts of one activity. Everything is a frozen dataclass with a JSON form, so a plan
printed in a report can be passed back verbatim with ``--plan``.

Point syntax on the command line::

    wft:K                   after workflow task K (1-based, per execution) reached the server
    start:ACTIVITY[@N]      when attempt N (default 1) of ACTIVITY starts
    returned:ACTIVITY[@N]   after ACTIVITY's function returned, before the server heard of it
    timer:K                 while the K-th timer an execution started is pending

An activity point may name an activity id (``start:charge#3``) to pick one of several
activities of the same type; any point may be scoped to a workflow type with a ``Type/``
prefix (``ResearchAgentWorkflow/wft:2``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from replaykit._internal._errors import ConfigError

__all__ = [
    "CancelWorkflow",
    "FailActivity",
    "Fault",
    "FaultPlan",
    "KillServer",
    "KillWorker",
    "Point",
    "PointKind",
    "SignalWorkflow",
    "TimeoutActivity",
    "parse_fault",
    "parse_point",
]

PointKind = Literal["workflow-task", "activity-start", "activity-returned", "timer"]

_KIND_TEXT: dict[str, str] = {
    "workflow-task": "wft",
    "activity-start": "start",
    "activity-returned": "returned",
    "timer": "timer",
}
_TEXT_KIND = {v: k for k, v in _KIND_TEXT.items()}
_POINT_RE = re.compile(
    r"^(?:(?P<scope>[A-Za-z_][\w.]*)/)?(?P<kind>[a-z-]+):(?P<body>[^@#]+)"
    r"(?:@(?P<attempt>\d+))?(?:#(?P<aid>[^@#]+))?$"
)


@dataclass(frozen=True)
class Point:
    """A moment of a run, observed inside the worker process.

    Attributes:
        kind: ``workflow-task`` (after the ``index``-th workflow task of an execution was
            accepted by the server), ``activity-start`` (attempt ``attempt`` of ``activity``
            starts), ``activity-returned`` (the activity function returned; its result has not
            reached the server) or ``timer`` (the ``index``-th timer is pending on the server).
        index: Workflow task or timer number, 1-based, per execution.
        activity: Activity type, for activity points.
        attempt: Activity attempt, for activity points.
        activity_id: Restrict to one activity id (several activities of one type).
        workflow_type: Restrict to executions of this workflow type.
        workflow_id: Restrict to this workflow id (without the concurrency suffix); ``*``
            matches any text (points learned from executions whose ids hold a random part,
            which another run does not repeat: see :func:`id_pattern`).
    """

    kind: PointKind
    index: int = 1
    activity: str | None = None
    attempt: int = 1
    activity_id: str | None = None
    workflow_type: str | None = None
    workflow_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KIND_TEXT:
            raise ConfigError(f"unknown point kind {self.kind!r}")
        if self.kind.startswith("activity") and not self.activity:
            raise ConfigError(f"a {self.kind} point needs an activity type")
        if self.index < 1 or self.attempt < 1:
            raise ConfigError("point index and attempt are 1-based")

    def to_text(self) -> str:
        """The command-line form (``start:charge@1``)."""
        scope = f"{self.workflow_type}/" if self.workflow_type else ""
        short = _KIND_TEXT[self.kind]
        if self.kind.startswith("activity"):
            text = f"{scope}{short}:{self.activity}@{self.attempt}"
            return text + (f"#{self.activity_id}" if self.activity_id else "")
        return f"{scope}{short}:{self.index}"

    def describe(self) -> str:
        """A readable phrase: ``after activity `charge` attempt 1 returned``."""
        where = f" of {self.workflow_type}" if self.workflow_type else ""
        if self.workflow_id:
            where += f" ({self.workflow_id})"
        if self.kind == "workflow-task":
            return f"after workflow task {self.index}{where} completed"
        if self.kind == "timer":
            return f"while timer {self.index}{where} is pending"
        act = f"activity `{self.activity}`" + (f" #{self.activity_id}" if self.activity_id else "")
        if self.kind == "activity-start":
            return f"when {act} attempt {self.attempt} started{where}"
        return (
            f"after {act} attempt {self.attempt} returned{where} "
            "(side effect done, result not yet reported)"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (defaults left out)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("workflow-task", "timer"):
            out["index"] = self.index
        else:
            out["activity"] = self.activity
            out["attempt"] = self.attempt
            if self.activity_id:
                out["activity_id"] = self.activity_id
        if self.workflow_type:
            out["workflow_type"] = self.workflow_type
        if self.workflow_id:
            out["workflow_id"] = self.workflow_id
        return out

    @classmethod
    def from_json(cls, raw: Any) -> Point:
        """Parse the JSON form (a dict) or the text form (a string)."""
        if isinstance(raw, str):
            return parse_point(raw)
        if not isinstance(raw, dict):
            raise ConfigError(f"a point must be an object or a string, not {raw!r}")
        allowed = {
            "kind",
            "index",
            "activity",
            "attempt",
            "activity_id",
            "workflow_type",
            "workflow_id",
        }
        unknown = set(raw) - allowed
        if unknown:
            raise ConfigError(f"unknown point field(s): {', '.join(sorted(unknown))}")
        try:
            return cls(**raw)
        except TypeError as err:
            raise ConfigError(f"bad point {raw!r}: {err}") from None


def parse_point(text: str) -> Point:
    """Parse ``wft:3``, ``start:charge@2``, ``returned:charge#5``, ``Wf/timer:1``.

    Raises:
        ConfigError: Not a valid point.
    """
    match = _POINT_RE.match(text.strip())
    if not match:
        raise ConfigError(
            f"invalid point {text!r}: expected wft:K, start:ACTIVITY[@N], "
            "returned:ACTIVITY[@N] or timer:K"
        )
    kind = _TEXT_KIND.get(match["kind"]) or (match["kind"] if match["kind"] in _KIND_TEXT else None)
    if kind is None:
        raise ConfigError(f"invalid point {text!r}: unknown kind {match['kind']!r}")
    body = match["body"]
    scope = match["scope"]
    if kind in ("workflow-task", "timer"):
        if not body.isdigit() or match["attempt"] or match["aid"]:
            raise ConfigError(f"invalid point {text!r}: {match['kind']}: takes a number")
        return Point(kind, index=int(body), workflow_type=scope)  # type: ignore[arg-type]
    return Point(
        kind,  # type: ignore[arg-type]
        activity=body,
        attempt=int(match["attempt"] or 1),
        activity_id=match["aid"],
        workflow_type=scope,
    )


@dataclass(frozen=True)
class KillWorker:
    """SIGKILL the worker process at a point; a standby worker takes over."""

    at: Point
    action: Literal["kill-worker"] = "kill-worker"

    def describe(self) -> str:
        """Readable."""
        return f"kill the worker (SIGKILL) {self.at.describe()}"


@dataclass(frozen=True)
class KillServer:
    """SIGKILL the embedded server at a point and restart it on the same port and store."""

    at: Point
    action: Literal["kill-server"] = "kill-server"

    def describe(self) -> str:
        """Readable."""
        return f"kill the server (SIGKILL) and restart it {self.at.describe()}"


@dataclass(frozen=True)
class CancelWorkflow:
    """Cancel the execution the point belongs to."""

    at: Point
    action: Literal["cancel"] = "cancel"

    def describe(self) -> str:
        """Readable."""
        return f"cancel the workflow {self.at.describe()}"


@dataclass(frozen=True)
class SignalWorkflow:
    """Send a signal to the execution the point belongs to."""

    at: Point
    signal: str
    args: tuple[Any, ...] = ()
    action: Literal["signal"] = "signal"

    def describe(self) -> str:
        """Readable."""
        args = ", ".join(json.dumps(a) for a in self.args)
        return f"send signal {self.signal}({args}) {self.at.describe()}"


@dataclass(frozen=True)
class FailActivity:
    """Raise an ``ApplicationError`` from attempts ``first``..``last`` of an activity.

    Attributes:
        activity: Activity type.
        first: First failing attempt.
        last: Last failing attempt; ``None`` means every later attempt too.
        error_type: The ``ApplicationError`` type (match it against the retry policy's
            ``non_retryable_error_types``).
        non_retryable: Raise with ``non_retryable=True``.
        activity_id: Restrict to one activity id.
    """

    activity: str
    first: int = 1
    last: int | None = 1
    error_type: str = "InjectedFailure"
    non_retryable: bool = False
    activity_id: str | None = None
    action: Literal["fail-activity"] = "fail-activity"

    def __post_init__(self) -> None:
        if self.first < 1 or (self.last is not None and self.last < self.first):
            raise ConfigError(f"bad attempt range {self.first}..{self.last}")

    def covers(self, attempt: int) -> bool:
        """Whether this attempt fails."""
        return attempt >= self.first and (self.last is None or attempt <= self.last)

    def describe(self) -> str:
        """Readable."""
        span = _span(self.first, self.last)
        kind = "non-retryable " if self.non_retryable else ""
        return f"fail activity `{self.activity}` {span} with {kind}{self.error_type}"


@dataclass(frozen=True)
class TimeoutActivity:
    """Make attempts ``first``..``last`` of an activity exceed a timeout (they stall).

    Attributes:
        activity: Activity type.
        timeout: ``start-to-close`` or ``heartbeat`` (the activity must have one).
    """

    activity: str
    first: int = 1
    last: int | None = 1
    timeout: Literal["start-to-close", "heartbeat"] = "start-to-close"
    activity_id: str | None = None
    action: Literal["timeout-activity"] = "timeout-activity"

    def __post_init__(self) -> None:
        if self.timeout not in ("start-to-close", "heartbeat"):
            raise ConfigError(f"unknown timeout {self.timeout!r}")
        if self.first < 1 or (self.last is not None and self.last < self.first):
            raise ConfigError(f"bad attempt range {self.first}..{self.last}")

    def covers(self, attempt: int) -> bool:
        """Whether this attempt stalls."""
        return attempt >= self.first and (self.last is None or attempt <= self.last)

    def describe(self) -> str:
        """Readable."""
        return (
            f"make activity `{self.activity}` {_span(self.first, self.last)} exceed its "
            f"{self.timeout} timeout"
        )


def _span(first: int, last: int | None) -> str:
    if last == first:
        return f"attempt {first}"
    if last is None:
        return f"attempts {first}+"
    return f"attempts {first}-{last}"


Fault = KillWorker | KillServer | CancelWorkflow | SignalWorkflow | FailActivity | TimeoutActivity
"""One fault of a plan."""

_POINT_FAULTS = (KillWorker, KillServer, CancelWorkflow, SignalWorkflow)


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """JSON form of one fault."""
    out: dict[str, Any] = {"action": fault.action}
    if isinstance(fault, _POINT_FAULTS):
        out["at"] = fault.at.to_json()
        if isinstance(fault, SignalWorkflow):
            out["signal"] = fault.signal
            if fault.args:
                out["args"] = list(fault.args)
        return out
    out["activity"] = fault.activity
    out["first"] = fault.first
    out["last"] = fault.last
    if fault.activity_id:
        out["activity_id"] = fault.activity_id
    if isinstance(fault, FailActivity):
        out["error_type"] = fault.error_type
        if fault.non_retryable:
            out["non_retryable"] = True
    else:
        out["timeout"] = fault.timeout
    return out


def fault_from_json(raw: Any) -> Fault:
    """Parse one fault's JSON form.

    Raises:
        ConfigError: Malformed.
    """
    if not isinstance(raw, dict) or "action" not in raw:
        raise ConfigError(f"a fault must be an object with an 'action', not {raw!r}")
    data = dict(raw)
    action = data.pop("action")
    try:
        if action in ("kill-worker", "kill-server", "cancel"):
            cls = {"kill-worker": KillWorker, "kill-server": KillServer, "cancel": CancelWorkflow}
            at = Point.from_json(data.pop("at", None))
            if data:
                raise ConfigError(f"unknown field(s) for {action}: {', '.join(sorted(data))}")
            return cls[action](at)  # type: ignore[no-any-return]
        if action == "signal":
            at = Point.from_json(data.pop("at", None))
            name = data.pop("signal", None)
            if not isinstance(name, str) or not name:
                raise ConfigError("a signal fault needs a 'signal' name")
            args = tuple(data.pop("args", ()))
            if data:
                raise ConfigError(f"unknown field(s) for signal: {', '.join(sorted(data))}")
            return SignalWorkflow(at, name, args)
        if action == "fail-activity":
            return FailActivity(**data)
        if action == "timeout-activity":
            return TimeoutActivity(**data)
    except TypeError as err:
        raise ConfigError(f"bad {action} fault {raw!r}: {err}") from None
    raise ConfigError(f"unknown fault action {action!r}")


@dataclass(frozen=True)
class FaultPlan:
    """The faults to inject into one scenario run (empty: a fault-free baseline run)."""

    faults: tuple[Fault, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{"faults": [...]}``."""
        return {"faults": [fault_to_json(f) for f in self.faults]}

    def dumps(self) -> str:
        """Compact JSON text (what ``--plan`` takes)."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: Any) -> FaultPlan:
        """Parse the JSON form (an object with ``faults``, or a bare list of faults)."""
        if isinstance(raw, dict):
            if set(raw) - {"faults"}:
                raise ConfigError("a plan object has only a 'faults' key")
            raw = raw.get("faults", [])
        if not isinstance(raw, list):
            raise ConfigError('a plan is a list of faults or {"faults": [...]}')
        return cls(tuple(fault_from_json(f) for f in raw))

    @classmethod
    def loads(cls, text: str) -> FaultPlan:
        """Parse JSON text.

        Raises:
            ConfigError: Not JSON, or not a plan.
        """
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--plan is not JSON: {err}") from None
        return cls.from_json(raw)

    def describe(self) -> str:
        """One line per fault, or ``no faults (baseline)``."""
        if not self.faults:
            return "no faults (baseline)"
        return "; ".join(f.describe() for f in self.faults)

    @property
    def kills_server(self) -> bool:
        """Whether a fault kills the server (needs a persistent embedded server)."""
        return any(isinstance(f, KillServer) for f in self.faults)

    def __add__(self, other: FaultPlan) -> FaultPlan:
        return FaultPlan(self.faults + other.faults)


def parse_fault(option: str, value: str) -> Fault:
    """Build a fault from a CLI option and its value.

    ``--kill-worker POINT``, ``--kill-server POINT``, ``--cancel POINT``,
    ``--signal POINT=NAME[:JSON_ARG]``, ``--fail ACTIVITY[@N[-M|+]][:ErrorType][!]``
    (``!`` = non-retryable), ``--timeout ACTIVITY[@N[-M|+]][:start-to-close|heartbeat]``.

    Raises:
        ConfigError: Malformed value.
    """
    if option == "kill-worker":
        return KillWorker(parse_point(value))
    if option == "kill-server":
        return KillServer(parse_point(value))
    if option == "cancel":
        return CancelWorkflow(parse_point(value))
    if option == "signal":
        point, sep, rest = value.partition("=")
        if not sep or not rest:
            raise ConfigError(f"--signal {value!r}: expected POINT=NAME[:JSON_ARG]")
        name, sep, arg = rest.partition(":")
        args: tuple[Any, ...] = ()
        if sep:
            try:
                args = (json.loads(arg),)
            except json.JSONDecodeError as err:
                raise ConfigError(f"--signal {value!r}: argument is not JSON: {err}") from None
        return SignalWorkflow(parse_point(point), name, args)
    if option in ("fail", "timeout"):
        head, _, tail = value.partition(":")
        match = re.match(
            r"^(?P<act>[^@]+)(?:@(?P<first>\d+)(?:(?P<plus>\+)|-(?P<last>\d+))?)?$", head
        )
        if not match:
            raise ConfigError(f"--{option} {value!r}: expected ACTIVITY[@N[-M|+]][:...]")
        first = int(match["first"] or 1)
        last: int | None = first
        if match["plus"]:
            last = None
        elif match["last"]:
            last = int(match["last"])
        if option == "fail":
            non_retryable = tail.endswith("!")
            error_type = tail.rstrip("!") or "InjectedFailure"
            return FailActivity(match["act"], first, last, error_type, non_retryable)
        timeout = tail or "start-to-close"
        if timeout not in ("start-to-close", "heartbeat"):
            raise ConfigError(f"--timeout {value!r}: timeout is start-to-close or heartbeat")
        return TimeoutActivity(match["act"], first, last, timeout)  # type: ignore[arg-type]
    raise ConfigError(f"unknown fault option {option!r}")


_INSTANCE_RE = re.compile(r"~\d+")


def instance_id(workflow_id: str, instance: int) -> str:
    """The workflow id of concurrent instance ``instance`` (0 keeps the id unchanged)."""
    return workflow_id if instance == 0 else f"{workflow_id}~{instance}"


def base_workflow_id(workflow_id: str) -> str:
    """A workflow id without its concurrency suffix."""
    return _INSTANCE_RE.sub("", workflow_id)


#: The random part of a workflow id: a uuid (with or without dashes) or a hex run of 12+.
_RANDOM_PART = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{12,}"
)


def id_pattern(workflow_id: str) -> str:
    """``workflow_id`` (without its concurrency suffix) with its random parts as ``*``:
    ``plan-3f2a…-executor-1`` -> ``plan-*-executor-1``, the same in every run."""
    return _RANDOM_PART.sub("*", base_workflow_id(workflow_id))


def workflow_id_matches(pattern: str, workflow_id: str) -> bool:
    """Whether ``workflow_id`` (concurrency suffix ignored) is what a point's ``workflow_id``
    names: equal, or matching it where it has ``*``."""
    base = base_workflow_id(workflow_id)
    if "*" not in pattern:
        return pattern == base
    parts = [re.escape(p) for p in pattern.split("*")]
    return re.fullmatch(".*".join(parts), base, flags=re.DOTALL) is not None
