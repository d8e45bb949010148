"""Run every reference agent in one worker process.

    python -m reference_agents.worker [--address HOST:PORT] [--namespace NS] [--task-queue Q]

Address and namespace default to ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` (then
``localhost:7233`` / ``default``). LLM calls use ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import signal
import sys

DEFAULT_TASK_QUEUE = "reference-agents"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reference_agents.worker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--task-queue", default=DEFAULT_TASK_QUEUE)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="max_cached_workflows=0: every workflow task replays from history (finds replay bugs)",
    )
    return parser.parse_args(argv)


async def run_worker(args: argparse.Namespace) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker
    from temporalio.workflow import NondeterminismError

    from .registry import all_activities, all_workflows

    client = await Client.connect(args.address, namespace=args.namespace)
    workflows, activities = all_workflows(), all_activities()
    extra = {"max_cached_workflows": 0} if args.no_cache else {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as executor:
        worker = Worker(
            client,
            task_queue=args.task_queue,
            workflows=workflows,
            activities=activities,
            activity_executor=executor,
            workflow_failure_exception_types=[NondeterminismError],
            **extra,  # type: ignore[arg-type]
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"reference agents worker: {len(workflows)} workflows, {len(activities)} activities, "
            f"queue {args.task_queue!r} on {args.address}/{args.namespace}",
            flush=True,
        )
        async with worker:
            await stop.wait()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(run_worker(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
