"""Volatile values: key masking (``<key>``) and the hint for a value new on every run."""

from __future__ import annotations

import pytest

from replaykit._internal._errors import ConfigError
from replaykit.check._hints import _volatile_hint
from replaykit.integrations._agents import (
    mask_key,
    mask_volatile,
    parse_volatile_rules,
    volatile_kind,
)

U1 = "f83e2c4a-0b1d-4c2e-9f3a-1b2c3d4e5f60"
U2 = "5c510b26-0ec7-6647-8d74-6c048b709ad6"


def test_volatile_kind() -> None:
    assert volatile_kind(U1) == "a uuid"
    assert volatile_kind(U1.replace("-", "")) == "a uuid"
    assert volatile_kind("272d9a0be31f") == "a hex id"
    assert volatile_kind("2026-12-07T05:22:32.123Z") == "a timestamp"
    assert volatile_kind(1796621319.598) == "a Unix timestamp"
    for plain in ("hello", "deadbeef", "123456789012", 42, True, None, "order-42"):
        assert volatile_kind(plain) is None, plain


def test_mask_key_keeps_the_words() -> None:
    assert mask_key(f"react_agent_entrypoint:{U1}") == "react_agent_entrypoint:<volatile>"
    assert mask_key("plain") == "<volatile>"


def test_key_rule_masks_ids_in_keys_only() -> None:
    (rule,) = parse_volatile_rules(["activity:run.config.checkpoint_map.<key>"])
    args = [{"config": {"checkpoint_map": {f"entry:{U1}": 1, f"other:{U2}": 2, "": 3}}}]
    (out,) = mask_volatile("run", args, None, [rule])
    assert out == {
        "config": {
            "checkpoint_map": {"entry:<volatile>": 1, "other:<volatile>": 2, "<volatile>": 3}
        }
    }
    assert args[0]["config"]["checkpoint_map"][f"entry:{U1}"] == 1  # the input is not changed
    # two keys that differ only by an id stay two entries
    (two,) = mask_volatile(
        "run", [{"config": {"checkpoint_map": {f"e:{U1}": 1, f"e:{U2}": 2}}}], None, [rule]
    )
    assert sorted(two["config"]["checkpoint_map"].values()) == [1, 2]


def test_key_segment_only_last() -> None:
    with pytest.raises(ConfigError, match="<key>"):
        parse_volatile_rules(["activity:run.config.<key>.x"])


def test_hint_for_a_uuid_value() -> None:
    rec = [{"state": {"messages": [{"tracking_id": U1, "text": "hi"}]}}]
    cur = [{"state": {"messages": [{"tracking_id": U2, "text": "hi"}]}}]
    hint = _volatile_hint("invoke_model", rec, cur)
    assert hint is not None
    assert "state.messages.*.tracking_id is a uuid on both sides" in hint
    assert "--volatile activity:invoke_model.state.messages.*.tracking_id" in hint
    assert "[tool.replaykit] volatile" in hint
    assert "will not help" in hint


def test_hint_for_an_id_in_a_key() -> None:
    rec = [{"cfg": {"checkpoint_map": {f"react_agent_entrypoint:{U1}": "<volatile>"}}}]
    cur = [{"cfg": {"checkpoint_map": {f"react_agent_entrypoint:{U2}": "<volatile>"}}}]
    hint = _volatile_hint("lg.call_model", rec, cur)
    assert hint is not None
    assert "the keys of cfg.checkpoint_map differ only by a uuid" in hint
    assert "--volatile activity:lg.call_model.cfg.checkpoint_map.<key>" in hint


@pytest.mark.parametrize(
    ("rec", "cur"),
    [
        ({"id": U1, "text": "a"}, {"id": U2, "text": "b"}),  # a real change besides the id
        ({"text": "a"}, {"text": "b"}),
        ({"id": U1}, {"id": "not-an-id"}),
        ({f"k:{U1}": 1}, {"other": 1}),  # keys that differ by more than an id
        ({"n": 1796621319}, {"n": "2026-12-07T05:22:32Z"}),  # different kinds
    ],
)
def test_no_volatile_hint_when_anything_else_differs(rec: object, cur: object) -> None:
    assert _volatile_hint("act", [rec], [cur]) is None
