from core_workflows import Child, Looper, Parent, fetch

from replaykit import scenario


@scenario(workflows=[Parent, Child, Looper], activities=[fetch])
async def parent_flow(run):
    h = await run.start(Parent.run, "topic", id="parent-1")
    await h.signal(Parent.approve)
    assert await h.result() == "TOPICTOPIC-CHILD"


@scenario(workflows=[Parent, Child, Looper], activities=[fetch])
async def looper_flow(run):
    assert await run.execute(Looper.run, 1, id="looper-1") == 3
