"""The replaykit pytest plugin, exercised through pytester on real time-skipping servers.

Most runs are in-process (``runpytest``); pytester restores ``sys.modules`` and ``sys.path``
after each, so a sample repository whose workflow file is edited between runs is re-imported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import temporalio.worker  # noqa: F401

# Imported once out here: pytester drops modules first imported inside an in-process run, so
# without this every run would import the SDK (and replaykit) again.
import replaykit.check._engine  # noqa: F401
import replaykit.servers  # noqa: F401

pytest_plugins = ["pytester"]

SAMPLE = Path(__file__).parent / "sample_repo"
_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
RECORDED = Path("histories/tests/test_agent/test_research_agent.json")


def _sample(pytester: pytest.Pytester) -> Path:
    shutil.copytree(SAMPLE, pytester.path, dirs_exist_ok=True, ignore=_ignore)
    return pytester.path


def _ignore(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("__pycache__", "histories", ".pytest_cache")]


def _record(pytester: pytest.Pytester) -> Path:
    """Record the sample's history through the plugin's own record_history."""
    result = pytester.runpytest("--replaykit-record=all", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    path = pytester.path / RECORDED
    assert path.is_file()
    return path


def _change_activity_argument(root: Path) -> None:
    wf = root / "agent" / "workflows.py"
    text = wf.read_text()
    assert "MAX_RESULTS = 3\n" in text
    # A different length too, so a stale .pyc (same mtime second, same size) cannot be used.
    wf.write_text(text.replace("MAX_RESULTS = 3\n", "MAX_RESULTS = 10\n"))
    shutil.rmtree(root / "agent" / "__pycache__", ignore_errors=True)


# --------------------------------------------------------------------------- import & options


def test_importing_the_plugin_does_not_import_temporalio() -> None:
    code = (
        "import sys, replaykit_pytest.plugin; "
        "assert 'temporalio' not in sys.modules, 'temporalio imported'; "
        "assert 'replaykit' not in sys.modules, 'replaykit imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_options_live_in_one_replaykit_group(pytester: pytest.Pytester) -> None:
    pytester.makeini(_INI)
    result = pytester.runpytest("--help")
    out = result.stdout.str()
    group = out.split("replaykit: Temporal replay testing:", 1)[1].split("\n\n", 1)[0]
    for flag in (
        "--replaykit-server",
        "--replaykit-record",
        "--replaykit-strict",
        "--replaykit-no-strict",
    ):
        assert flag in group
    for key in ("replaykit_workflows", "replaykit_histories", "replaykit_server"):
        assert key in out


@pytest.mark.parametrize(
    ("args", "pyproject", "expected"),
    [
        (["--replaykit-record=sometimes"], "", "choose from: none, new, all"),
        (["--replaykit-server=nowhere"], "", "'embedded', 'timeskip' or HOST:PORT"),
        ([], '[tool.replaykit]\nserver = "localhost:99999"\n', "'embedded', 'timeskip'"),
        ([], '[tool.replaykit]\nworkflow = ["x"]\n', "unknown [tool.replaykit] key"),
    ],
)
def test_bad_values_fail_loudly_listing_valid_ones(
    pytester: pytest.Pytester, args: list[str], pyproject: str, expected: str
) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    (pytester.path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n' + pyproject
    )
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert expected in result.stderr.str()


def test_one_resolver_decides_precedence(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.replaykit]
        server = "embedded"
        workflows = ["from_pyproject"]

        [tool.pytest.ini_options]
        replaykit_server = "timeskip"
        replaykit_strict = false
        asyncio_default_fixture_loop_scope = "function"
        """
    )
    pytester.makepyfile(
        """
        import pytest

        def test_ini_beats_pyproject(replaykit_settings, request):
            want = request.config.getoption("replaykit_server") or "timeskip"
            assert replaykit_settings.server == want
            assert replaykit_settings.workflows == ("from_pyproject",)
            strict = request.config.getoption("replaykit_strict")
            assert replaykit_settings.strict is (False if strict is None else strict)
            assert replaykit_settings.record == "none"

        @pytest.mark.replaykit(server="127.0.0.1:7233", workflows=["from_marker"], strict=True)
        def test_marker_beats_ini(replaykit_settings, request):
            want = request.config.getoption("replaykit_server") or "127.0.0.1:7233"
            assert replaykit_settings.server == want
            assert replaykit_settings.workflows == ("from_marker",)
            strict = request.config.getoption("replaykit_strict")
            assert replaykit_settings.strict is (True if strict is None else strict)

        @pytest.mark.replaykit(strict="yes")
        def test_bad_marker_value(replaykit_settings):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*strict='yes' is not valid; choose from: True, False*"])
    # A flag beats marker, ini and pyproject (so the bad marker value is never consulted).
    result = pytester.runpytest("--replaykit-server=embedded", "--replaykit-no-strict")
    result.assert_outcomes(passed=3)
    result = pytester.runpytest("--replaykit-strict", "--replaykit-record=new")
    result.assert_outcomes(failed=1, passed=2)  # record is "new" now


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini(_INI)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.replaykit(strict=False)
        @pytest.mark.replaykit_faults("crash-after-first-activity")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.replaykit(workflows=None*", "*replaykit_faults*"])


# --------------------------------------------------------------------------- histories as tests


def test_histories_are_test_items_and_fail_naming_the_activity(pytester: pytest.Pytester) -> None:
    root = _sample(pytester)
    recorded = _record(pytester)
    before = recorded.read_bytes()
    meta = json.loads(before)["replaykit"]
    assert meta["workflow_id"] == "research-temporal"
    assert meta["scenario"] == "tests/test_agent.py::test_research_agent"

    result = pytester.runpytest("histories/", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*histories/tests/test_agent/test_research_agent.json::replay PASSED*"]
    )
    result.stdout.fnmatch_lines(["*replaykit: 1 histories replayed: 1 clean*"])

    _change_activity_argument(root)
    result = pytester.runpytest("histories/")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "activity search_web: input arguments changed" in out
    assert "args[1]: 3 -> 10" in out
    assert "agent/workflows.py:" in out  # the source line of the changed call
    assert "at event 5 (ActivityTaskScheduled)" in out
    # The report is the divergence explanation, not a Python traceback of the plugin.
    assert "_items.py" not in out
    assert recorded.read_bytes() == before  # checking never writes


def test_history_items_replay_as_one_batch_and_report_each(pytester: pytest.Pytester) -> None:
    root = _sample(pytester)
    recorded = _record(pytester)
    copy = recorded.with_name("copy.json")
    shutil.copy(recorded, copy)
    broken = root / "histories" / "broken.json"
    broken.write_text('{"events": [{"eventId": "1"}]}')
    result = pytester.runpytest("histories/", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broken.json::replay FAILED*",
            "*copy.json::replay PASSED*",
            "*test_research_agent.json::replay PASSED*",
        ]
    )
    out = result.stdout.str()
    assert "broken.json: events[0] has no eventType" in out
    assert "replaykit: 3 histories replayed: 2 clean, 0 divergent, 1 unreadable" in out


def test_unrelated_json_is_never_collected(pytester: pytest.Pytester) -> None:
    root = _sample(pytester)
    recorded = _record(pytester)
    # JSON beside Python tests, even a history, is test data: `pytest tests/` leaves it.
    data = root / "tests" / "data"
    data.mkdir()
    shutil.copy(recorded, data / "fixture_history.json")
    (data / "settings.json").write_text('{"events": "not a history"}')
    # A pure data folder named on the command line: histories yes, other JSON no.
    exports = root / "exports"
    exports.mkdir()
    shutil.copy(recorded, exports / "export.json")
    (exports / "package.json").write_text('{"name": "x"}')
    result = pytester.runpytest("tests/", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*2 tests collected*"])
    assert ".json" not in result.stdout.str()
    result = pytester.runpytest("exports/", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*exports/export.json::replay PASSED*"])
    # Without configured workflows no JSON is ever collected.
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('workflows = ["agent.workflows"]\n', ""))
    result = pytester.runpytest("histories/", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


# --------------------------------------------------------------------------- fixtures


def test_assert_replays_and_histories_fixtures_and_disabling(pytester: pytest.Pytester) -> None:
    root = _sample(pytester)
    _record(pytester)
    pytester.makepyfile(
        test_async_use="""
        async def test_async_assert_replays(assert_replays, replaykit_histories):
            assert len(replaykit_histories) == 1
            report = assert_replays(replaykit_histories[0])
            assert [r.status for r in report.results] == ["clean"]
        """
    )
    result = pytester.runpytest(
        "tests/test_agent.py::test_recorded_histories_replay", "test_async_use.py"
    )
    result.assert_outcomes(passed=2)

    _change_activity_argument(root)
    result = pytester.runpytest("test_async_use.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError:*test_research_agent.json (ResearchAgent*"])
    assert "args[1]: 3 -> 10" in result.stdout.str()

    result = pytester.runpytest("-p", "no:replaykit", "tests/test_agent.py", "test_async_use.py")
    result.assert_outcomes(errors=3)
    out = result.stdout.str()
    assert "fixture 'assert_replays' not found" in out
    assert "fixture 'temporal_client' not found" in out


def test_record_modes(pytester: pytest.Pytester) -> None:
    _sample(pytester)
    target = pytester.path / RECORDED
    # none (the default) never writes and needs the recording.
    result = pytester.runpytest("tests/test_agent.py::test_research_agent")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recorded history at*test_research_agent.json*"])
    assert not (pytester.path / "histories").exists()
    # new writes what is missing, then leaves it alone.
    result = pytester.runpytest(
        "tests/test_agent.py::test_research_agent", "--replaykit-record=new"
    )
    result.assert_outcomes(passed=1)
    first = target.read_text()
    first_stat = target.stat().st_mtime_ns
    result = pytester.runpytest(
        "tests/test_agent.py::test_research_agent", "--replaykit-record=new"
    )
    result.assert_outcomes(passed=1)
    assert target.stat().st_mtime_ns == first_stat
    # none now finds it, and it replays clean.
    result = pytester.runpytest("tests/test_agent.py::test_research_agent")
    result.assert_outcomes(passed=1)
    # all rewrites (a new run id each time).
    result = pytester.runpytest(
        "tests/test_agent.py::test_research_agent", "--replaykit-record=all"
    )
    result.assert_outcomes(passed=1)
    second = json.loads(target.read_text())["replaykit"]
    assert second["run_id"] != json.loads(first)["replaykit"]["run_id"]
    leftovers = [p.name for p in target.parent.iterdir() if p.name != target.name]
    assert leftovers == []  # atomic writes leave no temp files


def test_worker_fails_fast_on_nondeterminism_and_env_is_session_scoped(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(_INI)
    pytester.makepyfile(
        flaky_counter="""
        COUNT = [0]

        def bump():
            COUNT[0] += 1
            return COUNT[0]
        """,
        flaky_wf="""
        from datetime import timedelta
        from temporalio import activity, workflow

        with workflow.unsafe.imports_passed_through():
            import flaky_counter

        @activity.defn
        async def noop() -> None:
            return None

        @workflow.defn
        class Flaky:
            @workflow.run
            async def run(self) -> None:
                # State that survives the sandbox: each replay takes the other branch.
                if flaky_counter.bump() == 1:
                    await workflow.execute_activity(
                        noop, start_to_close_timeout=timedelta(seconds=5)
                    )
                else:
                    await workflow.sleep(timedelta(seconds=1))
        """,
        test_flaky="""
        import asyncio
        import pytest
        from temporalio.client import WorkflowFailureError
        from flaky_wf import Flaky, noop

        SEEN = []

        @pytest.mark.asyncio  # pytest-asyncio in its default strict mode
        @pytest.mark.replaykit(workflows=[Flaky])
        async def test_nondeterminism_fails_the_workflow(
            temporal_env, temporal_client, replaykit_worker
        ):
            SEEN.append(temporal_env)
            assert temporal_env.kind == "timeskip"
            async with replaykit_worker(activities=[noop]) as worker:
                handle = await temporal_client.start_workflow(
                    Flaky.run, id="flaky", task_queue=worker.task_queue
                )
                with pytest.raises(WorkflowFailureError) as info:
                    await asyncio.wait_for(handle.result(), timeout=60)
            assert "Nondeterminism" in repr(info.value.cause)

        def test_same_server(temporal_env):
            assert SEEN == [temporal_env]
            assert temporal_env.pid is not None
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_fixtures_work_with_anyio(pytester: pytest.Pytester) -> None:
    _sample(pytester)
    _record(pytester)
    pytester.makepyfile(
        test_anyio_use="""
        import pytest
        from agent.activities import search_web, summarize
        from agent.workflows import ResearchAgent

        @pytest.fixture
        def anyio_backend():
            return "asyncio"  # temporalio runs on asyncio only

        @pytest.mark.anyio
        async def test_with_anyio(temporal_client, replaykit_worker, assert_replays):
            async with replaykit_worker(activities=[search_web, summarize]) as worker:
                handle = await temporal_client.start_workflow(
                    ResearchAgent.run, "anyio", id="anyio-run", task_queue=worker.task_queue
                )
                assert (await handle.result()).startswith("3 notes")
            assert_replays(await handle.fetch_history())
        """
    )
    # pytest-asyncio off: anyio alone drives the test.
    result = pytester.runpytest("test_anyio_use.py", "-p", "no:asyncio")
    result.assert_outcomes(passed=1)


def test_works_under_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    _sample(pytester)
    _record(pytester)
    shutil.copy(pytester.path / RECORDED, pytester.path / RECORDED.with_name("copy.json"))
    result = pytester.runpytest("-n", "2", "tests/", "histories/")
    result.assert_outcomes(passed=4)


def test_ledger_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeini(_INI)
    pytester.makepyfile(
        """
        import os
        import pytest
        from replaykit.effects import EffectsError, idempotent

        CALLS = []

        @idempotent(key=lambda order: order, effect="charge")
        def charge(order):
            CALLS.append(order)
            return "charged " + order

        def test_ledger(replaykit_ledger):
            assert os.environ["REPLAYKIT_LEDGER"] == str(replaykit_ledger.path)
            assert charge("o1") == "charged o1"
            assert charge("o1") == "charged o1"
            assert CALLS == ["o1"]
            replaykit_ledger.verify()
            for _ in range(2):
                with replaykit_ledger.record("o2", effect="mail"):
                    pass
            with pytest.raises(EffectsError, match="mail"):
                replaykit_ledger.verify()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_cassette_fixture_records_per_record_mode(pytester: pytest.Pytester) -> None:
    # The runs are subprocesses: in-process runs would drop and re-import PyYAML (pytester
    # unloads modules first imported inside a run), after which every later cassette load in
    # this process fails with a YAML constructor error.
    pytester.makeini(_INI)
    pytester.makepyfile(
        """
        import json, os, threading
        from http.server import BaseHTTPRequestHandler, HTTPServer
        import httpx2 as httpx  # the HTTP client the openai package uses

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                data = json.dumps({"answer": body["prompt"].upper()}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        def test_llm_call(replaykit_cassette):
            server = None
            url = "http://127.0.0.1:9/v1/chat"  # nothing listens: replay must not reach it
            if os.environ.get("LIVE"):
                server = HTTPServer(("127.0.0.1", 0), Handler)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                url = f"http://127.0.0.1:{server.server_port}/v1/chat"
            try:
                with replaykit_cassette():
                    reply = httpx.post(url, json={"prompt": os.environ.get("PROMPT", "hi")})
                assert reply.json() == {"answer": "HI"}
            finally:
                if server is not None:
                    server.shutdown()
        """
    )
    cassette = pytester.path / "fixtures" / "cassettes" / "test_llm_call.yaml"
    result = pytester.runpytest_subprocess()  # none: no cassette yet, nothing recorded
    result.assert_outcomes(failed=1)
    assert not cassette.exists()
    pytester._monkeypatch.setenv("LIVE", "1")
    result = pytester.runpytest_subprocess("--replaykit-record=new")
    result.assert_outcomes(passed=1)
    assert cassette.is_file()
    pytester._monkeypatch.delenv("LIVE")
    result = pytester.runpytest_subprocess()  # replayed: the server is gone
    result.assert_outcomes(passed=1)
    pytester._monkeypatch.setenv("PROMPT", "changed prompt")
    result = pytester.runpytest_subprocess()  # a changed prompt is a miss, not a stale answer
    result.assert_outcomes(failed=1)


def test_history_items_honour_the_projects_allow_rules(pytester: pytest.Pytester) -> None:
    # `replaykit check` and `pytest histories/` give the same verdict: both read
    # [tool.replaykit] allow (and volatile, fail_on).
    root = _sample(pytester)
    _record(pytester)
    _change_activity_argument(root)
    result = pytester.runpytest("histories/")
    result.assert_outcomes(failed=1)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'histories = "histories"',
            'histories = "histories"\nallow = ["activity:search_web.input"]',
        )
    )
    result = pytester.runpytest("histories/")
    result.assert_outcomes(passed=1)
