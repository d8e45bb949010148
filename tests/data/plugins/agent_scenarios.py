"""A scenario for the sample-style agent (its plugin comes from --plugin or nowhere)."""

from replaykit import scenario
from tests.data.plugins.broken_agent import SampleAgentWorkflow


@scenario(workflows=[SampleAgentWorkflow])
async def sample_agent(run):  # type: ignore[no-untyped-def]
    await run.execute(SampleAgentWorkflow.run, "Tell me about recursion.", id="sample-1")


def haiku_plugin():  # type: ignore[no-untyped-def]
    """OpenAIAgentsPlugin with the integration's own scripted test model."""
    from temporalio.openai_agents import OpenAIAgentsPlugin
    from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider

    model = TestModel(lambda: ResponseBuilders.output_message("Functions call themselves."))
    return OpenAIAgentsPlugin(model_provider=TestModelProvider(model))
