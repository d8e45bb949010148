"""``pytest --replaykit-pdb``: pdb at the first divergence of a failing history item or
``assert_replays``, driven over the pytest process's standard input.

The project is a temp folder holding the reference OpenAI agent with a changed system prompt
and the agent's recorded history (fixtures/histories), so the history drifts at its first
model call.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "fixtures" / "histories" / "openai_tool_agent" / "openai-agent-1.json"
STDIN = b"p turn\np self._messages[0]['content'][:36]\nc\n"


def _project(pytester: pytest.Pytester) -> Path:
    source = (ROOT / "reference_agents" / "openai_agent.py").read_text()
    old = '_SYSTEM = "You are a research assistant.'
    assert old in source
    (pytester.path / "changed_agent.py").write_text(
        source.replace(old, '_SYSTEM = "You are a careful research assistant.')
    )
    (pytester.path / "histories").mkdir()
    shutil.copy(HISTORY, pytester.path / "histories" / HISTORY.name)
    # The changed agent imports the reference agents' activities: they live in the
    # checkout (the wheel does not install them), so the checkout goes on the path.
    (pytester.path / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [tool.replaykit]
        workflows = ["changed_agent"]
        histories = "histories"

        [tool.pytest.ini_options]
        pythonpath = [".", "{ROOT}"]
        asyncio_mode = "auto"
        asyncio_default_fixture_loop_scope = "function"
    """)
    )
    return pytester.path


def _pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        *args,
        stdin=STDIN,
        timeout=300,
    )


def _answers(out: str) -> list[str]:
    answers = [part.split("\n", 1)[0].strip() for part in out.split("(Pdb) ")[1:]]
    return [a for a in answers if a and not a.startswith("replaykit:")]


def test_a_failing_history_item_drops_into_pdb_at_the_divergence(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester)
    result = _pytest(pytester, "histories/", "--replaykit-pdb")
    out = result.stdout.str()
    assert result.ret == 1, out
    assert "1 failed" in out
    assert "stopped at --break-at divergence" in out
    assert "changed_agent.py(" in out and ")run()" in out
    assert _answers(out)[:2] == ["1", "'You are a careful research assistant'"]
    # The item still fails with the divergence explanation.
    assert "activity call_chat_with_tools: input arguments changed" in out

    plain = _pytest(pytester, "histories/")
    assert plain.ret == 1
    assert "(Pdb)" not in plain.stdout.str()


def test_assert_replays_drops_into_pdb_at_the_divergence(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(
        test_agent_replays="""
        async def test_replays(assert_replays):
            assert_replays("histories/openai-agent-1.json")
    """
    )
    result = _pytest(pytester, "test_agent_replays.py", "--replaykit-pdb")
    out = result.stdout.str()
    assert result.ret == 1, out
    assert "1 failed" in out
    assert "stopped at --break-at divergence" in out
    assert _answers(out)[:2] == ["1", "'You are a careful research assistant'"]
    assert "AssertionError" in out
