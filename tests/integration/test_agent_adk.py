"""Google ADK agents on Temporal's GoogleAdkPlugin: recorded on the embedded server, then
checked against next releases of the agent module (tests/data/agents/adk_agent.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.check._report import format_result_line

from .agent_review import reviewed_change
from .agent_support import check_agent, record_agents, release

pytest.importorskip("temporalio.google_adk")
pytestmark = [pytest.mark.integration]

MODULE = "adk_agent"
INTEGRATION = "Google ADK"
AGENT = "order_desk"  # the plugin's activity summary: the LlmAgent's name


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = record_agents(["tests.data.agents.adk_scenarios"], tmp_path_factory.mktemp("adk"))
    return files["adk_agent_run"]


def test_unchanged_code_checks_clean(history: Path) -> None:
    _, result = check_agent(history, f"tests.data.agents.{MODULE}")
    assert result.status == "clean" and result.divergences == (), format_result_line(result)


def test_benign_refactor_passes(history: Path, next_release: Path) -> None:
    module = release(
        next_release,
        MODULE,
        (
            "answer = event.content.parts[0].text",
            "first = event.content.parts[0]\n                answer = first.text or answer",
        ),
        ('answer = ""', 'answer: str = ""'),
    )
    _, result = check_agent(history, module)
    assert result.status == "clean" and result.divergences == (), format_result_line(result)


def test_instruction_change_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(
        next_release, MODULE, ("Look orders up before", "Always look orders up before")
    )
    d = reviewed_change(history, module, "prompt", integration=INTEGRATION, agent=AGENT)
    assert d.field == "input.config.system_instruction", d.field
    assert "+ You are an order desk assistant. Always look orders up" in (d.diff or ""), d.diff


def test_tool_added_in_front_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(
        next_release,
        MODULE,
        ("tools=[lookup_order, cancel_order]", "tools=[refund_order, lookup_order, cancel_order]"),
        (
            "async def lookup_order",
            'async def refund_order(order_id: str) -> str:\n    """Refund an order."""\n'
            '    return "refunded"\n\n\nasync def lookup_order',
        ),
    )
    d = reviewed_change(history, module, "tools", integration=INTEGRATION, agent=AGENT)
    assert [(i["name"], i["change"]) for i in d.items] == [("refund_order", "added")], d.items


@pytest.mark.parametrize(
    ("edit", "diff"),
    [
        (("TEMPERATURE = 0.2", "TEMPERATURE = 0.7"), "['temperature']: 0.2 -> 0.7"),
        # a setting the recorded config did not have is the generation config's too, not
        # also "other input arguments"
        (
            ("(temperature=TEMPERATURE)", "(temperature=TEMPERATURE, max_output_tokens=256)"),
            "['max_output_tokens']: added 256",
        ),
    ],
    ids=["changed", "added"],
)
def test_setting_change_is_one_finding(
    history: Path, next_release: Path, edit: tuple[str, str], diff: str
) -> None:
    module = release(next_release, MODULE, edit)
    d = reviewed_change(history, module, "model-settings", integration=INTEGRATION, agent=AGENT)
    assert diff in (d.diff or ""), d.diff
