"""Stops and the debuggers that take them over: pdb (sandbox-aware) and debugpy."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

import temporalio.worker
import temporalio.workflow

from replaykit._internal._errors import ConfigError
from replaykit.check._divergence import Divergence

if TYPE_CHECKING:
    pass

__all__ = ["DebugpyDebugger", "Debugger", "PdbDebugger", "Stop"]

# --------------------------------------------------------------------------- stops


@dataclass(frozen=True)
class Stop:
    """One stop of the replay.

    Attributes:
        labels: The ``--break-at`` points that matched.
        event_id: The recorded event the stop concerns (None for a command the history
            does not have).
        event_line: The decoded event, one line (``41 ActivityTaskScheduled save_report(...)``).
        frame: The workflow frame the debugger is handed.
        location: ``file:line in function`` of that frame.
        how: ``issued by`` (the code issues the command now), ``consumed at`` (the
            workflow resumes with the event, or its handler runs) or ``awaited at`` (the
            event arrives while the workflow keeps waiting there, as in asyncio.gather).
        divergence: The divergence, for a ``divergence`` point.
        details: The event's decoded attributes (clipped JSON), printed under its line.
    """

    labels: tuple[str, ...]
    event_id: int | None
    event_line: str
    frame: FrameType
    location: str
    how: str
    divergence: Divergence | None = None
    details: str = ""

    def banner(self) -> str:
        """What is printed before the debugger takes over."""
        lines = [f"replaykit: stopped at --break-at {', '.join(self.labels)}"]
        lines.append(f"  event:       {self.event_line}")
        lines.extend(f"{'':15}{ln}" for ln in self.details.splitlines())
        lines.append(f"  {self.how + ':':<12} {self.location}")
        if self.divergence is not None:
            lines.extend("  " + ln for ln in self.divergence.describe().splitlines())
        return "\n".join(lines)


class Debugger(Protocol):
    """What a stop hands the workflow frame to.

    A debugger that steps (pdb) also has ``tracing()`` (its trace function while it steps,
    else None; the replay's tracer feeds it every frame) and ``resume_with(tracer)`` (the
    tracer to reinstate when it stops tracing).
    """

    def stop(self, stop: Stop) -> bool:
        """Debug at ``stop.frame``; return False to stop stopping (pdb's ``q``)."""


def _sandbox_unrestricted() -> Any:
    return temporalio.workflow.unsafe.sandbox_unrestricted()


_SKIP_MODULES = [
    "replaykit.*",
    "temporalio.*",
    "asyncio.*",
    "contextlib",
    "concurrent.*",
    "threading",
    "google.*",
]


def _pdb_class() -> Any:
    import pdb

    class ReplayPdb(pdb.Pdb):
        """pdb at a replay stop: ``c`` goes to the next point, ``q`` stops stopping.

        Stepping (``n``, ``s``) works across workflow tasks: when the workflow awaits an
        event, the next line runs in the activation that delivers it, and the replay's own
        tracer hands pdb every frame it traces (see :meth:`_Stepper._global`).
        """

        quitting_replay = False
        #: The replay's tracer, reinstated when pdb stops tracing (``c``).
        resume_trace: Any = None

        def stop_at(self, frame: FrameType) -> None:
            self.reset()
            saved: list[tuple[FrameType, Any]] = []
            f: FrameType | None = frame
            while f is not None:
                saved.append((f, f.f_trace))
                f.f_trace = self.trace_dispatch
                self.botframe = f
                f = f.f_back
            self.interaction(frame, None)
            if self.tracing() is not None:
                sys.settrace(self.trace_dispatch)  # as after set_trace()
            else:
                for f2, previous in saved:
                    f2.f_trace = previous

        def tracing(self) -> Any:
            """pdb's tracer while it steps or has breakpoints, else None."""
            if self.quitting_replay or not hasattr(self, "stopframe"):
                return None  # quit, or never stopped yet
            idle = self.stopframe is self.botframe and self.stoplineno == -1
            return None if idle and not self.breaks else self.trace_dispatch

        def set_continue(self) -> None:  # noqa: D102
            super().set_continue()
            if self.resume_trace is not None and sys.gettrace() is None:
                sys.settrace(self.resume_trace)

        def interaction(self, frame: Any, tb: Any) -> None:  # noqa: D102
            with _sandbox_unrestricted():
                super().interaction(frame, tb)

        def user_exception(self, frame: FrameType, exc_info: Any) -> None:  # noqa: D102
            # bdb reports a StopIteration leaving a coroutine it steps in, whatever `skip`
            # says: the SDK's frames would show up as "Internal StopIteration".
            if self.is_skipped_module(frame.f_globals.get("__name__", "")):
                return
            super().user_exception(frame, exc_info)

        def do_quit(self, arg: str) -> bool | None:  # noqa: D102
            self.message("replaykit: the replay runs to its end without stopping again")
            self.quitting_replay = True
            self.clear_all_breaks()
            return self.do_continue(arg)

        do_q = do_exit = do_EOF = do_quit

    return ReplayPdb


class PdbDebugger:
    """Hands each stop to pdb (standard input and output)."""

    def __init__(self) -> None:
        self._pdb: Any = None

    def stop(self, stop: Stop) -> bool:
        """Debug at the stop's frame with pdb."""
        if self._pdb is None:
            self._pdb = _pdb_class()(skip=_SKIP_MODULES)
        self._pdb.stop_at(stop.frame)
        return not self._pdb.quitting_replay

    def tracing(self) -> Any:
        """pdb's tracer while it steps (the replay's tracer must feed it), else None."""
        return self._pdb.tracing() if self._pdb is not None else None

    def resume_with(self, tracer: Any) -> None:
        """The tracer to reinstate when pdb stops tracing."""
        if self._pdb is None:
            self._pdb = _pdb_class()(skip=_SKIP_MODULES)
        self._pdb.resume_trace = tracer


class DebugpyDebugger:
    """Listens for VS Code / PyCharm (debugpy) and breaks in the workflow frame at each stop."""

    def __init__(self, host: str, port: int, *, echo: Callable[[str], None]) -> None:
        try:
            import debugpy
        except ImportError:
            raise ConfigError(
                "--debugger debugpy needs the debugpy package: pip install 'replaykit[debug]' "
                "(or pip install debugpy)"
            ) from None
        self._debugpy = debugpy
        self._echo = echo
        try:
            debugpy.listen((host, port))
        except Exception as err:  # noqa: BLE001 - any failure to listen is a usage error
            raise ConfigError(f"--listen {host}:{port}: debugpy cannot listen: {err}") from None
        self.address = f"{host}:{port}"
        echo(
            f"replaykit: debugpy listens on {self.address}; attach your editor "
            '(VS Code: "Python Debugger: Attach", connect to that host and port)'
        )
        sys.stdout.flush()

    def stop(self, stop: Stop) -> bool:
        """Wait for a client, then break at the stop's frame."""
        debugpy = self._debugpy
        if not debugpy.is_client_connected():
            self._echo(f"replaykit: waiting for a debugger to attach on {self.address} ...")
            sys.stdout.flush()
            with _sandbox_unrestricted():
                debugpy.wait_for_client()
        with _sandbox_unrestricted():
            _suspend_in(stop.frame)
        return True


def _suspend_in(frame: FrameType) -> None:
    """Suspend this thread in the editor at ``frame`` until the user continues.

    What pydevd's own tracer does when it hits a breakpoint. ``debugpy.breakpoint()`` would
    instead stop at the next line its tracer sees in the caller, which never comes: a stop
    runs inside replaykit's trace function (no tracing there), and the workflow frame runs
    its next line only in a later activation.
    """
    try:
        import pydevd
        from _pydevd_bundle.pydevd_additional_thread_info import set_additional_thread_info
        from _pydevd_bundle.pydevd_comm_constants import CMD_SET_BREAK
    except ImportError:  # pragma: no cover - another debugpy layout: the public API
        import debugpy

        debugpy.breakpoint()
        return
    py_db = pydevd.get_global_debugger()
    thread = threading.current_thread()
    set_additional_thread_info(thread)
    py_db.set_suspend(thread, CMD_SET_BREAK)
    py_db.do_wait_suspend(thread, frame, "line", None)
