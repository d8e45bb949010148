"""The scripted OpenAI-compatible endpoint, driven through the real `openai` client."""

from __future__ import annotations

import json

import openai
import pytest

from replaykit.record import (
    Rule,
    ToolCallReply,
    reply_error,
    reply_text,
    reply_tool_calls,
    scripted_openai,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_corpus",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_document",
            "parameters": {
                "type": "object",
                "properties": {"doc_id": {"type": "string"}},
                "required": ["doc_id"],
            },
        },
    },
]


def _client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)


def test_default_decompose_rule_returns_requested_count() -> None:
    with scripted_openai() as endpoint:
        response = _client(endpoint.base_url).chat.completions.create(
            model="m",
            messages=[
                {"role": "system", "content": "Decompose the topic into exactly 4 sub-questions."},
                {"role": "user", "content": "Topic: durable agents"},
            ],
        )
    data = json.loads(response.choices[0].message.content or "")
    assert len(data["sub_questions"]) == 4
    assert all("durable agents" in q for q in data["sub_questions"])
    assert endpoint.answered_by == ["decompose"]


def test_synthesis_rule_names_every_source() -> None:
    with scripted_openai() as endpoint:
        response = _client(endpoint.base_url).chat.completions.create(
            model="m",
            messages=[
                {"role": "system", "content": "You synthesize findings."},
                {
                    "role": "user",
                    "content": "Topic: x\n- a [source: https://a.example]\n- b [source: https://b.example]",
                },
            ],
        )
    text = response.choices[0].message.content or ""
    assert "https://a.example" in text and "https://b.example" in text


def test_tool_loop_calls_two_tools_then_answers() -> None:
    with scripted_openai() as endpoint:
        client = _client(endpoint.base_url)
        messages: list[dict[str, object]] = [{"role": "user", "content": "rate limits"}]
        names: list[str] = []
        for _ in range(5):
            msg = (
                client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
                .choices[0]
                .message
            )  # type: ignore[arg-type]
            if not msg.tool_calls:
                break
            call = msg.tool_calls[0]
            names.append(call.function.name)
            assert json.loads(call.function.arguments)  # a real argument object
            messages.append(
                {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]}
            )
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": f"result of {call.function.name}",
                }
            )
    assert names == ["search_corpus", "read_document"]
    assert "2 tool result(s)" in (msg.content or "")


def test_times_limits_a_rule_and_errors_map_to_openai_exceptions() -> None:
    rules = [Rule(when=lambda r: True, reply=reply_error(429, retry_after=0), times=2, name="429")]
    with scripted_openai(rules=rules) as endpoint:
        client = _client(endpoint.base_url)
        for _ in range(2):
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}]
                )
        ok = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert ok.choices[0].message.content == "OK: hi"
    assert endpoint.answered_by == ["429", "429", "fallback"]
    assert [r.index for r in endpoint.requests] == [0, 1, 2]


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (500, openai.InternalServerError),
    ],
)
def test_scripted_http_errors(status: int, exc: type[Exception]) -> None:
    rules = [Rule(when=lambda r: True, reply=reply_error(status))]
    with scripted_openai(rules=rules, include_defaults=False) as endpoint:
        with pytest.raises(exc):
            _client(endpoint.base_url).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )


def test_custom_rules_and_env() -> None:
    import os

    before = os.environ.get("OPENAI_BASE_URL")
    rules = [
        Rule(when=lambda r: "weather" in r.last_user, reply=reply_text("sunny")),
        Rule(
            when=lambda r: "call" in r.last_user,
            reply=reply_tool_calls(ToolCallReply("f", {"a": 1}, id="c1")),
        ),
    ]
    with scripted_openai(rules=rules, set_env=True) as endpoint:
        assert os.environ["OPENAI_BASE_URL"] == endpoint.base_url
        client = openai.OpenAI(max_retries=0)  # from the environment
        assert (
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "weather?"}]
            )
            .choices[0]
            .message.content
            == "sunny"
        )
        call = (
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "call it"}]
            )
            .choices[0]
            .message.tool_calls[0]
        )  # type: ignore[index]
        assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
            "c1",
            "f",
            {"a": 1},
        )  # type: ignore[union-attr]
    assert os.environ.get("OPENAI_BASE_URL") == before


def test_identical_requests_get_identical_responses() -> None:
    with scripted_openai() as endpoint:
        client = _client(endpoint.base_url)
        first = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "same"}]
        )
        second = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "same"}]
        )
    assert first.http_response.content == second.http_response.content
