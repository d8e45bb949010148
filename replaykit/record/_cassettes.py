"""HTTP cassettes for LLM calls (vcrpy), shared by the pytest plugin, the demo and the agents.

Requests are matched on method, path, query and the *JSON* request body: a changed prompt, model
or tool list is a cassette miss whose error shows a readable diff of the two bodies, never a
silent replay of a stale answer. The host/port is not matched on purpose: a cassette recorded
against the scripted endpoint (free loopback port) or against OpenAI replays under any base URL.

Cassettes never contain credentials: request headers are reduced to a short allow-list (so
`authorization`, `api-key`, `openai-organization`, cookies and any future auth header are never
written), secret-looking query parameters are removed, and response headers that identify the
account (`openai-organization`, `openai-project`, `set-cookie`) are dropped.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import vcr
import vcr.errors
from vcr.cassette import Cassette
from vcr.request import Request

__all__ = [
    "CASSETTE_DIR_ENV",
    "DEFAULT_CASSETTE_DIR",
    "FILTERED_QUERY_PARAMETERS",
    "KEPT_REQUEST_HEADERS",
    "RecordMode",
    "cassette",
    "cassette_path",
    "is_cassette_miss",
    "json_body_matcher",
    "make_vcr",
]

RecordMode = Literal["none", "once", "new_episodes", "all"]

#: Environment variable overriding the default cassette folder.
CASSETTE_DIR_ENV = "REPLAYKIT_CASSETTE_DIR"
#: Default cassette folder (relative to the working directory).
DEFAULT_CASSETTE_DIR = Path("fixtures/cassettes")
#: The only request headers written to a cassette. An allow-list rather than a deny-list, so an
#: auth header nobody thought of (`api-key`, `x-goog-api-key`, ...) is never persisted.
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept"})
#: Query parameters removed from recorded URIs (Azure-style and Google-style keys).
FILTERED_QUERY_PARAMETERS = frozenset(
    {"api_key", "api-key", "apikey", "key", "access_token", "token"}
)
#: Response headers dropped before saving.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"set-cookie", "openai-organization", "openai-project", "authorization", "api-key", "cookie"}
    # volatile headers: dropped so re-recording the same traffic gives an identical file
    | {"date", "server", "x-request-id", "openai-processing-ms", "cf-ray"}
)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: Default matchers; `json_body` is `json_body_matcher`.
DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "path", "query", "json_body")


def _canonical_json(body: Any) -> tuple[bool, Any]:
    """Return (is_json, value) for a request body (bytes, str or None)."""
    if body is None or body == b"" or body == "":
        return True, None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return False, body
    try:
        return True, json.loads(body)
    except (TypeError, ValueError):
        return False, body


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def json_body_matcher(r1: Request, r2: Request) -> None:
    """vcrpy matcher: equal when both bodies decode to equal JSON values.

    Key order and whitespace do not matter. Non-JSON bodies fall back to byte equality.

    Raises:
        AssertionError: With a unified diff of the two bodies (recorded first), which vcrpy
            shows in its cassette-miss error.
    """
    ok1, v1 = _canonical_json(r1.body)
    ok2, v2 = _canonical_json(r2.body)
    if ok1 and ok2:
        if v1 == v2:
            return
        diff = difflib.unified_diff(
            _pretty(v2), _pretty(v1), "recorded body", "new body", lineterm="", n=2
        )
        raise AssertionError("JSON request bodies differ:\n" + "\n".join(diff))
    if r1.body != r2.body:
        raise AssertionError(
            f"request bodies differ (not JSON): {r1.body!r:.200} != {r2.body!r:.200}"
        )


def _scrub_uri(uri: str) -> str:
    parts = urlsplit(uri)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in FILTERED_QUERY_PARAMETERS
    ]
    netloc = parts.hostname or ""
    if netloc in _LOOPBACK:
        # A local endpoint (the scripted one) gets a new free port every run; dropping it keeps
        # re-recorded cassettes byte-identical.
        netloc = "localhost"
    elif parts.port is not None:
        netloc = f"{netloc}:{parts.port}"  # drops any user:password@
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))


def _before_record_request(request: Request) -> Request:
    # vcrpy runs this hook on recorded *and* on incoming requests before matching, so both
    # sides are scrubbed the same way.
    request.uri = _scrub_uri(request.uri)
    for name in list(request.headers):
        if name.lower() not in KEPT_REQUEST_HEADERS:
            del request.headers[name]
    return request


def _before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in _DROPPED_RESPONSE_HEADERS:
            del headers[name]
    return response


def make_vcr(
    *,
    cassette_dir: str | os.PathLike[str] | None = None,
    record_mode: RecordMode = "none",
    match_on: Sequence[str] = DEFAULT_MATCH_ON,
) -> vcr.VCR:
    """Build a `vcr.VCR` with replaykit's matching and credential filtering."""
    directory = Path(cassette_dir) if cassette_dir is not None else _default_dir()
    recorder = vcr.VCR(
        cassette_library_dir=str(directory),
        record_mode=record_mode,
        match_on=tuple(match_on),
        before_record_request=_before_record_request,
        before_record_response=_before_record_response,
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", json_body_matcher)
    return recorder


def _default_dir() -> Path:
    env = os.environ.get(CASSETTE_DIR_ENV)
    return Path(env) if env else DEFAULT_CASSETTE_DIR


def cassette_path(
    name_or_path: str | os.PathLike[str], *, cassette_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Resolve a cassette name (`"research"`) or path (`"x/research.yaml"`) to a file path."""
    raw = Path(name_or_path)
    if raw.suffix in (".yaml", ".yml", ".json") or raw.is_absolute() or len(raw.parts) > 1:
        return raw if raw.suffix else raw.with_suffix(".yaml")
    directory = Path(cassette_dir) if cassette_dir is not None else _default_dir()
    return directory / f"{raw.name}.yaml"


@contextmanager
def cassette(
    name_or_path: str | os.PathLike[str],
    *,
    record_mode: RecordMode = "none",
    cassette_dir: str | os.PathLike[str] | None = None,
    match_on: Sequence[str] = DEFAULT_MATCH_ON,
    allow_playback_repeats: bool = False,
) -> Iterator[Cassette]:
    """Replay (or record) HTTP traffic of the block from a cassette.

    Works while a Temporal worker runs activities in the same process and event loop: vcrpy
    patches the `httpx2`/`httpx` transports class-wide, which the `openai` client uses.

    Args:
        name_or_path: Cassette name (resolved under `cassette_dir`, `.yaml` added) or path.
        record_mode: vcrpy record mode. `"none"` (default) replays only and turns any unmatched
            request into an error; `"all"` re-records everything; `"new_episodes"` appends.
        cassette_dir: Folder for bare names; defaults to `$REPLAYKIT_CASSETTE_DIR` or
            `fixtures/cassettes`.
        match_on: vcrpy matcher names; `json_body` compares decoded JSON bodies.
        allow_playback_repeats: Let one recorded answer serve identical repeated requests (for
            example an activity retried after a worker crash).

    Yields:
        The vcrpy `Cassette`.
    """
    path = cassette_path(name_or_path, cassette_dir=cassette_dir)
    if record_mode == "none" and not path.exists():
        raise FileNotFoundError(
            f"cassette {path} does not exist (record it with record_mode='all')"
        )
    if record_mode != "none":
        path.parent.mkdir(parents=True, exist_ok=True)
    if record_mode == "all" and path.exists():
        # vcrpy's "all" keeps the old interactions in the file; a re-recording must replace them.
        path.unlink()
    recorder = make_vcr(
        cassette_dir=path.parent,
        record_mode=record_mode,
        match_on=match_on,
    )
    with recorder.use_cassette(str(path), allow_playback_repeats=allow_playback_repeats) as cas:
        yield cas


def is_cassette_miss(error: BaseException) -> bool:
    """True if `error` or one of its causes is vcrpy's cassette-miss exception.

    LLM activities use this to fail fast (non-retryable) on a miss instead of retrying a request
    that can never be answered.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, vcr.errors.CannotOverwriteExistingCassetteException):
            return True
        current = current.__cause__ or current.__context__
    return False
