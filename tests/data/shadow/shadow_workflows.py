"""A session workflow for the continuous-shadow tests: each ``turn`` signal grows its history
by one activity; ``close`` ends it. A session named ``drift-...`` replays with a changed
activity input (as a changed prompt would), so shadowing it reports a divergence."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def reply(text: str) -> str:
    return text.upper()


@workflow.defn
class Session:
    def __init__(self) -> None:
        self.turns = 0
        self.done = 0
        self.closing = False

    @workflow.signal
    def turn(self) -> None:
        self.turns += 1

    @workflow.signal
    def close(self) -> None:
        self.closing = True

    @workflow.run
    async def run(self, name: str) -> int:
        while True:
            await workflow.wait_condition(lambda: self.turns > self.done or self.closing)
            while self.done < self.turns:
                self.done += 1
                text = f"{name} turn {self.done}"
                if name.startswith("drift") and workflow.unsafe.is_replaying():
                    text += " (changed)"
                await workflow.execute_activity(
                    reply, text, start_to_close_timeout=timedelta(seconds=30)
                )
            if self.closing:
                return self.done
