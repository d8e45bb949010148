"""``pytest --replaykit-harvest``: a stock-style suite (its own WorkflowEnvironment, Worker and
OpenAI Agents plugin; no replaykit API) becomes a checked replay corpus.

Each pytest session runs in a subprocess (pytester) on real time-skipping servers; ``replaykit
check`` runs as the console script would.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parent / "harvest_sample"
WORKTREE = Path(__file__).resolve().parents[2]

PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["."]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pytester folder holding the stock-style sample package; replaykit from this tree."""
    shutil.copytree(SAMPLE, pytester.path / "harvest_sample")
    (pytester.path / "pyproject.toml").write_text(PYPROJECT)
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(WORKTREE), path) if p))
    return pytester.path


def _harvest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def _check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from replaykit.cli import run; run()", "check", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _files(folder: Path) -> dict[str, int]:
    """Each harvested file (relative path) and its modification time."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*.json"))
    }


def _harvest_meta(path: Path) -> dict[str, object]:
    meta = json.loads(path.read_text())["replaykit"]
    assert isinstance(meta, dict)
    harvest = meta["extra"]["harvest"]
    assert isinstance(harvest, dict)
    return harvest


GREETING = "harvest_sample/test_sample.py::test_greeting"
GREETING_FILE = "harvest_sample/test_sample/test_greeting/greeting-uuid1.json"


def test_stock_suite_is_harvested_checked_clean_and_changes_are_caught(
    project: Path, pytester: pytest.Pytester
) -> None:
    result = _harvest(pytester, "harvest_sample", "--replaykit-harvest", "harvested")
    result.assert_outcomes(passed=3)
    # 3 starts; the batch adds 2 continue-as-new runs and 2 children.
    result.stdout.fnmatch_lines(
        ["replaykit: 7 executions harvested from 3 tests into */harvested; 0 skipped (mode new*"]
    )
    harvested = project / "harvested"
    assert sorted(_files(harvested)) == [
        "harvest_sample/test_sample/test_batch/batch-uuid1-ada.json",
        "harvest_sample/test_sample/test_batch/batch-uuid1-grace.json",
        "harvest_sample/test_sample/test_batch/batch-uuid1.json",
        "harvest_sample/test_sample/test_batch/batch-uuid1.run2.json",
        "harvest_sample/test_sample/test_batch/batch-uuid1.run3.json",
        GREETING_FILE,
        "harvest_sample/test_sample/test_travel_agent/travel-uuid1.json",
    ]
    travel = _harvest_meta(
        harvested / "harvest_sample/test_sample/test_travel_agent/travel-uuid1.json"
    )
    assert travel["workflows"] == ["harvest_sample.workflows:TravelAgentWorkflow"]
    assert travel["plugins"] == ["harvest_sample.agent_plugin:plugin"]
    assert travel["test"] == "harvest_sample/test_sample.py::test_travel_agent"
    assert travel["outcome"] == "passed" and travel["partial"] is False
    # the AI-framework releases the test ran with, so a later check can name an upgrade
    travel_meta = json.loads(
        (harvested / "harvest_sample/test_sample/test_travel_agent/travel-uuid1.json").read_text()
    )["replaykit"]
    assert travel_meta["frameworks"]["openai-agents"] == importlib.metadata.version("openai-agents")
    child = _harvest_meta(harvested / "harvest_sample/test_sample/test_batch/batch-uuid1-ada.json")
    assert child["workflows"] == ["harvest_sample.workflows:GreetingWorkflow"]
    assert str(child["parent_workflow_id"]).startswith("batch-")

    # Checked clean with no --workflows and no --plugin: the files name theirs.
    checked = _check(project, "harvested")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "7 histories checked" in checked.stdout and "7 clean" in checked.stdout

    # The history items of the pytest plugin need no replaykit_workflows either.
    items = _harvest(pytester, "harvested/harvest_sample/test_sample/test_greeting", "-v")
    items.assert_outcomes(passed=1)

    workflows = project / "harvest_sample" / "workflows.py"
    original = workflows.read_text()

    # A breaking change: a timer before the activity (nondeterminism).
    workflows.write_text(
        original.replace(
            "        return await workflow.execute_activity(\n            compose_greeting, name,",
            "        await workflow.sleep(1)\n"
            "        return await workflow.execute_activity(\n            compose_greeting, name,",
        )
    )
    assert workflows.read_text() != original
    broken = _check(project, "harvested/harvest_sample/test_sample/test_greeting", "-j", "0")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "DIVERGED" in broken.stdout and "[nondeterminism]" in broken.stdout

    # A prompt change to the agent on the OpenAI Agents plugin.
    workflows.write_text(original.replace("answer in two sentences", "answer in one sentence"))
    prompt = _check(project, "harvested/harvest_sample/test_sample/test_travel_agent", "-j", "0")
    assert prompt.returncode == 1, prompt.stdout + prompt.stderr
    assert "instructions changed" in prompt.stdout

    # A benign refactor: the options in a helper, a local renamed. Every history passes.
    workflows.write_text(
        original.replace(
            "        return await workflow.execute_activity(\n"
            "            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)\n"
            "        )",
            "        who = name\n"
            "        return await workflow.execute_activity(\n"
            "            compose_greeting, who, **self._options()\n"
            "        )\n\n"
            "    def _options(self) -> dict[str, timedelta]:\n"
            "        return {'start_to_close_timeout': timedelta(seconds=10)}",
        )
    )
    assert "_options" in workflows.read_text()
    benign = _check(project, "harvested")
    assert benign.returncode == 0, benign.stdout + benign.stderr


def test_record_modes_and_a_rerun_that_writes_no_new_files(
    project: Path, pytester: pytest.Pytester
) -> None:
    harvested = project / "harvested"
    first = _harvest(pytester, GREETING, "--replaykit-harvest", "harvested")
    first.assert_outcomes(passed=1)
    files = _files(harvested)
    assert list(files) == [GREETING_FILE]

    # new (the default) again: the same stable name (the uuid in the id is new), kept as is.
    rerun = _harvest(pytester, GREETING, "--replaykit-harvest", "harvested")
    rerun.assert_outcomes(passed=1)
    rerun.stdout.fnmatch_lines(["*1 executions harvested from 1 tests*0 written, 1 already there*"])
    assert _files(harvested) == files

    # all: rewritten (the new run's workflow id), still one file.
    before = json.loads((harvested / GREETING_FILE).read_text())["replaykit"]["workflow_id"]
    rewrite = _harvest(
        pytester, GREETING, "--replaykit-harvest", "harvested", "--replaykit-harvest-mode", "all"
    )
    rewrite.assert_outcomes(passed=1)
    rewrite.stdout.fnmatch_lines(["*mode all*1 written*"])
    after = _files(harvested)
    assert list(after) == [GREETING_FILE] and after[GREETING_FILE] != files[GREETING_FILE]
    assert json.loads((harvested / GREETING_FILE).read_text())["replaykit"]["workflow_id"] != before

    # none, from the ini keys: nothing is written.
    (project / "pyproject.toml").write_text(
        PYPROJECT + 'replaykit_harvest = "other"\nreplaykit_harvest_mode = "none"\n'
    )
    nothing = _harvest(pytester, GREETING)
    nothing.assert_outcomes(passed=1)
    nothing.stdout.fnmatch_lines(["*into */other; 0 skipped (mode none*0 written*"])
    assert not (project / "other").exists()


def test_xdist_workers_write_their_own_files_and_the_summary_adds_up(
    project: Path, pytester: pytest.Pytester
) -> None:
    result = _harvest(
        pytester,
        "harvest_sample/test_sample.py::test_greeting",
        "harvest_sample/test_sample.py::test_batch",
        "-n",
        "2",
        "--replaykit-harvest",
        "harvested",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["replaykit: 6 executions harvested from 2 tests into *"])
    files = _files(project / "harvested")
    assert len(files) == 6 and GREETING_FILE in files
    assert not list((project / "harvested").rglob("*.tmp"))


EXTRA = """
import uuid

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.worker import Worker

from harvest_sample.agent_plugin import make_plugin
from harvest_sample.test_sample import env  # noqa: F401 - the stock fixture
from harvest_sample.workflows import (
    GreetingWorkflow, TravelAgentWorkflow, compose_greeting, get_weather,
)


@pytest_asyncio.fixture
async def agent_client(env):
    # The plugin is built inside the fixture: nothing can import it by path.
    return Client(**{**env.client.config(), "plugins": [make_plugin()]})


async def test_fails_after_running_a_workflow(env):
    async with Worker(env.client, task_queue="q", workflows=[GreetingWorkflow],
                      activities=[compose_greeting]):
        result = await env.client.execute_workflow(
            GreetingWorkflow.run, "Ada", id=f"failing-{uuid.uuid4()}", task_queue="q")
    assert result == "Goodbye"


async def test_still_running_when_the_test_ends(env):
    # No worker polls this queue: the execution is still running at harvest time.
    await env.client.start_workflow(
        GreetingWorkflow.run, "Ada", id="unfinished", task_queue="nobody-polls")


async def test_agent_with_fixture_plugin(agent_client):
    async with Worker(agent_client, task_queue="agents", workflows=[TravelAgentWorkflow],
                      activities=[get_weather]):
        answer = await agent_client.execute_workflow(
            TravelAgentWorkflow.run, "Pack?", id="travel-fixture", task_queue="agents")
    assert "jacket" in answer
"""


def test_failing_tests_unfinished_runs_and_a_fixture_built_plugin(
    project: Path, pytester: pytest.Pytester
) -> None:
    (project / "harvest_sample" / "test_extra.py").write_text(EXTRA)
    result = _harvest(pytester, "harvest_sample/test_extra.py", "--replaykit-harvest", "harvested")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "replaykit: 3 executions harvested from 3 tests into *; 0 skipped *"
            "1 partial (still running), 1 from failing tests*",
            "replaykit: not importable: plugin temporalio.openai_agents.*OpenAIAgentsPlugin of "
            "harvest_sample/test_extra.py::test_agent_with_fixture_plugin *pass --plugin *",
        ]
    )
    base = project / "harvested" / "harvest_sample" / "test_extra"
    failing = _harvest_meta(base / "test_fails_after_running_a_workflow" / "failing-uuid1.json")
    assert failing["outcome"] == "failed" and failing["partial"] is False
    unfinished = _harvest_meta(base / "test_still_running_when_the_test_ends" / "unfinished.json")
    assert unfinished["partial"] is True and unfinished["outcome"] == "passed"
    agent = _harvest_meta(base / "test_agent_with_fixture_plugin" / "travel-fixture.json")
    assert agent["plugins"] == []
    assert any("--plugin" in str(n) for n in agent["not_importable"])  # type: ignore[union-attr]
    # With the flag the summary named, the file checks clean.
    checked = _check(
        project,
        str(base / "test_agent_with_fixture_plugin"),
        "--plugin",
        "harvest_sample.agent_plugin:make_plugin",
        "-j",
        "0",
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_test_that_never_touches_temporal_pays_nothing(
    project: Path, pytester: pytest.Pytester
) -> None:
    (project / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_sum():
                assert sum([1, 2]) == 3

            def test_zz_no_temporalio_imported():
                assert not [m for m in sys.modules if m.split(".")[0] == "temporalio"]
            """
        )
    )
    result = _harvest(
        pytester, "test_plain.py", "--replaykit-harvest", "harvested", "-p", "no:xdist"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "replaykit: server=* harvest=*harvested (mode new)",
            "replaykit: 0 executions harvested from 0 tests into *",
        ]
    )
    assert not (project / "harvested").exists()


COUNTING = """
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from harvest_sample.workflows import compose_greeting

# Module state that outlives one run: the worker's cache runs the workflow once, a replay
# (a restarted worker, a cache eviction, a deploy) takes the other branch.
_SEEN: list[int] = []


@workflow.defn(sandboxed=False)
class CountingWorkflow:
    @workflow.run
    async def run(self) -> str:
        _SEEN.append(1)
        if len(_SEEN) == 1:
            return await workflow.execute_activity(
                compose_greeting, "first", start_to_close_timeout=timedelta(seconds=5)
            )
        await workflow.sleep(1)
        return "later"
"""

REPLAY = """
import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from harvest_sample.counting import CountingWorkflow
from harvest_sample.workflows import GreetingWorkflow, compose_greeting


@pytest_asyncio.fixture
async def env():
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server) if server.exists() else None
    )
    yield env
    await env.shutdown()


@pytest.mark.replaykit_replay
async def test_nondeterministic_workflow_is_caught_the_first_time(env):
    async with Worker(env.client, task_queue="q", workflows=[CountingWorkflow],
                      activities=[compose_greeting]):
        await env.client.execute_workflow(CountingWorkflow.run, id=f"count-{uuid.uuid4()}",
                                          task_queue="q")


@pytest.mark.replaykit_replay
async def test_deterministic_workflow_passes(env):
    async with Worker(env.client, task_queue="g", workflows=[GreetingWorkflow],
                      activities=[compose_greeting]):
        assert await env.client.execute_workflow(
            GreetingWorkflow.run, "Ada", id=f"greet-{uuid.uuid4()}", task_queue="g"
        ) == "Hello, Ada!"
"""


def test_replay_marker_fails_a_test_whose_histories_do_not_replay(
    project: Path, pytester: pytest.Pytester
) -> None:
    (project / "harvest_sample" / "counting.py").write_text(COUNTING)
    (project / "harvest_sample" / "test_replay.py").write_text(REPLAY)
    # No --replaykit-harvest: the marker alone harvests in memory and replays.
    result = _harvest(pytester, "harvest_sample/test_replay.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_nondeterministic_workflow_is_caught_the_first_time*",
            "*do not replay against the current code*",
        ]
    )
    assert "[nondeterminism]" in result.stdout.str()
    result.stdout.fnmatch_lines(
        ["FAILED *::test_nondeterministic_workflow_is_caught_the_first_time*"]
    )


def test_replay_check_flag_passes_a_deterministic_suite(
    project: Path, pytester: pytest.Pytester
) -> None:
    result = _harvest(
        pytester,
        "harvest_sample/test_sample.py",
        "--replaykit-replay-check",
        "--replaykit-harvest",
        "harvested",
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["replaykit: 7 executions harvested from 3 tests into *"])


LOCAL = """
import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from harvest_sample.workflows import GreetingWorkflow, compose_greeting

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def local_env():
    cli = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(cli) if cli.exists() else None
    )
    yield env
    await env.shutdown()


async def test_on_the_dev_server(local_env):
    async with Worker(local_env.client, task_queue="local", workflows=[GreetingWorkflow],
                      activities=[compose_greeting]):
        await local_env.client.execute_workflow(
            GreetingWorkflow.run, "Ada", id=f"local-{uuid.uuid4()}", task_queue="local")


async def test_through_from_client(local_env):
    env = WorkflowEnvironment.from_client(local_env.client)
    async with Worker(env.client, task_queue="local2", workflows=[GreetingWorkflow],
                      activities=[compose_greeting]):
        await env.client.execute_workflow(
            GreetingWorkflow.run, "Grace", id="from-client", task_queue="local2")
"""


def test_session_scoped_start_local_and_from_client_environments(
    project: Path, pytester: pytest.Pytester
) -> None:
    (project / "harvest_sample" / "test_local.py").write_text(LOCAL)
    result = _harvest(pytester, "harvest_sample/test_local.py", "--replaykit-harvest", "harvested")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["replaykit: 2 executions harvested from 2 tests into *0 skipped*"])
    assert sorted(_files(project / "harvested")) == [
        "harvest_sample/test_local/test_on_the_dev_server/local-uuid1.json",
        "harvest_sample/test_local/test_through_from_client/from-client.json",
    ]
