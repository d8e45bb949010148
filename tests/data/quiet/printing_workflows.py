"""The core workflows (tests/data/core) printing as they run, as AI integrations do (Strands
prints the model's text): ``Parent`` also passes a changed argument, so its history diverges;
``Child`` and ``Looper`` are unchanged and clean. Used by tests/unit/test_quiet_output.py."""

from __future__ import annotations

import sys
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def fetch(item: str) -> str:
    return item.upper()


@workflow.defn
class Child:
    @workflow.run
    async def run(self, item: str) -> str:
        print("CHILD-PRINTS", item)
        return await workflow.execute_activity(fetch, item, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class Looper:
    @workflow.run
    async def run(self, n: int) -> int:
        print("LOOPER-PRINTS", n, end="")
        await workflow.sleep(timedelta(hours=1))
        if n < 3:
            workflow.continue_as_new(n + 1)
        return n


@workflow.defn
class Parent:
    def __init__(self) -> None:
        self.approved = False

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self, topic: str) -> str:
        print("PARENT-PRINTS Done!", end="")
        print("PARENT-WARNS on stderr", file=sys.stderr)
        a = await workflow.execute_activity(fetch, topic + "!", start_to_close_timeout=timedelta(seconds=10))
        await workflow.sleep(timedelta(days=7))
        await workflow.wait_condition(lambda: self.approved)
        b = await workflow.execute_child_workflow(Child.run, a + "-child", id=f"{workflow.info().workflow_id}-child")
        return a + b
