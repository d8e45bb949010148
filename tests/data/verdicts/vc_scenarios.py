"""Recording scenarios of the verdict-cache test workflows (``replaykit record``)."""

from vc_flows.data_flow import DataFlow
from vc_flows.dep_flow import DepFlow
from vc_flows.greet import Greet
from vc_flows.lazy_flow import LazyFlow
from vc_flows.pass_flow import PassFlow

from replaykit import scenario

WORKFLOWS = [Greet, LazyFlow, DepFlow, DataFlow, PassFlow]


@scenario(workflows=WORKFLOWS, server="timeskip")
async def greet(run):
    for i in range(2):
        await run.execute(Greet.run, f"ann{i}", id=f"greet-{i}")


@scenario(workflows=WORKFLOWS, server="timeskip")
async def lazy(run):
    for i in range(2):
        await run.execute(LazyFlow.run, i + 1, id=f"lazy-{i}")


@scenario(workflows=WORKFLOWS, server="timeskip")
async def dep(run):
    for i in range(2):
        await run.execute(DepFlow.run, i + 1, id=f"dep-{i}")


@scenario(workflows=WORKFLOWS, server="timeskip")
async def data(run):
    await run.execute(DataFlow.run, "bob", id="data-0")


@scenario(workflows=WORKFLOWS, server="timeskip")
async def passed(run):
    for i in range(2):
        await run.execute(PassFlow.run, f"p{i}", id=f"passed-{i}")
