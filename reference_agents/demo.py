"""`make demo`: record the reference agents on a real server, check them, break them.

1. ``replaykit record`` runs every reference scenario on the embedded Temporal dev server
   (scenarios with hours- or days-long durable timers on the time-skipping server) and writes
   one history per workflow execution;
2. ``replaykit check`` replays them all against the current code: clean;
3. a deliberately changed copy of the research agent (one search argument changed — the kind
   of change the stock replayer does not notice) is checked with the stock replayer only
   (``--no-strict``) and with replaykit's strict mode, which catches and explains it;
4. a second change inserts an unguarded activity: both catch it, replaykit with the line and
   the ``workflow.patched`` hint;
5. an agent built on Temporal's OpenAI Agents integration (``OpenAIAgentsPlugin``, offline
   through the SDK's ``TestModelProvider``) is recorded, checked clean, and one sentence of its
   prompt is changed: the stock ``Replayer(plugins=...)`` passes it, replaykit catches it on
   the model call (``invoke_model_activity``) and shows the changed words.

Run from the project root: ``python -m reference_agents.demo``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPLAYKIT = [sys.executable, "-c", "from replaykit.cli import main; main()"]

SEARCH_ARG = "SearchRequest(query=q, limit=2)"
EXTRACT = "    if extract and doc_ids:\n"
AUDIT = (
    "    await workflow.execute_activity(\n"
    "        acts.search_web, SearchRequest(query=topic, limit=1),\n"
    "        start_to_close_timeout=policies.TOOL_TIMEOUT,\n"
    "    )\n"
)


def _banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def _run(args: list[str], *, env_path: Path | None = None, expect: int) -> str:
    shown = "replaykit " + " ".join(args)
    print(f"$ {'PYTHONPATH=' + str(env_path) + ' ' if env_path else ''}{shown}", flush=True)
    env = dict(os.environ)
    env.pop("TEMPORAL_ADDRESS", None)
    if env_path is not None:
        env["PYTHONPATH"] = str(env_path)
    proc = subprocess.run(
        [*REPLAYKIT, *args],
        cwd=ROOT if env_path is None else env_path,
        env=env,
        capture_output=True,
        text=True,
    )
    print(proc.stdout.rstrip(), flush=True)
    if proc.stderr.strip():
        print(proc.stderr.rstrip(), file=sys.stderr, flush=True)
    if proc.returncode != expect:
        raise SystemExit(f"demo: expected exit code {expect}, got {proc.returncode}: {shown}")
    return proc.stdout


PROMPT_OLD = "never rely on memory for product facts"
PROMPT_NEW = "never quote product facts from memory"
OPENAI_PLUGIN = "reference_agents.integration_plugins:openai_agents"


def _changed_copy(work: Path, old: str, new: str, module: str = "research.py") -> Path:
    target = work / f"changed-{abs(hash(new)) % 10_000}"
    shutil.copytree(
        ROOT / "reference_agents",
        target / "reference_agents",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    path = target / "reference_agents" / module
    text = path.read_text()
    assert text.count(old) == 1, f"demo anchor not found: {old!r}"
    path.write_text(text.replace(old, new))
    return target


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="replaykit-demo-"))
    histories = work / "histories"
    try:
        _banner("1. Record every reference scenario on a real Temporal server")
        _run(
            [
                "record",
                "reference_agents/scenarios.py",
                "reference_agents/payment_scenarios.py",
                "--out",
                str(histories),
            ],
            expect=0,
        )
        count = len(list(histories.rglob("*.json")))
        print(f"-> {count} history files in {histories}")

        _banner("2. Check them against the current code")
        _run(["check", str(histories), "--workflows", "reference_agents", "-q"], expect=0)

        _banner("3. Change one argument of the research agent's web search (limit 2 -> 3)")
        research_only = str(histories / "research_happy_path")
        changed = _changed_copy(work, SEARCH_ARG, SEARCH_ARG.replace("limit=2", "limit=3"))
        print("stock replayer only (what `Replayer.replay_workflows` sees):")
        _run(
            ["check", research_only, "--workflows", "reference_agents", "--no-strict"],
            env_path=changed,
            expect=0,
        )
        print("\nreplaykit strict mode (the default):")
        _run(
            ["check", research_only, "--workflows", "reference_agents"], env_path=changed, expect=1
        )

        _banner("4. Insert an unguarded activity before PDF extraction")
        changed = _changed_copy(work, EXTRACT, AUDIT + EXTRACT)
        _run(
            ["check", research_only, "--workflows", "reference_agents"], env_path=changed, expect=1
        )

        _banner("5. An agent on OpenAIAgentsPlugin: change one sentence of its prompt")
        agents = work / "agent-histories"
        _run(
            [
                "record",
                "reference_agents/integration_scenarios.py",
                "-k",
                "support_desk_agent",
                "--out",
                str(agents),
            ],
            expect=0,
        )
        support = str(agents / "support_desk_agent")
        _run(
            ["check", support, "--workflows", "reference_agents", "--plugin", OPENAI_PLUGIN, "-q"],
            expect=0,
        )
        print(f"\nthe specialist's instructions: {PROMPT_OLD!r} -> {PROMPT_NEW!r}")
        changed = _changed_copy(work, PROMPT_OLD, PROMPT_NEW, "openai_agents_agent.py")
        print("stock replayer with the plugin (what `Replayer(plugins=[...])` sees):")
        _run(
            [
                "check",
                support,
                "--workflows",
                "reference_agents",
                "--plugin",
                OPENAI_PLUGIN,
                "--no-strict",
            ],
            env_path=changed,
            expect=0,
        )
        print("\nreplaykit strict mode (the default):")
        _run(
            ["check", support, "--workflows", "reference_agents", "--plugin", OPENAI_PLUGIN],
            env_path=changed,
            expect=1,
        )

        _banner("Demo finished: recorded, checked clean, every change caught")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
