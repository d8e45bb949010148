"""The readiness check: a real gRPC round trip to a server's frontend."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import temporalio.api.workflowservice.v1
import temporalio.client

from replaykit._internal._errors import ServerError
from replaykit.config._server_spec import ServerKind


async def _probe(
    address: str,
    namespace: str,
    kind: ServerKind,
    connect_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """A real gRPC round trip: the namespace exists (dev server/cluster) or health is SERVING."""
    kwargs = {**(connect_kwargs or {}), "namespace": namespace}
    client = await temporalio.client.Client.connect(address, **kwargs)
    if kind == "timeskip":
        # The Java test server has no DescribeNamespace; its health service answers.
        if not await client.service_client.check_health(timeout=timedelta(seconds=5)):
            raise ServerError(f"{address} answers but its workflow service is not serving")
        return
    await client.workflow_service.describe_namespace(
        temporalio.api.workflowservice.v1.DescribeNamespaceRequest(namespace=namespace),
        timeout=timedelta(seconds=5),
    )
