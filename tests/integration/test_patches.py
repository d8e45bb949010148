"""The patch lifecycle on real runs: PatchDemo v1..v4 recorded on the time-skipping server.

Set ``REPLAYKIT_REGENERATE_PATCHES=1`` to rewrite the sample histories in
``tests/data/patches/histories`` (the unit tests replay those).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit.check import check_histories
from replaykit.cli.patches import command as patches_command
from replaykit.history import load_history
from replaykit.history._patch_markers import history_patch_markers
from replaykit.patches import PrePatchReport, analyze_patches, generate_pre_patch_histories_async
from replaykit.record import RecordReport, load_scenarios, record_scenarios_async
from replaykit.servers import RunningServer, parse_server, start_server

pytestmark = [pytest.mark.integration]

DATA = Path(__file__).resolve().parents[1] / "data" / "patches"
SCENARIOS = DATA / "patch_demo_scenarios.py"
PATCH = "patch-demo-audit"
REGENERATE = bool(os.environ.get("REPLAYKIT_REGENERATE_PATCHES"))


@pytest.fixture(scope="module", autouse=True)
def demo_path() -> Iterator[None]:
    sys.path.insert(0, str(DATA))
    try:
        yield
    finally:
        sys.path.remove(str(DATA))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(parse_server("timeskip")) as running:
        yield running


@pytest.fixture(scope="module")
def recorded(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh histories: v1 (pre-patch), v2 (marker), v3 (deprecated marker), and v2 code run
    with the patch held off (generated pre-patch)."""
    out = tmp_path_factory.mktemp("patch-histories")
    scenarios = {s.name: s for s in load_scenarios([SCENARIOS])}

    async def main() -> tuple[RecordReport, PrePatchReport]:
        client = await server.client()
        rec = await record_scenarios_async(
            [scenarios["record_v1"], scenarios["record_v2"], scenarios["record_v3"]],
            client,
            out_dir=out,
        )
        gen = await generate_pre_patch_histories_async(
            [scenarios["record_v2"]], client, out_dir=out / "pre_patch_generated"
        )
        return rec, gen

    rec, gen = asyncio.run(main())
    assert rec.ok and gen.ok
    assert len(rec.files) == 3 and len(gen.files) == 1
    assert gen.deactivated == (("record_v2", (PATCH,)),)
    if REGENERATE:
        target = DATA / "histories"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(out, target)
    return out


def _files(root: Path) -> dict[str, Path]:
    found = {}
    for p in sorted(root.rglob("*.json")):
        key = "generated" if "pre_patch_generated" in p.parts else p.parent.name
        found[key] = p
    return found


def test_recorded_markers(recorded: Path) -> None:
    files = _files(recorded)
    markers = {k: history_patch_markers(load_history(p))[0] for k, p in files.items()}
    assert markers["record_v1"] == [] and markers["generated"] == []
    assert [(m.patch_id, m.deprecated) for m in markers["record_v2"]] == [(PATCH, False)]
    assert [(m.patch_id, m.deprecated) for m in markers["record_v3"]] == [(PATCH, True)]


def test_patched_code_replays_pre_and_post_patch(recorded: Path) -> None:
    files = _files(recorded)
    report = check_histories(list(files.values()), workflows=["patch_demo_v2"], jobs=0)
    assert {r.status for r in report.results} == {"clean"}, [r.describe() for r in report.results]
    assert len(report.results) == 4


def test_deprecated_code_fails_pre_patch_passes_post_patch(recorded: Path) -> None:
    files = _files(recorded)
    report = check_histories(list(files.values()), workflows=["patch_demo_v3"], jobs=0)
    by_key = {k: next(r for r in report.results if r.path == str(p)) for k, p in files.items()}
    assert by_key["record_v1"].status == "divergent"
    assert by_key["generated"].status == "divergent"
    assert by_key["record_v2"].status == "clean"
    assert by_key["record_v3"].status == "clean"


def test_patches_says_deprecation_not_yet_safe(recorded: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(patches_command, [str(recorded), "-w", "patch_demo_v2", "--json"])
    assert res.exit_code == 0, res.output
    [row] = json.loads(res.output)["patches"]
    assert row["patch_id"] == PATCH
    assert row["histories_without_marker"] == 2
    assert row["histories_with_marker"] == 2
    assert row["deprecate_safe"] is False and row["remove_safe"] is False
    assert row["verdict"] == "keep"
    # The step taken too early: the deprecated code fails the pre-patch histories.
    res3 = runner.invoke(patches_command, [str(recorded), "-w", "patch_demo_v3"])
    assert res3.exit_code == 1, res3.output
    assert "UNSAFE" in res3.output and "deprecate_patch() came too early" in res3.output
    # Once only post-patch executions remain, deprecation is safe.
    post = [p for k, p in _files(recorded).items() if k in ("record_v2", "record_v3")]
    report = analyze_patches(post, workflows=["patch_demo_v2"])
    assert report.rows[0].deprecate_safe is True and report.rows[0].verdict == "deprecate"


def test_unguarded_step_fails_check_with_patch_hint(recorded: Path) -> None:
    pre = _files(recorded)["record_v1"]
    [result] = check_histories([pre], workflows=["patch_demo_unguarded"], jobs=0).results
    assert result.status == "divergent"
    first = result.first
    assert first is not None
    lines = (DATA / "patch_demo_unguarded.py").read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "the unguarded new step" in t)
    assert first.source is not None and f"patch_demo_unguarded.py:{line}" in first.source
    assert first.hint is not None and "workflow.patched(" in first.hint
    assert f"patch_demo_unguarded.py:{line}" in first.hint


def test_cli_generate_old(server: RunningServer, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        patches_command,
        [
            "--generate-old",
            str(SCENARIOS),
            "-k",
            "record_v2",
            "--out",
            str(tmp_path),
            "--server",
            "timeskip",
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"patches held off: {PATCH}" in res.output
    [written] = list(tmp_path.rglob("*.json"))
    hf = load_history(written)
    assert history_patch_markers(hf)[0] == []
    assert hf.meta is not None and hf.meta.extra["pre_patch"] is True
    # The generated history is an old-branch one: the deprecated code cannot replay it.
    [r] = check_histories([hf], workflows=["patch_demo_v3"], jobs=0).results
    assert r.status == "divergent"
