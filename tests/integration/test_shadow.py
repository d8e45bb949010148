"""`replaykit shadow` on a real embedded server holding a fleet of reference-agent executions.

The fleet (``reference_agents.fleet``): research and OpenAI tool agents (closed), monitoring
continue-as-new chains, approvals (closed and still waiting) and support sessions (running),
over 200 executions. Shadowed against the unchanged code they are all clean; against a
breaking change and a prompt change (edited copies of the agents, as the demo makes them)
exactly the affected executions are reported, with the explanations ``check`` gives the same
executions pulled to files.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reference_agents.fleet import Fleet, fleet_worker, grow, seed_fleet
from reference_agents.models import ResearchRequest
from reference_agents.research import ResearchAgentWorkflow
from replaykit.cli.shadow import command as shadow_command
from replaykit.history import find_history_files
from replaykit.record._pull import pull_file_name, pull_histories_async
from replaykit.servers import RunningServer, parse_server, start_server
from replaykit.shadow import (
    ShadowOptions,
    ShadowReport,
    in_sample,
    shadow_cluster_async,
    shadow_folder,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
QUERY = "TaskQueue = 'fleet'"
WORKFLOWS = ["reference_agents"]
JOBS = 2

SEARCH_ARG = "SearchRequest(query=q, limit=2)"
SYSTEM_PROMPT = "then answer concisely."


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[RunningServer, Fleet]]:
    """The server and the fleet on it (tests may add executions: each lists them anew)."""
    with start_server(parse_server("embedded")) as server:
        seeded = asyncio.run(_seed(server))
        yield server, seeded


async def _seed(server: RunningServer) -> Fleet:
    client = await server.client()
    seeded = await seed_fleet(client)
    assert len(await _list(server)) == seeded.size.executions >= 200
    return seeded


async def _list(server: RunningServer) -> list[tuple[str, str]]:
    """Every run (workflow id, run id) of the fleet that visibility lists."""
    client = await server.client()
    return [(e.id, e.run_id) async for e in client.list_workflows(QUERY)]


def _shadow(server: RunningServer, shadow: ShadowOptions) -> ShadowReport:
    async def main() -> ShadowReport:
        client = await server.client()
        return await shadow_cluster_async(
            client, workflows=WORKFLOWS, query=QUERY, shadow=shadow, jobs=JOBS
        )

    return asyncio.run(main())


def _names(runs: list[tuple[str, str]], *kinds: str) -> set[str]:
    """The runs of the fleet's workflow ids of these kinds (``fleet-<kind>-...``)."""
    return {pull_file_name(w, r) for w, r in runs if w.split("-")[1] in kinds}


def test_unchanged_code_is_clean_and_a_second_shadow_fetches_only_what_changed(
    fleet: tuple[RunningServer, Fleet], tmp_path: Path
) -> None:
    server, seeded = fleet
    runs = asyncio.run(_list(server))
    store = tmp_path / "store"
    first = _shadow(server, ShadowOptions(store=store))
    results = first.check.results
    assert {r.path for r in results} == {pull_file_name(w, r) for w, r in runs}
    assert [r.describe() for r in results if r.status != "clean"] == []
    assert first.exit_code == 0
    assert (first.listed, first.selected, first.fetched, first.reused) == (len(runs),) * 3 + (0,)
    # Running executions are replayed as the partial histories they are.
    running = {r.path for r in results if r.closed is False}
    assert running == _names(runs, "waiting", "support")
    chains = [r for r in results if r.workflow_type == "MonitoringAgentWorkflow"]
    assert len(chains) == 3 * seeded.size.monitoring
    # The store is a folder `check` reads as it is.
    assert len(find_history_files([store / "default"])) == len(runs)

    grown = seeded.workflow_ids["support"][:3]
    new_ids = ["fleet-research-new-0", "fleet-research-new-1"]

    async def change() -> None:
        client = await server.client()
        await grow(client, grown)
        async with fleet_worker(client, seeded.task_queue):
            for wid in new_ids:
                await client.execute_workflow(
                    ResearchAgentWorkflow.run,
                    ResearchRequest("a new topic", max_sub_questions=2),
                    id=wid,
                    task_queue=seeded.task_queue,
                )

    asyncio.run(change())
    second = _shadow(server, ShadowOptions(store=store))
    assert second.exit_code == 0, [r.describe() for r in second.check.results]
    assert second.selected == len(runs) + 2
    # Reused histories replay from the store's files but carry the names fetched ones do.
    now = asyncio.run(_list(server))
    assert {r.path for r in second.check.results} == {pull_file_name(w, r) for w, r in now}
    assert (second.fetched, second.reused) == (5, len(runs) - 3)
    events_before = {r.path: r.events for r in results}
    for r in second.check.results:
        if r.workflow_id in grown:
            assert r.events > events_before[r.path]
        elif r.path in events_before:
            assert r.events == events_before[r.path]

    # The command prints the counts; nothing changed since: everything is reused.
    out = CliRunner().invoke(
        shadow_command,
        ["--server", server.address, "--query", QUERY, "--store", str(store), "-w", *WORKFLOWS]
        + ["-q", "-j", str(JOBS), "--json-report", str(tmp_path / "r.json")],
    )
    assert out.exit_code == 0, out.output
    assert f"0 fetched, {len(runs) + 2} reused from the store" in out.output
    body = json.loads((tmp_path / "r.json").read_text())
    assert body["shadow"]["reused"] == len(runs) + 2
    assert body["summary"]["clean"] == len(runs) + 2


def test_sample_limit_and_dedup_hold_and_reruns_pick_the_same(
    fleet: tuple[RunningServer, Fleet], tmp_path: Path
) -> None:
    server, seeded = fleet
    runs = asyncio.run(_list(server))
    expected = {pull_file_name(w, r) for w, r in runs if in_sample(r, 0.25)}
    assert 0 < len(expected) < len(runs)
    picks = []
    for _ in range(2):
        report = _shadow(server, ShadowOptions(sample=0.25))
        picks.append({r.path for r in report.check.results})
        assert report.sampled_out == len(runs) - len(expected)
        assert report.exit_code == 0
    assert picks == [expected, expected]

    limited = []
    for _ in range(2):
        report = _shadow(server, ShadowOptions(limit=12))
        assert report.stopped == "limit" and report.selected == 12
        limited.append([r.path for r in report.check.results])
    assert len(limited[0]) == 12 and limited[0] == limited[1]

    # A folder with runs exported twice: each run judged once.
    pulled = tmp_path / "pulled"
    asyncio.run(_pull(server, pulled))
    again = tmp_path / "again"
    again.mkdir()
    copies = sorted(pulled.glob("fleet-openai-*.json"))[:3]
    for path in copies:
        shutil.copy(path, again / f"copy-{path.name}")
    report = shadow_folder([pulled, again], workflows=WORKFLOWS, jobs=JOBS)
    assert report.duplicates == 3 and report.selected == len(runs)
    assert len(report.check.results) == len(runs) and report.exit_code == 0
    assert not any("copy-" in (r.path or "") for r in report.check.results)


async def _pull(server: RunningServer, out: Path) -> None:
    client = await server.client()
    report = await pull_histories_async(client, query=QUERY, out_dir=out)
    assert report.ok


def _changed_copy(work: Path, module: str, old: str, new: str) -> Path:
    target = work / f"changed-{module.removesuffix('.py')}"
    shutil.copytree(
        ROOT / "reference_agents",
        target / "reference_agents",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    path = target / "reference_agents" / module
    text = path.read_text()
    assert text.count(old) == 1, f"anchor not found in {module}: {old!r}"
    path.write_text(text.replace(old, new))
    return target


def _replaykit(args: list[str], *, code: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env["PYTHONPATH"] = f"{code}{os.pathsep}{ROOT}"  # the changed agents first
    return subprocess.run(
        [sys.executable, "-c", "from replaykit.cli import run; run()", *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    "module,old,new,kind",
    [
        ("research.py", SEARCH_ARG, SEARCH_ARG.replace("limit=2", "limit=3"), "research"),
        ("openai_agent.py", SYSTEM_PROMPT, "then answer in detail.", "openai"),
    ],
    ids=["breaking-change", "prompt-change"],
)
def test_a_change_reports_exactly_the_affected_executions_as_check_explains_them(
    fleet: tuple[RunningServer, Fleet],
    tmp_path: Path,
    module: str,
    old: str,
    new: str,
    kind: str,
) -> None:
    server, _ = fleet
    runs = asyncio.run(_list(server))
    code = _changed_copy(tmp_path, module, old, new)
    pulled = tmp_path / "pulled"
    asyncio.run(_pull(server, pulled))

    shadowed = _replaykit(
        ["shadow", "--server", server.address, "--query", QUERY, "--no-store", "-q"]
        + ["-w", *WORKFLOWS, "-j", str(JOBS), "--json-report", str(tmp_path / "shadow.json")],
        code=code,
    )
    assert shadowed.returncode == 1, shadowed.stdout + shadowed.stderr
    checked = _replaykit(
        ["check", str(pulled), "-q", "-w", *WORKFLOWS, "-j", str(JOBS)]
        + ["--json-report", str(tmp_path / "check.json")],
        code=code,
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr

    shadow_results = {
        r["path"]: r for r in json.loads((tmp_path / "shadow.json").read_text())["results"]
    }
    check_results = {
        Path(r["path"]).name: r
        for r in json.loads((tmp_path / "check.json").read_text())["results"]
    }
    affected = _names(runs, kind)
    assert {n for n, r in shadow_results.items() if r["status"] == "divergent"} == affected
    assert set(shadow_results) == set(check_results)
    for name, result in shadow_results.items():
        same = check_results[name]
        assert (result["status"], result["divergences"], result["stock_error"]) == (
            same["status"],
            same["divergences"],
            same["stock_error"],
        ), name
    assert "fetched" in shadowed.stdout and f"{len(affected)} diverged" in shadowed.stdout


HANG_MODULE = """
import time
from temporalio import workflow


@workflow.defn
class Quick:
    @workflow.run
    async def run(self) -> str:
        return "quick"


@workflow.defn
class Stalling:
    @workflow.run
    async def run(self) -> str:
        if workflow.unsafe.is_replaying():
            with workflow.unsafe.sandbox_unrestricted():
                time.sleep(3)  # stands in for a replay that does not come back
        return "stalled"
"""


def test_a_stuck_replay_is_killed_and_its_replacement_judges_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command forks its workers before it connects; the one started after a kill comes
    from a process that now runs the SDK's runtime, and must still replay."""
    (tmp_path / "hang_wf.py").write_text(HANG_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import hang_wf

    with start_server(parse_server("embedded")) as server:

        async def run() -> None:
            from temporalio.worker import Worker

            client = await server.client()
            async with Worker(
                client, task_queue="hang", workflows=[hang_wf.Quick, hang_wf.Stalling]
            ):
                # Listed newest first: the stalling one is replayed first, the rest after.
                for wf, wid in (
                    (hang_wf.Quick, "quick-1"),
                    (hang_wf.Quick, "quick-2"),
                    (hang_wf.Stalling, "stalling-1"),
                ):
                    await client.execute_workflow(wf.run, id=wid, task_queue="hang")

        asyncio.run(run())
        proc = _replaykit(
            ["shadow", "--server", server.address, "--query", "TaskQueue = 'hang'"]
            + ["-w", "hang_wf", "-j", "1", "--timeout", "1", "--no-store"],
            code=tmp_path,
        )
    sys.modules.pop("hang_wf", None)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "stalling-1" in proc.stdout and "did not finish within 1 s" in proc.stdout
    assert "3 selected" in proc.stdout and "2 clean" in proc.stdout, proc.stdout


def _shadow_workers(
    server: RunningServer, code: Path, queue: str, count: int
) -> list[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env["PYTHONPATH"] = f"{code}{os.pathsep}{ROOT}"
    return [
        subprocess.Popen(
            [sys.executable, "-c", "from replaykit.cli import run; run()", "shadow-worker"]
            + ["--server", server.address, "--task-queue", queue, "-w", *WORKFLOWS, "--no-store"],
            cwd=code,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        for _ in range(count)
    ]


async def _kill_a_worker_mid_batch(
    server: RunningServer, workflow_id: str, workers: list[subprocess.Popen[str]]
) -> int:
    """SIGKILL the worker that has a batch in hand (its pid is in the worker identity)."""
    client = await server.client()
    pids = {p.pid: p for p in workers}
    for _ in range(600):
        description = await client.get_workflow_handle(workflow_id).describe()
        for pending in description.raw_description.pending_activities:
            pid = int((pending.last_worker_identity or "0@").split("@")[0] or 0)
            if pending.activity_type.name == "replaykit.shadow.judge" and pid in pids:
                if pending.state == 2:  # PENDING_ACTIVITY_STATE_STARTED
                    os.killpg(pid, 9)
                    pids[pid].wait()
                    return pid
        await asyncio.sleep(0.05)
    raise AssertionError("no batch was ever in a worker's hands")


def test_on_temporal_with_three_workers_one_killed_judges_each_once_as_the_local_shadow(
    fleet: tuple[RunningServer, Fleet], tmp_path: Path
) -> None:
    """Three shadow workers; the one holding a batch is SIGKILLed; the batch moves on, every
    execution gets one verdict, equal to the local shadow's; the coordinator continues as
    new under its event bound, and its own histories replay clean under `check`."""
    server, _ = fleet
    runs = asyncio.run(_list(server))
    code = _changed_copy(tmp_path, "research.py", SEARCH_ARG, SEARCH_ARG.replace("=2", "=3"))
    queue, events_per_run, window = "shadow-kill-test", 200, 4
    workers = _shadow_workers(server, code, queue, 3)
    try:
        started = _replaykit(
            ["shadow", "--on-temporal", "--detach", "--server", server.address, "--query", QUERY]
            + ["--task-queue", queue, "--batch-size", "4", "--window", str(window)]
            + ["--events-per-run", str(events_per_run), "--heartbeat-timeout", "4"]
            + ["-w", *WORKFLOWS],
            code=code,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        workflow_id = started.stdout.split("shadow started on Temporal: ")[1].split()[0]
        killed = asyncio.run(_kill_a_worker_mid_batch(server, workflow_id, workers))
        assert killed
        status = _replaykit(
            ["shadow", "status", workflow_id, "--server", server.address, "--wait", "-q"]
            + ["--json-report", str(tmp_path / "on-temporal.json")],
            code=code,
        )
        assert status.returncode == 1, status.stdout + status.stderr
    finally:
        for p in workers:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in workers:
            p.wait(timeout=30)
    local = _replaykit(
        ["shadow", "--server", server.address, "--query", QUERY, "--no-store", "-q"]
        + ["-w", *WORKFLOWS, "-j", str(JOBS), "--json-report", str(tmp_path / "local.json")],
        code=code,
    )
    assert local.returncode == 1, local.stdout + local.stderr

    body = json.loads((tmp_path / "on-temporal.json").read_text())
    paths = [r["path"] for r in body["results"]]
    assert len(paths) == len(set(paths)) == len(runs)  # each execution judged exactly once
    local_results = {
        r["path"]: r for r in json.loads((tmp_path / "local.json").read_text())["results"]
    }
    assert set(paths) == set(local_results)
    for result in body["results"]:
        same = local_results[result["path"]]
        assert (result["status"], result["divergences"]) == (
            same["status"],
            same["divergences"],
        ), result["path"]
    assert {p for p in paths if local_results[p]["status"] == "divergent"} == _names(
        runs, "research"
    )
    stats = body["shadow"]
    assert stats["retried_batches"] >= 1, stats  # the killed worker's batch, judged elsewhere
    assert stats["coordinator_runs"] > 1, stats  # 235 executions / 4 = 59 batches, over 200 events
    bound = events_per_run + 8 * window + 10  # what the batches in flight add while draining
    print(
        f"coordinator: {stats['coordinator_runs']} runs, largest {stats['coordinator_max_events']}"
    )
    assert stats["coordinator_max_events"] <= bound, stats
    assert f"{len(runs)} selected" in status.stdout

    # The shadow's own workflow replays clean under `check`, every run of its chain.
    own = tmp_path / "coordinator"
    pulled = _replaykit(
        ["pull", "--server", server.address, "--query", f"WorkflowId = '{workflow_id}'"]
        + ["--out", str(own)],
        code=code,
    )
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert len(find_history_files([own])) == stats["coordinator_runs"]
    checked = _replaykit(["check", str(own), "-w", "replaykit.shadow._coordinator"], code=code)
    assert checked.returncode == 0, checked.stdout + checked.stderr
