"""A failing workflow task fails the scenario at once, with the user's frame, not a timeout.

The workflow calls a method it does not have (an ``AttributeError`` in workflow code): the
SDK fails the workflow task and the server retries it for as long as the execution lives,
so the scenario used to sit out its whole timeout and then say only that it timed out.
``record`` and ``faults`` now stop it at the first failed task and show the exception with
its traceback in the scenario file. Real embedded server; the commands run as the console
script does (``python -P``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent

SCENARIO = """
from temporalio import workflow

from replaykit import scenario


@workflow.defn(name="WftFailureGreeter")
class Greeter:
    @workflow.run
    async def run(self) -> str:
        return self.greeting_for_the_user()  # no such method


@scenario(workflows=[Greeter], timeout=240)
async def wft_failure_greet(run):
    await run.execute(Greeter.run, id="wft-failure-greet")
"""


@pytest.mark.parametrize("command", ["record", "faults"])
def test_a_failed_workflow_task_fails_the_scenario_with_the_users_frame(
    tmp_path: Path, command: str
) -> None:
    scen = tmp_path / "rk_wft_failure_scen.py"
    scen.write_text(SCENARIO)
    args = [scen.name]
    if command == "record":
        args += ["--out", str(tmp_path / "out"), "--timeout", "200"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TEMPORAL_ADDRESS", None)
    result = subprocess.run(
        [sys.executable, "-P", "-c", "from replaykit.cli import main; main()", command, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "WorkflowTaskFailed" in output
    assert "AttributeError" in output and "greeting_for_the_user" in output
    # the user's frame: the scenario file, the line and the function
    assert f'File "{scen}", line 11, in run' in output, output
    assert "timed out" not in output


def test_record_timeout_is_a_flag_through_the_one_resolver() -> None:
    from replaykit.config._settings import Resolver

    assert Resolver(flags={"scenario_timeout": 5}).scenario_timeout(scenario=240).value == 5
    got = Resolver().scenario_timeout(scenario=240)
    assert (got.value, got.source) == (240, "scenario")
    assert Resolver().scenario_timeout().value == 300


def test_a_record_timeout_must_be_positive() -> None:
    from replaykit import ConfigError
    from replaykit.config._settings import Resolver

    with pytest.raises(ConfigError, match="from flag"):
        Resolver(flags={"scenario_timeout": 0}).scenario_timeout(scenario=240)
