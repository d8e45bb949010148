"""The result model of a check: divergences, per-history results, the whole report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from replaykit.history._versioning import VersioningView

    from ._budget import BudgetReport
    from ._verdicts import ReplayDeps

__all__ = ["CheckReport", "Divergence", "HistoryResult", "Kind", "Status", "format_output"]

Kind = Literal["nondeterminism", "drift", "option-change"]
Status = Literal["clean", "divergent", "error", "pinned"]


@dataclass(frozen=True)
class Divergence:
    """One difference between what a history recorded and what the current code does.

    Attributes:
        kind: ``nondeterminism`` (production replay would fail), ``drift`` (replays, but the
            code now does something else) or ``option-change`` (replay-safe option changes).
        cause: A short machine-readable cause, e.g. ``activity-input``, ``timer-duration``,
            ``command-kind``, ``extra-command``, ``missing-command``, ``workflow-raised``.
        message: One readable sentence.
        event_id: The recorded event concerned (None when the code issued something new).
        event_type: That event's type, e.g. ``ActivityTaskScheduled``.
        subject: What it concerns: ``activity search_web``, ``timer``, ``child Executor``.
        field: The field that differs (``input``, ``start_to_close_timeout``, ...).
        recorded: The recorded value (decoded), when there is one.
        current: The value the code produced now (decoded), when there is one.
        diff: A readable value diff.
        source: ``file:line`` of the code that issued the command now.
        hint: What to do about it.
        agent: For a model call of an AI-framework integration: the agent (or graph node)
            whose call changed, when the input or the activity says it.
        integration: That integration (``OpenAI Agents``, ``LangGraph``, ``Pydantic AI``).
        items: Per-item changes of a by-name aspect (tools, handoffs): dicts with ``name``,
            ``change`` (``added``, ``removed``, ``schema changed``, ...), ``recorded`` and
            ``current``.
    """

    kind: Kind
    cause: str
    message: str
    event_id: int | None = None
    event_type: str | None = None
    subject: str | None = None
    field: str | None = None
    recorded: Any = None
    current: Any = None
    diff: str | None = None
    source: str | None = None
    hint: str | None = None
    agent: str | None = None
    integration: str | None = None
    items: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Divergence:
        """The divergence :meth:`to_json` gave (values as JSON holds them)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["items"] = tuple(values.get("items") or ())
        return cls(**values)

    def describe(self) -> str:
        """Multi-line human explanation (used by text reports and pytest failures)."""
        head = f"[{self.kind}] {self.message}"
        lines = [head]
        if self.event_id is not None:
            lines.append(f"  at event {self.event_id} ({self.event_type})")
        if self.source:
            lines.append(f"  code: {self.source}")
        if self.diff:
            lines.append("  diff:")
            lines.extend("    " + ln for ln in self.diff.splitlines())
        elif self.recorded is not None or self.current is not None:
            lines.append(f"  recorded: {_short(self.recorded)}")
            lines.append(f"  now:      {_short(self.current)}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


#: Lines (the last ones) and characters per line of captured output shown under a failure.
OUTPUT_LINES = 20
OUTPUT_WIDTH = 200


def format_output(
    output: str, *, indent: str = "", what: str = "printed by the workflow code during replay"
) -> str:
    """Captured output (by default, what the workflow code printed while it replayed): a
    heading, then its last :data:`OUTPUT_LINES` lines (each cut at :data:`OUTPUT_WIDTH`),
    indented."""
    lines = output.rstrip("\n").splitlines() or [""]
    head = f"{indent}output ({what}):"
    if len(lines) > OUTPUT_LINES:
        head += f" last {OUTPUT_LINES} of {len(lines)} lines"
        lines = lines[-OUTPUT_LINES:]
    shown = [ln if len(ln) <= OUTPUT_WIDTH else ln[: OUTPUT_WIDTH - 1] + "…" for ln in lines]
    return "\n".join([head, *(f"{indent}  | {ln}" for ln in shown)])


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


@dataclass(frozen=True)
class HistoryResult:
    """The verdict on one history file."""

    path: str | None
    workflow_id: str | None
    workflow_type: str | None
    status: Status
    divergences: tuple[Divergence, ...] = ()
    error: str | None = None
    events: int = 0
    seconds: float = 0.0
    stock_error: str | None = None
    allowed: tuple[Divergence, ...] = ()
    #: Worker Versioning recorded in the history (behaviour, deployment version, override).
    versioning: VersioningView | None = None
    #: Status ``pinned``: why the execution never runs the checked deployment version.
    pinned_reason: str | None = None
    #: History budget: events, bytes, largest payload, loop growth and projections.
    budget: BudgetReport | None = None
    #: Whether the history ends with a close event (``False``: the execution was running).
    closed: bool | None = None
    #: The verdict was reused from the verdict cache: nothing it depends on changed.
    reused: bool = False
    #: Why the history was replayed instead of reused (verdict cache on): which part of
    #: its key changed, or that no pass was stored.
    recheck_reason: str | None = None
    #: Why this pass was not stored in the verdict cache (a dependency not pinned down).
    not_stored: str | None = None
    #: What the workflow code (an integration's, a plugin's) printed to stdout and stderr
    #: while this history replayed; kept only for a history that fails (shown under it).
    output: str | None = None
    #: What the replay depended on (filled by the replaying process for the verdict cache).
    dependencies: ReplayDeps | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The file path, else the workflow id."""
        return self.path or self.workflow_id or "?"

    @property
    def first(self) -> Divergence | None:
        """The first (most important) divergence."""
        return self.divergences[0] if self.divergences else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "workflow_id": self.workflow_id,
            "workflow_type": self.workflow_type,
            "status": self.status,
            "events": self.events,
            "seconds": round(self.seconds, 4),
            "error": self.error,
            "stock_error": self.stock_error,
            "divergences": [d.to_json() for d in self.divergences],
            "allowed": [d.to_json() for d in self.allowed],
            "versioning": self.versioning.to_json() if self.versioning is not None else None,
            "pinned_reason": self.pinned_reason,
            "closed": self.closed,
            "budget": self.budget.to_json() if self.budget is not None else None,
            "reused": self.reused,
            "recheck_reason": self.recheck_reason,
            "not_stored": self.not_stored,
            "output": self.output,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryResult:
        """The result :meth:`to_json` gave (a shadow worker's verdict, read back by the CLI);
        keys left out are their defaults."""
        from replaykit.history._versioning import VersioningView

        from ._budget import BudgetReport

        versioning = data.get("versioning")
        budget = data.get("budget")
        return cls(
            path=data.get("path"),
            workflow_id=data.get("workflow_id"),
            workflow_type=data.get("workflow_type"),
            status=data["status"],
            divergences=tuple(Divergence.from_json(d) for d in data.get("divergences") or ()),
            error=data.get("error"),
            events=int(data.get("events") or 0),
            seconds=float(data.get("seconds") or 0.0),
            stock_error=data.get("stock_error"),
            allowed=tuple(Divergence.from_json(d) for d in data.get("allowed") or ()),
            versioning=VersioningView.from_json(versioning) if versioning else None,
            pinned_reason=data.get("pinned_reason"),
            budget=BudgetReport.from_json(budget) if budget else None,
            closed=data.get("closed"),
            reused=bool(data.get("reused")),
            recheck_reason=data.get("recheck_reason"),
            not_stored=data.get("not_stored"),
        )

    def describe(self) -> str:
        """The full explanation of this history's verdict (with what the workflow code
        printed while it replayed, when it fails: :attr:`output`)."""
        text = self._describe()
        if self.output and self.status in ("divergent", "error"):
            text += "\n" + format_output(self.output)
        return text

    def _describe(self) -> str:
        if self.status == "error":
            return f"{self.name}: {self.error}"
        if self.status == "pinned":
            return f"{self.name}: {self.pinned_reason}"
        if not self.divergences:
            return f"{self.name}: clean"
        parts = [f"{self.name} ({self.workflow_type}, workflow id {self.workflow_id}):"]
        parts.extend(d.describe() for d in self.divergences)
        return "\n".join(parts)


@dataclass(frozen=True)
class CheckReport:
    """All verdicts of one check run."""

    results: tuple[HistoryResult, ...]
    seconds: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> list[HistoryResult]:
        """Histories that replayed with nothing to report."""
        return [r for r in self.results if r.status == "clean"]

    @property
    def divergent(self) -> list[HistoryResult]:
        """Histories with at least one failing divergence."""
        return [r for r in self.results if r.status == "divergent"]

    @property
    def pinned(self) -> list[HistoryResult]:
        """Histories pinned to another deployment version (listed, not failing)."""
        return [r for r in self.results if r.status == "pinned"]

    @property
    def reused(self) -> list[HistoryResult]:
        """Histories whose pass was reused from the verdict cache (not replayed)."""
        return [r for r in self.results if r.reused]

    @property
    def errors(self) -> list[HistoryResult]:
        """Histories that could not be checked (bad input)."""
        return [r for r in self.results if r.status == "error"]

    @property
    def exit_code(self) -> int:
        """2 if any input error, else 1 if any divergence, else 0."""
        if self.errors:
            return 2
        if self.divergent:
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "summary": {
                "histories": len(self.results),
                "clean": len(self.clean),
                "divergent": len(self.divergent),
                "pinned": len(self.pinned),
                "errors": len(self.errors),
                "reused": len(self.reused),
                "seconds": round(self.seconds, 3),
                "exit_code": self.exit_code,
            },
            "options": self.options,
            "results": [r.to_json() for r in self.results],
        }


def classify(divergences: Sequence[Divergence], *, fail_on: frozenset[str]) -> bool:
    """Whether any divergence fails the check."""
    return any(d.kind in fail_on for d in divergences)
