"""`replaykit lint`: static determinism checks of workflow code."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit.cli.lint import command
from replaykit.lint import (
    RULES,
    Finding,
    LintReport,
    format_json,
    format_sarif,
    format_text,
    lint_paths,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "lint"
HAZARDS = DATA / "hazards.py"
CLEAN = DATA / "clean_workflow.py"

_MARKER = re.compile(r"#\s*expect:\s*(.+)$")
_ITEM = re.compile(r"(RK\d{3})\s*`([^`]+)`")


def expected_findings(path: Path) -> set[tuple[str, int, int]]:
    """(rule, line, col) for every ``# expect: RK101 `anchor` `` marker in ``path``."""
    expected: set[tuple[str, int, int]] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        marker = _MARKER.search(line)
        if marker is None or line.lstrip().startswith(("Every", '"""')):
            continue
        code = line[: marker.start()]
        items = _ITEM.findall(marker.group(1))
        assert items, f"unparseable expect marker on line {number}: {line!r}"
        for rule, anchor in items:
            assert anchor in code, f"anchor {anchor!r} not in the code of line {number}"
            expected.add((rule, number, code.index(anchor) + 1))
    return expected


def located(report: LintReport) -> set[tuple[str, int, int]]:
    return {(f.rule, f.line, f.col) for f in report.findings}


def write(tmp_path: Path, name: str, source: str) -> Path:
    """Write ``source`` (the part after DEDENT dedented on its own) to ``tmp_path/name``."""
    head, _, body = source.rpartition(DEDENT)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + textwrap.dedent(body))
    return path


DEDENT = "\x00dedent\x00"


WORKFLOW_HEADER = """\
import time
import random
from datetime import timedelta
from temporalio import activity, workflow
"""


# -- the hazard corpus -----------------------------------------------------------------------


def test_every_hazard_found_at_its_exact_line_and_column_and_nothing_else() -> None:
    expected = expected_findings(HAZARDS)
    assert len(expected) >= 30  # guards against the marker parser silently finding nothing
    report = lint_paths([HAZARDS])
    assert report.errors == ()
    assert report.files_checked == 1
    found = located(report)
    assert found - expected == set(), "reported but not expected"
    assert expected - found == set(), "expected but not reported"


def test_hazard_corpus_covers_every_rule() -> None:
    rules_in_corpus = {rule for rule, _, _ in expected_findings(HAZARDS)}
    assert rules_in_corpus == {rule.id for rule in RULES}


def test_findings_carry_rule_name_path_and_a_message_naming_the_call() -> None:
    report = lint_paths([HAZARDS])
    by_line = {f.line: f for f in report.findings}
    alias_line = next(
        number
        for number, line in enumerate(HAZARDS.read_text().splitlines(), start=1)
        if "started_alias = now()" in line
    )
    finding = by_line[alias_line]
    assert finding == Finding(
        rule="RK101",
        name="wall-clock",
        path=str(HAZARDS),
        line=alias_line,
        col=finding.col,
        message=finding.message,
    )
    assert "time.time()" in finding.message and "workflow.now()" in finding.message


# -- clean code ------------------------------------------------------------------------------


def test_clean_workflow_has_no_findings() -> None:
    report = lint_paths([CLEAN])
    assert report.errors == ()
    assert report.files_checked == 1
    assert report.findings == ()
    assert report.exit_code == 0


def test_clean_workflow_is_really_analysed(tmp_path: Path) -> None:
    # The clean file passes because its workflow is clean, not because it was skipped.
    source = CLEAN.read_text()
    anchor = "jitter = workflow.random().uniform(0, 1)"
    assert anchor in source
    broken = write(tmp_path, "clean_workflow.py", source.replace(anchor, "jitter = time.time()"))
    report = lint_paths([broken])
    assert [(f.rule, f.name) for f in report.findings] == [("RK101", "wall-clock")]


def test_activities_and_module_level_code_are_not_workflow_code(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "acts.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        STARTED = time.time()

        @activity.defn(name="stamp")
        def stamp() -> float:
            return time.time() + random.random()

        def unused_helper() -> float:
            return time.time()

        class NotAWorkflow:
            def run(self) -> float:
                return time.time()
        """,
    )
    assert lint_paths([path]).findings == ()


# -- name resolution -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("import datetime as dt", "dt.datetime.now()"),
        ("from datetime import datetime", "datetime.utcnow()"),
        ("from datetime import datetime as DT", "DT.now()"),
        ("from time import time as now", "now()"),
        ("import time as clock", "clock.monotonic_ns()"),
        ("import time", 'time.strftime("%H:%M")'),
        ("from datetime import datetime, timezone", "datetime.now(timezone.utc)"),
        ("from time import perf_counter", "perf_counter()"),
    ],
)
def test_import_aliases_are_resolved(tmp_path: Path, imports: str, call: str) -> None:
    source = f"""\
{imports}
from temporalio import workflow

@workflow.defn
class W:
    @workflow.run
    async def run(self) -> None:
        value = {call}
"""
    report = lint_paths([write(tmp_path, "w.py", source)])
    assert located(report) == {("RK101", 8, 17)}


@pytest.mark.parametrize(
    ("imports", "decorator"),
    [
        ("from temporalio import workflow", "@workflow.defn"),
        ("from temporalio import workflow", '@workflow.defn(name="Named", sandboxed=False)'),
        ("from temporalio.workflow import defn", "@defn"),
        ("from temporalio.workflow import defn as wdefn", "@wdefn()"),
        ("import temporalio.workflow", "@temporalio.workflow.defn"),
        ("import temporalio.workflow as twf", "@twf.defn"),
    ],
)
def test_workflow_decorator_aliases(tmp_path: Path, imports: str, decorator: str) -> None:
    source = f"""\
import time
{imports}

{decorator}
class W:
    async def run(self) -> None:
        time.sleep(1)
"""
    report = lint_paths([write(tmp_path, "w.py", source)])
    assert located(report) == {("RK302", 7, 9)}


def test_deterministic_look_alikes_are_not_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        import asyncio
        import uuid
        from datetime import datetime, timezone
        import httpx

        @workflow.defn
        class W:
            @workflow.run
            async def run(self, name: str) -> str:
                seeded = random.Random(42).random()
                key = uuid.uuid5(uuid.NAMESPACE_URL, name)
                stamp = time.strftime("%H", time.gmtime(0))
                when = datetime.fromtimestamp(workflow.time(), tz=timezone.utc)
                await asyncio.sleep(5)
                await workflow.sleep(timedelta(minutes=5))
                try:
                    pass
                except httpx.HTTPError as exc:
                    raise httpx.HTTPStatusError("x", request=None, response=None) from exc
                return f"{seeded}{key}{stamp}{when}"
        """,
    )
    assert lint_paths([path]).findings == ()


def test_local_names_shadow_modules_and_builtins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        @workflow.defn
        class W:
            @workflow.run
            async def run(self, time: float, open: int) -> None:
                random = workflow.random()
                value = time + open + random.random()
                items = sorted({"b", "a"})
                for item in items:
                    pass
                count = 0

                def bump() -> None:
                    nonlocal count
                    count += 1

                bump()
        """,
    )
    assert lint_paths([path]).findings == ()


def test_set_names_reassigned_to_other_kinds_are_not_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        @workflow.defn
        class W:
            @workflow.run
            async def run(self, ids: list[str]) -> None:
                unique = set(ids)
                unique = sorted(unique)
                for item in unique:
                    pass
                tags: set[str] = set()
                for tag in tags:  # the annotation says set: reported
                    pass
        """,
    )
    assert located(lint_paths([path])) == {("RK105", 15, 20)}


def test_transitive_helpers_classes_and_lambdas_are_followed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        @activity.defn
        async def refund(order: str) -> None:
            pass

        def deep() -> float:
            return time.time()

        def middle() -> float:
            return deep()

        class Saga:
            def __init__(self) -> None:
                self.steps = []

            def add(self, step) -> None:
                self.steps.append(step)
                random.shuffle(self.steps)

        @workflow.defn
        class W:
            @workflow.run
            async def run(self, order: str) -> None:
                saga = Saga()
                saga.add(lambda: refund(order))
                self._later()

            def _later(self) -> float:
                return middle()
        """,
    )
    assert located(lint_paths([path])) == {
        ("RK101", 11, 12),  # deep(), two calls away
        ("RK102", 22, 9),  # Saga.add, through an instance of a local class
        ("RK501", 29, 26),  # the seed article's saga bug: an activity called in a lambda
    }


def test_cross_module_helpers_and_activities(tmp_path: Path) -> None:
    pkg = tmp_path / "agents"
    write(tmp_path, "agents/__init__.py", "")
    write(
        tmp_path,
        "agents/activities.py",
        """\
        from temporalio import activity

        @activity.defn
        async def charge(amount: int) -> None:
            open("/tmp/ledger").write(str(amount))
        """,
    )
    write(
        tmp_path,
        "agents/helpers.py",
        """\
        import uuid

        def new_key() -> str:
            return str(uuid.uuid4())
        """,
    )
    write(
        tmp_path,
        "agents/policies.py",
        """\
        from datetime import timedelta

        POLL = timedelta(seconds=5)
        """,
    )
    workflows = write(
        tmp_path,
        "agents/workflows.py",
        """\
        import asyncio
        from temporalio import workflow

        with workflow.unsafe.imports_passed_through():
            from .activities import charge
            from agents.helpers import new_key
            from agents import policies

        @workflow.defn
        class Pay:
            @workflow.run
            async def run(self) -> str:
                await charge(5)
                await asyncio.sleep(policies.POLL)
                return new_key()
        """,
    )
    both = lint_paths([pkg])
    assert {(Path(f.path).name, f.rule, f.line) for f in both.findings} == {
        ("workflows.py", "RK501", 13),
        ("workflows.py", "RK303", 14),
        ("helpers.py", "RK103", 4),
    }
    # With only the workflow file given, other files are neither read nor reported.
    alone = lint_paths([workflows])
    assert alone.findings == ()
    assert alone.files_checked == 1


def test_activity_timeouts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        from temporalio.workflow import execute_local_activity, start_activity

        @activity.defn
        async def act() -> None:
            pass

        @workflow.defn
        class W:
            @workflow.run
            async def run(self, options: dict) -> None:
                await workflow.execute_activity(act, schedule_to_close_timeout=timedelta(seconds=5))
                await workflow.execute_activity(act, start_to_close_timeout=None)
                await workflow.execute_activity(act, heartbeat_timeout=timedelta(seconds=5))
                await execute_local_activity(act)
                handle = start_activity(act, start_to_close_timeout=timedelta(seconds=1))
                await workflow.execute_activity(act, **options)
        """,
    )
    assert located(lint_paths([path])) == {("RK502", 17, 15), ("RK502", 18, 15), ("RK502", 19, 15)}


def test_non_ascii_lines_report_character_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        @workflow.defn
        class W:
            @workflow.run
            async def run(self) -> None:
                label = "€€€"; value = time.time()
        """,
    )
    (finding,) = lint_paths([path]).findings
    line = path.read_text().splitlines()[finding.line - 1]
    assert finding.col == line.index("time.time") + 1


# -- suppression, selection -----------------------------------------------------------------


def test_suppression_comments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        @workflow.defn
        class W:
            @workflow.run
            async def run(self) -> None:
                a = time.time()  # replaykit: ignore[RK101]
                b = time.time()  # replaykit: ignore[wall-clock]
                c = time.time()  # replaykit: ignore
                d = time.time() + random.random()  # replaykit: ignore[RK102]
                e = time.time()  # replaykit: ignore[RK102, RK103]
                f = "# replaykit: ignore"; g = time.time()
                h = time.time()  # REPLAYKIT: IGNORE[rk101]
        """,
    )
    assert located(lint_paths([path])) == {("RK101", 13, 13), ("RK101", 14, 13), ("RK101", 15, 40)}


def test_select_and_ignore_by_id_and_name() -> None:
    everything = lint_paths([HAZARDS])
    only_clock = lint_paths([HAZARDS], select="RK101")
    assert {f.rule for f in only_clock.findings} == {"RK101"}
    assert len(only_clock.findings) == sum(f.rule == "RK101" for f in everything.findings)

    by_name = lint_paths([HAZARDS], select=["random,uuid"])
    assert {f.rule for f in by_name.findings} == {"RK102", "RK103"}

    ignored = lint_paths([HAZARDS], ignore=["wall-clock", "RK105,global-state"])
    assert {f.rule for f in ignored.findings} == {f.rule for f in everything.findings} - {
        "RK101",
        "RK105",
        "RK401",
    }
    both = lint_paths([HAZARDS], select="RK101,RK102", ignore="RK102")
    assert {f.rule for f in both.findings} == {"RK101"}


def test_unknown_rule_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown rule 'RK999'"):
        lint_paths([HAZARDS], select="RK999")


# -- errors ----------------------------------------------------------------------------------


def test_missing_and_unparseable_paths_are_errors_and_the_rest_is_checked(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.py", "def run(:\n    pass\n")
    report = lint_paths([tmp_path / "missing.py", broken, HAZARDS])
    assert report.files_checked == 1
    assert report.findings  # hazards.py still checked
    messages = {Path(e.path).name: e.message for e in report.errors}
    assert messages["missing.py"] == "no such file or directory"
    assert messages["broken.py"].startswith("not valid Python: line 1")
    assert report.exit_code == 2


# -- formats ---------------------------------------------------------------------------------


def test_text_format() -> None:
    report = lint_paths([HAZARDS], select="RK302")
    text = format_text(report)
    (finding,) = report.findings
    assert text.splitlines()[0] == (
        f"{HAZARDS}:{finding.line}:{finding.col}: RK302 [blocking-sleep] {finding.message}"
    )
    assert text.splitlines()[-1].startswith("1 finding in 1 file checked")
    assert "No determinism hazards found" in format_text(lint_paths([CLEAN]))


def test_json_format(tmp_path: Path) -> None:
    report = lint_paths([HAZARDS, tmp_path / "missing.py"])
    document = json.loads(format_json(report))
    assert len(document["findings"]) == len(report.findings)
    first = document["findings"][0]
    assert set(first) >= {"rule", "name", "path", "line", "col", "message"}
    assert (first["rule"], first["line"], first["col"]) == (
        report.findings[0].rule,
        report.findings[0].line,
        report.findings[0].col,
    )
    assert document["errors"] == [
        {"path": str(tmp_path / "missing.py"), "message": "no such file or directory"}
    ]
    assert document["files_checked"] == 1


def test_sarif_format() -> None:
    report = lint_paths(
        [HAZARDS.relative_to(Path.cwd())] if HAZARDS.is_relative_to(Path.cwd()) else [HAZARDS]
    )
    log = json.loads(format_sarif(report))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "replaykit"
    assert [r["id"] for r in rules] == [rule.id for rule in RULES]
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    assert len(run["results"]) == len(report.findings)
    for result, finding in zip(run["results"], report.findings, strict=True):
        assert result["ruleId"] == finding.rule
        assert rules[result["ruleIndex"]]["id"] == finding.rule
        assert result["level"] == "error"
        assert result["message"]["text"] == finding.message
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["region"] == {"startLine": finding.line, "startColumn": finding.col}
        uri = physical["artifactLocation"]["uri"]
        assert uri.endswith("tests/data/lint/hazards.py")
        assert uri.startswith("file:///") or not uri.startswith("/")
    assert run["invocations"][0]["executionSuccessful"] is True


# -- CLI -------------------------------------------------------------------------------------


def test_cli_exit_0_when_clean() -> None:
    result = CliRunner().invoke(command, [str(CLEAN)])
    assert result.exit_code == 0, result.output
    assert "No determinism hazards found" in result.output


def test_cli_exit_1_with_findings_and_json_output() -> None:
    result = CliRunner().invoke(command, ["--format", "json", "--select", "RK303", str(HAZARDS)])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [f["rule"] for f in document["findings"]] == ["RK303", "RK303"]


def test_cli_sarif_output() -> None:
    result = CliRunner().invoke(command, ["--format", "sarif", str(HAZARDS)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["runs"][0]["results"]


def test_cli_ignore_everything_found_gives_exit_0() -> None:
    rules = ",".join(rule.name for rule in RULES)
    result = CliRunner().invoke(command, ["--ignore", rules, str(HAZARDS)])
    assert result.exit_code == 0, result.output


def test_cli_exit_2_on_missing_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(command, [str(tmp_path / "nope.py"), str(CLEAN)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.py'}: error: no such file or directory" in result.output
    assert "Traceback" not in result.output


def test_cli_exit_2_on_unparseable_file_names_it_and_the_reason(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.py", "class W:\n    def run(self)\n        pass\n")
    result = CliRunner().invoke(command, ["--format", "json", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}: not valid Python: line 2" in result.stderr
    assert json.loads(result.stdout)["errors"][0]["path"] == str(broken)
    assert "Traceback" not in result.output


def test_cli_exit_2_on_usage_errors() -> None:
    unknown = CliRunner().invoke(command, ["--select", "RK999", str(CLEAN)])
    assert unknown.exit_code == 2
    assert "unknown rule 'RK999'" in unknown.output
    assert CliRunner().invoke(command, []).exit_code == 2
    assert CliRunner().invoke(command, ["--format", "xml", str(CLEAN)]).exit_code == 2


def test_cli_list_rules() -> None:
    result = CliRunner().invoke(command, ["--list-rules"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [r.id for r in RULES]


def test_unbounded_history_loops(tmp_path: Path) -> None:
    """RK601 flags an awaiting `while True` / `count()` loop only in a workflow that never
    continues as new nor asks for the history length (helpers and base classes count)."""
    path = write(
        tmp_path,
        "w.py",
        WORKFLOW_HEADER
        + DEDENT
        + """
        import itertools

        @activity.defn
        async def act() -> None:
            pass

        T = timedelta(seconds=5)

        @workflow.defn
        class Endless:
            @workflow.run
            async def run(self) -> None:
                for _ in itertools.count():
                    await workflow.execute_activity(act, start_to_close_timeout=T)

        @workflow.defn
        class Bounded:
            @workflow.run
            async def run(self) -> None:
                for _ in range(10):
                    await workflow.execute_activity(act, start_to_close_timeout=T)
                while True:
                    break

        class Base:
            def roll(self) -> None:
                if workflow.info().is_continue_as_new_suggested():
                    workflow.continue_as_new()

        @workflow.defn
        class ContinuesViaBase(Base):
            @workflow.run
            async def run(self) -> None:
                while True:
                    await workflow.execute_activity(act, start_to_close_timeout=T)
                    self.roll()

        def too_long() -> bool:
            return workflow.info().get_current_history_length() > 1000

        @workflow.defn
        class ChecksLength:
            @workflow.run
            async def run(self) -> None:
                while 1:
                    await workflow.sleep(60)
                    if too_long():
                        return

        @workflow.defn
        class Suppressed:
            @workflow.run
            async def run(self) -> None:
                while True:  # replaykit: ignore[RK601]
                    await workflow.sleep(60)
        """,
    )
    report = lint_paths([path])
    assert located(report) == {("RK601", 18, 9)}
    assert "Endless.run" in report.findings[0].message
