"""Result types and the rule registry of `replaykit lint`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One determinism rule.

    Attributes:
        id: Stable rule id, e.g. ``RK101``.
        name: Short kebab-case name, e.g. ``wall-clock``; accepted wherever an id is.
        summary: One-line description of the hazard.
        help: Why it breaks replay and what to use instead.
    """

    id: str
    name: str
    summary: str
    help: str


@dataclass(frozen=True)
class Finding:
    """A hazard found in workflow code.

    Attributes:
        rule: Rule id, e.g. ``RK101``.
        name: Rule name, e.g. ``wall-clock``.
        path: The file, as given on the command line (or found under a given folder).
        line: 1-based line.
        col: 1-based column of the offending expression.
        message: What was found and what to use instead.
    """

    rule: str
    name: str
    path: str
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class LintError:
    """A path that could not be checked (missing, unreadable, not valid Python).

    Attributes:
        path: The path as given.
        message: The reason, e.g. ``line 3: invalid syntax``.
    """

    path: str
    message: str


@dataclass(frozen=True)
class LintReport:
    """Everything one lint run found.

    Attributes:
        findings: Unsuppressed, selected findings, sorted by path, line, column and rule.
        errors: Paths that could not be checked.
        files_checked: How many Python files were parsed and analysed.
    """

    findings: tuple[Finding, ...]
    errors: tuple[LintError, ...]
    files_checked: int

    @property
    def ok(self) -> bool:
        """True when there is neither a finding nor an error."""
        return not self.findings and not self.errors

    @property
    def exit_code(self) -> int:
        """The CLI exit code: 2 on any error, else 1 on any finding, else 0."""
        if self.errors:
            return 2
        return 1 if self.findings else 0


RULES: tuple[Rule, ...] = (
    Rule(
        "RK101",
        "wall-clock",
        "Wall-clock or monotonic time read in workflow code",
        "The clock differs on replay, so any decision based on it can diverge. "
        "Use workflow.now(), workflow.time() or workflow.time_ns().",
    ),
    Rule(
        "RK102",
        "random",
        "Unseeded randomness in workflow code",
        "Random values differ on replay. Use workflow.random() (a deterministic random.Random "
        "seeded by the workflow), or generate the value in an activity.",
    ),
    Rule(
        "RK103",
        "uuid",
        "uuid1/uuid4 generated in workflow code",
        "A fresh UUID differs on replay. Use workflow.uuid4() (or workflow.uuid7()).",
    ),
    Rule(
        "RK104",
        "env-var",
        "Environment variable read or written in workflow code",
        "The environment of the replaying worker can differ from the recording one. Pass "
        "configuration as workflow input, or read it in an activity.",
    ),
    Rule(
        "RK105",
        "set-iteration",
        "Iteration over a set in workflow code",
        "Set order depends on hashing (randomised per process for str), so commands issued in "
        "set order can come out in a different order on replay. Iterate over sorted(...) or use "
        "a list or dict.",
    ),
    Rule(
        "RK201",
        "file-io",
        "File system access in workflow code",
        "File contents and existence are outside the history. Do file I/O in an activity.",
    ),
    Rule(
        "RK202",
        "subprocess",
        "Subprocess or shell command in workflow code",
        "A process run is a side effect outside the history. Run it in an activity.",
    ),
    Rule(
        "RK203",
        "network-io",
        "Raw network I/O (socket, urllib, http.client) in workflow code",
        "Network results are outside the history and repeat on every replay. Do it in an activity.",
    ),
    Rule(
        "RK204",
        "http-client",
        "HTTP or LLM client used in workflow code (requests, httpx, aiohttp, openai, anthropic)",
        "An LLM or HTTP call from workflow code re-runs on every replay and returns something "
        "new. Call the client from an activity and pass the result back.",
    ),
    Rule(
        "RK301",
        "threading",
        "Threads, processes or executors used in workflow code",
        "Workflow code runs on a deterministic single-threaded event loop; threads race and "
        "break replay. Use asyncio tasks in the workflow, or move the work to an activity.",
    ),
    Rule(
        "RK302",
        "blocking-sleep",
        "Blocking sleep (time.sleep) in workflow code",
        "time.sleep blocks the worker thread and is not a durable timer. Use "
        "await workflow.sleep(...) or await asyncio.sleep(seconds).",
    ),
    Rule(
        "RK303",
        "sleep-timedelta",
        "asyncio.sleep called with a timedelta",
        "asyncio.sleep takes seconds, not a timedelta. Use await workflow.sleep(timedelta(...)) "
        "or asyncio.sleep(delta.total_seconds()).",
    ),
    Rule(
        "RK401",
        "global-state",
        "Module-level state mutated from workflow code",
        "Module state is shared by every workflow run in the worker and is not in the history; "
        "a replay sees whatever other runs left behind. Keep state on the workflow instance.",
    ),
    Rule(
        "RK501",
        "direct-activity-call",
        "Activity function called directly from workflow code",
        "Calling an @activity.defn function runs it inside the workflow (no retries, no "
        "history, side effects repeated on replay). Use workflow.execute_activity(fn, ...).",
    ),
    Rule(
        "RK502",
        "activity-timeout",
        "Activity started without start_to_close_timeout or schedule_to_close_timeout",
        "Temporal rejects an activity without one of these timeouts at run time, and a hung "
        "call would otherwise never be retried. Pass start_to_close_timeout=timedelta(...).",
    ),
    Rule(
        "RK601",
        "unbounded-history",
        "Unbounded loop in a workflow that never continues as new",
        "Every iteration adds events to the history, and Temporal terminates a workflow at "
        "51,200 events or 50 MB. Continue as new when workflow.info()."
        "is_continue_as_new_suggested() (or get_current_history_length() passes a bound), "
        "or bound the loop.",
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def resolve_rules(specs: str | Iterable[str], *, option: str) -> frozenset[str]:
    """Turn rule ids/names (an iterable, or comma-separated strings) into a set of rule ids.

    Args:
        specs: Strings such as ``"RK101,random"``; each may hold several comma-separated items.
        option: The option name, used in the error message.

    Returns:
        The rule ids.

    Raises:
        ValueError: When an item is neither a known rule id nor a known rule name.
    """
    if isinstance(specs, str):
        specs = [specs]
    ids: set[str] = set()
    for spec in specs:
        for raw in str(spec).split(","):
            item = raw.strip()
            if not item:
                continue
            rule = RULES_BY_ID.get(item.upper()) or RULES_BY_NAME.get(item.lower())
            if rule is None:
                known = ", ".join(f"{r.id} {r.name}" for r in RULES)
                raise ValueError(f"{option}: unknown rule {item!r} (known: {known})")
            ids.add(rule.id)
    return frozenset(ids)
