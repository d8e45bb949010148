"""A workflow that reads a data file when its module is imported."""

from pathlib import Path

from temporalio import workflow

GREETING = (Path(__file__).parent / "greeting.txt").read_text().strip()


@workflow.defn
class DataFlow:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"{GREETING} {name}"
