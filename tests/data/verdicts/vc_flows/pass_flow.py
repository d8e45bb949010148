"""A workflow whose helper is passed through the sandbox, not re-imported in it."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from vc_flows import pt_helper


@workflow.defn
class PassFlow:
    @workflow.run
    async def run(self, name: str) -> str:
        return pt_helper.tag(name)
