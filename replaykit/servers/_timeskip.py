"""The time-skipping test server: its command line and the client's auto time skipping.

The SDK's ``WorkflowEnvironment.start_time_skipping`` spawns the test server from its Rust core
without any parent-death signal: measured on temporalio 1.35, the test server survives a SIGKILL
of its Python parent (it is re-parented to init). So replaykit launches ``temporal-test-server
PORT`` itself and rebuilds the SDK's auto time-skipping client behaviour (unlock time skipping
while a workflow result is awaited) with a small client interceptor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import temporalio.api.testservice.v1
import temporalio.client

logger = logging.getLogger("replaykit.servers")


def _timeskip_argv(binary: Path, port: int) -> list[str]:
    return [str(binary), str(port)]


def _timeskip_with_port(argv: list[str], port: int) -> list[str]:
    return [*argv[:-1], str(port)]


class _TimeSkippingInterceptor(temporalio.client.Interceptor):
    """Auto time skipping for the test server, as the SDK's V1 environment does it.

    Time skipping is unlocked while a workflow result is awaited (``handle.result()`` and so
    ``execute_workflow``), so a 7-day ``workflow.sleep`` completes in milliseconds.
    """

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _TimeSkippingOutbound(next)


class _TimeSkippingOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        # Same trick as the SDK: swap the class so result() unlocks time skipping.
        handle.__class__ = _TimeSkippingWorkflowHandle
        return handle


class _TimeSkippingWorkflowHandle(temporalio.client.WorkflowHandle[Any, Any]):
    async def result(
        self,
        *,
        follow_runs: bool = True,
        rpc_metadata: Mapping[str, str | bytes] = {},
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        test_service = self._client.test_service
        await test_service.unlock_time_skipping(
            temporalio.api.testservice.v1.UnlockTimeSkippingRequest()
        )
        try:
            value = await super().result(
                follow_runs=follow_runs, rpc_metadata=rpc_metadata, rpc_timeout=rpc_timeout
            )
        except BaseException:
            try:
                await test_service.lock_time_skipping(
                    temporalio.api.testservice.v1.LockTimeSkippingRequest()
                )
            except Exception:
                logger.exception("failed to lock time skipping after an error")
            raise
        await test_service.lock_time_skipping(
            temporalio.api.testservice.v1.LockTimeSkippingRequest()
        )
        return value
