"""A workflow whose result comes from a helper two imports down."""

from temporalio import workflow

from vc_flows import mid


@workflow.defn
class Greet:
    @workflow.run
    async def run(self, name: str) -> str:
        return mid.greeting(name)
