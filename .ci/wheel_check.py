"""A normal install is the whole tool: build the wheel, install it into a fresh venv, use it.

Run by ``make wheel-check`` (and so by ``.ci/run``). Steps, each failing loudly:

1. ``pip wheel --no-deps`` builds the wheel from a clean copy of the sources (the build backend
   comes from PyPI or the cache).
2. The wheel's RECORD holds only replaykit-named top-level packages, and every package folder
   of ``replaykit/`` is in it.
3. A fresh venv (in a temp folder) installs the wheel; its dependencies come from PyPI.
4. From a folder outside the checkout (no PYTHONPATH): ``replaykit --help`` and every
   subcommand's (and sub-subcommand's) ``--help`` exit 0; ``reference_agents`` is not importable.
5. One real run: ``replaykit record`` of a tiny scenario on the embedded server, then
   ``replaykit check`` of what it wrote, exit 0.
6. The ``openai-agents`` extra, as an agent team would use it: ``pip install
   'replaykit[openai-agents,pytest]'`` into that venv; an OpenAI Agents SDK agent on
   ``OpenAIAgentsPlugin`` (the SDK's offline ``TestModel``) is recorded with ``--plugin`` and
   checks clean; its prompt changed mid-sentence fails with the changed words shown, and the
   stock ``Replayer(plugins=...)`` passes the same change; a pytest run collects the history
   as a test item through the installed plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_TOP_LEVEL = {"replaykit", "replaykit_pytest"}

SCENARIO = textwrap.dedent(
    """
    from datetime import timedelta

    from temporalio import activity, workflow

    from replaykit import scenario


    @activity.defn
    async def greet(name: str) -> str:
        return f"hello {name}"


    @workflow.defn
    class SmokeWorkflow:
        @workflow.run
        async def run(self, name: str) -> str:
            return await workflow.execute_activity(
                greet, name, start_to_close_timeout=timedelta(seconds=10)
            )


    @scenario(workflows=[SmokeWorkflow], activities=[greet])
    async def smoke(run):
        assert await run.execute(SmokeWorkflow.run, "wheel", id="smoke-1") == "hello wheel"
    """
)

# A user's OpenAI Agents SDK agent on Temporal's plugin, offline (the SDK's own TestModel).
AGENT = textwrap.dedent(
    '''
    from temporalio import workflow

    with workflow.unsafe.imports_passed_through():
        from agents import Agent, Runner, function_tool

    INSTRUCTIONS = (
        "You answer questions about durable execution. Look facts up with the lookup tool "
        "before answering, and answer in one short sentence."
    )


    @function_tool
    def lookup(topic: str) -> str:
        """Facts about a topic."""
        return f"{topic}: workflows survive crashes by replaying their history"


    @workflow.defn
    class AskAgent:
        @workflow.run
        async def run(self, question: str) -> str:
            agent = Agent(name="Answerer", instructions=INSTRUCTIONS, model="gpt-4o-mini",
                          tools=[lookup])
            return str((await Runner.run(agent, input=question)).final_output)
    '''
)

AGENT_PLUGINS = textwrap.dedent(
    """
    import json

    from temporalio.openai_agents import OpenAIAgentsPlugin
    from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider


    def _model():
        def answers(system_instructions, input, *args, **kwargs):
            done = not isinstance(input, str) and any(
                (i.get("type") if isinstance(i, dict) else getattr(i, "type", None))
                == "function_call_output" for i in input)
            if done:
                return ResponseBuilders.output_message("Replay rebuilds state from history.")
            return ResponseBuilders.tool_call(json.dumps({"topic": "replay"}), "lookup")

        class Scripted(TestModel):
            def __init__(self):
                super().__init__(lambda: None)

            async def get_response(self, system_instructions, input, *args, **kwargs):
                return answers(system_instructions, input)

        return TestModelProvider(Scripted())


    def openai_agents():
        return OpenAIAgentsPlugin(model_provider=_model())
    """
)

AGENT_SCENARIO = textwrap.dedent(
    """
    from replaykit import scenario

    from ask_agent import AskAgent
    import agent_plugins


    @scenario(workflows=[AskAgent], plugins=[agent_plugins.openai_agents])
    async def ask(run):
        answer = await run.execute(AskAgent.run, "How do workflows survive crashes?", id="ask-1")
        assert answer == "Replay rebuilds state from history.", answer
    """
)

STOCK_REPLAY = textwrap.dedent(
    """
    import asyncio, sys
    from temporalio.worker import Replayer
    from replaykit import load_history
    from ask_agent import AskAgent
    import agent_plugins

    async def main():
        replayer = Replayer(workflows=[AskAgent], plugins=[agent_plugins.openai_agents()])
        history = load_history(sys.argv[1]).to_workflow_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        print("stock:", "fails" if result.replay_failure else "passes")

    asyncio.run(main())
    """
)


def step(title: str) -> float:
    print(f"wheel-check: {title}", flush=True)
    return time.monotonic()


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300, expect: int = 0
) -> str:
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != expect:
        sys.exit(
            f"wheel-check: FAILED (exit {proc.returncode}): {' '.join(argv)}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc.stdout


def wheel_top_level(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        names = [line.split(",", 1)[0] for line in zf.read(record).decode().splitlines()]
    return {
        n.split("/", 1)[0]
        for n in names
        if n and not n.split("/", 1)[0].endswith((".dist-info", ".data"))
    }


def missing_packages(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
    return sorted(
        str(init.relative_to(ROOT))
        for init in (ROOT / "replaykit").rglob("__init__.py")
        if "__pycache__" not in init.parts and str(init.relative_to(ROOT)) not in files
    )


def clean_env(venv: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "REPLAYKIT_CACHE_DIR")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def main() -> int:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="replaykit-wheel-check-"))
    try:
        t = step("building the wheel")
        # From a copy of what the build reads: setuptools' in-tree build/ folder would keep
        # files deleted from the source and ship them.
        src = tmp / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        for name in ("replaykit", "replaykit_pytest"):
            shutil.copytree(
                ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        dist = tmp / "dist"
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--quiet",
                str(src),
                "-w",
                str(dist),
            ],
            cwd=tmp,
            env=dict(os.environ),
        )
        wheels = list(dist.glob("replaykit-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"wheel-check: FAILED: expected one replaykit wheel, found {wheels}")
        wheel = wheels[0]
        print(f"  {wheel.name} in {time.monotonic() - t:.0f} s")

        top = wheel_top_level(wheel)
        if top - ALLOWED_TOP_LEVEL:
            sys.exit(
                f"wheel-check: FAILED: the wheel installs top-level {sorted(top - ALLOWED_TOP_LEVEL)}"
                f" besides {sorted(ALLOWED_TOP_LEVEL)}"
            )
        missing = missing_packages(wheel)
        if missing:
            sys.exit(f"wheel-check: FAILED: the wheel lacks {missing}")
        print(f"  top-level packages: {sorted(top)}")

        t = step("installing it into a fresh venv")
        venv = tmp / "venv"
        run([sys.executable, "-m", "venv", str(venv)], cwd=tmp, env=dict(os.environ))
        py = str(venv / "bin" / "python")
        env = clean_env(venv)
        run([py, "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp, env=env, timeout=600)
        print(f"  installed in {time.monotonic() - t:.0f} s")

        work = tmp / "work"
        work.mkdir()
        exe = str(venv / "bin" / "replaykit")
        t = step("--help of every subcommand, from outside the checkout")
        listing = run(
            [
                py,
                "-c",
                textwrap.dedent(
                    """
            import json, click
            from replaykit.cli import main, _COMMANDS
            out = []
            ctx = click.Context(main)
            for name in sorted(_COMMANDS):
                cmd = main.get_command(ctx, name)
                out.append([name])
                if isinstance(cmd, click.Group):
                    out.extend([name, sub] for sub in sorted(cmd.list_commands(ctx)))
            print(json.dumps(out))
            """
                ),
            ],
            cwd=work,
            env=env,
        )
        commands = json.loads(listing)
        run([exe, "--help"], cwd=work, env=env)
        run([exe, "--version"], cwd=work, env=env)
        for argv in commands:
            run([exe, *argv, "--help"], cwd=work, env=env)
        print(
            f"  {len(commands) + 1} help texts in {time.monotonic() - t:.0f} s: "
            f"{', '.join(' '.join(c) for c in commands)}"
        )
        probe = run(
            [
                py,
                "-c",
                "import importlib.util as u; "
                "print(u.find_spec('reference_agents') is None, u.find_spec('openai') is None)",
            ],
            cwd=work,
            env=env,
        ).split()
        if probe[0] != "True":
            sys.exit("wheel-check: FAILED: `reference_agents` is importable from the install")
        print(f"  reference_agents not installed; openai not installed: {probe[1]}")

        t = step("record -> check on the embedded server")
        (work / "smoke_scenarios.py").write_text(SCENARIO)
        run(
            [exe, "record", "smoke_scenarios.py", "--out", "histories", "--server", "embedded"],
            cwd=work,
            env=env,
        )
        written = sorted(p.relative_to(work) for p in (work / "histories").rglob("*.json"))
        if not written:
            sys.exit("wheel-check: FAILED: record wrote no history")
        out = run(
            [exe, "check", "histories", "--workflows", "smoke_scenarios", "--jobs", "1"],
            cwd=work,
            env={**env, "REPLAYKIT_CACHE_DIR": str(tmp / "cache")},
        )
        print(
            f"  recorded {[str(p) for p in written]}; check: {out.strip().splitlines()[-1]}"
            f" ({time.monotonic() - t:.0f} s)"
        )
        t = step("shadow --on-temporal with a local worker, from the wheel")
        out = run(
            [exe, "shadow", "--on-temporal", "--local-workers", "1", "--server", "embedded"]
            + ["--workflows", "smoke_scenarios", "--json-report", "shadow.json"],
            cwd=work,
            env=env,
        )
        stats = json.loads((work / "shadow.json").read_text())["shadow"]
        if stats.get("coordinator_runs") != 1:
            sys.exit(f"wheel-check: FAILED: no coordinator run in the shadow report:\n{out}")
        print(f"  {out.strip().splitlines()[-2]} ({time.monotonic() - t:.0f} s)")
        agent_stage(wheel, py, exe, tmp, env)
        print(f"wheel-check: OK in {time.monotonic() - started:.0f} s", flush=True)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def agent_stage(wheel: Path, py: str, exe: str, tmp: Path, env: dict[str, str]) -> None:
    """An OpenAI Agents SDK agent, from ``pip install 'replaykit[openai-agents]'`` on."""
    t = step("the openai-agents extra: record, check, a prompt change, pytest")
    run(
        [
            py,
            "-m",
            "pip",
            "install",
            "--quiet",
            f"replaykit[openai-agents,pytest] @ {wheel.as_uri()}",
        ],
        cwd=tmp,
        env=env,
        timeout=900,
    )
    print(f"  installed replaykit[openai-agents,pytest] in {time.monotonic() - t:.0f} s")
    work = tmp / "agent"
    work.mkdir()
    (work / "ask_agent.py").write_text(AGENT)
    (work / "agent_plugins.py").write_text(AGENT_PLUGINS)
    (work / "agent_scenarios.py").write_text(AGENT_SCENARIO)
    (work / "stock_replay.py").write_text(STOCK_REPLAY)
    agent_env = {
        **env,
        "PYTHONPATH": str(work),
        "OPENAI_API_KEY": "offline",
        "REPLAYKIT_CACHE_DIR": str(tmp / "agent-cache"),
    }
    plugin = ["--plugin", "agent_plugins:openai_agents"]
    run(
        [exe, "record", "agent_scenarios.py", "--out", "histories", "--server", "embedded"],
        cwd=work,
        env=agent_env,
    )
    history = next((work / "histories").rglob("*.json"))
    check = [exe, "check", "histories", "--workflows", "ask_agent", "--jobs", "1", *plugin]
    clean = run(check, cwd=work, env=agent_env)
    source = work / "ask_agent.py"
    source.write_text(AGENT.replace("in one short sentence", "in two short sentences"))
    changed = run(check, cwd=work, env=agent_env, expect=1)
    if "prompt" not in changed or "two" not in changed:
        sys.exit(f"wheel-check: FAILED: the prompt change is not explained:\n{changed}")
    stock = run([py, "stock_replay.py", str(history)], cwd=work, env=agent_env).strip()
    if stock != "stock: passes":
        sys.exit(f"wheel-check: FAILED: expected the stock Replayer to pass, got {stock!r}")
    source.write_text(AGENT)
    (work / "pyproject.toml").write_text(
        '[tool.replaykit]\nworkflows = ["ask_agent"]\nhistories = "histories"\n'
        'plugins = ["agent_plugins:openai_agents"]\n'
    )
    collected = run(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "histories"], cwd=work, env=agent_env
    )
    if " passed" not in collected:
        sys.exit(f"wheel-check: FAILED: pytest did not run the history item:\n{collected}")
    print(
        f"  recorded {history.relative_to(work)}; check: {clean.strip().splitlines()[-1]}; "
        f"prompt change: exit 1 (explained), {stock}; pytest: "
        f"{collected.strip().splitlines()[-1]} ({time.monotonic() - t:.0f} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
