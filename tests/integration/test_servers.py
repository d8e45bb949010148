"""Real servers: start, time skipping, kill/restart with a persistent store, and no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus as ClientStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from replaykit import ServerError
from replaykit.servers import (
    RunningServer,
    ServerSpec,
    parse_server,
    start_server,
    start_server_async,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@workflow.defn(sandboxed=False)
class SleepWeekWorkflow:
    @workflow.run
    async def run(self) -> float:
        start = workflow.now()
        await workflow.sleep(timedelta(days=7))
        return (workflow.now() - start).total_seconds()


@workflow.defn(sandboxed=False)
class WaitForSignalWorkflow:
    def __init__(self) -> None:
        self._go = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._go)
        return "released"

    @workflow.signal
    def release(self) -> None:
        self._go = True


def _pid_gone(pid: int) -> bool:
    """True when the pid no longer runs (a zombie awaiting a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid_gone(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def embedded() -> Iterator[RunningServer]:
    with start_server(parse_server("embedded")) as server:
        yield server


async def test_embedded_starts_on_loopback_and_answers(embedded: RunningServer) -> None:
    assert embedded.kind == "embedded"
    assert embedded.address.startswith("127.0.0.1:")
    assert embedded.pid is not None
    client = await embedded.client()
    assert client.namespace == "default"
    assert await client.service_client.check_health()


async def test_stop_is_idempotent_and_kills_the_process() -> None:
    server = start_server(parse_server("embedded"))
    pid = server.pid
    assert pid is not None and not _pid_gone(pid)
    server.stop()
    assert _pid_gone(pid)
    assert server.pid is None
    server.stop()  # second stop is a no-op
    with pytest.raises(ServerError, match="stopped"):
        server.restart()


async def test_timeskip_skips_a_week_sleep() -> None:
    async with await start_server_async(ServerSpec("timeskip")) as server:
        assert server.kind == "timeskip"
        client = await server.client()
        async with Worker(client, task_queue="ts", workflows=[SleepWeekWorkflow]):
            elapsed = await asyncio.wait_for(
                client.execute_workflow(SleepWeekWorkflow.run, id="week", task_queue="ts"),
                timeout=60,
            )
    # Workflow time moved a full week although the test only waited for the result.
    assert elapsed >= timedelta(days=7).total_seconds()


async def test_embedded_custom_namespace_exists() -> None:
    spec = parse_server("embedded", namespace="replaykit-ns")
    async with await start_server_async(spec) as server:
        client = await server.client()
        assert client.namespace == "replaykit-ns"
        handle = await client.start_workflow(
            WaitForSignalWorkflow.run, id="ns-wf", task_queue="nobody"
        )
        desc = await handle.describe()
        assert desc.namespace == "replaykit-ns"


async def test_external_spec_reaches_a_running_cluster(embedded: RunningServer) -> None:
    external = start_server(
        parse_server(embedded.address), connect_kwargs={"identity": "replaykit-probe"}
    )
    with external:
        assert external.kind == "external" and external.pid is None
        client = await external.client()
        assert await client.service_client.check_health()
        assert client.identity == "replaykit-probe"
        assert (await external.client(identity="other")).identity == "other"
    # Leaving an external server's block must not touch the cluster itself.
    assert embedded.pid is not None
    with pytest.raises(ServerError, match="namespace 'missing' not found"):
        start_server(parse_server(embedded.address, namespace="missing"))


async def test_external_credentials_come_from_temporal_environment_config(
    embedded: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What Temporal Cloud users export for the temporal CLI works unchanged. (The dev server
    # ignores the key, so TLS is turned off here; with a key envconfig defaults to TLS.)
    monkeypatch.setenv("TEMPORAL_API_KEY", "k-123")
    monkeypatch.setenv("TEMPORAL_TLS", "false")
    monkeypatch.setenv("TEMPORAL_GRPC_META_X_TEAM", "agents")
    with start_server(parse_server(embedded.address)) as external:
        client = await external.client()
        assert client.api_key == "k-123"
        assert dict(client.rpc_metadata).get("x-team") == "agents"
        assert await client.service_client.check_health()
        # an explicit argument still wins over the environment
        assert (await external.client(api_key="other")).api_key == "other"
    monkeypatch.delenv("TEMPORAL_TLS")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(tmp_path / "missing.key"))
    with pytest.raises(ServerError, match=r"Temporal client configuration: .*missing\.pem"):
        start_server(parse_server(embedded.address))


def test_external_unreachable_is_one_clear_error() -> None:
    with pytest.raises(ServerError, match=r"cannot reach Temporal at 127\.0\.0\.1:1: "):
        start_server(parse_server("127.0.0.1:1"), ready_timeout=10)


async def test_kill_and_restart_keeps_port_and_persistent_store(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    async with await start_server_async(parse_server(None, db_filename=str(db))) as server:
        client = await server.client()
        handle = await client.start_workflow(
            WaitForSignalWorkflow.run, id="survivor", task_queue="persist"
        )
        address, old_pid = server.address, server.pid
        assert old_pid is not None

        server.kill()
        assert server.pid is None and _pid_gone(old_pid)
        server.restart()
        assert server.address == address
        assert server.pid not in (None, old_pid)

        client = await server.client()
        handle = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        assert (await handle.describe()).status == ClientStatus.RUNNING
        async with Worker(client, task_queue="persist", workflows=[WaitForSignalWorkflow]):
            await handle.signal(WaitForSignalWorkflow.release)
            assert await asyncio.wait_for(handle.result(), timeout=60) == "released"
    assert db.exists()


async def test_in_memory_restart_forgets_executions(embedded: RunningServer) -> None:
    client = await embedded.client()
    handle = await client.start_workflow(WaitForSignalWorkflow.run, id="ephemeral", task_queue="x")
    embedded.kill()
    embedded.restart()
    client = await embedded.client()
    with pytest.raises(RPCError) as info:
        await client.get_workflow_handle(handle.id).describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND


# ------------------------------------------------------------------ no server outlives replaykit

_CHILD = textwrap.dedent(
    """
    import asyncio, faulthandler, os, signal, sys, time
    from replaykit.servers import parse_server, start_server, start_server_async

    faulthandler.register(signal.SIGUSR1)  # the test asks for the stacks when the child hangs

    mode, kind = sys.argv[1], sys.argv[2]
    if mode == "thread":
        # Started from an executor thread that is retired when asyncio.run returns.
        server = asyncio.run(start_server_async(parse_server(kind)))
    else:
        server = start_server(parse_server(kind))
    print(server.pid, flush=True)
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "exit":
        sys.exit(0)
    if mode == "thread":
        async def ping() -> None:
            client = await server.client()
            assert await client.service_client.check_health()
        asyncio.run(ping())
        print("alive", flush=True)
    time.sleep(600)
    """
)


def _spawn_child(mode: str, kind: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mode, kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line.isdigit():
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"child did not start a server: {line!r} {err}")
    return child, int(line)


def _wait_or_explain(child: subprocess.Popen[str], mode: str) -> None:
    """Wait for the child to end (a stopped server may take 10 s to leave on a loaded
    machine); if it does not, fail with its threads' stacks and what it printed."""
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGUSR1)
        time.sleep(1)
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"the child did not exit within 60 s of {mode}; its stacks and stderr:\n{err}")


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("sigkill", "embedded"),
        ("sigkill", "timeskip"),
        ("sigterm", "embedded"),
        ("sigint", "embedded"),
        ("raise", "embedded"),
        ("exit", "timeskip"),
    ],
)
def test_no_server_outlives_its_parent(mode: str, kind: str) -> None:
    child, server_pid = _spawn_child(mode, kind)
    try:
        assert not _pid_gone(server_pid)
        if mode in ("sigkill", "sigterm", "sigint"):
            sig = {"sigkill": signal.SIGKILL, "sigterm": signal.SIGTERM, "sigint": signal.SIGINT}
            child.send_signal(sig[mode])
        _wait_or_explain(child, mode)
        assert _wait_gone(server_pid), f"server pid {server_pid} outlived its parent ({mode})"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if not _pid_gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_server_started_from_a_retired_thread_stays_up_until_parent_dies() -> None:
    child, server_pid = _spawn_child("thread", "embedded")
    try:
        assert child.stdout is not None
        # The executor thread that asked for the server is gone, yet the server still answers.
        assert child.stdout.readline().strip() == "alive"
        assert not _pid_gone(server_pid)
        child.kill()
        child.wait(timeout=30)
        assert _wait_gone(server_pid)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if not _pid_gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)
