"""The parse cache: keyed on content *and* the parser; the same size cap; documented folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from replaykit import HistoryError
from replaykit.history import _cache, load_history
from replaykit.history import _files as _history
from replaykit.history._cache import HistoryCache, default_cache_dir

ROOT = Path(__file__).resolve().parents[2]
LOOPER = ROOT / "tests" / "data" / "core" / "histories" / "looper_flow" / "looper-1.json"


def _gap_history(tmp_path: Path) -> Path:
    """A history the current validation rejects (event ids with a gap)."""
    obj = json.loads(LOOPER.read_text())
    obj["events"][2]["eventId"] = "7"
    path = tmp_path / "gap.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(HistoryError, match="event ids must run"):
        load_history(path)
    return path


def test_an_entry_written_by_an_older_parser_is_not_trusted(tmp_path: Path) -> None:
    # issue 12 item 7: an older replaykit that did not check event ids cached this file's
    # parse under its content hash; a newer replaykit must validate the file itself.
    bad = _gap_history(tmp_path)
    cache = HistoryCache(tmp_path / "cache")
    old_key = hashlib.blake2b(bad.read_bytes(), digest_size=16).hexdigest()
    planted = cache.directory / old_key[:2] / f"{old_key}.pb"
    cache._write(planted, load_history(LOOPER))  # what the laxer parser produced back then
    with pytest.raises(HistoryError, match="event ids must run"):
        cache.load(bad)


def test_entries_are_keyed_by_the_parser_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = HistoryCache(tmp_path / "cache")
    monkeypatch.setattr(_cache, "parser_fingerprint", lambda: b"replaykit 0.0.1")
    first = cache.load(LOOPER)
    assert (cache.hits, cache.misses) == (0, 1)
    cache.load(LOOPER)
    assert (cache.hits, cache.misses) == (1, 1)
    monkeypatch.undo()
    again = cache.load(LOOPER)  # another parser version: parsed again, not read
    assert (cache.hits, cache.misses) == (1, 2)
    assert (
        again.history == first.history
        and again.digest == first.digest == load_history(LOOPER).digest
    )


def test_the_size_cap_applies_on_the_cache_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = HistoryCache(tmp_path / "cache")
    cache.load(LOOPER)  # cached while under the cap
    monkeypatch.setattr(_history, "MAX_FILE_BYTES", 100)
    with pytest.raises(HistoryError, match="larger than any valid history"):
        load_history(LOOPER)
    with pytest.raises(HistoryError, match="larger than any valid history"):
        cache.load(LOOPER)


def test_the_cache_folder_is_the_one_the_docs_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLAYKIT_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "replaykit" / "histories"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "replaykit" / "histories"
    monkeypatch.setenv("REPLAYKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    readme = " ".join((ROOT / "docs" / "how-to" / "ci.md").read_text().split())
    assert (
        "`$REPLAYKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/replaykit/histories`, default "
        "`~/.cache/replaykit/histories`"
    ) in readme
