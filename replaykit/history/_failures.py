"""One view of a Temporal ``Failure`` proto and its cause chain, and the ways replaykit shows it.

A :class:`FailureView` is read once from a ``temporalio.api.failure.v1.Failure`` (the chain
walked once, at most :data:`MAX_DEPTH` levels); every module that shows or inspects a failure
asks the view instead of walking ``cause`` itself:

* :meth:`FailureView.comparable` - what the strict comparer holds a recorded and a current
  workflow failure to (the top level only);
* :meth:`FailureView.as_tree` - the nested dict ``replaykit diff`` compares, cause by cause;
* :meth:`FailureView.headline` - ``TYPE: message`` of the top level (the saga verifier);
* :meth:`FailureView.chain_text` - the top levels joined by ``" ← "`` (the timeline);
* :meth:`FailureView.has_timeout` and :meth:`FailureView.first_application` - the questions
  the saga verifier and the fault invariants ask of the chain.

Stack traces and encoded attributes are left out: they are noise to every one of these.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import temporalio.api.failure.v1

__all__ = ["MAX_DEPTH", "FailureView"]

#: How many levels (the failure itself and its causes) a view keeps; deeper causes are cut.
MAX_DEPTH = 64

_APPLICATION = "application_failure_info"
_TIMEOUT = "timeout_failure_info"


@dataclass(frozen=True)
class FailureView:
    """One level of a failure chain, with its cause (the next level) if it has one.

    Attributes:
        message: The failure's message ("" when it has none).
        kind: Which ``failure_info`` the failure carries (``application_failure_info``,
            ``timeout_failure_info``, ``activity_failure_info``, ...); None when it carries none.
        app_type: The application error type; "" unless ``kind`` is application.
        non_retryable: The application failure is marked non-retryable (False for other kinds).
        timeout_type: The ``TimeoutType`` of a timeout failure; 0 (unspecified) for other kinds.
        cause: The next level of the chain; None at its end or where the chain was cut.
        cut: The proto had a cause at this level that the view left out (``max_depth``).
    """

    message: str = ""
    kind: str | None = None
    app_type: str = ""
    non_retryable: bool = False
    timeout_type: int = 0
    cause: FailureView | None = None
    cut: bool = False

    @classmethod
    def of(
        cls, failure: temporalio.api.failure.v1.Failure, *, max_depth: int = MAX_DEPTH
    ) -> FailureView:
        """The view of ``failure`` and at most ``max_depth - 1`` of its causes."""
        levels: list[temporalio.api.failure.v1.Failure] = []
        node: temporalio.api.failure.v1.Failure | None = failure
        while node is not None and len(levels) < max(max_depth, 1):
            levels.append(node)
            node = node.cause if node.HasField("cause") else None
        view: FailureView | None = None
        for i, f in enumerate(reversed(levels)):
            kind = f.WhichOneof("failure_info")
            app = f.application_failure_info if kind == _APPLICATION else None
            view = cls(
                message=f.message,
                kind=kind,
                app_type=app.type if app is not None else "",
                non_retryable=app.non_retryable if app is not None else False,
                timeout_type=f.timeout_failure_info.timeout_type if kind == _TIMEOUT else 0,
                cause=view,
                cut=i == 0 and node is not None,
            )
        assert view is not None
        return view

    @property
    def is_application(self) -> bool:
        return self.kind == _APPLICATION

    @property
    def is_timeout(self) -> bool:
        return self.kind == _TIMEOUT

    def chain(self) -> Iterator[FailureView]:
        """This level and every cause after it, outermost first."""
        level: FailureView | None = self
        while level is not None:
            yield level
            level = level.cause

    def comparable(self) -> dict[str, Any]:
        """Message, type (the application type, else the kind) and non-retryable (None unless
        an application failure) of this level; what a changed workflow failure is judged by."""
        return {
            "message": self.message,
            "type": self.app_type if self.is_application else self.kind,
            "non_retryable": self.non_retryable if self.is_application else None,
        }

    def as_tree(self) -> dict[str, Any]:
        """Message, type, ``non_retryable: True`` (only when so) and the cause, nested."""
        tree: dict[str, Any] | None = None
        for level in reversed(list(self.chain())):
            out: dict[str, Any] = {"message": level.message}
            if level.is_application:
                out["type"] = level.app_type
                if level.non_retryable:
                    out["non_retryable"] = True
            else:
                out["type"] = level.kind
            if tree is not None:
                out["cause"] = tree
            tree = out
        assert tree is not None
        return tree

    def headline(self) -> str:
        """``TYPE: message`` of this level (the message alone without an application type),
        ``(no message)`` standing in for an empty message."""
        message = self.message or "(no message)"
        return f"{self.app_type}: {message}" if self.app_type else message

    def chain_text(self, *, levels: int = 4) -> str:
        """The first ``levels`` levels as ``TYPE: message``, joined by ``" ← "``; levels with
        neither are left out, and ``(no message)`` stands for a chain that has none at all."""
        parts: list[str] = []
        for depth, level in enumerate(self.chain()):
            if depth >= levels:
                break
            parts.append(f"{level.app_type}: {level.message}" if level.app_type else level.message)
        return " ← ".join(p for p in parts if p) or "(no message)"

    def has_timeout(self, *, within: int = MAX_DEPTH) -> bool:
        """A timeout failure is among the first ``within`` levels."""
        return any(level.is_timeout for _, level in zip(range(within), self.chain(), strict=False))

    def first_application(self) -> FailureView | None:
        """The outermost application failure of the chain; None when it has none."""
        return next((level for level in self.chain() if level.is_application), None)
