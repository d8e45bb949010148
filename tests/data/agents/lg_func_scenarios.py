"""Scenario recording the tiny LangGraph Functional API agent (``lg_func_agent`` on sys.path)."""

import lg_func_agent

from replaykit import scenario


@scenario(workflows=[lg_func_agent.LangGraphFunctionalWorkflow], plugins=[lg_func_agent.plugin])
async def langgraph_functional_agent(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(
        lg_func_agent.LangGraphFunctionalWorkflow.run, "Where is order 42?", id="lg-func-1"
    )
    assert "shipped" in answer, answer
