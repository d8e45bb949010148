"""Talking to the shadowed cluster: every request through one rate limit.

Listing pages, history pages and describes are raw service calls (not the client's
iterators) so that each page is one request the token bucket has admitted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import temporalio.api.common.v1
import temporalio.api.enums.v1
import temporalio.api.history.v1
import temporalio.api.workflowservice.v1 as wsv1
import temporalio.client
import temporalio.service

from replaykit._internal._errors import ConfigError
from replaykit.record._pull import list_error

__all__ = [
    "Listed",
    "TokenBucket",
    "describe_length",
    "fetch_history",
    "list_executions",
    "list_page",
    "without_own_coordinators",
]

_RUNNING = temporalio.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


class TokenBucket:
    """At most ``rate`` requests per second, with bursts of ``max(1, rate / 10)``.

    Args:
        rate: Requests per second; None for no limit.

    Raises:
        ConfigError: ``rate`` is not positive.
    """

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ConfigError(f"max requests per second must be positive, got {rate!r}")
        self.rate = rate
        self.capacity = max(1.0, rate / 10) if rate is not None else 0.0
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = asyncio.Lock()
        self.taken = 0

    async def take(self) -> None:
        """Wait until one request may go."""
        self.taken += 1
        if self.rate is None:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)


@dataclass(frozen=True)
class Listed:
    """One execution as visibility lists it.

    Attributes:
        workflow_id: Its workflow id.
        run_id: Its run id.
        workflow_type: Its workflow type name.
        task_queue: The task queue it runs on.
        status: ``COMPLETED``, ``RUNNING``, ... (the status enum's short name).
        history_length: Visibility's count of events (0 when the server does not keep it).
    """

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str
    history_length: int

    @property
    def running(self) -> bool:
        """Whether the execution was open when listed."""
        return self.status == "RUNNING"


def _status_name(value: int) -> str:
    try:
        name = temporalio.api.enums.v1.WorkflowExecutionStatus.Name(value)  # type: ignore[arg-type]
    except ValueError:
        return str(value)
    return name.removeprefix("WORKFLOW_EXECUTION_STATUS_")


async def list_executions(
    client: temporalio.client.Client,
    query: str | None,
    bucket: TokenBucket,
    *,
    page_size: int = 1000,
) -> AsyncIterator[Listed]:
    """The executions a visibility query matches, page by page, as they arrive.

    Raises:
        ConfigError: The server rejected the query.
        ServerError: Listing failed (unreachable, no visibility API, no such namespace).
    """
    token = b""
    while True:
        page, token = await list_page(client, query, bucket, token=token, page_size=page_size)
        for listed in page:
            yield listed
        if not token:
            return


async def list_page(
    client: temporalio.client.Client,
    query: str | None,
    bucket: TokenBucket,
    *,
    token: bytes = b"",
    page_size: int = 1000,
) -> tuple[list[Listed], bytes]:
    """One page of the executions a visibility query matches, and the next page's token
    (empty after the last page): one rate-limited request.

    Raises:
        ConfigError: The server rejected the query.
        ServerError: Listing failed (unreachable, no visibility API, no such namespace).
    """
    await bucket.take()
    request = wsv1.ListWorkflowExecutionsRequest(
        namespace=client.namespace,
        page_size=page_size,
        next_page_token=token,
        query=without_own_coordinators(query),
    )
    try:
        response = await client.workflow_service.list_workflow_executions(request, retry=True)
    except temporalio.service.RPCError as exc:
        raise list_error(exc, query=query, namespace=client.namespace) from None
    page = [
        Listed(
            workflow_id=info.execution.workflow_id,
            run_id=info.execution.run_id,
            workflow_type=info.type.name,
            task_queue=info.task_queue,
            status=_status_name(info.status),
            history_length=info.history_length,
        )
        for info in response.executions
    ]
    return page, response.next_page_token


#: The workflow type of ``shadow --on-temporal``'s coordinator (never shadowed itself).
COORDINATOR_TYPE = "ReplaykitShadow"


def without_own_coordinators(query: str | None) -> str:
    """The query, leaving out the shadow's own coordinator executions (they may share the
    shadowed namespace; the candidate code does not define their workflow)."""
    own = f"WorkflowType != '{COORDINATOR_TYPE}'"
    return f"({query}) AND {own}" if query and query.strip() else own


async def fetch_history(
    client: temporalio.client.Client, execution: Listed, bucket: TokenBucket
) -> temporalio.api.history.v1.History:
    """The execution's whole history as it is now, one rate-limited request per page.

    Raises:
        temporalio.service.RPCError: The server refused (the caller reports it per execution).
    """
    history = temporalio.api.history.v1.History()
    token = b""
    while True:
        await bucket.take()
        response = await client.workflow_service.get_workflow_execution_history(
            wsv1.GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=temporalio.api.common.v1.WorkflowExecution(
                    workflow_id=execution.workflow_id, run_id=execution.run_id
                ),
                next_page_token=token,
            ),
            retry=True,
        )
        history.events.extend(response.history.events)
        token = response.next_page_token
        if not token:
            return history


async def describe_length(
    client: temporalio.client.Client, execution: Listed, bucket: TokenBucket
) -> tuple[int, bool]:
    """``(history length, running)`` of the execution now (describe is exact; visibility
    may lag behind a running execution's history)."""
    await bucket.take()
    response = await client.workflow_service.describe_workflow_execution(
        wsv1.DescribeWorkflowExecutionRequest(
            namespace=client.namespace,
            execution=temporalio.api.common.v1.WorkflowExecution(
                workflow_id=execution.workflow_id, run_id=execution.run_id
            ),
        ),
        retry=True,
    )
    info = response.workflow_execution_info
    return info.history_length, info.status == _RUNNING
