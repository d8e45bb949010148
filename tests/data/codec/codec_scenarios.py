from codec_workflows import SecretAgent, ask_llm

from replaykit import scenario


@scenario(workflows=[SecretAgent], activities=[ask_llm])
async def secret_question(run):
    result = await run.execute(SecretAgent.run, "what is the launch code?", id="secret-1")
    assert result == "ANSWER TO: ANSWER BRIEFLY: WHAT IS THE LAUNCH CODE?"
