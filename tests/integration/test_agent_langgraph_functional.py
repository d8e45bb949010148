"""The LangGraph Functional API (``LangGraphPlugin(entrypoints=..., tasks=...)``) end to end.

``tests/data/agents/lg_func_agent.py`` (an ``@entrypoint`` deciding the system prompt, the
tools and the model settings, two ``@task`` activities, a langchain fake chat model) is
recorded on the embedded server, then checked against its next release. A task's activity
type is its ``module.qualname``, so the agent is imported as the top-level module
``lg_func_agent`` and its next release is a changed copy under the same name, found first
on ``sys.path``: what a repository's next commit would be.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from replaykit.check._report import format_result_line
from replaykit.integrations._agents import AGENT_CAUSES

from .agent_support import AGENTS, check_agent, record_agents

pytestmark = [pytest.mark.integration]

MODULE = "lg_func_agent"
AGENT = "entrypoint 'react_agent_entrypoint', task 'call_model'"

CHANGES = {
    "prompt": [("Answer briefly.", "Answer at length.")],
    "tools": [('"""Look an order up by its id."""', '"""Look an order up by id or email."""')],
    "model-settings": [("TEMPERATURE = 0.2", "TEMPERATURE = 0.7")],
}


def _forget() -> None:
    for name in (MODULE, "lg_func_scenarios"):
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    sys.path.insert(0, str(AGENTS))
    try:
        files = record_agents(["lg_func_scenarios"], tmp_path_factory.mktemp("lg-func"))
        yield files["langgraph_functional_agent"]
    finally:
        sys.path.remove(str(AGENTS))
        _forget()


@pytest.fixture()
def next_commit(tmp_path: Path) -> Iterator[Path]:
    """A folder ahead of the agent's own on sys.path, for its changed copy."""
    sys.path.insert(0, str(tmp_path))
    _forget()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        _forget()


def commit(folder: Path, *edits: tuple[str, str]) -> None:
    text = (AGENTS / f"{MODULE}.py").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    (folder / f"{MODULE}.py").write_text(text)


def test_unchanged_code_checks_clean(history: Path) -> None:
    # the entrypoint's checkpoint_map is keyed `react_agent_entrypoint:<random id>`: the
    # built-in rule masks the id in the key (`checkpoint_map.<key>`), not only the values
    _, result = check_agent(history, MODULE)
    assert result.status == "clean", format_result_line(result)
    assert result.divergences == (), format_result_line(result)


@pytest.mark.parametrize("cause", sorted(CHANGES))
def test_reviewed_change_is_named_and_allowed_by_its_cause_only(
    history: Path, next_commit: Path, cause: str
) -> None:
    commit(next_commit, *CHANGES[cause])
    _, result = check_agent(history, MODULE)
    assert result.status == "divergent"
    assert {d.cause for d in result.divergences} == {cause}, format_result_line(result)
    for d in result.divergences:
        assert (d.agent, d.integration) == (AGENT, "LangGraph"), format_result_line(result)
        assert d.subject == "activity lg_func_agent.call_model"
        assert f"{AGENT} (LangGraph)" in d.message
    first = result.divergences[0]
    if cause == "tools":
        assert [(i["name"], i["change"]) for i in first.items] == [
            ("lookup_order", "description changed")
        ]
    if cause == "model-settings":
        assert "0.2 -> 0.7" in (first.diff or ""), first.diff
    if cause == "prompt":
        assert "Answer at length." in (first.diff or ""), first.diff

    _, allowed = check_agent(history, MODULE, allow=(cause,))
    assert allowed.status == "clean", format_result_line(allowed)
    assert {d.cause for d in allowed.allowed} == {cause}
    for other in sorted(AGENT_CAUSES - {cause}):
        _, refused = check_agent(history, MODULE, allow=(other,))
        assert refused.status == "divergent", (other, format_result_line(refused))


def test_benign_refactor_passes(history: Path, next_commit: Path) -> None:
    commit(
        next_commit,
        (
            '        settings = {"temperature": TEMPERATURE}\n',
            "        settings = _settings()\n",
        ),
        (
            "def build(tasks: dict[str, Any]) -> Any:",
            "def _settings() -> dict[str, Any]:\n"
            '    return {"temperature": TEMPERATURE}  # one place for the model\'s settings\n'
            "\n\ndef build(tasks: dict[str, Any]) -> Any:",
        ),
    )
    _, result = check_agent(history, MODULE)
    assert result.status == "clean", format_result_line(result)
    assert result.divergences == ()


def test_an_id_in_a_key_gets_the_volatile_hint(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the built-in key rule the random id in checkpoint_map's key is drift: the hint
    # says what it is and gives the rule that masks it, and that rule makes the check clean.
    from replaykit.integrations import _agents

    monkeypatch.setattr(
        _agents,
        "INTEGRATIONS",
        tuple(
            dataclasses.replace(i, volatile=tuple(p for p in i.volatile if "<key>" not in p))
            for i in _agents.INTEGRATIONS
        ),
    )
    _, result = check_agent(history, MODULE)
    assert result.status == "divergent"
    rule = "activity:lg_func_agent.call_model.langgraph_config.configurable.checkpoint_map.<key>"
    first = result.divergences[0]
    assert first.hint is not None and f"--volatile {rule}" in first.hint, first.hint
    assert "differ only by a uuid" in first.hint
    assert "workflow.patched(...)" not in first.hint
    _, masked = check_agent(
        history, MODULE, volatile=(rule, rule.replace("call_model", "call_tool"))
    )
    assert masked.status == "clean", format_result_line(masked)
