"""The harvest's pure parts: stable names, metadata, summaries, and the check engine reading
harvest metadata (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replaykit.check._engine import NO_WORKFLOWS_FOR_FILE, CheckOptions, plan_checks
from replaykit.history._harvest_meta import HarvestInfo, looks_harvested, read_harvest_info
from replaykit.record._harvest import HarvestSummary, harvest_path, stable_workflow_id

U1 = "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"
U2 = "0123456789abcdef0123456789abcdef"


def test_uuids_become_their_order_of_first_sighting_in_the_test() -> None:
    numbers: dict[str, int] = {}
    assert stable_workflow_id(f"order-{U1}", numbers) == "order-uuid1"
    assert stable_workflow_id(f"order-{U1}-payment", numbers) == "order-uuid1-payment"
    assert stable_workflow_id(f"refund-{U2}", numbers) == "refund-uuid2"
    assert stable_workflow_id(f"ORDER-{U1.upper()}", numbers) == "ORDER-uuid1"
    assert stable_workflow_id("fixed-id", numbers) == "fixed-id"
    # A new test starts again at 1: the same test gets the same names on every run.
    assert stable_workflow_id(f"order-{U2}", {}) == "order-uuid1"


def test_harvest_paths_follow_the_node_id_and_the_file_name_rule(tmp_path: Path) -> None:
    node = "tests/test_orders.py::TestRefund::test_partial[eur 10]"
    path = harvest_path(tmp_path, node, "order-uuid1", 1)
    assert path == tmp_path / "tests" / "test_orders" / "TestRefund.test_partial_eur_10" / (
        "order-uuid1.json"
    )
    assert harvest_path(tmp_path, node, "order-uuid1", 3).name == "order-uuid1.run3.json"
    assert harvest_path(tmp_path, "../x.py::t", "a/b", 1) == tmp_path / "x" / "t" / "a_b.json"


def test_harvest_info_round_trips_and_ignores_other_extras() -> None:
    info = HarvestInfo(
        test="t.py::a",
        outcome="failed",
        workflows=("m:W",),
        plugins=("m:plugin",),
        data_converter="m:conv",
        not_importable=("plugin X: pass --plugin",),
        partial=True,
        parent_workflow_id="p",
    )
    assert HarvestInfo.from_json_dict(json.loads(json.dumps(info.to_json_dict()))) == info
    assert HarvestInfo.from_json_dict({"test": "x"}) is None  # no harvested mark
    assert HarvestInfo.from_json_dict("nope") is None


def _file(folder: Path, name: str, info: HarvestInfo | None) -> Path:
    meta: dict[str, object] = {"workflow_id": name, "format": 1}
    if info is not None:
        meta["extra"] = {"harvest": info.to_json_dict()}
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"events": [], "replaykit": meta}, indent=2))
    return path


def test_the_engine_takes_workflows_plugins_and_converter_from_harvest_metadata(
    tmp_path: Path,
) -> None:
    plain = _file(tmp_path, "plain", None)
    a = _file(tmp_path, "a", HarvestInfo(test="t", workflows=("m:A",), plugins=("m:p",)))
    b = _file(tmp_path, "b", HarvestInfo(test="t", workflows=("m:A",), plugins=("m:p",)))
    c = _file(tmp_path, "c", HarvestInfo(test="t", workflows=("m:C",), data_converter="m:conv"))
    empty = _file(tmp_path, "empty", HarvestInfo(test="t"))
    assert looks_harvested(a) and not looks_harvested(plain)
    assert read_harvest_info(a) == HarvestInfo(test="t", workflows=("m:A",), plugins=("m:p",))

    groups = plan_checks([plain, a, b, c, empty], workflows=(), options=CheckOptions())
    by_entries = {tuple(p.name for p in g.entries): g for g in groups}  # type: ignore[union-attr]
    assert by_entries[("plain.json",)].error == NO_WORKFLOWS_FOR_FILE
    assert by_entries[("empty.json",)].error == NO_WORKFLOWS_FOR_FILE
    ab = by_entries[("a.json", "b.json")]
    assert ab.workflows == ("m:A",) and ab.options.plugins == ("m:p",) and ab.from_metadata
    cc = by_entries[("c.json",)]
    assert cc.workflows == ("m:C",) and cc.options.data_converter == "m:conv"
    assert cc.options.plugins == ()

    # What the caller gives wins over the files.
    given = plan_checks(
        [a, c], workflows=("pkg",), options=CheckOptions(plugins=("x:y",), data_converter="x:c")
    )
    assert [g.workflows for g in given] == [("pkg",), ("pkg",)]
    assert all(g.options.plugins == ("x:y",) for g in given)
    assert all(g.options.data_converter == "x:c" for g in given)
    # The files' own classes only fill in types the given workflows lack.
    assert [g.extra_workflows for g in given] == [("m:A",), ("m:C",)]


def test_summaries_merge_across_xdist_workers_and_explain_skips() -> None:
    one = HarvestSummary(
        folder="/h", mode="new", started=2, executions=3, tests=("a", "b"), written=3
    )
    two = HarvestSummary(
        folder="/h",
        mode="new",
        started=1,
        executions=1,
        tests=("c",),
        existing=1,
        partial=1,
        failed_tests=1,
        skipped=("fetch failed (RPCError: gone)", "fetch failed (RPCError: gone)"),
        not_importable=("plugin P: pass --plugin",),
    )
    merged = HarvestSummary.merge(
        HarvestSummary.from_json_dict(json.loads(json.dumps(s.to_json_dict()))) for s in (one, two)
    )
    assert merged is not None
    head, note = merged.lines()
    assert head.startswith(
        "replaykit: 4 executions harvested from 3 tests into /h; 2 skipped: "
        "2 fetch failed (RPCError: gone) (mode new, 3 started by the tests"
    )
    assert "3 written, 1 already there (kept), 1 partial (still running), 1 from failing" in head
    assert head.endswith("1 from failing tests, 0.00 s fetching and writing)")
    assert note == "replaykit: not importable: plugin P: pass --plugin"
    assert HarvestSummary.merge([]) is None


@pytest.mark.parametrize("mode", ["new", "all", "none"])
def test_harvest_settings_resolve_flag_over_ini(mode: str) -> None:
    from replaykit.config._settings import Resolver

    resolver = Resolver(
        face="pytest",
        flags={"harvest": "/flag", "harvest_mode": mode},
        ini={"harvest": "/ini", "harvest_mode": "all"},
    )
    assert resolver.harvest().value == "/flag" and resolver.harvest().source == "flag"
    assert resolver.harvest_mode().value == mode
    assert Resolver(face="pytest").harvest().value is None
    assert Resolver(face="pytest").harvest_mode().value == "new"
