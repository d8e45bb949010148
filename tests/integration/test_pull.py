"""`replaykit pull` against a real embedded server: fetch, load, replay, resume, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from temporalio import activity, workflow
from temporalio.worker import Replayer, Worker

from replaykit import ConfigError
from replaykit.cli.pull import command as pull_command
from replaykit.history import find_history_files, load_history
from replaykit.record import PullItem, pull_histories_async
from replaykit.record._pull import pull_file_name
from replaykit.servers import RunningServer, parse_server, start_server

pytestmark = pytest.mark.integration

TASK_QUEUE = "pull-tests"


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn(sandboxed=False)
class GreetWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        loud = await workflow.execute_activity(
            shout, f"hello {name}", start_to_close_timeout=timedelta(seconds=10)
        )
        return f"{loud}!"


@workflow.defn(sandboxed=False)
class CountWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += int(
                await workflow.execute_activity(
                    shout, str(i), start_to_close_timeout=timedelta(seconds=10)
                )
            )
        return total


# Ids include characters a file system must not see raw.
GREET_IDS = ["greet-ada", "greet/with slash:colon"]
COUNT_IDS = ["count-3"]


async def _seed(server: RunningServer) -> None:
    client = await server.client()
    async with Worker(
        client, task_queue=TASK_QUEUE, workflows=[GreetWorkflow, CountWorkflow], activities=[shout]
    ):
        for wid in GREET_IDS:
            await client.execute_workflow(GreetWorkflow.run, wid, id=wid, task_queue=TASK_QUEUE)
        for wid in COUNT_IDS:
            await client.execute_workflow(CountWorkflow.run, 3, id=wid, task_queue=TASK_QUEUE)


@pytest.fixture(scope="module")
def seeded() -> Iterator[RunningServer]:
    with start_server(parse_server("embedded")) as server:
        asyncio.run(_seed(server))
        yield server


async def _replay_all(paths: list[Path]) -> None:
    replayer = Replayer(workflows=[GreetWorkflow, CountWorkflow])
    for path in paths:
        result = await replayer.replay_workflow(
            load_history(path).to_workflow_history(), raise_on_replay_failure=False
        )
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


async def test_pull_writes_loadable_replayable_files_and_resumes(
    seeded: RunningServer, tmp_path: Path
) -> None:
    client = await seeded.client()
    seen: list[tuple[PullItem, int, int]] = []
    report = await pull_histories_async(
        client,
        query=f"TaskQueue = '{TASK_QUEUE}'",
        out_dir=tmp_path / "h",
        concurrency=2,
        progress=lambda item, done, total: seen.append((item, done, total)),
    )
    assert report.ok
    assert sorted(i.workflow_id for i in report.fetched) == sorted(GREET_IDS + COUNT_IDS)
    assert [d for _, d, _ in seen] == [1, 2, 3] and {t for _, _, t in seen} == {3}

    files = find_history_files([tmp_path / "h"])
    assert len(files) == 3
    for item in report.fetched:
        assert item.path.name == pull_file_name(item.workflow_id, item.run_id)
        loaded = load_history(item.path)
        assert loaded.workflow_id == item.workflow_id
        assert loaded.run_id == item.run_id
        assert loaded.meta is not None and loaded.meta.namespace == "default"
        assert loaded.meta.extra["status"] == "COMPLETED"
        assert loaded.is_closed and len(loaded.events) == item.events
    assert "/" not in "".join(p.name for p in files)
    await _replay_all(files)

    before = {p: p.stat().st_mtime_ns for p in files}
    again = await pull_histories_async(
        client, query=f"TaskQueue = '{TASK_QUEUE}'", out_dir=tmp_path / "h"
    )
    assert again.fetched == [] and len(again.skipped) == 3
    assert {p: p.stat().st_mtime_ns for p in files} == before

    # A missing file is fetched again; the others stay skipped.
    files[0].unlink()
    third = await pull_histories_async(
        client, query=f"TaskQueue = '{TASK_QUEUE}'", out_dir=tmp_path / "h"
    )
    assert len(third.fetched) == 1 and len(third.skipped) == 2


async def test_pull_query_and_limit_select_executions(
    seeded: RunningServer, tmp_path: Path
) -> None:
    client = await seeded.client()
    only_greet = await pull_histories_async(
        client, query="WorkflowType = 'GreetWorkflow'", out_dir=tmp_path / "g"
    )
    assert sorted(i.workflow_id for i in only_greet.items) == sorted(GREET_IDS)
    limited = await pull_histories_async(client, query=None, out_dir=tmp_path / "l", limit=1)
    assert len(limited.items) == 1 and len(find_history_files([tmp_path / "l"])) == 1


async def test_pull_bad_query_is_a_config_error(seeded: RunningServer, tmp_path: Path) -> None:
    client = await seeded.client()
    with pytest.raises(ConfigError, match="invalid visibility query"):
        await pull_histories_async(client, query="this is not (a query", out_dir=tmp_path)


def test_cli_pull_then_resume(seeded: RunningServer, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    args = [
        "--server",
        seeded.address,
        "--out",
        str(out),
        "--query",
        "WorkflowType='CountWorkflow'",
    ]
    first = runner.invoke(pull_command, args)
    assert first.exit_code == 0, first.output
    assert "pulled 1, skipped 0 already present, failed 0" in first.stdout
    (path,) = find_history_files([out])
    assert json.loads(path.read_text())["replaykit"]["workflow_id"] == "count-3"

    second = runner.invoke(pull_command, [*args, "--quiet"])
    assert second.exit_code == 0, second.output
    assert "pulled 0, skipped 1 already present" in second.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--server", "127.0.0.1:1"], "cannot reach Temporal at 127.0.0.1:1"),
        (["--server", "timeskip"], "no visibility API"),
        (["--server", "nonsense"], "invalid server 'nonsense'"),
        (["--query", "bad ( query"], "invalid visibility query"),
    ],
)
def test_cli_errors_exit_2_with_one_clear_line(
    seeded: RunningServer, tmp_path: Path, extra: list[str], message: str
) -> None:
    args = ["--server", seeded.address, "--out", str(tmp_path), *extra]
    if extra[0] == "--server":
        args = ["--out", str(tmp_path), *extra]
    result = CliRunner().invoke(pull_command, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
