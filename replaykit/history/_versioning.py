"""Worker Versioning as a history records it: behaviour, deployment version, overrides.

A workflow task completed by a versioned worker carries the workflow's versioning behaviour
(``PINNED`` or ``AUTO_UPGRADE``), the worker's deployment name and version. An override set
at start (``WorkflowExecutionStarted.versioning_override``) or later
(``WorkflowExecutionOptionsUpdated``) wins over what the worker declared; a child or a
continued run can inherit a pinned version. :func:`versioning_view` reads all of that into
one :class:`VersioningView`, and :func:`pinned_elsewhere` says whether a history is pinned to
another version than the one being checked (so it never runs that code).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from temporalio.api.enums.v1 import ContinueAsNewVersioningBehavior, EventType, VersioningBehavior
from temporalio.api.history.v1 import HistoryEvent

__all__ = [
    "Behavior",
    "VersioningView",
    "canonical_version",
    "parse_deployment_version",
    "pinned_elsewhere",
    "versioning_view",
]

Behavior = Literal["pinned", "auto-upgrade"]

_BEHAVIORS: dict[int, Behavior] = {
    VersioningBehavior.VERSIONING_BEHAVIOR_PINNED: "pinned",
    VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE: "auto-upgrade",
}


@dataclass(frozen=True)
class VersioningView:
    """What a history says about Worker Versioning.

    Attributes:
        behavior: The effective behaviour: the override's when one is set, else what the
            last versioned worker declared (``None``: unversioned).
        version: The deployment version (``NAME.BUILD_ID``) the execution is on: a pinned
            override's version, else the last workflow task's, else an inherited pinned one.
        declared_behavior: What the workflow's last worker declared (``versioning_behavior``
            on the workflow task completed event).
        last_task_version: The version of the last workflow task completed by a versioned
            worker.
        versions: Every deployment version that completed a workflow task, in order.
        override: ``pinned:NAME.BUILD_ID`` or ``auto-upgrade`` when an override is in force.
        override_event_id: The event that set it (1 for a start-time override).
        inherited_pinned_version: Pinned version inherited from a parent or previous run.
        continue_as_new_behavior: The initial behaviour this run gave the run it continued
            as (``auto-upgrade``, ``use-ramping-version``): upgrade on continue-as-new.
    """

    behavior: Behavior | None = None
    version: str | None = None
    declared_behavior: Behavior | None = None
    last_task_version: str | None = None
    versions: tuple[str, ...] = ()
    override: str | None = None
    override_event_id: int | None = None
    inherited_pinned_version: str | None = None
    continue_as_new_behavior: str | None = None

    @property
    def versioned(self) -> bool:
        """Whether anything about versioning is recorded."""
        return self.behavior is not None or self.version is not None

    def describe(self) -> str:
        """``pinned to dep.v1``, ``auto-upgrade (on dep.v2)`` or ``unversioned``."""
        if self.behavior == "pinned":
            text = f"pinned to {self.version or '?'}"
        elif self.behavior == "auto-upgrade":
            text = f"auto-upgrade (on {self.version})" if self.version else "auto-upgrade"
        elif self.version:
            text = f"on {self.version}"
        else:
            return "unversioned"
        if self.override:
            text += f", override {self.override} at event {self.override_event_id}"
        return text

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VersioningView:
        """The view :meth:`to_json` gave."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["versions"] = tuple(values.get("versions") or ())
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "behavior": self.behavior,
            "version": self.version,
            "declared_behavior": self.declared_behavior,
            "versions": list(self.versions),
            "override": self.override,
            "override_event_id": self.override_event_id,
            "inherited_pinned_version": self.inherited_pinned_version,
            "continue_as_new_behavior": self.continue_as_new_behavior,
        }


def canonical_version(deployment_name: str, build_id: str) -> str | None:
    """``NAME.BUILD_ID``, or ``None`` when both are empty."""
    if not deployment_name and not build_id:
        return None
    return f"{deployment_name}.{build_id}"


def parse_deployment_version(text: str, *, what: str = "--deployment-version") -> str:
    """Validate ``NAME.BUILD_ID`` (the deployment name has no dot); return it stripped.

    Raises:
        ValueError: The text is not of that form.
    """
    value = text.strip()
    name, dot, build = value.partition(".")
    if not dot or not name or not build:
        raise ValueError(
            f"{what} {text!r}: expected NAME.BUILD_ID (deployment name, a dot, the build id), "
            "e.g. support-agent.v2"
        )
    return value


def _version_of(proto: Any) -> str | None:
    """A ``WorkerDeploymentVersion`` / ``Deployment`` message as ``NAME.BUILD_ID``."""
    name = getattr(proto, "deployment_name", "") or getattr(proto, "series_name", "")
    return canonical_version(name, proto.build_id)


def _override(proto: Any) -> str | None:
    """A ``VersioningOverride`` as ``pinned:NAME.BUILD_ID`` / ``auto-upgrade`` (or None)."""
    if proto.HasField("pinned"):
        return f"pinned:{_version_of(proto.pinned.version) or '?'}"
    if proto.auto_upgrade:
        return "auto-upgrade"
    # Deprecated form (older servers): a behaviour plus a version string.
    if proto.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_PINNED:
        version = proto.pinned_version or (_version_of(proto.deployment) or "?")
        return f"pinned:{version}"
    if proto.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE:
        return "auto-upgrade"
    return None


def versioning_view(events: Iterable[HistoryEvent]) -> VersioningView:
    """Read the versioning facts of one run's events."""
    declared: Behavior | None = None
    task_version: str | None = None
    versions: list[str] = []
    override: str | None = None
    override_event: int | None = None
    inherited: str | None = None
    next_run: str | None = None
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            if attrs.HasField("inherited_pinned_version"):
                inherited = _version_of(attrs.inherited_pinned_version)
            if attrs.HasField("versioning_override"):
                override = _override(attrs.versioning_override)
                override_event = event.event_id if override else None
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
            upd = event.workflow_execution_options_updated_event_attributes
            if upd.unset_versioning_override:
                override, override_event = None, None
            elif upd.HasField("versioning_override"):
                found = _override(upd.versioning_override)
                if found:
                    override, override_event = found, event.event_id
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            initial = event.workflow_execution_continued_as_new_event_attributes
            if initial.initial_versioning_behavior:
                name = ContinueAsNewVersioningBehavior.Name(initial.initial_versioning_behavior)
                next_run = (
                    name.removeprefix("CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_")
                    .lower()
                    .replace("_", "-")
                )
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            wtc = event.workflow_task_completed_event_attributes
            version = None
            if wtc.HasField("deployment_version"):
                version = _version_of(wtc.deployment_version)
            elif wtc.worker_deployment_version:  # deprecated string form
                version = wtc.worker_deployment_version
            elif wtc.HasField("deployment"):
                version = _version_of(wtc.deployment)
            if version is None:
                continue  # an unversioned worker completed this task
            behavior = _BEHAVIORS.get(wtc.versioning_behavior)
            declared = behavior if behavior is not None else declared
            task_version = version
            if not versions or versions[-1] != version:
                versions.append(version)
    effective: Behavior | None = declared
    version_now = task_version
    if override is not None:
        if override.startswith("pinned:"):
            effective, version_now = "pinned", override.removeprefix("pinned:")
        else:
            effective = "auto-upgrade"
    elif declared is None and inherited is not None:
        effective, version_now = "pinned", inherited
    return VersioningView(
        behavior=effective,
        version=version_now or inherited,
        declared_behavior=declared,
        last_task_version=task_version,
        versions=tuple(versions),
        override=override,
        override_event_id=override_event,
        inherited_pinned_version=inherited,
        continue_as_new_behavior=next_run,
    )


def pinned_elsewhere(view: VersioningView, checked_version: str | None) -> str | None:
    """Why a history never runs ``checked_version`` (None: it does, or may).

    PINNED executions stay on their version; an override that pins them to the checked
    version, or switches them to auto-upgrade, brings them onto it.
    """
    if checked_version is None or view.behavior != "pinned":
        return None
    if view.version is None or view.version == checked_version:
        return None
    how = f" (override at event {view.override_event_id})" if view.override else ""
    return f"pinned to {view.version}{how}: does not run {checked_version}"
