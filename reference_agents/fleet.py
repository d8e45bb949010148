"""A fleet of reference-agent executions on a real server, cheaply: what ``shadow`` shadows.

Hundreds of executions of five reference agents run by one in-process worker whose
activities are instant stand-ins registered under the real activities' names (replay never
runs activities, so the histories are the agents' own):

- ``ResearchAgentWorkflow``: closed (decompose, parallel searches, extraction, retrieval,
  synthesis, report);
- ``OpenAIAgentWorkflow``: closed, half of them with a tool call before the answer;
- ``MonitoringAgentWorkflow``: continue-as-new chains of three runs;
- ``ApprovalRequiredAgentWorkflow``: some approved and closed, some still waiting (running);
- ``CustomerSupportAgentWorkflow``: sessions still open after their first turn (running).

Workflow ids are ``fleet-<kind>-<n>``. Used by ``tests/integration/test_shadow.py`` and
``benchmarks/shadow_throughput.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from reference_agents.approval import ApprovalRequiredAgentWorkflow
from reference_agents.models import (
    AlertBatch,
    ApprovalDecision,
    ApprovalRequest,
    AssistantTurn,
    ChatWithToolsRequest,
    CheckRequest,
    CheckResult,
    DecomposeRequest,
    ExtractedDocument,
    ExtractRequest,
    MonitoringState,
    OpenAIAgentRequest,
    Passage,
    PlanRequest,
    PlanStep,
    ResearchRequest,
    RetrieveRequest,
    SaveReportRequest,
    SearchHit,
    SearchRequest,
    SupportSession,
    SupportTurn,
    Synthesis,
    SynthesisRequest,
    ToolCall,
)
from reference_agents.monitoring import MonitoringAgentWorkflow
from reference_agents.openai_agent import OpenAIAgentWorkflow
from reference_agents.research import ResearchAgentWorkflow
from reference_agents.support import CustomerSupportAgentWorkflow

__all__ = ["FLEET_WORKFLOWS", "Fleet", "FleetSize", "fleet_worker", "grow", "seed_fleet"]

FLEET_WORKFLOWS = [
    ResearchAgentWorkflow,
    OpenAIAgentWorkflow,
    MonitoringAgentWorkflow,
    ApprovalRequiredAgentWorkflow,
    CustomerSupportAgentWorkflow,
]

# ------------------------------------------------------------------ instant stand-ins


@activity.defn(name="decompose")
async def decompose(request: DecomposeRequest) -> list[str]:
    return [f"{request.topic}: question {i + 1}" for i in range(request.count)]


@activity.defn(name="search_web")
async def search_web(request: SearchRequest) -> list[SearchHit]:
    n = len(request.query) % 3
    return [
        SearchHit(f"doc-{n + i}", f"Doc {n + i}", f"https://example.com/{n + i}", "…", 0.9)
        for i in range(request.limit)
    ]


@activity.defn(name="extract_documents")
async def extract_documents(request: ExtractRequest) -> list[ExtractedDocument]:
    return [
        ExtractedDocument(d, d, f"https://example.com/{d}", "text", 1, "text")
        for d in request.doc_ids
    ]


@activity.defn(name="retrieve_passages")
async def retrieve_passages(request: RetrieveRequest) -> list[Passage]:
    return [
        Passage(d, f"https://example.com/{d}", f"about {request.query}", 0.5)
        for d in request.doc_ids[: request.top_k]
    ]


@activity.defn(name="synthesize")
async def synthesize(request: SynthesisRequest) -> Synthesis:
    return Synthesis(
        f"summary of {request.topic}", [p.url for p in request.passages], request.model
    )


@activity.defn(name="save_report")
async def save_report(request: SaveReportRequest) -> str:
    return f"report-{abs(hash(request.topic)) % 10_000}"


@activity.defn(name="call_chat_with_tools")
async def call_chat_with_tools(request: ChatWithToolsRequest) -> AssistantTurn:
    task = str(request.messages[1]["content"])
    if task.endswith("(look it up)") and len(request.messages) == 2:
        return AssistantTurn(None, [ToolCall("call-1", "calculator", '{"expression": "6*7"}')])
    return AssistantTurn(f"answer to {task}", [])


@activity.defn(name="execute_tool")
async def execute_tool(call: ToolCall) -> str:
    return "42"


@activity.defn(name="run_monitoring_check")
async def run_monitoring_check(request: CheckRequest) -> CheckResult:
    return CheckResult(request.check_number, {t: 50.0 for t in request.targets}, [])


@activity.defn(name="record_alerts")
async def record_alerts(batch: AlertBatch) -> int:
    return len(batch.alerts)


@activity.defn(name="generate_plan")
async def generate_plan(request: PlanRequest) -> list[str]:
    return [f"step 1 of {request.task}", f"step 2 of {request.task}"]


@activity.defn(name="execute_plan_step")
async def execute_plan_step(step: PlanStep) -> str:
    return f"done: {step.step}"


@activity.defn(name="generate_support_reply")
async def generate_support_reply(turn: SupportTurn) -> str:
    return f"reply {len(turn.memory)}"


ACTIVITIES = [
    decompose,
    search_web,
    extract_documents,
    retrieve_passages,
    synthesize,
    save_report,
    call_chat_with_tools,
    execute_tool,
    run_monitoring_check,
    record_alerts,
    generate_plan,
    execute_plan_step,
    generate_support_reply,
]


@dataclass(frozen=True)
class FleetSize:
    """How many executions of each kind (``monitoring`` counts chains of three runs)."""

    research: int = 60
    openai: int = 60
    monitoring: int = 15
    approved: int = 20
    waiting: int = 30
    support: int = 20

    @property
    def executions(self) -> int:
        """Runs in all (each monitoring chain is three)."""
        return (
            self.research
            + self.openai
            + 3 * self.monitoring
            + self.approved
            + self.waiting
            + self.support
        )


@dataclass(frozen=True)
class Fleet:
    """What :func:`seed_fleet` started.

    Attributes:
        task_queue: The fleet's task queue (``TaskQueue = '<it>'`` selects the fleet).
        size: The counts.
        workflow_ids: By kind: ``research``, ``openai``, ``monitoring``, ``approved``,
            ``waiting``, ``support``.
    """

    task_queue: str
    size: FleetSize
    workflow_ids: dict[str, tuple[str, ...]]


def fleet_worker(client: Client, task_queue: str) -> Worker:
    """A worker of every fleet workflow with the instant activities."""
    return Worker(client, task_queue=task_queue, workflows=FLEET_WORKFLOWS, activities=ACTIVITIES)


async def seed_fleet(
    client: Client, *, task_queue: str = "fleet", size: FleetSize | None = None
) -> Fleet:
    """Run the fleet to where it stays: closed ones closed, running ones waiting.

    A worker runs in this process while the executions start and settle; the running ones
    (approvals waiting for a decision, support sessions waiting for a message) are left
    waiting on a signal with no timer due for a day, so their histories stay as they are.
    """
    size = size or FleetSize()
    ids: dict[str, list[str]] = {
        k: [] for k in ("research", "openai", "monitoring", "approved", "waiting", "support")
    }
    async with fleet_worker(client, task_queue):
        closing: list[WorkflowHandle[Any, Any]] = []
        waiting: list[WorkflowHandle[Any, Any]] = []

        async def start(kind: str, n: int, run: Any, arg: Any) -> WorkflowHandle[Any, Any]:
            wid = f"fleet-{kind}-{n}"
            ids[kind].append(wid)
            return await client.start_workflow(run, arg, id=wid, task_queue=task_queue)

        for n in range(size.research):
            closing.append(
                await start(
                    "research",
                    n,
                    ResearchAgentWorkflow.run,
                    ResearchRequest(f"topic {n}", max_sub_questions=2),
                )
            )
        for n in range(size.openai):
            task = f"task {n}" + (" (look it up)" if n % 2 else "")
            closing.append(
                await start(
                    "openai",
                    n,
                    OpenAIAgentWorkflow.run,
                    OpenAIAgentRequest(task, max_turns=3, tools=["calculator"]),
                )
            )
        for n in range(size.monitoring):
            state = MonitoringState(targets=[f"svc-{n}"], history_threshold=5, max_checks=3)
            closing.append(await start("monitoring", n, MonitoringAgentWorkflow.run, state))
        approving = [
            await start(
                "approved", n, ApprovalRequiredAgentWorkflow.run, ApprovalRequest(f"job {n}")
            )
            for n in range(size.approved)
        ]
        for n in range(size.waiting):
            waiting.append(
                await start(
                    "waiting",
                    n,
                    ApprovalRequiredAgentWorkflow.run,
                    ApprovalRequest(f"pending job {n}"),
                )
            )
        for n in range(size.support):
            handle = await start(
                "support", n, CustomerSupportAgentWorkflow.run, SupportSession(f"session-{n}")
            )
            await handle.signal(CustomerSupportAgentWorkflow.receive_message, f"hello from {n}")
            waiting.append(handle)

        async def approve(handle: WorkflowHandle[Any, Any]) -> None:
            # Once the plan awaits approval, as a reviewer would. (A decision signalled
            # earlier replays clean too: tests/unit/test_cancelled_before_sent.py.)
            await _settled(handle)
            await handle.signal(
                ApprovalRequiredAgentWorkflow.approve, ApprovalDecision("ada", "ok")
            )
            await handle.result()

        await asyncio.gather(*(h.result() for h in closing), *(approve(h) for h in approving))
        await asyncio.gather(*(_settled(h) for h in waiting))
    return Fleet(task_queue, size, {k: tuple(v) for k, v in ids.items()})


async def _settled(handle: WorkflowHandle[Any, Any], timeout: float = 600.0) -> None:
    """Wait until a waiting execution has no workflow task or activity left to run.

    The timeout only keeps a broken run from waiting forever: a loaded CI machine may take
    minutes to run a few hundred executions.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        desc = await handle.describe()
        raw = desc.raw_description
        busy = bool(raw.pending_activities) or raw.HasField("pending_workflow_task")
        if not busy and desc.history_length > 5:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{handle.id} did not settle within {timeout:g} s")
        await asyncio.sleep(0.25)


async def grow(client: Client, workflow_ids: Sequence[str], *, task_queue: str = "fleet") -> None:
    """Send one more message to running support sessions and let them answer it."""
    async with fleet_worker(client, task_queue):
        handles = [client.get_workflow_handle(w) for w in workflow_ids]
        before = {h.id: (await h.describe()).history_length for h in handles}
        for h in handles:
            await h.signal(CustomerSupportAgentWorkflow.receive_message, "one more thing")
        for h in handles:
            while True:
                await _settled(h)
                if (await h.describe()).history_length > before[h.id]:
                    break
                await asyncio.sleep(0.1)
