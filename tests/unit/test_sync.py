"""The one sync/async bridge, ``replaykit._internal._sync.run_sync``: where it runs, what it raises."""

from __future__ import annotations

import asyncio
import contextvars
import signal
import threading

import pytest

from replaykit._internal._sync import _run_in_worker, run_sync

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("_VAR", default="unset")


async def _where() -> tuple[int, bool]:
    return threading.get_ident(), asyncio.get_running_loop().is_running()


def test_without_a_running_loop_runs_in_this_thread() -> None:
    ident, running = run_sync(_where)
    assert ident == threading.get_ident()
    assert running


def test_inside_a_running_loop_runs_on_a_worker_thread_with_the_callers_context() -> None:
    async def outer() -> tuple[int, str, asyncio.AbstractEventLoop]:
        _VAR.set("caller")

        async def inner() -> tuple[int, str, asyncio.AbstractEventLoop]:
            return threading.get_ident(), _VAR.get(), asyncio.get_running_loop()

        ident, value, loop = run_sync(inner)
        assert loop is not asyncio.get_running_loop()
        return ident, value, loop

    ident, value, loop = asyncio.run(outer())
    assert ident != threading.get_ident()
    assert value == "caller"
    assert loop.is_closed()


@pytest.mark.parametrize("inside_loop", [False, True])
def test_exceptions_propagate_unchanged(inside_loop: bool) -> None:
    boom = ValueError("boom")

    async def fail() -> None:
        raise boom

    def call() -> None:
        run_sync(fail)

    if inside_loop:

        async def outer() -> None:
            call()

        with pytest.raises(ValueError) as info:
            asyncio.run(outer())
    else:
        with pytest.raises(ValueError) as info:
            call()
    assert info.value is boom
    # the bridge adds nothing to the chain (root-cause reports walk __context__)
    assert boom.__context__ is None and boom.__cause__ is None


def test_keyboard_interrupt_raised_by_the_coroutine_reaches_the_caller() -> None:
    async def interrupted() -> None:
        raise KeyboardInterrupt

    async def outer() -> None:
        run_sync(interrupted)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(outer())


def test_ctrl_c_while_waiting_cancels_the_coroutine_and_waits_for_its_cleanup() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread to receive the interrupt")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default KeyboardInterrupt here")
    main = threading.get_ident()
    started = threading.Event()
    events: list[str] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        finally:
            await asyncio.sleep(0.05)  # cleanup that needs the loop
            events.append("cleaned up")

    def interrupt() -> None:
        started.wait(10)
        # A real SIGINT: the main thread is blocked waiting for the worker.
        signal.pthread_kill(main, signal.SIGINT)

    # The worker path directly: under an outer asyncio.run, that loop's own SIGINT handler
    # only cancels its (blocked) main task on the first Ctrl-C and raises on the second.
    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        _run_in_worker(slow, "replaykit-test")
    assert events == ["cancelled", "cleaned up"]


def test_the_factory_is_called_on_the_loop_that_runs_it() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        seen.append(loop)
        future: asyncio.Future[int] = loop.create_future()
        loop.call_soon(future.set_result, 7)
        return future

    async def outer() -> int:
        return run_sync(factory)

    assert asyncio.run(outer()) == 7
    assert run_sync(factory) == 7
    assert len(seen) == 2


def test_sync_twin_takes_the_async_functions_parameters_and_runs_it() -> None:
    import inspect

    from replaykit._internal._sync import sync_twin

    seen: list[tuple[object, ...]] = []

    async def scale_async(value: int, *, by: int = 2, note: str | None = None) -> int:
        seen.append((value, by, note, threading.current_thread().name))
        if value < 0:
            raise ValueError("negative")
        return value * by

    scale = sync_twin(scale_async, doc="scale_async from sync code.")
    assert scale(3) == 6 and scale(3, by=5, note="x") == 15
    assert seen == [
        (3, 2, None, threading.current_thread().name),
        (3, 5, "x", threading.current_thread().name),
    ]
    assert inspect.signature(scale) == inspect.signature(scale_async)
    assert not inspect.iscoroutinefunction(scale)
    assert (scale.__name__, scale.__doc__) == ("scale", "scale_async from sync code.")
    assert scale.__qualname__.endswith(".scale")
    with pytest.raises(ValueError, match="negative"):
        scale(-1)
    with pytest.raises(TypeError):
        scale(1, bye=3)  # type: ignore[call-arg]


def test_the_record_and_pre_patch_group_runners_are_sync_twins() -> None:
    import inspect

    from replaykit.patches._prepatch import (
        generate_pre_patch_groups,
        generate_pre_patch_groups_async,
    )
    from replaykit.record._record import record_groups, record_groups_async

    for sync, async_ in [
        (record_groups, record_groups_async),
        (generate_pre_patch_groups, generate_pre_patch_groups_async),
    ]:
        assert inspect.unwrap(sync) is async_
        assert inspect.signature(sync) == inspect.signature(async_)


def test_own_thread_keeps_the_callers_event_loop_set() -> None:
    """pytest-asyncio sets a loop on the test's thread without running it: the bridge must
    neither replace nor clear it (asyncio.run in this thread would)."""
    import asyncio

    from replaykit._internal._sync import call_in_thread, run_sync

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:

        async def where() -> str:
            return threading.current_thread().name

        assert run_sync(where, thread_name="bridge", own_thread=True) == "bridge"
        assert call_in_thread(lambda: threading.current_thread().name, thread_name="t") == "t"
        assert asyncio.get_event_loop_policy().get_event_loop() is loop
        # without own_thread the bridge runs here, and asyncio.run clears the thread's loop
        assert run_sync(where) == threading.current_thread().name
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_call_in_thread_reraises_what_the_work_raised() -> None:
    from replaykit._internal._sync import call_in_thread

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        call_in_thread(fail)


def test_call_in_thread_runs_work_that_bridges_to_async_itself() -> None:
    """The thread has no running loop: the work may call asyncio.run (the harvester's fetch
    does)."""
    import asyncio

    from replaykit._internal._sync import call_in_thread

    async def answer() -> int:
        return 42

    assert call_in_thread(lambda: asyncio.run(answer())) == 42
