"""History items and the verdict cache: a pass is reused until something it depends on
changes, and the reuse is said, through the same resolver as ``replaykit check``."""

from __future__ import annotations

import pytest
import temporalio.worker  # noqa: F401

# Imported once out here (see test_plugin.py): pytester drops modules first imported inside
# an in-process run.
import replaykit.check._engine  # noqa: F401
import replaykit.servers  # noqa: F401

from .test_plugin import _change_activity_argument, _record, _sample

pytest_plugins = ["pytester"]


def test_history_items_reuse_a_stored_pass_until_the_code_changes(
    pytester: pytest.Pytester,
) -> None:
    root = _sample(pytester)
    _record(pytester)
    result = pytester.runpytest("histories/", "-v")
    result.assert_outcomes(passed=1)
    assert "reused" not in result.stdout.str()
    assert (root / ".replaykit" / "verdicts").is_dir()  # the default, below the pyproject
    result = pytester.runpytest("histories/", "-v", "--junit-xml=out.xml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_research_agent.json::replay PASSED (verdict reused)*",
            "*replaykit: 1 histories replayed: 1 clean (1 verdicts reused*",
        ]
    )
    assert 'name="replaykit.reused" value="True"' in (root / "out.xml").read_text()
    off = pytester.runpytest("histories/", "--replaykit-verdict-cache=off")
    off.assert_outcomes(passed=1)
    assert "reused" not in off.stdout.str()
    _change_activity_argument(root)
    result = pytester.runpytest("histories/")
    result.assert_outcomes(failed=1)  # replayed: the workflow module changed
    assert "args[1]: 3 -> 10" in result.stdout.str()
