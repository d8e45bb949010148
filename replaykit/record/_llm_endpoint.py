"""A scripted, OpenAI-compatible chat-completions endpoint for offline recording and tests.

`scripted_openai()` starts a small stdlib HTTP server on a free loopback port that answers
`POST /v1/chat/completions` with deterministic responses chosen by rules over the request.
Agents talk to it through the real `openai` client (real HTTP), so cassettes recorded against it
look exactly like cassettes recorded against OpenAI, and retry behaviour can be exercised by
scripting 429/500/400/401 answers.

Example:
    >>> from replaykit import scripted_openai, Rule, reply_error
    >>> rules = [Rule(when=lambda r: True, reply=reply_error(429), times=2)]
    >>> with scripted_openai(rules=rules, set_env=True) as endpoint:
    ...     ...  # the first two calls get HTTP 429, later ones the default answers
    ...     assert len(endpoint.requests) >= 0
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ChatReply",
    "ChatRequest",
    "Rule",
    "ScriptedEndpoint",
    "ToolCallReply",
    "default_rules",
    "reply_error",
    "reply_text",
    "reply_tool_calls",
    "scripted_openai",
]

_STATUS_ERROR_TYPES = {
    400: ("invalid_request_error", "Bad request"),
    401: ("invalid_request_error", "Incorrect API key provided"),
    403: ("permission_denied", "Permission denied"),
    404: ("not_found_error", "Not found"),
    429: ("rate_limit_exceeded", "Rate limit reached, please retry"),
    500: ("server_error", "The server had an error while processing your request"),
    503: ("server_error", "The engine is currently overloaded"),
}


@dataclass(frozen=True)
class ChatRequest:
    """One request the endpoint received.

    Attributes:
        body: The decoded JSON request body.
        headers: Request headers (lower-cased names).
        path: The request path, e.g. `/v1/chat/completions`.
        index: 0-based position of this request among all requests the endpoint received.
    """

    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    index: int

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The `messages` of the request (empty list if absent)."""
        value = self.body.get("messages") or []
        return list(value) if isinstance(value, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The `tools` of the request (empty list if absent)."""
        value = self.body.get("tools") or []
        return list(value) if isinstance(value, list) else []

    @property
    def tool_names(self) -> list[str]:
        """Names of the functions offered as tools."""
        names: list[str] = []
        for tool in self.tools:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                names.append(fn["name"])
        return names

    @property
    def system(self) -> str:
        """Concatenated content of the system messages."""
        return "\n".join(_text(m) for m in self.messages if m.get("role") == "system")

    @property
    def last_user(self) -> str:
        """Content of the last user message ('' if none)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text(message)
        return ""

    @property
    def tool_results(self) -> list[str]:
        """Contents of the `tool` messages, in order."""
        return [_text(m) for m in self.messages if m.get("role") == "tool"]


@dataclass(frozen=True)
class ToolCallReply:
    """A tool call the scripted model asks for.

    Attributes:
        name: Function name.
        arguments: JSON-serialisable arguments.
        id: Tool-call id; derived from the request when empty.
    """

    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class ChatReply:
    """What the endpoint answers.

    Attributes:
        content: Assistant text (None when only tool calls are returned).
        tool_calls: Tool calls the assistant makes.
        status: HTTP status; anything but 200 returns an OpenAI-style error body.
        error_message: Message of the error body when `status` != 200.
        headers: Extra response headers (e.g. `retry-after`).
    """

    content: str | None = None
    tool_calls: tuple[ToolCallReply, ...] = ()
    status: int = 200
    error_message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


ReplyFactory = Callable[[ChatRequest], ChatReply]


@dataclass
class Rule:
    """A (predicate -> reply) rule. The first rule whose predicate matches answers.

    Attributes:
        when: Predicate over the request.
        reply: A fixed reply, or a function of the request returning one.
        times: How many requests this rule may answer (None = unlimited). Lets a test script
            "fail twice with 429, then answer".
        name: Label used in `ScriptedEndpoint.answered_by`.
    """

    when: Callable[[ChatRequest], bool]
    reply: ChatReply | ReplyFactory
    times: int | None = None
    name: str = ""
    used: int = field(default=0, init=False)

    def _available(self) -> bool:
        return self.times is None or self.used < self.times


def reply_text(text: str) -> ChatReply:
    """A plain assistant answer."""
    return ChatReply(content=text)


def reply_tool_calls(*calls: ToolCallReply) -> ChatReply:
    """An assistant answer consisting of tool calls."""
    return ChatReply(content=None, tool_calls=tuple(calls))


def reply_error(
    status: int, message: str | None = None, *, retry_after: float | None = None
) -> ChatReply:
    """An OpenAI-style HTTP error answer (e.g. 429, 500, 400, 401)."""
    headers: tuple[tuple[str, str], ...] = ()
    if retry_after is not None:
        headers = (("retry-after", str(retry_after)),)
    return ChatReply(status=status, error_message=message, headers=headers)


# ---------------------------------------------------------------------------------------------
# Default rules: make the reference agents (and agents shaped like them) do sensible things.
# They key on words in the system prompt, so they work for any agent with similar prompts.
# ---------------------------------------------------------------------------------------------


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _topic(request: ChatRequest) -> str:
    text = request.last_user.strip().splitlines()[0] if request.last_user.strip() else "the topic"
    text = re.sub(r"^(topic|goal|task|question)\s*:\s*", "", text, flags=re.IGNORECASE)
    return text.strip().rstrip(".?") or "the topic"


def _requested_count(request: ChatRequest, default: int) -> int:
    match = re.search(
        r"\b(?:exactly|at most|up to)\s+(\d+)\b", request.system + " " + request.last_user
    )
    return max(1, min(int(match.group(1)), 10)) if match else default


def _decompose(request: ChatRequest) -> ChatReply:
    topic = _topic(request)
    angles = [
        "What is {t} and why does it matter",
        "How is {t} implemented in practice",
        "What are the known failure modes of {t}",
        "How is {t} tested and verified",
        "What are the costs and trade-offs of {t}",
        "Which tools support {t}",
    ]
    n = _requested_count(request, 3)
    questions = [angles[i % len(angles)].format(t=topic) + "?" for i in range(n)]
    key = "tasks" if re.search(r"\btasks?\b", request.system, re.IGNORECASE) else "sub_questions"
    return reply_text(json.dumps({key: questions}))


def _synthesize(request: ChatRequest) -> ChatReply:
    sources = sorted(set(re.findall(r"\[source:\s*([^\]]+)\]", request.last_user)))
    topic = _topic(request)
    cited = ", ".join(sources) if sources else "no sources"
    improved = "critique" in request.system.lower()
    text = (
        f"Summary of {topic}: the retrieved material agrees on the main points. Sources: {cited}."
    )
    if improved:
        text += " Caveat: sources are secondary; verify before publishing."
    return reply_text(text)


def _plan(request: ChatRequest) -> ChatReply:
    topic = _topic(request)
    steps = [
        f"Gather inputs for {topic}",
        f"Draft the change for {topic}",
        f"Verify the result of {topic}",
    ]
    return reply_text(json.dumps({"steps": steps}))


def _support(request: ChatRequest) -> ChatReply:
    user_turns = sum(1 for m in request.messages if m.get("role") == "user")
    last = request.last_user.strip()
    return reply_text(
        f"(turn {user_turns}) Thanks for your message about '{last[:60]}'. Here is what I can do."
    )


def _first_string_param(tool: dict[str, Any]) -> str | None:
    params = tool.get("function", {}).get("parameters", {})
    props = params.get("properties", {}) if isinstance(params, dict) else {}
    required = params.get("required", []) if isinstance(params, dict) else []
    for name in list(required) + list(props):
        if props.get(name, {}).get("type") == "string":
            return str(name)
    return None


def _tool_loop(request: ChatRequest) -> ChatReply:
    done = len(request.tool_results)
    wanted = min(2, len(request.tools))
    if done < wanted:
        tool = request.tools[done]
        name = request.tool_names[done]
        param = _first_string_param(tool)
        arguments: dict[str, Any] = {param: _topic(request)} if param else {}
        return reply_tool_calls(ToolCallReply(name=name, arguments=arguments))
    snippets = "; ".join(r[:80] for r in request.tool_results)
    return reply_text(f"Answer to '{_topic(request)}' based on {done} tool result(s): {snippets}")


def _fallback(request: ChatRequest) -> ChatReply:
    return reply_text(f"OK: {request.last_user.strip()[:120]}")


def _system_has(*words: str) -> Callable[[ChatRequest], bool]:
    def predicate(request: ChatRequest) -> bool:
        system = request.system.lower()
        return any(re.search(r"\b" + re.escape(w), system) for w in words)

    return predicate


def default_rules() -> list[Rule]:
    """Rules that make the reference agents behave sensibly.

    * tools offered -> call up to two tools (one per turn), then answer citing the tool results;
    * system prompt mentions "decompose" -> JSON `{"sub_questions"|"tasks": [...]}`;
    * "synthesi" -> a summary that names every `[source: X]` found in the user message;
    * "plan" -> JSON `{"steps": [...]}`;
    * "support" -> a polite reply numbered by conversation turn;
    * anything else -> `OK: <last user message>`.
    """
    return [
        Rule(when=lambda r: bool(r.tools), reply=_tool_loop, name="tool-loop"),
        Rule(when=_system_has("decompose"), reply=_decompose, name="decompose"),
        Rule(when=_system_has("synthesi"), reply=_synthesize, name="synthesize"),
        Rule(when=_system_has("plan"), reply=_plan, name="plan"),
        Rule(when=_system_has("support"), reply=_support, name="support"),
        Rule(when=lambda r: True, reply=_fallback, name="fallback"),
    ]


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def _completion_body(request: ChatRequest, reply: ChatReply) -> dict[str, Any]:
    # Ids derive from the request body so identical requests get identical responses
    # (cassettes recorded twice are byte-identical).
    digest = hashlib.sha256(json.dumps(request.body, sort_keys=True).encode()).hexdigest()[:24]
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    finish_reason = "stop"
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{digest[:16]}_{i}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(call.arguments, sort_keys=True),
                },
            }
            for i, call in enumerate(reply.tool_calls)
        ]
        finish_reason = "tool_calls"
    prompt_tokens = len(json.dumps(request.messages)) // 4
    completion_tokens = len(reply.content or "") // 4 + 10 * len(reply.tool_calls)
    return {
        "id": f"chatcmpl-scripted-{digest}",
        "object": "chat.completion",
        "created": 0,
        "model": str(request.body.get("model", "scripted")),
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "replaykit-scripted",
    }


def _error_body(reply: ChatReply) -> dict[str, Any]:
    kind, default_message = _STATUS_ERROR_TYPES.get(reply.status, ("api_error", "Error"))
    return {
        "error": {
            "message": reply.error_message or default_message,
            "type": kind,
            "param": None,
            "code": kind if reply.status in (401, 429) else None,
        }
    }


class ScriptedEndpoint:
    """A running scripted endpoint (yielded by `scripted_openai`).

    Attributes:
        base_url: e.g. `http://127.0.0.1:PORT/v1` — pass as `OPENAI_BASE_URL`.
        api_key: The key clients should send (any value is accepted).
        requests: Every request received, in order.
        answered_by: For each request, the `name` of the rule that answered it.
    """

    def __init__(self, rules: Sequence[Rule], *, api_key: str) -> None:
        self._rules = list(rules)
        self._lock = threading.Lock()
        self.api_key = api_key
        self.requests: list[ChatRequest] = []
        self.answered_by: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def _answer(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], tuple[tuple[str, str], ...]]:
        if path.rstrip("/").split("?")[0] != "/v1/chat/completions":
            return (
                404,
                {"error": {"message": f"no route {path.split('?')[0]}", "type": "not_found_error"}},
                (),
            )
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return (
                400,
                {"error": {"message": "body is not JSON", "type": "invalid_request_error"}},
                (),
            )
        with self._lock:
            request = ChatRequest(body=body, headers=headers, path=path, index=len(self.requests))
            self.requests.append(request)
            for rule in self._rules:
                if rule._available() and rule.when(request):
                    rule.used += 1
                    chosen = rule
                    break
            else:
                self.answered_by.append("<none>")
                return (
                    500,
                    {"error": {"message": "no scripted rule matched", "type": "server_error"}},
                    (),
                )
            self.answered_by.append(chosen.name or f"rule-{self._rules.index(chosen)}")
        reply = chosen.reply(request) if callable(chosen.reply) else chosen.reply
        if reply.status != 200:
            return reply.status, _error_body(reply), reply.headers
        return 200, _completion_body(request, reply), reply.headers

    def start(self) -> None:
        """Bind a free loopback port and serve in a daemon thread."""
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = endpoint._answer(self.path, headers, raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in extra:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=server.serve_forever, name="scripted-openai", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@contextmanager
def scripted_openai(
    rules: Sequence[Rule] | None = None,
    *,
    include_defaults: bool = True,
    set_env: bool = False,
    api_key: str = "sk-scripted-not-a-secret",
) -> Iterator[ScriptedEndpoint]:
    """Run a scripted OpenAI-compatible endpoint for the duration of the block.

    Args:
        rules: Rules tried first, in order.
        include_defaults: Append `default_rules()` after `rules`.
        set_env: Set `OPENAI_BASE_URL` / `OPENAI_API_KEY` for the block (restored afterwards),
            so code that builds a default `openai` client talks to the endpoint.
        api_key: Key placed in `OPENAI_API_KEY` when `set_env` is true.

    Yields:
        The running `ScriptedEndpoint`; `endpoint.base_url` is the `/v1` base URL.
    """
    all_rules = list(rules or []) + (default_rules() if include_defaults else [])
    endpoint = ScriptedEndpoint(all_rules, api_key=api_key)
    endpoint.start()
    saved = {k: os.environ.get(k) for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    try:
        if set_env:
            os.environ["OPENAI_BASE_URL"] = endpoint.base_url
            os.environ["OPENAI_API_KEY"] = api_key
        yield endpoint
    finally:
        if set_env:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        endpoint.stop()
