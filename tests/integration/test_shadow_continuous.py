"""``replaykit shadow --continuous`` on a real embedded server: sessions (``data/shadow``) start
and grow while the command runs; each later interval judges exactly the runs that are new or
grew, and the run ends on SIGTERM, on ``--max-count`` or on ``--stop-on-divergence`` with
``check``'s exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from replaykit.servers import RunningServer, parse_server, start_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "shadow"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(parse_server("embedded")) as running:
        yield running


@pytest.fixture(scope="module")
def workflows() -> Iterator[Any]:
    sys.path.insert(0, str(DATA))
    try:
        import shadow_workflows

        yield shadow_workflows
    finally:
        sys.path.remove(str(DATA))
        sys.modules.pop("shadow_workflows", None)


class Sessions:
    """Sessions on one task queue of their own, served by a worker while the test runs."""

    def __init__(self, client: Client, module: Any, queue: str) -> None:
        self.client, self.module, self.queue = client, module, queue

    async def start(
        self, name: str, turns: int = 1, *, close: bool = False
    ) -> WorkflowHandle[Any, Any]:
        handle = await self.client.start_workflow(
            self.module.Session.run, name, id=f"{self.queue}-{name}", task_queue=self.queue
        )
        await self.grow(handle, turns)
        if close:
            await handle.signal(self.module.Session.close)
            await handle.result()
        return handle

    async def grow(self, handle: WorkflowHandle[Any, Any], turns: int = 1) -> None:
        for _ in range(turns):
            await handle.signal(self.module.Session.turn)
        await _settled(handle)


async def _settled(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the session has handled every signal (no workflow task or activity pending)."""
    for _ in range(600):
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} did not settle")


@asynccontextmanager
async def _sessions(server: RunningServer, module: Any) -> AsyncIterator[Sessions]:
    client = await server.client()
    queue = f"cont-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=[module.Session], activities=[module.reply]
    ):
        yield Sessions(client, module, queue)


class Shadow:
    """``replaykit shadow --continuous`` as a user runs it: a process of its own."""

    def __init__(self, proc: asyncio.subprocess.Process, report: Path) -> None:
        self.proc, self.report, self.lines = proc, report, []

    @classmethod
    async def start(cls, server: RunningServer, queue: str, tmp: Path, *args: str) -> Shadow:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        env["PYTHONPATH"] = f"{DATA}{os.pathsep}{ROOT}"
        report = tmp / f"{queue}.jsonl"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from replaykit.cli import run; run()",
            "shadow",
            "--server",
            server.address,
            "--query",
            f"TaskQueue = '{queue}'",
            "-w",
            "shadow_workflows",
            "-j",
            "1",
            "--continuous",
            "--interval",
            "1s",
            "--store",
            str(tmp / "store"),
            "--json-report",
            str(report),
            *args,
            cwd=DATA,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(proc, report)

    async def line(self, starting: str) -> str:
        """The next output line that starts with ``starting``."""
        assert self.proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), 180)
            if not raw:
                raise AssertionError(f"ended before {starting!r}:\n" + "".join(self.lines))
            text = raw.decode()
            self.lines.append(text)
            if text.startswith(starting):
                return text

    async def wait(self) -> int:
        assert self.proc.stdout is not None
        rest = await asyncio.wait_for(self.proc.stdout.read(), 180)
        self.lines.append(rest.decode())
        return await self.proc.wait()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(ln) for ln in self.report.read_text().splitlines()]


def _judged(record: dict[str, Any]) -> list[str]:
    return sorted(r["workflow_id"] for r in record["results"])


def test_each_interval_judges_what_started_or_grew_until_sigterm(
    server: RunningServer, workflows: Any, tmp_path: Path
) -> None:
    async def main() -> tuple[int, Shadow, dict[str, int], str]:
        async with _sessions(server, workflows) as s:
            grows = await s.start("grows", 1)
            await s.start("idle", 2)
            await s.start("closed", 1, close=True)
            shadow = await Shadow.start(server, s.queue, tmp_path)
            first = await shadow.line("interval 1 ")
            await s.grow(grows, 2)
            await s.start("new", 1)
            before = {"grows": (await grows.describe()).raw_description}
            lengths = {k: v.workflow_execution_info.history_length for k, v in before.items()}
            # Until an interval has judged both at their final length.
            while True:
                await shadow.line("interval ")
                seen = {
                    (r["workflow_id"], r["events"])
                    for rec in shadow.records()
                    for r in rec["results"]
                }
                if (grows.id, lengths["grows"]) in seen and any(
                    w == f"{s.queue}-new" for w, _ in seen
                ):
                    break
            shadow.proc.send_signal(signal.SIGTERM)
            return await shadow.wait(), shadow, lengths, first

    code, shadow, lengths, first = asyncio.run(main())
    assert code == 0, shadow.output
    assert "3 judged (3 new, 0 grown)" in first, first
    assert "SIGTERM: stopping" in shadow.output
    records = shadow.records()
    intervals, total = records[:-1], records[-1]
    assert all(r["kind"] == "interval" for r in intervals) and total["kind"] == "total"
    queue = _judged(intervals[0])[0].rsplit("-", 1)[0]
    assert _judged(intervals[0]) == [f"{queue}-closed", f"{queue}-grows", f"{queue}-idle"]
    later = {w for rec in intervals[1:] for w in _judged(rec)}
    assert later == {f"{queue}-grows", f"{queue}-new"}  # never the idle or the closed one
    assert any(rec["shadow"]["unchanged"] >= 2 for rec in intervals[1:])
    events = {r["workflow_id"]: r["events"] for r in intervals[0]["results"]}
    for rec in intervals[1:]:
        for r in rec["results"]:
            if r["workflow_id"] == f"{queue}-grows":
                assert r["events"] > events[r["workflow_id"]] and rec["interval"]["grown"] >= 1
    assert {r["status"] for rec in intervals for r in rec["results"]} == {"clean"}
    assert total["shadow"]["stopped"] == "request" and total["shadow"]["runs"] == 4
    assert total["summary"]["histories"] == sum(len(r["results"]) for r in intervals)
    assert "continuous shadow temporal://default" in shadow.output
    assert "stopped by request" in shadow.output


def test_max_count_ends_after_exactly_that_many_judgments(
    server: RunningServer, workflows: Any, tmp_path: Path
) -> None:
    async def main() -> tuple[int, Shadow]:
        async with _sessions(server, workflows) as s:
            for name in ("a", "b", "c", "d"):
                await s.start(name, 1, close=name in "ab")
            shadow = await Shadow.start(server, s.queue, tmp_path, "--max-count", "3")
            return await shadow.wait(), shadow

    code, shadow = asyncio.run(main())
    assert code == 0, shadow.output
    records = shadow.records()
    assert [r["kind"] for r in records] == ["interval", "total"]
    assert len(records[0]["results"]) == 3 and records[0]["shadow"]["stopped"] == "max-count"
    assert records[1]["summary"]["histories"] == 3
    assert records[1]["shadow"]["stopped"] == "max-count"


def test_stop_on_divergence_ends_at_the_first_one_with_exit_code_1(
    server: RunningServer, workflows: Any, tmp_path: Path
) -> None:
    async def main() -> tuple[int, Shadow, str]:
        async with _sessions(server, workflows) as s:
            await s.start("fine", 1)
            shadow = await Shadow.start(server, s.queue, tmp_path, "--stop-on-divergence")
            first = await shadow.line("interval 1 ")
            await s.start("drift-1", 2)
            return await shadow.wait(), shadow, first

    code, shadow, first = asyncio.run(main())
    assert code == 1, shadow.output
    assert "1 judged (1 new, 0 grown), 0 diverged" in first
    records = shadow.records()
    total = records[-1]
    assert total["shadow"]["stopped"] == "divergence"
    divergent = [r for r in total["results"] if r["status"] == "divergent"]
    assert [r["workflow_id"].rsplit("-", 2)[-2:] for r in divergent] == [["drift", "1"]]
    assert records[-2]["summary"]["divergent"] == 1  # found in the last interval
    assert "stopped by divergence" in shadow.output and "DIVERGED  " in shadow.output


def test_limit_and_files_are_refused_with_continuous(server: RunningServer) -> None:
    from click.testing import CliRunner

    from replaykit.cli.shadow import command

    for args, message in (
        (["--limit", "3"], "--max-count"),
        (["--from", str(DATA)], "--continuous shadows a cluster"),
    ):
        result = CliRunner().invoke(
            command,
            ["--server", server.address, "-w", "reference_agents", "--continuous", *args],
        )
        assert result.exit_code == 2 and message in result.output, result.output
    result = CliRunner().invoke(
        command, ["--server", server.address, "-w", "reference_agents", "--max-count", "3"]
    )
    assert result.exit_code == 2 and "apply to --continuous" in result.output
