"""Agents on Temporal's AI integrations, end to end through the real `replaykit` executable.

For each of OpenAI Agents (``OpenAIAgentsPlugin``), LangGraph (``LangGraphPlugin``) and
Pydantic AI (``PydanticAIPlugin``): record the reference agent's scenario (its plugins come
from ``@scenario(plugins=...)``) on a real embedded server, check the histories clean with the
plugin passed as ``--plugin``, then check them against edited copies of the agent's module: a
prompt change, a tool-schema change and a model-setting change must fail on the model call;
benign refactors must pass. Every model runs offline through the framework's own test model.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from replaykit.integrations._agents import AGENT_CAUSES

ROOT = Path(__file__).resolve().parents[2]
REPLAYKIT = str(Path(sys.executable).parent / "replaykit")

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Integration:
    scenario: str
    module: str  # under reference_agents/
    plugin: str
    model_activity: str
    model_calls: int
    agent: str  # how the finding names the agent


INTEGRATIONS = {
    "openai-agents": Integration(
        "support_desk_agent",
        "openai_agents_agent.py",
        "reference_agents.integration_plugins:openai_agents",
        "invoke_model_activity",
        5,
        "agent 'Support specialist'",
    ),
    "langgraph": Integration(
        "triage_graph_agent",
        "langgraph_agent.py",
        "reference_agents.integration_plugins:langgraph",
        "support-triage.agent",
        3,
        "graph 'support-triage'",
    ),
    "pydantic-ai": Integration(
        "runbook_agent",
        "pydantic_ai_agent.py",
        "reference_agents.integration_plugins:pydantic_ai",
        "agent__runbook_agent__model_request",
        2,
        "runbook_agent",
    ),
}


@dataclass(frozen=True)
class Change:
    id: str
    integration: str
    aspect: str  # prompt | tools | model-settings | refactor
    edits: tuple[tuple[str, str], ...]
    words: tuple[str, ...] = ()  # must appear in the check output


CHANGES = (
    # ---------------------------------------------------------------- OpenAI Agents SDK
    Change(
        "oa-prompt",
        "openai-agents",
        "prompt",
        (("never rely on memory for product facts", "never quote product facts from memory"),),
        ("quote",),
    ),
    Change(
        "oa-tool-schema",
        "openai-agents",
        "tools",
        (
            (
                "def cite_source(doc_id: str, title: str) -> str:",
                "def cite_source(doc_id: str, title: str, section: str) -> str:",
            ),
            (
                "        title: The article title.\n",
                "        title: The article title.\n        section: The section of the article.\n",
            ),
        ),
        ("section",),
    ),
    Change(
        "oa-temperature",
        "openai-agents",
        "model-settings",
        (("temperature=0.2, max_tokens=800", "temperature=0.6, max_tokens=800"),),
        ("0.2", "0.6"),
    ),
    Change(
        "oa-rename-local",
        "openai-agents",
        "refactor",
        (
            ("    writer = Agent[None](", "    reply_writer = Agent[None]("),
            ("        handoffs=[writer],", "        handoffs=[reply_writer],"),
        ),
    ),
    Change(
        "oa-extract-tools",
        "openai-agents",
        "refactor",
        (
            (
                "        tools=[\n            activity_as_tool(search_knowledge_base, "
                "start_to_close_timeout=timedelta(seconds=30)),\n            activity_as_tool("
                "save_case_note, start_to_close_timeout=timedelta(seconds=30)),\n"
                "            cite_source,\n        ],\n",
                "        tools=_specialist_tools(),\n",
            ),
            (
                "def build_support_agent() -> Agent[None]:",
                "def _specialist_tools() -> list[Any]:\n    timeout = timedelta(seconds=30)\n"
                "    return [\n        activity_as_tool(search_knowledge_base, "
                "start_to_close_timeout=timeout),\n        activity_as_tool(save_case_note, "
                "start_to_close_timeout=timeout),\n        cite_source,\n    ]\n\n\n"
                "def build_support_agent() -> Agent[None]:",
            ),
            (
                "from datetime import timedelta\n",
                "from datetime import timedelta\nfrom typing import Any\n",
            ),
        ),
    ),
    # ---------------------------------------------------------------- LangGraph
    Change(
        "lg-prompt",
        "langgraph",
        "prompt",
        (
            (
                "say so and escalate instead of guessing",
                "say so and ask a human instead of guessing",
            ),
        ),
        ("human",),
    ),
    Change(
        "lg-tool-schema",
        "langgraph",
        "tools",
        (
            (
                "def record_case_note(category: str, article: str) -> str:",
                'def record_case_note(category: str, article: str, priority: str = "normal") -> str:',
            ),
        ),
        ("priority",),
    ),
    Change(
        "lg-temperature",
        "langgraph",
        "model-settings",
        (("TRIAGE_TEMPERATURE = 0.1", "TRIAGE_TEMPERATURE = 0.4"),),
        ("0.1", "0.4"),
    ),
    Change(
        "lg-rename-local",
        "langgraph",
        "refactor",
        (
            ("        context: TriageContext = {", "        triage_context: TriageContext = {"),
            ("context=context)", "context=triage_context)"),
        ),
    ),
    Change(
        "lg-reorder-helpers",
        "langgraph",
        "refactor",
        (
            (
                "def search_knowledge_base(query: str) -> str:\n"
                '    """Search the knowledge base of durable-execution articles.\n\n'
                "    Args:\n        query: A few keywords describing what to look up.\n"
                '    """\n    return knowledge_base_answer(query)\n\n\n',
                "",
            ),
            (
                "TOOLS = [search_knowledge_base, record_case_note]",
                "def search_knowledge_base(query: str) -> str:\n"
                '    """Search the knowledge base of durable-execution articles.\n\n'
                "    Args:\n        query: A few keywords describing what to look up.\n"
                '    """\n    return knowledge_base_answer(query)\n\n\n'
                "TOOLS = [search_knowledge_base, record_case_note]",
            ),
        ),
    ),
    # ---------------------------------------------------------------- Pydantic AI
    Change(
        "pa-prompt",
        "pydantic-ai",
        "prompt",
        (("the most urgent first", "the safest first"),),
        ("safest",),
    ),
    Change(
        "pa-tool-schema",
        "pydantic-ai",
        "tools",
        (
            (
                "def search_runbooks(query: str) -> str:",
                "def search_runbooks(query: str, limit: int = 2) -> str:",
            ),
            (
                "    return knowledge_base_answer(query)",
                "    return knowledge_base_answer(query, limit)",
            ),
        ),
        ("limit",),
    ),
    Change(
        "pa-temperature",
        "pydantic-ai",
        "model-settings",
        (("temperature=0.3, max_tokens=500", "temperature=0.8, max_tokens=500"),),
        ("0.3", "0.8"),
    ),
    Change(
        "pa-extract-run",
        "pydantic-ai",
        "refactor",
        (
            (
                "        result = await runbook_agent.run(incident)\n        return result.output",
                "        return await _answer(incident)",
            ),
            (
                "@workflow.defn\nclass RunbookAgentWorkflow",
                "async def _answer(incident: str) -> str:\n"
                "    run_result = await runbook_agent.run(incident)\n"
                "    return run_result.output\n\n\n@workflow.defn\nclass RunbookAgentWorkflow",
            ),
        ),
    ),
)


def _run(
    args: list[str], cwd: Path, *, path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(path or cwd),
        "REPLAYKIT_CACHE_DIR": str(cwd / ".cache"),
        "REFERENCE_AGENTS_DB": str(cwd / "agents.sqlite3"),
    }
    env.pop("TEMPORAL_ADDRESS", None)
    env.pop("OPENAI_API_KEY", None)  # the agents must run without any key
    return subprocess.run(
        [REPLAYKIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _copy_agents(dest: Path) -> Path:
    shutil.copytree(
        ROOT / "reference_agents",
        dest / "reference_agents",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return dest


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The three scenarios recorded once, through the scenarios' own plugins."""
    root = _copy_agents(tmp_path_factory.mktemp("integration-agents"))
    proc = _run(
        [
            "record",
            "reference_agents/integration_scenarios.py",
            "--out",
            "hist",
            "--server",
            "embedded",
        ],
        root,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield root


def _scheduled(path: Path) -> list[tuple[str, list[Any], dict[str, Any]]]:
    out = []
    for ev in json.loads(path.read_text())["events"]:
        attrs = ev.get("activityTaskScheduledEventAttributes")
        if attrs:
            args = [
                json.loads(base64.b64decode(p["data"])) if "data" in p else None
                for p in attrs.get("input", {}).get("payloads", [])
            ]
            out.append((attrs["activityType"]["name"], args, attrs.get("header", {})))
    return out


def _history(root: Path, integration: Integration) -> Path:
    (path,) = sorted((root / "hist" / integration.scenario).glob("*.json"))
    return path


@pytest.mark.parametrize("name", list(INTEGRATIONS))
def test_record_writes_the_model_calls(recorded: Path, name: str) -> None:
    integration = INTEGRATIONS[name]
    scheduled = _scheduled(_history(recorded, integration))
    model_calls = [
        args for activity, args, _ in scheduled if activity == integration.model_activity
    ]
    assert len(model_calls) == integration.model_calls, [a for a, _, _ in scheduled]
    text = json.dumps(model_calls[0])
    if name == "openai-agents":
        # instructions, tools, model settings and the handoff travel in the model call's input
        (payload,) = model_calls[0]
        assert payload["system_instructions"].startswith("You are a support specialist")
        assert [t["name"] for t in payload["tools"]] == [
            "search_knowledge_base",
            "save_case_note",
            "cite_source",
        ]
        assert payload["model_settings"]["temperature"] == 0.2
        assert [h["agent_name"] for h in payload["handoffs"]] == ["Reply writer"]
        # the tools made with activity_as_tool are activities; the trace span is a header
        assert [a for a, _, _ in scheduled if a != "invoke_model_activity"] == [
            "search_knowledge_base",
            "save_case_note",
        ]
        assert "__openai_span" in scheduled[0][2]["fields"]
    elif name == "langgraph":
        assert "You triage support tickets" in text and '"temperature": 0.1' in text
        assert [a for a, _, _ in scheduled] == [
            "support-triage.agent",
            "support-triage.tools",
        ] * 2 + ["support-triage.agent"]
    else:
        assert "You are the on-call assistant" in text and '"temperature": 0.3' in text
        assert '"name": "search_runbooks"' in text


@pytest.mark.parametrize("name", list(INTEGRATIONS))
def test_unchanged_code_checks_clean(recorded: Path, name: str) -> None:
    integration = INTEGRATIONS[name]
    proc = _run(
        [
            "check",
            f"hist/{integration.scenario}",
            "--workflows",
            "reference_agents",
            "--plugin",
            integration.plugin,
        ],
        recorded,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 clean, 0 diverged, 0 errors" in proc.stdout


def _variant(recorded: Path, tmp_path: Path, change: Change) -> Path:
    root = _copy_agents(tmp_path)
    path = root / "reference_agents" / INTEGRATIONS[change.integration].module
    text = path.read_text()
    for old, new in change.edits:
        assert text.count(old) == 1, f"{change.id}: anchor not found once: {old!r}"
        text = text.replace(old, new)
    path.write_text(text)
    return root


def _check_variant(
    recorded: Path, variant: Path, change: Change, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    integration = INTEGRATIONS[change.integration]
    report = variant / "report.json"
    proc = _run(
        [
            "check",
            str(recorded / "hist" / integration.scenario),
            "--workflows",
            "reference_agents",
            "--plugin",
            integration.plugin,
            "--json-report",
            str(report),
            *extra,
        ],
        variant,
    )
    return proc, json.loads(report.read_text()) if report.exists() else {}


BREAKING = [c for c in CHANGES if c.aspect != "refactor"]
#: Changes that also change what the recorded run does next, so their own --allow leaves
#: findings of this cause: the recorded `cite_source` call no longer fits the new schema (the
#: tool errors and later model calls see the error), and Pydantic AI's tool activity itself
#: receives the new default argument.
CONSEQUENCES = {"oa-tool-schema": "input", "pa-tool-schema": "activity-input"}
BENIGN = [c for c in CHANGES if c.aspect == "refactor"]


def _cause_ok(change: Change, cause: str) -> bool:
    # LangGraph: the model settings and tool schemas are the graph's runtime context, whose
    # `model`, `temperature` and `tools` keys are aspects of the node's input.
    return cause == change.aspect


@pytest.mark.parametrize("change", [pytest.param(c, id=c.id) for c in BREAKING])
def test_agent_change_fails_on_the_model_call(
    recorded: Path, tmp_path: Path, change: Change
) -> None:
    integration = INTEGRATIONS[change.integration]
    variant = _variant(recorded, tmp_path, change)
    proc, report = _check_variant(recorded, variant, change)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (result,) = report["results"]
    subject = f"activity {integration.model_activity}"
    on_model = [d for d in result["divergences"] if d["subject"] == subject]
    assert on_model, result["divergences"]
    assert any(_cause_ok(change, d["cause"]) for d in on_model), [d["cause"] for d in on_model]
    assert integration.agent in proc.stdout, proc.stdout
    for word in change.words:
        assert word in proc.stdout, f"{word!r} not shown:\n{proc.stdout}"
    # A reviewed change passes with exactly its own --allow, and with no other - unless it
    # also changes what the run does next (then only those consequences remain).
    own, own_report = _check_variant(recorded, variant, change, "--allow", change.aspect)
    if change.id in CONSEQUENCES:
        assert own.returncode == 1, own.stdout + own.stderr
        left = own_report["results"][0]["divergences"]
        assert left and all(d["cause"] == CONSEQUENCES[change.id] for d in left), left
    else:
        assert own.returncode == 0, own.stdout + own.stderr
    others = [a for c in sorted(AGENT_CAUSES - {change.aspect}) for a in ("--allow", c)]
    rest, _ = _check_variant(recorded, variant, change, *others)
    assert rest.returncode == 1, rest.stdout + rest.stderr


@pytest.mark.parametrize("change", [pytest.param(c, id=c.id) for c in BENIGN])
def test_benign_refactor_passes(recorded: Path, tmp_path: Path, change: Change) -> None:
    proc, _ = _check_variant(recorded, _variant(recorded, tmp_path, change), change)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stock_replayer_misses_the_prompt_change(recorded: Path, tmp_path: Path) -> None:
    # The SDK's own verdict (Replayer with the plugin) passes a changed prompt; strict fails it.
    (change,) = [c for c in CHANGES if c.id == "oa-prompt"]
    variant = _variant(recorded, tmp_path, change)
    stock, _ = _check_variant(recorded, variant, change, "--no-strict")
    assert stock.returncode == 0, stock.stdout + stock.stderr
    strict, _ = _check_variant(recorded, variant, change)
    assert strict.returncode == 1, strict.stdout + strict.stderr


def test_check_without_the_plugin_names_it(recorded: Path) -> None:
    proc = _run(["check", "hist/support_desk_agent", "--workflows", "reference_agents"], recorded)
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert "OpenAIAgentsPlugin" in proc.stdout + proc.stderr


def test_plugin_hint_only_for_workflows_that_use_an_integration(tmp_path: Path) -> None:
    # reference_agents also holds the plugin-based agents: a nondeterminism in the research
    # agent (no integration) must not tell the user to pass their plugins.
    from reference_agents.demo import AUDIT, EXTRACT

    root = _copy_agents(tmp_path)
    research = root / "reference_agents" / "research.py"
    text = research.read_text()
    assert text.count(EXTRACT) == 1
    research.write_text(text.replace(EXTRACT, AUDIT + EXTRACT))
    proc = _run(
        [
            "check",
            str(ROOT / "fixtures" / "histories" / "research_happy_path"),
            "--workflows",
            "reference_agents",
        ],
        root,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[nondeterminism]" in proc.stdout and "workflow.patched" in proc.stdout
    assert "plugin is applied" not in proc.stdout, proc.stdout
