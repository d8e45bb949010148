"""One file-name rule for recordings: ``replaykit record`` and the pytest plugin share it."""

from __future__ import annotations

from replaykit._internal._sdk_compat import PatchCall
from replaykit.patches._hook import drain
from replaykit.record import ExecutionRef
from replaykit.record._record import history_file_name, safe_name


def test_safe_name_keeps_safe_characters_and_folds_the_rest() -> None:
    assert safe_name("order-1.v2=x") == "order-1.v2=x"
    assert safe_name("tests/test_a.py::test b[1]") == "tests_test_a.py_test_b_1"
    assert safe_name("..") == "_"
    assert safe_name("") == "_"


def test_history_file_names_use_the_rule() -> None:
    ref = ExecutionRef(workflow_id="a/b c", run_id="r", workflow_type="T")
    assert history_file_name(ref, 1) == "a_b_c.json"
    assert history_file_name(ref, 3) == "a_b_c.run3.json"


def test_the_pytest_plugin_names_files_with_the_library_rule() -> None:
    from replaykit_pytest import _support

    for text in ("tests/x.py::t[a b]", "..", "ok.name", "é"):
        assert _support.safe_name(text) == safe_name(text)
    assert not hasattr(_support, "_UNSAFE")


def test_drain_takes_the_calls_so_far() -> None:
    calls = [
        PatchCall(patch_id="p", deprecated=False, result=True, replaying=True, workflow_id="w")
    ]
    taken = drain(calls)
    assert [c.patch_id for c in taken] == ["p"] and calls == []
    assert drain(calls) == []
