"""`replaykit show` and `replaykit diff` on histories recorded from real runs.

The histories come from a tiny agent workflow run on the time-skipping test server (an
activity, a retried activity, a 7-day timer, a signal, a child workflow), recorded once per
module. The "changed code" is a second module defining the same workflow types.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from replaykit.cli import main
from replaykit.history import load_history, write_history
from replaykit.history._files import make_meta
from replaykit.servers import parse_server, start_server

pytestmark = pytest.mark.integration

V1 = "rk_showdiff_cli_v1"
V2 = "rk_showdiff_cli_v2"

WORKFLOWS = textwrap.dedent(
    """
    from __future__ import annotations

    from datetime import timedelta

    from temporalio import activity, workflow
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ApplicationError


    @activity.defn
    async def plan(topic: str) -> str:
        return f"plan for {topic}"


    @activity.defn
    async def flaky(n: int) -> int:
        if activity.info().attempt < 2:
            raise ApplicationError("transient outage")
        return n * 10


    @workflow.defn
    class Notify:
        @workflow.run
        async def run(self, text: str) -> str:
            return f"sent: {text}"


    @workflow.defn
    class Agent:
        def __init__(self) -> None:
            self.approved_by: str | None = None

        @workflow.signal
        def approve(self, who: str) -> None:
            self.approved_by = who

        @workflow.run
        async def run(self, topic: str) -> str:
            p = await workflow.execute_activity(
                plan, PLAN_ARG, start_to_close_timeout=timedelta(seconds=10)
            )
            n = await workflow.execute_activity(
                flaky, 2, start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10)),
            )
            await workflow.sleep(timedelta(days=SLEEP_DAYS))
            await workflow.wait_condition(lambda: self.approved_by is not None)
            sent = await workflow.execute_child_workflow(
                Notify.run, p, id=f"{workflow.info().workflow_id}-notify"
            )
            return f"{sent} / {n} / approved by {self.approved_by}"
    """
)


def _module(plan_arg: str, sleep_days: int) -> str:
    return WORKFLOWS.replace("PLAN_ARG", plan_arg).replace("SLEEP_DAYS", str(sleep_days))


async def _record(folder: Path) -> dict[str, Path]:
    import importlib

    from temporalio.worker import Worker

    mod = importlib.import_module(V1)
    out: dict[str, Path] = {}
    with start_server(parse_server("timeskip")) as server:
        client = await server.client()
        queue = f"showdiff-{uuid.uuid4().hex[:8]}"
        async with Worker(
            client,
            task_queue=queue,
            workflows=[mod.Agent, mod.Notify],
            activities=[mod.plan, mod.flaky],
        ):
            for name, topic, who in (
                ("run-a", "durable agents", "ana"),
                ("run-b", "durable agents", "ana"),
                ("run-c", "other topic", "bob"),
            ):
                handle = await client.start_workflow(
                    mod.Agent.run, topic, id=f"agent-{name}", task_queue=queue
                )
                await handle.signal(mod.Agent.approve, who)
                await asyncio.wait_for(handle.result(), timeout=60)
                history = await handle.fetch_history()
                meta = make_meta(
                    workflow_id=handle.id,
                    run_id=handle.result_run_id,
                    workflow_type="Agent",
                    task_queue=queue,
                    namespace="default",
                    scenario=name,
                )
                out[name] = write_history(folder / f"{name}.json", history, meta=meta)
    return out


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("showdiff")
    (root / f"{V1}.py").write_text(_module("topic", 7))
    # The code change: a different prompt to the first activity and a shorter wait.
    (root / f"{V2}.py").write_text(_module("topic.upper()", 6))
    sys.path.insert(0, str(root))
    try:
        yield asyncio.run(_record(root / "histories"))
    finally:
        sys.path.remove(str(root))
        for name in (V1, V2):
            sys.modules.pop(name, None)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


class _Tags(HTMLParser):
    """Checks nesting and collects ids/classes (html.parser itself never rejects input)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.rows: dict[str, str] = {}
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            value = a.get(key)
            if value and not value.startswith("#"):
                self.external.append(value)
        if tag == "tr" and a.get("id"):
            self.rows[a["id"] or ""] = a.get("class") or ""
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def _event_id(path: Path, type_name: str, nth: int = 0) -> int:
    events = [e for e in load_history(path).events if e.WhichOneof("attributes") == type_name]
    return int(events[nth].event_id)


# ------------------------------------------------------------------------------- show


def test_show_text_lists_every_event_with_decoded_summaries(histories: dict[str, Path]) -> None:
    path = histories["run-a"]
    result = _run("show", str(path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    n_events = len(load_history(path).events)
    event_lines = [
        ln
        for ln in lines
        if ln[:1] in (" ", "!") and ln[2:].split()[:1] and ln[2:].split()[0].isdigit()
    ]
    assert len(event_lines) == n_events  # every event, nothing grouped away
    text = result.output
    assert "ActivityTaskScheduled" in text
    assert any('plan("durable agents")' in ln and "ActivityTaskScheduled" in ln for ln in lines)
    assert any(
        "ActivityTaskCompleted" in ln and 'plan -> "plan for durable agents"' in ln for ln in lines
    )
    # the retried activity: its started event carries attempt 2
    assert any("ActivityTaskStarted" in ln and "flaky attempt 2" in ln for ln in lines)
    assert any("ActivityTaskStarted" in ln and "plan attempt 1" in ln for ln in lines)
    assert any("TimerStarted" in ln and "timer 1: 7d" in ln for ln in lines)
    fired = next(ln for ln in lines if "TimerFired" in ln)
    assert "+7d 0h" in fired and "(7d) fired" in fired
    assert any("WorkflowExecutionSignaled" in ln and 'signal approve("ana")' in ln for ln in lines)
    assert any(
        "StartChildWorkflowExecutionInitiated" in ln and "id agent-run-a-notify" in ln
        for ln in lines
    )
    assert any("WorkflowExecutionCompleted" in ln and "approved by ana" in ln for ln in lines)


def test_show_html_highlights_the_divergence(histories: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report" / "timeline.html"
    result = _run("show", str(histories["run-a"]), "--html", str(out), "--workflows", V2)
    assert result.exit_code == 1, result.output
    assert f"wrote {out}" in result.output and "DIVERGED" in result.output
    page = out.read_text()
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert parser.scripts == 0 and parser.external == []
    scheduled = _event_id(histories["run-a"], "activity_task_scheduled_event_attributes")
    timer = _event_id(histories["run-a"], "timer_started_event_attributes")
    assert "diverged" in parser.rows[f"ev-{scheduled}"].split()
    assert "diverged" in parser.rows[f"ev-{timer}"].split()
    diverged = [k for k, v in parser.rows.items() if "diverged" in v.split()]
    assert sorted(diverged) == sorted([f"ev-{scheduled}", f"ev-{timer}"])
    # the explanation at the top: message, recorded -> now diff, source line, hint
    banner = page[page.index('id="divergences"') : page.index("<table>")]
    assert "activity plan: input arguments changed" in banner
    assert "&#x27;durable agents&#x27; -&gt; &#x27;DURABLE AGENTS&#x27;" in banner
    assert f"{V2}.py:" in banner
    assert "workflow.patched" in banner
    assert f'href="#ev-{scheduled}"' in banner
    # and again right after the diverging row
    row_at = page.index(f'<tr id="ev-{scheduled}"')
    after = page[row_at : page.index("</tr>", page.index("</tr>", row_at) + 1)]
    assert 'class="divergence"' in after and "input arguments changed" in after
    # workflow tasks are dimmed, activities and timers color-coded, payloads expandable
    assert "cat-workflow-task" in parser.rows["ev-2"]
    assert "<details>" in page and "durable agents" in page


def test_show_against_the_recording_code_is_clean(
    histories: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "clean.html"
    result = _run("show", str(histories["run-a"]), "--html", str(out), "-w", V1)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    parser = _Tags()
    parser.feed(page)
    assert "Replays clean" in page and 'class="divergence"' not in page
    assert len(parser.rows) == len(load_history(histories["run-a"]).events)
    assert not [k for k, v in parser.rows.items() if "diverged" in v.split()]


def test_show_text_with_workflows_marks_divergent_lines(histories: dict[str, Path]) -> None:
    result = _run("show", str(histories["run-a"]), "--workflows", V2)
    assert result.exit_code == 1
    marked = [ln for ln in result.output.splitlines() if ln.startswith("!")]
    assert len(marked) == 2
    assert "ActivityTaskScheduled" in marked[0] and "TimerStarted" in marked[1]
    assert "timer duration changed from 7d to 6d" in result.output


def test_show_bad_input_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"events": [')
    result = CliRunner().invoke(main, ["show", str(bad)])
    assert result.exit_code == 2
    assert "broken.json" in result.output and "truncated JSON" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["show", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "nope.json" in missing.output


def test_show_bad_workflow_module_exits_2(histories: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["show", str(histories["run-a"]), "-w", "no_such_mod_x"])
    assert result.exit_code == 2
    assert "no_such_mod_x" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------------------- diff


def test_diff_of_two_runs_of_the_same_scenario_is_equivalent(
    histories: dict[str, Path],
) -> None:
    # Different workflow ids, run ids, timestamps and identities: all noise.
    a, b = load_history(histories["run-a"]), load_history(histories["run-b"])
    assert a.run_id != b.run_id and a.workflow_id != b.workflow_id
    result = _run("diff", str(histories["run-a"]), str(histories["run-b"]))
    assert result.exit_code == 0, result.output
    assert "EQUIVALENT" in result.output


def test_diff_explains_different_args_results_and_signals(histories: dict[str, Path]) -> None:
    result = _run("diff", str(histories["run-a"]), str(histories["run-c"]), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["equivalent"] is False
    found = {(d["step"], d["field"]): d for d in report["differences"]}
    assert set(found) == {
        ("workflow start", "input"),
        ("activity plan", "input"),
        ("activity plan", "result"),
        ("child workflow Notify", "input"),
        ("child workflow Notify", "result"),
        ("completion", "result"),
        ("signal approve", "input"),
    }
    assert (
        found[("activity plan", "input")]["diff"] == "input[0]: 'durable agents' -> 'other topic'"
    )
    assert found[("signal approve", "input")]["a"] == ["ana"]
    assert found[("signal approve", "input")]["b"] == ["bob"]
    assert all(d["change"] == "changed" for d in report["differences"])


def test_diff_text_and_bad_input(histories: dict[str, Path], tmp_path: Path) -> None:
    result = _run("diff", str(histories["run-a"]), str(histories["run-c"]))
    assert result.exit_code == 1
    assert "~ signal approve: input differs" in result.output
    assert "input[0]: 'ana' -> 'bob'" in result.output
    empty = tmp_path / "empty.json"
    empty.write_text("")
    bad = CliRunner().invoke(main, ["diff", str(histories["run-a"]), str(empty)])
    assert bad.exit_code == 2 and "empty.json: file is empty" in bad.output
