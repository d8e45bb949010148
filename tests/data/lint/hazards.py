"""One workflow with every hazard `replaykit lint` knows, each at a known place.

Every line that must be reported ends with ``# expect: RULE `anchor` ``: the finding's column
is the first occurrence of ``anchor`` in the code part of that line. tests/unit/test_lint.py reads
these markers, so moving code around cannot make the expectations drift. Nothing else in this
file may be reported (activities, module-level code and unreached helpers are not workflow code).

This file is lint input only; it is never imported or run.
"""

import asyncio
import datetime as dt
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from time import time as now

import httpx
from temporalio import activity, workflow
from temporalio.workflow import defn

with workflow.unsafe.imports_passed_through():
    import requests
    from openai import AsyncOpenAI

SEEN_IDS: list[str] = []
COUNTS = {}
RUNS = 0
ALLOWED = frozenset({"a", "b"})


@activity.defn
async def fetch_page(url: str) -> str:
    # Activities do I/O: none of this is reported.
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    Path("/tmp/page.html").write_text(response.text)
    print(time.time(), random.random(), os.environ.get("HOME"))
    return response.text


def helper_reached_from_workflow(items: list[str]) -> str:
    stamp = dt.datetime.now()  # expect: RK101 `dt.datetime.now`
    return f"{stamp}:{len(items)}"


def second_level_helper() -> int:
    return random.randint(1, 6)  # expect: RK102 `random.randint`


def first_level_helper() -> int:
    return second_level_helper() + 1


def never_called_helper() -> float:
    return time.time()


class Ledger:
    def __init__(self) -> None:
        self.opened_at = time.monotonic()  # expect: RK101 `time.monotonic`

    def add(self, amount: int) -> None:
        os.system("echo added")  # expect: RK202 `os.system`

    def unused(self) -> None:
        subprocess.run(["true"])


@workflow.defn(name="Hazards")
class HazardWorkflow:
    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.client = AsyncOpenAI()  # expect: RK204 `AsyncOpenAI`

    @workflow.run
    async def run(self, ids: list[str]) -> str:
        started = time.time()  # expect: RK101 `time.time`
        started_alias = now()  # expect: RK101 `now`
        today = dt.date.today()  # expect: RK101 `dt.date.today`
        tick = time.perf_counter()  # expect: RK101 `time.perf_counter`
        choice = random.choice(ids)  # expect: RK102 `random.choice`
        token = uuid.uuid4()  # expect: RK103 `uuid.uuid4`
        region = os.environ["REGION"]  # expect: RK104 `os.environ`
        model = os.getenv("MODEL")  # expect: RK104 `os.getenv`
        with open("/tmp/state.json") as handle:  # expect: RK201 `open`
            state = handle.read()
        config = Path("config.toml").read_text()  # expect: RK201 `Path`
        subprocess.run(["ls"], capture_output=True)  # expect: RK202 `subprocess.run`
        requests.get("https://example.com")  # expect: RK204 `requests.get`
        socket.create_connection(("example.com", 80))  # expect: RK203 `socket`
        await self.client.chat.completions.create(model="m")  # expect: RK204 `self.client`
        threading.Thread(target=print).start()  # expect: RK301 `threading.Thread`
        ThreadPoolExecutor().shutdown()  # expect: RK301 `ThreadPoolExecutor`
        await asyncio.get_running_loop().run_in_executor(None, print)  # expect: RK301 `asyncio`
        time.sleep(1)  # expect: RK302 `time.sleep`
        await asyncio.sleep(timedelta(days=7))  # expect: RK303 `asyncio.sleep`
        for item in {"x", "y"}:  # expect: RK105 `{"x", "y"}`
            self.pending.add(item)
        self.pending.update([item for item in set(ids)])  # expect: RK105 `set(ids)`
        for item in self.pending:  # expect: RK105 `self.pending`
            await workflow.sleep(len(item))
        for item in ALLOWED:  # expect: RK105 `ALLOWED`
            await workflow.sleep(len(item))
        SEEN_IDS.append(choice)  # expect: RK401 `SEEN_IDS`
        COUNTS[choice] = 1  # expect: RK401 `COUNTS`
        global RUNS
        RUNS += 1  # expect: RK401 `RUNS`
        await fetch_page("https://example.com")  # expect: RK501 `fetch_page`
        await workflow.execute_activity(fetch_page, "https://x")  # expect: RK502 `workflow`
        await workflow.execute_activity(
            fetch_page, "https://example.com", start_to_close_timeout=timedelta(seconds=30)
        )
        ledger = Ledger()
        ledger.add(1)
        summary = helper_reached_from_workflow(ids)
        roll = first_level_helper()
        return f"{started}{started_alias}{today}{tick}{token}{region}{model}{state}{config}" + (
            f"{summary}{roll}"
        )

    @workflow.signal
    async def add(self, item: str) -> None:
        delay = timedelta(seconds=5)
        await asyncio.sleep(delay)  # expect: RK303 `asyncio.sleep`
        self.pending.add(item)

    @workflow.query
    def stamp(self) -> str:
        return str(dt.datetime.utcnow())  # expect: RK101 `dt.datetime.utcnow`


@defn
class AliasedDecoratorWorkflow:
    @workflow.run
    async def run(self) -> None:
        with workflow.unsafe.imports_passed_through():
            import random as rnd
        rnd.shuffle([1, 2, 3])  # expect: RK102 `rnd.shuffle`
        async with httpx.AsyncClient() as client:  # expect: RK204 `httpx.AsyncClient`
            await client.get("https://example.com")


@workflow.defn
class EndlessAgentWorkflow:
    """An agent loop that never continues as new: its history grows until Temporal stops it."""

    @workflow.run
    async def run(self) -> None:
        while True:  # expect: RK601 `while`
            await workflow.execute_activity(
                fetch_page, "https://example.com", start_to_close_timeout=timedelta(seconds=5)
            )
