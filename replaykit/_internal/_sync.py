"""The one bridge from sync code to replaykit's async implementations.

Every sync twin (``run_fault_plan``, ``explore_every_step``, ``explore_examples``,
``prove_rollback``, ``run_pull``, server start-up, ...) runs its async implementation through
:func:`run_sync`:

- No event loop runs in this thread: the coroutine runs on a fresh loop in this thread
  (``asyncio.run``), so Ctrl-C cancels it the usual way and ``KeyboardInterrupt`` is raised
  once it has unwound.
- A loop runs in this thread (a sync twin called from async code, a notebook): blocking that
  loop's thread is unavoidable, but its loop cannot be re-entered, so the coroutine runs on a
  fresh loop in a worker thread. The caller's context variables are copied into it. An
  exception the coroutine raises (``KeyboardInterrupt`` and other ``BaseException``\\ s
  included) is re-raised in the caller; a ``KeyboardInterrupt`` that reaches the caller while
  it waits cancels the coroutine, waits for it to unwind (its ``finally`` blocks stop servers
  and workers), and is then re-raised. (Under an outer ``asyncio.run`` in the main thread,
  that runner's own SIGINT handler takes the first Ctrl-C; the second reaches the caller.)

The coroutine is made by a zero-argument factory called on the new loop, so objects that bind
to the running loop when created are created on the right one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

__all__ = ["call_in_thread", "run_sync", "sync_twin"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


def run_sync(
    factory: Callable[[], Awaitable[_T]],
    *,
    thread_name: str = "replaykit-sync",
    own_thread: bool = False,
) -> _T:
    """Run ``factory()`` to completion from sync code and return its result.

    Args:
        factory: Makes the awaitable to run; called once, on the loop that runs it.
        thread_name: Name of the worker thread, when one is needed (a loop already runs here).
        own_thread: Always run on a fresh thread's loop, even when none runs here: a caller
            whose thread has an event loop set but not running (pytest-asyncio's) keeps it;
            ``asyncio.run`` here would replace it and then clear it.

    Returns:
        What the awaitable returned.

    Raises:
        BaseException: Whatever the awaitable raised, unchanged.
    """
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if running or own_thread:
        return _run_in_worker(factory, thread_name)
    # outside the except block, so what the run raises does not carry the probe's
    # "no running event loop" as its __context__ (root-cause reports walk that chain)
    return asyncio.run(_await(factory))


def sync_twin(async_fn: Callable[_P, Awaitable[_T]], *, doc: str) -> Callable[_P, _T]:
    """The sync twin of ``async_fn``: its parameters (its signature is ``async_fn``'s, so the
    two cannot drift), each call run through :func:`run_sync`.

    Args:
        async_fn: The async implementation, named ``NAME_async``.
        doc: The twin's docstring.

    Returns:
        ``NAME``: calls ``async_fn`` with the same arguments and returns what it returned.
    """

    @functools.wraps(async_fn)
    def twin(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return run_sync(lambda: async_fn(*args, **kwargs))

    name = async_fn.__name__.removesuffix("_async")
    twin.__name__ = name
    twin.__qualname__ = async_fn.__qualname__.removesuffix("_async")
    twin.__doc__ = doc
    return twin


def call_in_thread(fn: Callable[[], _T], *, thread_name: str = "replaykit-sync") -> _T:
    """Run blocking ``fn`` on a fresh thread and wait for it.

    For sync work that may itself bridge to async code: the fresh thread has no event loop of
    its own, so nothing the caller's thread holds (a test's loop) is disturbed.
    """

    outcome: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def work() -> None:
        try:
            outcome.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            outcome.set_exception(exc)

    # No event loop runs in the thread: fn may bridge to async code itself (asyncio.run).
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(work,), name=thread_name, daemon=True)
    thread.start()
    try:
        return outcome.result()
    finally:
        thread.join()


async def _await(factory: Callable[[], Awaitable[_T]]) -> _T:
    return await factory()


class _Running:
    """The worker's loop and task, published once the coroutine started."""

    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[object] | None = None


def _run_in_worker(factory: Callable[[], Awaitable[_T]], thread_name: str) -> _T:
    outcome: concurrent.futures.Future[_T] = concurrent.futures.Future()
    running = _Running()
    started = threading.Event()

    async def main() -> _T:
        running.loop = asyncio.get_running_loop()
        running.task = asyncio.current_task()
        started.set()
        return await factory()

    def work() -> None:
        try:
            outcome.set_result(asyncio.run(main()))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            outcome.set_exception(exc)
        finally:
            started.set()

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(work,), name=thread_name, daemon=True)
    try:
        # Inside the try: the coroutine may already run (and Ctrl-C arrive) before start returns.
        thread.start()
        return outcome.result()
    except KeyboardInterrupt:
        # Ctrl-C reached the caller: cancel the coroutine and let it clean up first. (Only a
        # thread interrupted before it was even spawned has no ident for long.)
        if not outcome.done() and started.wait(None if thread.ident is not None else 1.0):
            loop, task = running.loop, running.task
            if loop is not None and task is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(task.cancel)
        raise
    finally:
        if thread.ident is not None:
            thread.join()
