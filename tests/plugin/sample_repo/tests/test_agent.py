"""The sample repository's own tests: only documented replaykit fixtures."""

from __future__ import annotations

from agent.workflows import ResearchAgent


async def test_research_agent(temporal_client, replaykit_worker, record_history):
    from agent.activities import search_web, summarize

    async with replaykit_worker(activities=[search_web, summarize]) as worker:
        handle = await temporal_client.start_workflow(
            ResearchAgent.run, "temporal", id="research-temporal", task_queue=worker.task_queue
        )
        summary = await handle.result()
    assert summary.startswith("3 notes: latest on temporal result 1")
    path = await record_history(handle)
    assert path.name == "test_research_agent.json"


def test_recorded_histories_replay(assert_replays, replaykit_histories):
    assert replaykit_histories, "no recorded histories yet"
    for path in replaykit_histories:
        assert_replays(path)
