"""Search-attribute and memo upserts are compared value by value (recorded on a real server)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from replaykit import CheckOptions, check_histories, parse_server, start_server_async, write_history
from replaykit.history._files import make_meta

pytestmark = pytest.mark.integration

WORKFLOW = """
from datetime import timedelta
from temporalio import workflow
from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("AgentStage")


@workflow.defn(name="Upserting")
class Upserting:
    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes([STAGE.value_set("STAGE_VALUE")])
        workflow.upsert_memo({"note": "MEMO_VALUE"})
        await workflow.sleep(timedelta(seconds=1))
        return "done"
"""


def _module(folder: Path, name: str, stage: str, memo: str) -> str:
    text = WORKFLOW.replace("STAGE_VALUE", stage).replace("MEMO_VALUE", memo)
    (folder / f"{name}.py").write_text(text)
    return name


def test_upsert_values_are_compared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    original = _module(tmp_path, "upsert_v1", "planning", "first")
    module = __import__(original)

    async def record() -> Path:
        from temporalio.worker import Worker

        # The dev server (memo upserts; the test server does not implement them), with the
        # search attribute registered as a production namespace would have it.
        spec = parse_server("embedded")
        async with await start_server_async(spec) as server:
            client = await server.client()
            from temporalio.api.enums.v1 import IndexedValueType
            from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace,
                    search_attributes={"AgentStage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
                )
            )
            async with Worker(client, task_queue="q", workflows=[module.Upserting]):
                handle = await client.start_workflow(
                    module.Upserting.run, id="upsert-1", task_queue="q"
                )
                await asyncio.wait_for(handle.result(), timeout=60)
                history = await handle.fetch_history()
        return write_history(
            tmp_path / "h" / "upsert-1.json",
            history,
            meta=make_meta(
                workflow_id="upsert-1",
                run_id=None,
                workflow_type="Upserting",
                task_queue="q",
                namespace="default",
            ),
        )

    path = asyncio.run(record())
    assert check_histories([path], workflows=[original], jobs=0).results[0].status == "clean"
    changed_sa = _module(tmp_path, "upsert_v2", "executing", "first")
    result = check_histories([path], workflows=[changed_sa], jobs=0).results[0]
    assert result.status == "divergent"
    assert [d.cause for d in result.divergences] == ["search-attributes"]
    assert "AgentStage" in (result.divergences[0].diff or "")
    changed_memo = _module(tmp_path, "upsert_v3", "planning", "second")
    result = check_histories([path], workflows=[changed_memo], jobs=0).results[0]
    assert [d.cause for d in result.divergences] == ["memo"]
    stock = check_histories(
        [path], workflows=[changed_memo], jobs=0, options=CheckOptions(strict=False)
    ).results[0]
    assert stock.status == "clean"
    sys.modules.pop(original, None)
