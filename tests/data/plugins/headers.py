"""A workflow whose client and worker interceptors put headers on every call (context
propagation, as tracing libraries do), shipped as a real ``temporalio.plugin.SimplePlugin``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import temporalio.client
import temporalio.converter
import temporalio.worker
from temporalio import activity, workflow
from temporalio.plugin import SimplePlugin

_HEADER = "x-request-context"


def _payload(text: str) -> Any:
    return temporalio.converter.default().payload_converter.to_payloads([text])[0]


class _ClientOut(temporalio.client.OutboundInterceptor):
    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> Any:
        input.headers = {**input.headers, _HEADER: _payload("tenant=acme;request=r-1")}
        return await super().start_workflow(input)


class _WorkflowOut(temporalio.worker.WorkflowOutboundInterceptor):
    def start_activity(self, input: temporalio.worker.StartActivityInput) -> Any:
        input.headers = {**input.headers, _HEADER: _payload("tenant=acme;from=workflow")}
        return super().start_activity(input)


class _WorkflowIn(temporalio.worker.WorkflowInboundInterceptor):
    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOut(outbound))


class ContextPropagation(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Adds a context header to workflow starts (client) and activity calls (workflow)."""

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _ClientOut(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _WorkflowIn


def context_plugin() -> SimplePlugin:
    return SimplePlugin("example.ContextPropagation", interceptors=[ContextPropagation()])


@activity.defn
async def lookup(name: str) -> str:
    return f"hello {name}"


@workflow.defn
class HeaderWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            lookup, name, start_to_close_timeout=timedelta(seconds=5)
        )
