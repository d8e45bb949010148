"""An existing cluster: its credentials from Temporal's environment configuration, and the
reachability check ``start_server`` makes instead of starting anything."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

import temporalio.service

from replaykit._internal._errors import ServerError
from replaykit._internal._sdk_compat import bridge_connect_reason

from ._probe import _probe


def environment_connect_config() -> dict[str, Any]:
    """Credentials for an existing cluster from Temporal's environment configuration.

    The same sources the ``temporal`` CLI and the SDKs read: ``TEMPORAL_API_KEY``,
    ``TEMPORAL_TLS``, ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``..._KEY_PATH``,
    ``TEMPORAL_TLS_SERVER_CA_CERT_PATH``, ``TEMPORAL_GRPC_META_*``, and the profile file
    (``TEMPORAL_CONFIG_FILE``, ``TEMPORAL_PROFILE``). Address and namespace are left to the
    server spec (flags, then ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE``).

    Raises:
        ServerError: The configuration names a file that cannot be read or is malformed.
    """
    import temporalio.envconfig

    try:
        config = dict(
            temporalio.envconfig.ClientConfig.load_client_connect_config(
                os.environ.get("TEMPORAL_PROFILE") or None
            )
        )
    except (OSError, ValueError, RuntimeError) as err:
        raise ServerError(f"Temporal client configuration: {err}") from None
    config.pop("target_host", None)
    config.pop("namespace", None)
    return config


async def _check_external(
    address: str, namespace: str, timeout: float, connect_kwargs: Mapping[str, Any] | None
) -> None:
    try:
        await asyncio.wait_for(
            _probe(address, namespace, "external", connect_kwargs), timeout=timeout
        )
    except asyncio.TimeoutError:
        raise ServerError(f"Temporal at {address} did not answer within {timeout:g}s") from None
    except temporalio.service.RPCError as exc:
        if exc.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            raise ServerError(f"namespace {namespace!r} not found on {address}") from None
        raise ServerError(f"Temporal at {address} refused the check: {exc.message}") from None
    except RuntimeError as exc:
        raise ServerError(f"cannot reach Temporal at {address}: {_short_reason(exc)}") from None


def _short_reason(exc: BaseException) -> str:
    """The readable part of a bridge connect error (which is a Rust debug dump)."""
    return bridge_connect_reason(str(exc))
