from packed_workflows import PackedAgent, PackedTimer, ask_llm

from replaykit import scenario


@scenario(workflows=[PackedAgent], activities=[ask_llm])
async def packed_question(run):
    result = await run.execute(PackedAgent.run, "what is the launch code?", id="packed-1")
    assert result == "ANSWER TO: ANSWER BRIEFLY: WHAT IS THE LAUNCH CODE?"


@scenario(workflows=[PackedTimer])
async def packed_timer(run):
    assert await run.execute(PackedTimer.run, id="packed-timer-1") is None
