"""A workflow that uses an installed distribution (``tinydep``, built by the tests)."""

import tinydep
from temporalio import workflow


@workflow.defn
class DepFlow:
    @workflow.run
    async def run(self, value: int) -> int:
        return tinydep.scale(value)
