"""``faults --scenario-timeout`` and ``record --timeout``: one resolver method times the
scenarios of both commands (no server: the run with a server is in
tests/cli/test_faults_scenario_timeout.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit import ConfigError
from replaykit.cli.faults import command as faults_command
from replaykit.config._settings import Resolver
from replaykit.record import load_scenarios

SCENARIOS = """
from replaykit import scenario


@scenario(workflows=[], timeout=240)
async def slow_one(run):
    pass


@scenario(workflows=[])
async def plain_one(run):
    pass
"""


def _scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list:  # type: ignore[type-arg]
    (tmp_path / "rk_timeout_scen.py").write_text(SCENARIOS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return load_scenarios([tmp_path / "rk_timeout_scen.py"])


def test_the_flag_outranks_each_scenarios_own_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = _scenarios(tmp_path, monkeypatch)
    own = Resolver().with_scenario_timeouts(scenarios)
    assert [(s.name, s.timeout) for s in own] == [("slow_one", 240), ("plain_one", 300)]
    flagged = Resolver(flags={"scenario_timeout": 7}).with_scenario_timeouts(scenarios)
    assert [s.timeout for s in flagged] == [7, 7]
    assert [s.fn for s in flagged] == [s.fn for s in scenarios]  # nothing else changes
    with pytest.raises(ConfigError, match="from flag"):
        Resolver(flags={"scenario_timeout": -1}).with_scenario_timeouts(scenarios)


@pytest.mark.parametrize("value", ["0", "-5"])
def test_faults_rejects_a_bad_scenario_timeout_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    _scenarios(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        faults_command, ["rk_timeout_scen.py", "--scenario-timeout", value, "--fail", "act"]
    )
    assert result.exit_code == 2, result.output
    assert "scenario timeout" in result.output and "must be a positive" in result.output
