"""A workflow that imports its helper lazily, inside the run method."""

from temporalio import workflow


@workflow.defn
class LazyFlow:
    @workflow.run
    async def run(self, value: int) -> int:
        from vc_flows import lazy_helper

        return lazy_helper.twice(value)
