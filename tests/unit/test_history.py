"""History files: every valid form loads; every malformed form is a named, per-file error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory

from replaykit import HistoryError, HistoryMeta, find_history_files, load_history, write_history
from replaykit.history import META_KEY

DATA = Path(__file__).parent.parent / "data" / "core" / "histories"
PARENT = DATA / "parent_flow" / "parent-1.json"


def _raw() -> dict[str, Any]:
    return json.loads(PARENT.read_text())


def _write(tmp_path: Path, name: str, content: str | bytes | dict[str, Any]) -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def test_recorded_file_loads_with_metadata() -> None:
    hf = load_history(PARENT)
    assert hf.workflow_id == "parent-1"
    assert hf.workflow_type == "Parent"
    assert hf.meta is not None and hf.meta.scenario == "parent_flow"
    assert hf.meta.sdk_version and hf.meta.recorded_at and hf.meta.task_queue
    assert hf.is_closed
    assert hf.events[0].event_id == 1


def test_stock_sdk_loads_a_replaykit_file() -> None:
    history = WorkflowHistory.from_json("parent-1", PARENT.read_text())
    assert len(history.events) == len(load_history(PARENT).events)


def test_plain_export_takes_workflow_id_from_file_stem(tmp_path: Path) -> None:
    raw = _raw()
    del raw[META_KEY]
    path = _write(tmp_path, "my-order-42.json", raw)
    assert load_history(path).workflow_id == "my-order-42"
    assert load_history(path, workflow_id="explicit").workflow_id == "explicit"
    assert load_history(path).meta is None


def _to_pascal(raw: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(raw)

    def pascal(m: re.Match[str]) -> str:
        return '"eventType": "' + "".join(p.capitalize() for p in m.group(1).split("_")) + '"'

    text = re.sub(r'"eventType": "EVENT_TYPE_([A-Z_]+)"', pascal, text)
    text = text.replace('"TASK_QUEUE_KIND_NORMAL"', '"Normal"')
    return json.loads(text)


def test_legacy_pascal_case_file_loads(tmp_path: Path) -> None:
    raw = _to_pascal(_raw())
    assert raw["events"][0]["eventType"] == "WorkflowExecutionStarted"
    hf = load_history(_write(tmp_path, "legacy.json", raw))
    original = load_history(PARENT)
    assert [e.event_type for e in hf.events] == [e.event_type for e in original.events]
    assert hf.workflow_type == "Parent"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.json", b"", "file is empty"),
        ("blank.json", b"  \n ", "file is empty"),
        ("binary.json", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("latin1.json", b'{"events": ["\xff\xfe"]}', "not UTF-8"),
        ("notjson.json", b"this is not json", "not valid JSON"),
        ("truncated.json", b'{"events": [{"eventId": "1", ', "truncated JSON"),
        ("list.json", b"[1, 2, 3]", "top level must be a JSON object"),
        ("noevents.json", b'{"history": []}', 'no "events" list'),
        ("eventsnotlist.json", b'{"events": {"a": 1}}', '"events" must be a list'),
        ("zeroevents.json", b'{"events": []}', "history has no events"),
        ("eventnotobject.json", b'{"events": [42]}', "events[0] must be an object"),
        ("notype.json", b'{"events": [{"eventId": "1"}]}', "events[0] has no eventType"),
        (
            "unknowntype.json",
            b'{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_BOGUS"}]}',
            "unknown eventType",
        ),
    ],
)
def test_malformed_files_are_named_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(HistoryError) as info:
        load_history(path)
    assert info.value.path == path
    assert reason in info.value.reason
    assert str(path) in str(info.value)


def test_absurdly_nested_json_is_rejected(tmp_path: Path) -> None:
    deep = '{"events": [' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "]}"
    with pytest.raises(HistoryError, match="nested"):
        load_history(_write(tmp_path, "deep.json", deep))
    moderately = (
        '{"events": [{"eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "x": '
        + "[" * 200
        + "]" * 200
        + "}]}"
    )
    with pytest.raises(HistoryError, match="nested"):
        load_history(_write(tmp_path, "deep2.json", moderately))


def test_unprefixed_enum_names_are_rejected_not_misread(tmp_path: Path) -> None:
    raw = _raw()
    raw["events"][0]["eventType"] = "WORKFLOW_EXECUTION_STARTED"
    with pytest.raises(HistoryError, match="unprefixed enum name 'WORKFLOW_EXECUTION_STARTED'"):
        load_history(_write(tmp_path, "unprefixed.json", raw))


def test_decoded_payloads_are_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"] = ["topic"]
    with pytest.raises(HistoryError, match="not an encoded payload"):
        load_history(_write(tmp_path, "decoded.json", raw))
    raw["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"] = [
        {"metadata": {"encoding": "json/plain"}, "data": "topic"}
    ]
    with pytest.raises(HistoryError, match="looks decoded"):
        load_history(_write(tmp_path, "decoded2.json", raw))


def test_history_must_start_with_workflow_started(tmp_path: Path) -> None:
    raw = _raw()
    raw["events"] = raw["events"][1:]
    with pytest.raises(HistoryError, match="first event must be WorkflowExecutionStarted"):
        load_history(_write(tmp_path, "nostart.json", raw))


def test_started_event_without_workflow_type_is_rejected(tmp_path: Path) -> None:
    # The stock replayer hangs forever on this one (DESIGN.md).
    raw = _raw()
    del raw["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]
    with pytest.raises(HistoryError, match="no workflow type"):
        load_history(_write(tmp_path, "notype.json", raw))


def test_gaps_in_event_ids_are_rejected(tmp_path: Path) -> None:
    raw = _raw()
    del raw["events"][3]
    with pytest.raises(HistoryError, match="event ids must run"):
        load_history(_write(tmp_path, "gap.json", raw))


def test_event_without_attributes_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    ev = raw["events"][3]
    for key in [k for k in ev if k.endswith("Attributes")]:
        del ev[key]
    with pytest.raises(HistoryError, match="has no attributes"):
        load_history(_write(tmp_path, "noattrs.json", raw))


def test_bad_metadata_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw[META_KEY] = {"run_id": "x"}
    with pytest.raises(HistoryError, match="no workflow_id"):
        load_history(_write(tmp_path, "meta.json", raw))
    raw[META_KEY] = "nope"
    with pytest.raises(HistoryError, match="must be an object"):
        load_history(_write(tmp_path, "meta2.json", raw))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot read"):
        load_history(tmp_path / "absent.json")
    with pytest.raises(HistoryError, match="no such file or folder"):
        find_history_files([tmp_path / "absent-folder"])


def test_write_roundtrip_is_atomic_and_never_overwrites_unless_asked(tmp_path: Path) -> None:
    hf = load_history(PARENT)
    meta = HistoryMeta(workflow_id="w-1", run_id="r-1", workflow_type="Parent", scenario="s")
    out = tmp_path / "sub" / "w-1.json"
    write_history(out, hf.history, meta=meta)
    again = load_history(out)
    assert again.workflow_id == "w-1"
    assert again.meta is not None and again.meta.run_id == "r-1" and again.meta.scenario == "s"
    assert list(again.events) == list(hf.events)
    before = out.read_bytes()
    with pytest.raises(HistoryError, match="already exists"):
        write_history(out, hf.history, meta=meta, overwrite=False)
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["w-1.json"]  # no temp files left


def test_find_history_files_recurses_and_sorts() -> None:
    files = find_history_files([DATA])
    assert files == sorted(files)
    assert len(files) == 5
    assert all(f.suffix == ".json" for f in files)


def test_event_type_and_attributes_must_agree(tmp_path: Path) -> None:
    # The SDK core panics on this and the replay never returns (found by the corruption test).
    raw = _raw()
    ev = raw["events"][4]
    assert ev["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    ev["eventType"] = "EVENT_TYPE_TIMER_STARTED"
    with pytest.raises(
        HistoryError, match="is EVENT_TYPE_TIMER_STARTED but carries activity_task_scheduled"
    ):
        load_history(_write(tmp_path, "mismatch.json", raw))
