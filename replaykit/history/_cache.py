"""A cache of parsed histories: binary protobuf keyed on the file's content and the parser.

Parsing proto3 JSON costs ~11k events/s while decoding the same history from binary is ~300x
faster, so a re-check of an unchanged folder skips JSON parsing. Only parsed input is cached,
never verdicts: every check replays against the code as it is now.

An entry is only as good as the validation that wrote it, so the key also covers the code
that parses and validates (replaykit's and temporalio's versions and the source of the
parsing modules): entries an older replaykit wrote are never read by a newer one, which
parses the file again and so applies its own, newer checks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from pathlib import Path

import temporalio.api.history.v1

from replaykit._internal._errors import HistoryError

from . import _files as _history
from ._files import HistoryFile, HistoryMeta, history_from_bytes

__all__ = ["HistoryCache", "default_cache_dir"]

_MAGIC = b"RKH1"


def default_cache_dir() -> Path:
    """``$REPLAYKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/replaykit/histories``, else
    ``~/.cache/replaykit/histories``."""
    env = os.environ.get("REPLAYKIT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "replaykit" / "histories"


@functools.lru_cache(maxsize=1)
def parser_fingerprint() -> bytes:
    """What decides how a history file is parsed and validated, as bytes for the cache key.

    replaykit's and temporalio's versions plus the source of the modules that parse and
    validate (a development checkout changes them without a version bump).
    """
    from importlib import metadata

    from . import _protojson, _references

    parts = [_MAGIC]
    for dist in ("replaykit", "temporalio"):
        try:
            parts.append(metadata.version(dist).encode())
        except metadata.PackageNotFoundError:
            parts.append(b"?")
    for module in (_history, _protojson, _references):
        try:
            parts.append(Path(module.__file__ or "").read_bytes())
        except OSError:
            parts.append(b"?")
    return hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()


class HistoryCache:
    """Loads history files through a content-addressed binary cache."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def load(self, path: Path, *, workflow_id: str | None = None) -> HistoryFile:
        """Load ``path``; from the cache when this parser read its exact content before.

        Raises:
            HistoryError: As :func:`~replaykit.history._files.load_history` (the same size cap
                and validation; a cached entry was validated by this very parser).
        """
        try:
            size = path.stat().st_size
            if size > _history.MAX_FILE_BYTES:
                raise HistoryError(path, f"file is {size} bytes; larger than any valid history")
            data = path.read_bytes()
        except OSError as err:
            raise HistoryError(path, f"cannot read: {err.strerror or err}") from None
        digest = hashlib.blake2b(data, digest_size=16)
        content = digest.hexdigest()  # what HistoryFile.digest means everywhere
        digest.update(parser_fingerprint())
        key = digest.hexdigest()
        entry = self.directory / key[:2] / f"{key}.pb"
        cached = self._read(entry, path, workflow_id, content)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        hf = history_from_bytes(data, path=path, workflow_id=workflow_id)
        self._write(entry, hf)
        return hf

    def _read(
        self, entry: Path, path: Path, workflow_id: str | None, key: str
    ) -> HistoryFile | None:
        try:
            raw = entry.read_bytes()
        except OSError:
            return None
        if not raw.startswith(_MAGIC) or len(raw) < 8:
            return None
        (meta_len,) = struct.unpack(">I", raw[4:8])
        try:
            meta_obj = json.loads(raw[8 : 8 + meta_len])
            history = temporalio.api.history.v1.History.FromString(raw[8 + meta_len :])
        except Exception:
            return None  # a damaged cache entry is re-parsed from the file
        meta = HistoryMeta.from_json_dict(meta_obj["meta"], path=path) if meta_obj["meta"] else None
        wid = workflow_id or (meta.workflow_id if meta else None) or path.stem
        return HistoryFile(path=path, workflow_id=wid, history=history, meta=meta, digest=key)

    def _write(self, entry: Path, hf: HistoryFile) -> None:
        meta = json.dumps({"meta": hf.meta.to_json_dict() if hf.meta else None}).encode()
        blob = _MAGIC + struct.pack(">I", len(meta)) + meta + hf.history.SerializeToString()
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, entry)
        except OSError:
            pass  # the cache is an optimisation; a read-only home must not fail a check
