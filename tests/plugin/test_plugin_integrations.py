"""The pytest plugin with Temporal plugins (the OpenAI Agents integration and its own test
model provider): config, ini and marker; client, workers, record_history, assert_replays and
history items all get them. Each pytest session runs in a subprocess on a real server."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "plugins"

_TEST = """
import pytest
from agentpkg.oa_tools import ToolsWorkflow, get_weather
{imports}

{marker}
async def test_travel_agent(replaykit_worker, temporal_client, record_history, assert_replays):
    async with replaykit_worker(activities=[get_weather]) as worker:
        handle = await temporal_client.start_workflow(
            ToolsWorkflow.run, "What should I pack?", id="travel-pytest",
            task_queue=worker.task_queue,
        )
        assert "jacket" in await handle.result()
    path = await record_history(handle)
    assert_replays(path)
"""


def _project(pytester: pytest.Pytester, *, pyproject_plugins: bool, marker: bool) -> Path:
    pkg = pytester.path / "agentpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(DATA / "oa_tools.py", pkg / "oa_tools.py")
    plugins = 'plugins = ["agentpkg.oa_tools:plugin"]\n' if pyproject_plugins else ""
    (pytester.path / "pyproject.toml").write_text(
        "[tool.replaykit]\n"
        'workflows = ["agentpkg.oa_tools"]\n'
        'histories = "histories"\n'
        'server = "embedded"\n'
        f"{plugins}\n"
        "[tool.pytest.ini_options]\n"
        'pythonpath = ["."]\n'
        'asyncio_mode = "auto"\n'
        'asyncio_default_fixture_loop_scope = "function"\n'
    )
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_travel.py").write_text(
        _TEST.format(
            imports="from agentpkg.oa_tools import plugin" if marker else "",
            marker="@pytest.mark.replaykit(plugins=[plugin])" if marker else "",
        )
    )
    return pytester.path


@pytest.mark.parametrize("source", ["pyproject", "marker"])
def test_plugins_reach_client_worker_recording_and_replay(
    pytester: pytest.Pytester, source: str
) -> None:
    root = _project(pytester, pyproject_plugins=source == "pyproject", marker=source == "marker")
    result = pytester.runpytest_subprocess(
        "tests", "--replaykit-record=all", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    recorded = root / "histories" / "tests" / "test_travel" / "test_travel_agent.json"
    assert recorded.is_file()
    assert "invoke_model_activity" in recorded.read_text()
    if source == "pyproject":
        # Histories as test items replay with the configured plugins.
        result = pytester.runpytest_subprocess("histories", "-v", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)


def test_without_the_plugin_the_history_item_fails_naming_it(pytester: pytest.Pytester) -> None:
    root = _project(pytester, pyproject_plugins=True, marker=False)
    result = pytester.runpytest_subprocess(
        "tests", "--replaykit-record=all", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text.replace('plugins = ["agentpkg.oa_tools:plugin"]\n', "")
    )
    result = pytester.runpytest_subprocess("histories", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no OpenAI Agents SDK plugin is applied*"])


def test_ini_key_names_plugins(pytester: pytest.Pytester) -> None:
    root = _project(pytester, pyproject_plugins=False, marker=False)
    (root / "pytest.ini").write_text(
        textwrap.dedent("""
        [pytest]
        pythonpath = .
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        replaykit_plugins = agentpkg.oa_tools:plugin
        """)
    )
    result = pytester.runpytest_subprocess(
        "tests", "--replaykit-record=all", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
