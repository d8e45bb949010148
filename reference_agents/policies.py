"""Retry policies and timeouts of the reference agents (the seed article's numbers)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

#: Web search: 5 attempts, 2 s initial backoff, no retry on client errors (HTTP 4xx-like).
WEB_SEARCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_attempts=5,
    non_retryable_error_types=["ClientError"],
)

#: LLM calls: 10 attempts, exponential backoff capped at 60 s (rate limits); fail fast on
#: bad requests, bad credentials and cassette misses.
LLM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=10,
    non_retryable_error_types=[
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "UnprocessableEntityError",
        "CassetteMiss",
        "LLMConfigurationError",
    ],
)

#: Database writes: 3 attempts, then a human looks at it.
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)

#: Local tools (extraction, retrieval, validation): a few quick retries.
TOOL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_attempts=3,
    non_retryable_error_types=["ClientError"],
)

TOOL_TIMEOUT = timedelta(minutes=2)
LLM_TIMEOUT = timedelta(minutes=2)
DB_TIMEOUT = timedelta(seconds=30)
#: Every research step has a short heartbeat timeout besides its realistic start-to-close one: a
#: step handed to a worker that died is retried after seconds, not after the 2-minute
#: start-to-close timeout. Long steps heartbeat (LLM calls every second while the request is in
#: flight, extraction per document); short ones finish well inside it.
HEARTBEAT_TIMEOUT = timedelta(seconds=2)
