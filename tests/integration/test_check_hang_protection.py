"""A replay that never finishes in time is killed and reported; the rest are still checked.

The stock replayer can hang forever (DESIGN.md); `replaykit check` runs replays in worker
processes and kills one whose replay exceeds --timeout. Here a workflow that blocks for 3 s
during every replay stands in for a hang, with a 1 s timeout.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from replaykit import CheckOptions, check_histories, parse_server, start_server_async, write_history
from replaykit._history import make_meta

pytestmark = pytest.mark.integration

MODULE = '''
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
'''


def test_stuck_replay_is_killed_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hang_wf.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import hang_wf

    async def record() -> list[Path]:
        from temporalio.worker import Worker

        out = []
        async with await start_server_async(parse_server("timeskip")) as server:
            client = await server.client()
            async with Worker(client, task_queue="q", workflows=[hang_wf.Quick, hang_wf.Stalling]):
                for wf, wid in ((hang_wf.Stalling, "stalling-1"), (hang_wf.Quick, "quick-1"),
                                (hang_wf.Quick, "quick-2")):
                    handle = await client.start_workflow(wf.run, id=wid, task_queue="q")
                    await handle.result()
                    out.append(write_history(tmp_path / "h" / f"{wid}.json", await handle.fetch_history(),
                                             meta=make_meta(workflow_id=wid, run_id=None,
                                                            workflow_type=wf.__name__, task_queue="q",
                                                            namespace="default")))
        return out

    asyncio.run(record())
    report = check_histories([tmp_path / "h"], workflows=["hang_wf"], jobs=1,
                             options=CheckOptions(timeout=1.0, cache=False))
    by_name = {Path(r.path or "").name: r for r in report.results}
    assert by_name["stalling-1.json"].status == "error"
    assert "did not finish within 1 s" in (by_name["stalling-1.json"].error or "")
    assert by_name["quick-1.json"].status == "clean"
    assert by_name["quick-2.json"].status == "clean"
    assert report.exit_code == 2
    sys.modules.pop("hang_wf", None)
