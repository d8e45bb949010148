"""The rollout report: can I ramp a new deployment version, can I drain an old one?

From a check of (pulled) histories against the new build with ``deployment_version`` set:
per deployment version, how many executions are PINNED and how many AUTO_UPGRADE, which
are still running (no close event), and whether the new code replays the executions that
will run it (AUTO_UPGRADE, unversioned, and anything pinned to or overridden onto the new
version).

- **Ramp** the new version: safe when no *running* execution that will move to it diverges
  (closed ones never replay again; their divergences are listed as notes).
- **Drain** an old version (stop its workers): safe when no running execution is pinned to
  it; its running AUTO_UPGRADE executions move to the current version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._divergence import CheckReport, HistoryResult
from ._report import display_path

__all__ = ["RolloutReport", "VersionRow", "rollout_report"]

UNVERSIONED = "(unversioned)"


@dataclass(frozen=True)
class VersionRow:
    """One deployment version's executions."""

    version: str
    pinned: int = 0
    pinned_running: int = 0
    auto_upgrade: int = 0
    auto_upgrade_running: int = 0
    unversioned: int = 0
    unversioned_running: int = 0
    checked: int = 0
    checked_clean: int = 0
    checked_divergent: int = 0
    pinned_running_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "version": self.version,
            "pinned": self.pinned,
            "pinned_running": self.pinned_running,
            "auto_upgrade": self.auto_upgrade,
            "auto_upgrade_running": self.auto_upgrade_running,
            "unversioned": self.unversioned,
            "unversioned_running": self.unversioned_running,
            "checked": self.checked,
            "checked_clean": self.checked_clean,
            "checked_divergent": self.checked_divergent,
            "pinned_running_ids": list(self.pinned_running_ids),
        }


@dataclass(frozen=True)
class RolloutReport:
    """The answer to "can I ramp ``target``, can I drain the others"."""

    target: str
    rows: tuple[VersionRow, ...]
    can_ramp: bool
    ramp_reason: str
    blocking: tuple[str, ...] = ()  # running executions that would fail on the new code
    notes: tuple[str, ...] = ()
    drain: dict[str, tuple[bool, str]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """2 input errors, 1 cannot ramp, 0 can ramp."""
        if self.errors:
            return 2
        return 0 if self.can_ramp else 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "target": self.target,
            "can_ramp": self.can_ramp,
            "ramp_reason": self.ramp_reason,
            "blocking": list(self.blocking),
            "notes": list(self.notes),
            "drain": {v: {"can_drain": ok, "reason": why} for v, (ok, why) in self.drain.items()},
            "versions": [row.to_json() for row in self.rows],
            "errors": list(self.errors),
            "exit_code": self.exit_code,
        }

    def format_text(self) -> str:
        """A table per version and the two answers."""
        lines = [
            f"Rollout of {self.target}",
            "",
            f"  {'version':<24} {'pinned (running)':>17} {'auto-upgrade (running)':>23} "
            f"{'unversioned (running)':>22}  replays on {self.target}",
        ]
        for r in self.rows:
            replays = f"{r.checked_clean}/{r.checked} clean" if r.checked else "-"
            lines.append(
                f"  {r.version:<24} {f'{r.pinned} ({r.pinned_running})':>17} "
                f"{f'{r.auto_upgrade} ({r.auto_upgrade_running})':>23} "
                f"{f'{r.unversioned} ({r.unversioned_running})':>22}  {replays}"
            )
        lines.append("")
        lines.append(
            f"can ramp {self.target}: {'YES' if self.can_ramp else 'NO'} — {self.ramp_reason}"
        )
        lines.extend(f"    {b}" for b in self.blocking)
        lines.extend(f"  note: {n}" for n in self.notes)
        for version, (ok, why) in self.drain.items():
            lines.append(f"can drain {version}: {'YES' if ok else 'NO'} — {why}")
        lines.extend(f"  error: {e}" for e in self.errors)
        return "\n".join(lines) + "\n"


def _name(r: HistoryResult) -> str:
    return f"{r.workflow_id} ({display_path(r.path)})" if r.path else (r.workflow_id or "?")


def rollout_report(report: CheckReport, target: str) -> RolloutReport:
    """Summarise a check run against ``target`` (the new build's ``NAME.BUILD_ID``)."""
    rows: dict[str, dict[str, Any]] = {}
    blocking: list[str] = []
    notes: list[str] = []
    errors: list[str] = []
    for r in report.results:
        if r.status == "error":
            errors.append(f"{display_path(r.path)}: {r.error}")
            continue
        view = r.versioning
        version = (view.version if view is not None else None) or UNVERSIONED
        acc = rows.setdefault(version, {"ids": []})
        running = r.closed is False
        behavior = view.behavior if view is not None else None
        key = {"pinned": "pinned", "auto-upgrade": "auto_upgrade"}.get(
            behavior or "", "unversioned"
        )
        acc[key] = acc.get(key, 0) + 1
        if running:
            acc[f"{key}_running"] = acc.get(f"{key}_running", 0) + 1
            if key == "pinned":
                acc["ids"].append(r.workflow_id or "?")
        if r.status == "pinned":
            continue
        acc["checked"] = acc.get("checked", 0) + 1
        if r.status == "clean":
            acc["checked_clean"] = acc.get("checked_clean", 0) + 1
            continue
        acc["checked_divergent"] = acc.get("checked_divergent", 0) + 1
        first = r.first.message if r.first is not None else "history budget"
        if running:
            blocking.append(f"{_name(r)}: {first}")
        else:
            notes.append(
                f"closed execution {_name(r)} diverges ({first}); it never replays "
                "again, but new executions on that path behave differently"
            )
    table = tuple(
        VersionRow(
            version=v,
            pinned=d.get("pinned", 0),
            pinned_running=d.get("pinned_running", 0),
            auto_upgrade=d.get("auto_upgrade", 0),
            auto_upgrade_running=d.get("auto_upgrade_running", 0),
            unversioned=d.get("unversioned", 0),
            unversioned_running=d.get("unversioned_running", 0),
            checked=d.get("checked", 0),
            checked_clean=d.get("checked_clean", 0),
            checked_divergent=d.get("checked_divergent", 0),
            pinned_running_ids=tuple(d["ids"]),
        )
        for v, d in sorted(rows.items())
    )
    moving = sum(row.checked for row in table)
    if errors:
        can_ramp, reason = False, f"{len(errors)} histories could not be checked"
    elif blocking:
        can_ramp = False
        reason = (
            f"{len(blocking)} running execution(s) that will run {target} diverge on the new code:"
        )
    else:
        can_ramp = True
        reason = (
            f"all {moving} execution(s) that will run {target} replay clean"
            if moving
            else f"no recorded execution will run {target}"
        )
    drain: dict[str, tuple[bool, str]] = {}
    for row in table:
        if row.version in (target, UNVERSIONED):
            continue
        if row.pinned_running:
            drain[row.version] = (
                False,
                f"{row.pinned_running} running execution(s) pinned to "
                f"it: {', '.join(row.pinned_running_ids)}",
            )
        else:
            moved = (
                f"; its {row.auto_upgrade_running} running auto-upgrade execution(s) move "
                f"to the current version"
                if row.auto_upgrade_running
                else ""
            )
            drain[row.version] = (True, f"no running execution is pinned to it{moved}")
    return RolloutReport(
        target=target,
        rows=table,
        can_ramp=can_ramp,
        ramp_reason=reason,
        blocking=tuple(blocking),
        notes=tuple(notes),
        drain=drain,
        errors=tuple(errors),
    )
