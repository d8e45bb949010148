"""`replaykit faults` runs each scenario on the server it prefers (``@scenario(server=...)``),
as `replaykit record` does, unless a flag, ``$TEMPORAL_ADDRESS`` or ``[tool.replaykit] server``
says otherwise (the one resolver's order, :mod:`replaykit.config._settings`).

Each scenario checks where it runs itself: only the time-skipping test server answers the
TestService's ``GetCurrentTime``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit.cli.faults import command as faults_command

pytestmark = pytest.mark.integration

SCENARIOS = """
from datetime import timedelta

from google.protobuf.empty_pb2 import Empty
from temporalio import workflow

from replaykit import scenario


@workflow.defn(name="FaultsServerNap")
class Nap:
    @workflow.run
    async def run(self, days: int) -> str:
        await workflow.sleep(timedelta(days=days))
        return "awake"


async def on_timeskip(client) -> bool:
    try:
        await client.test_service.get_current_time(Empty())
    except Exception:
        return False
    return True


@scenario(workflows=[Nap], server="timeskip")
async def long_nap(run):
    assert await on_timeskip(run.client), "long_nap ran on the embedded server"
    assert await run.execute(Nap.run, 30, id="long-nap") == "awake"


@scenario(workflows=[Nap])
async def no_nap(run):
    assert not await on_timeskip(run.client), "no_nap ran on the time-skipping server"
    assert await run.execute(Nap.run, 0, id="no-nap") == "awake"
"""


@pytest.fixture
def scenarios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """The scenario file, named after the test: in-process runs cache modules by name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    name = f"faults_server_{request.node.name.removeprefix('test_')}.py"
    (tmp_path / name).write_text(SCENARIOS)
    return name


def test_each_scenario_runs_on_the_server_it_prefers(scenarios: str) -> None:
    result = CliRunner().invoke(faults_command, [scenarios])
    assert result.exit_code == 0, result.output
    assert "long_nap [baseline]" in result.output
    assert "no_nap [baseline]" in result.output


def test_a_server_flag_outranks_the_scenarios_preference(scenarios: str) -> None:
    result = CliRunner().invoke(
        faults_command, [scenarios, "-k", "long_nap", "--server", "embedded"]
    )
    assert result.exit_code != 0
    assert "long_nap ran on the embedded server" in result.output


def test_killing_the_server_of_a_timeskip_scenario_says_what_to_pass(scenarios: str) -> None:
    result = CliRunner().invoke(
        faults_command, [scenarios, "-k", "long_nap", "--kill-server", "returned:x"]
    )
    assert result.exit_code == 2, result.output
    assert "killing the server needs the embedded server (--server embedded)" in result.output
