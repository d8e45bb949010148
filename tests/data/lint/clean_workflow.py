"""A realistic agent workflow with no determinism hazard: `replaykit lint` must report nothing.

The activities in this file do real I/O (HTTP, files, clock, environment) - that is what
activities are for, and the linter must not confuse them with workflow code.

This file is lint input only; it is never imported or run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import httpx
    from openai import APIError, AsyncOpenAI

API_KEY = os.environ.get("OPENAI_API_KEY", "")  # module level, not workflow code
REPORT_DIR = Path(__file__).parent / "reports"
TOOLS = ("search", "summarise")
LLM_RETRY = RetryPolicy(maximum_attempts=5, backoff_coefficient=2.0)


@dataclass
class ResearchRequest:
    topic: str
    sources: list[str] = field(default_factory=list)


@activity.defn
async def call_llm(prompt: str) -> str:
    client = AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY"))
    response = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
    )
    return response.choices[0].message.content or ""


@activity.defn
async def fetch_source(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    started = time.time()
    activity.heartbeat(started)
    return response.text


@activity.defn
def write_report(topic: str, body: str) -> str:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{topic}-{datetime.now():%Y%m%d}-{random.randint(0, 99)}.md"
    path.write_text(body)
    with open(path.with_suffix(".json"), "w") as handle:
        json.dump({"topic": topic}, handle)
    return str(path)


class ResearchActivities:
    @activity.defn
    async def notify(self, message: str) -> None:
        async with httpx.AsyncClient() as client:
            await client.post("https://hooks.example.com", json={"text": message})


def build_prompt(topic: str, notes: list[str]) -> str:
    ordered = sorted(set(notes))
    return f"Research {topic} using {', '.join(TOOLS)}:\n" + "\n".join(ordered)


@workflow.defn
class ResearchAgentWorkflow:
    def __init__(self) -> None:
        self.approved = False
        self.seen: set[str] = set()
        self.log: list[str] = []

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def progress(self) -> list[str]:
        return list(self.log)

    @workflow.run
    async def run(self, request: ResearchRequest) -> str:
        started: datetime = workflow.now()
        run_id = workflow.uuid4()
        jitter = workflow.random().uniform(0, 1)
        local_random = random.Random(workflow.random().randint(0, 2**31))
        with workflow.unsafe.imports_passed_through():
            import textwrap
        pages = await asyncio.gather(
            *[
                workflow.execute_activity(
                    fetch_source,
                    url,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=LLM_RETRY,
                )
                for url in request.sources
            ]
        )
        for page in pages:
            self.seen.add(page[:20])
        for snippet in sorted(self.seen):
            self.log.append(snippet)
        prompt = build_prompt(request.topic, self.log)
        try:
            draft = await workflow.execute_activity(
                call_llm, prompt, schedule_to_close_timeout=timedelta(minutes=5)
            )
        except APIError:
            draft = ""
        await workflow.wait_condition(lambda: self.approved, timeout=timedelta(days=1))
        await workflow.sleep(timedelta(hours=1))
        await asyncio.sleep(5 + jitter)
        options = {"start_to_close_timeout": timedelta(seconds=10)}
        path = await workflow.execute_activity(write_report, args=[request.topic, draft], **options)
        await workflow.execute_activity_method(
            ResearchActivities.notify,
            f"report {path} ({run_id}, {local_random.random():.2f})",
            start_to_close_timeout=timedelta(seconds=10),
        )
        await workflow.execute_local_activity(
            call_llm, "short", schedule_to_close_timeout=timedelta(seconds=20)
        )
        elapsed = workflow.now() - started
        return textwrap.shorten(f"{draft} ({elapsed})", 200)
