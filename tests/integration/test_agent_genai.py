"""Gemini SDK calls on Temporal's GoogleGenAIPlugin: recorded on the embedded server through
the integration's GeminiTestServer, then checked against next releases of the workflow module
(tests/data/agents/genai_agent.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.check._report import format_result_line

from .agent_review import reviewed_change
from .agent_support import check_agent, record_agents, release

pytest.importorskip("temporalio.google_genai")
pytestmark = [pytest.mark.integration]

MODULE = "genai_agent"
INTEGRATION = "Google GenAI"
AGENT = "workflow 'GenAIAgentWorkflow'"  # a generate_content call names no agent


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = record_agents(["tests.data.agents.genai_scenarios"], tmp_path_factory.mktemp("genai"))
    return files["genai_agent_run"]


def test_record_stamps_the_installed_framework_releases(history: Path) -> None:
    import importlib.metadata
    import json

    frameworks = json.loads(history.read_text())["replaykit"]["frameworks"]
    assert frameworks["google-genai"] == importlib.metadata.version("google-genai")


def test_unchanged_code_checks_clean(history: Path) -> None:
    _, result = check_agent(history, f"tests.data.agents.{MODULE}")
    assert result.status == "clean" and result.divergences == (), format_result_line(result)


def test_benign_refactor_passes(history: Path, next_release: Path) -> None:
    module = release(
        next_release,
        MODULE,
        (
            "        client = TemporalAsyncClient()\n",
            "        gemini = TemporalAsyncClient()\n        client = gemini\n",
        ),
        ('return response.text or ""', 'text = response.text\n        return text or ""'),
    )
    _, result = check_agent(history, module)
    assert result.status == "clean" and result.divergences == (), format_result_line(result)


def test_system_instruction_change_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(
        next_release, MODULE, ("Look orders up before", "Always look orders up before")
    )
    d = reviewed_change(history, module, "prompt", integration=INTEGRATION, agent=AGENT)
    assert d.field == "input.request_dict.systemInstruction", d.field
    assert "system instruction changed" in d.message, d.message
    assert "'You are an order desk assistant. Always look" in (d.diff or ""), d.diff


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


def test_temperature_change_is_one_finding(history: Path, next_release: Path) -> None:
    module = release(next_release, MODULE, ("TEMPERATURE = 0.2", "TEMPERATURE = 0.7"))
    d = reviewed_change(history, module, "model-settings", integration=INTEGRATION, agent=AGENT)
    assert "generation config changed (temperature)" in d.message, d.message
    assert "0.2 -> 0.7" in (d.diff or ""), d.diff


def test_a_new_genai_or_python_release_on_the_worker_checks_clean(
    history: Path, tmp_path: Path
) -> None:
    # The Gemini SDK stamps its own and Python's version into every request's user-agent and
    # x-goog-api-client headers, which travel in the activity input. A history recorded
    # under older releases must check clean; a header the user set must still be compared.
    import base64
    import json
    import re

    doc = json.loads(history.read_text())
    stamped = 0
    for ev in doc["events"]:
        attrs = ev.get("activityTaskScheduledEventAttributes")
        for p in (attrs or {}).get("input", {}).get("payloads", []):
            text = base64.b64decode(p["data"]).decode()
            older = re.sub(r"google-genai-sdk/[^\s\"]+", "google-genai-sdk/0.9.0", text)
            older = re.sub(r"gl-python/[^\s\"]+", "gl-python/3.11.0", older)
            stamped += older != text
            p["data"] = base64.b64encode(older.encode()).decode()
    assert stamped, "no Gemini request in the history carries the version headers"
    older_history = tmp_path / history.name
    older_history.write_text(json.dumps(doc))
    _, result = check_agent(older_history, f"tests.data.agents.{MODULE}")
    assert result.status == "clean" and result.divergences == (), format_result_line(result)
