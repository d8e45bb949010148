"""replaykit's vcrpy configuration: JSON-body matching, readable misses, no credentials."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import vcr.errors
from vcr.request import Request

from replaykit.record import (
    cassette,
    cassette_path,
    is_cassette_miss,
    json_body_matcher,
    scripted_openai,
)

SECRET_KEY = "sk-live-SECRET-0123456789abcdef"
SECRET_ORG = "org-SECRETORG42"
SECRET_QUERY = "SECRETQUERYKEY"
SECRET_COOKIE = "session=SECRETCOOKIE"


def _ask(base_url: str, content: str, *, key: str = SECRET_KEY) -> str:
    client = openai.OpenAI(
        base_url=base_url,
        api_key=key,
        organization=SECRET_ORG,
        max_retries=0,
        default_query={"api_key": SECRET_QUERY},
        default_headers={"cookie": SECRET_COOKIE, "api-key": SECRET_KEY},
    )
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Decompose the topic into exactly 2 sub-questions."},
            {"role": "user", "content": content},
        ],
    )
    return response.choices[0].message.content or ""


def test_recorded_cassette_contains_no_credentials_and_replays_offline(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with scripted_openai() as endpoint:
        with cassette(path, record_mode="all"):
            recorded = _ask(endpoint.base_url, "durable agents")
        # the credentials really were sent over the wire
        sent = endpoint.requests[0].headers
        assert (
            sent["authorization"] == f"Bearer {SECRET_KEY}"
            and sent["openai-organization"] == SECRET_ORG
        )
    text = path.read_text()
    for secret in (
        "SECRET",
        "authorization",
        "Bearer",
        "openai-organization",
        "cookie",
        "api_key",
        "api-key",
    ):
        assert secret.lower() not in text.lower(), f"{secret!r} leaked into the cassette"
    assert "durable agents" in text  # the body is there, readable
    # endpoint stopped: replay must come from the cassette, under another base URL and key
    with cassette(path) as cas:
        assert _ask("http://llm.replaykit.invalid/v1", "durable agents", key="other") == recorded
        assert cas.play_count == 1


def test_changed_body_is_a_miss_with_a_readable_diff(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with scripted_openai() as endpoint, cassette(path, record_mode="all"):
        _ask(endpoint.base_url, "durable agents")
    with cassette(path), pytest.raises(Exception) as info:
        _ask("http://llm.replaykit.invalid/v1", "durable agentz")
    assert is_cassette_miss(info.value)
    message = str(
        info.value
        if isinstance(info.value, vcr.errors.CannotOverwriteExistingCassetteException)
        else info.value.__cause__
    )
    assert '-      "content": "durable agents"' in message
    assert '+      "content": "durable agentz"' in message


def test_json_matcher_ignores_key_order_and_whitespace() -> None:
    r1 = Request("POST", "http://x/v1/chat/completions", b'{"a": 1, "b": [1, 2]}', {})
    r2 = Request("POST", "http://x/v1/chat/completions", b'{"b":[1,2],"a":1}', {})
    r3 = Request("POST", "http://x/v1/chat/completions", b'{"b":[2,1],"a":1}', {})
    json_body_matcher(r1, r2)
    with pytest.raises(AssertionError, match="JSON request bodies differ"):
        json_body_matcher(r1, r3)


def test_replay_only_requires_an_existing_cassette(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        with cassette(tmp_path / "missing.yaml"):
            pass


def test_cassette_path_resolution(tmp_path: Path) -> None:
    assert cassette_path("research", cassette_dir=tmp_path) == tmp_path / "research.yaml"
    assert cassette_path(tmp_path / "x.yaml") == tmp_path / "x.yaml"
    assert cassette_path("sub/x") == Path("sub/x.yaml")


def test_rerecording_is_byte_identical(tmp_path: Path) -> None:
    texts = []
    for _ in range(2):
        with scripted_openai() as endpoint, cassette(tmp_path / "c.yaml", record_mode="all"):
            _ask(endpoint.base_url, "durable agents")
        texts.append((tmp_path / "c.yaml").read_text())
    assert texts[0] == texts[1]
