"""Model calls of Temporal's AI-framework integrations, explained in agent terms.

Each integration runs its model call as an activity whose input is the agent's
configuration. An :class:`Integration` entry says how to recognise its activities (activity
type name *and* input shape), which values in their inputs are new on every run by design
(``volatile`` paths, masked before comparison), and, for the model call, how to split the
input into *aspects*: the instructions (cause ``prompt``), the tools (``tools``), the model
name and settings (``model-settings``), the handoffs (``handoffs``), the output schema
(``output-schema``) and the conversation so far (``input``). A new integration is one entry
in :data:`INTEGRATIONS`.

Paths (built-in and the user's ``volatile`` rules) are dotted keys inside each activity
argument: ``*`` matches one key or list index, ``**`` any number of them (including none).
A last segment ``<key>`` masks the *keys* of the dict the path leads to instead of values:
the random ids, hex ids and timestamps in each key become ``<volatile>``
(``checkpoint_map.<key>``: ``react_agent_entrypoint:f83e…`` -> ``react_agent_entrypoint:<volatile>``).
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from replaykit._internal._errors import ConfigError

__all__ = [
    "AGENT_CAUSES",
    "INTEGRATIONS",
    "AspectChange",
    "Integration",
    "VolatileRule",
    "explain_model_call",
    "find_integration",
    "framework_upgrade_note",
    "framework_versions",
    "mask_volatile",
    "mask_key",
    "parse_volatile_rules",
    "volatile_kind",
    "volatile_kind_in_key",
]

#: Causes of agent-level findings (all refinements of ``activity-input``).
AGENT_CAUSES: frozenset[str] = frozenset(
    {"prompt", "tools", "model-settings", "handoffs", "output-schema", "input"}
)
VOLATILE = "<volatile>"
#: The path segment that masks a dict's keys (last segment only).
KEY_SEGMENT = "<key>"


@dataclass(frozen=True)
class Aspect:
    """One part of a model call's input: its cause, a label and the value."""

    cause: str
    label: str
    path: str
    value: Any
    #: How to key list items for a by-name diff (tools, handoffs); None = plain value diff.
    key: Callable[[Any], str] | None = None
    #: Real paths this aspect accounts for (left out of "the rest"); default: ``path``.
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AspectChange:
    """What changed in one aspect of a model call."""

    cause: str
    label: str
    path: str
    recorded: Any
    current: Any
    #: One-line summary, e.g. ``added cancel_order; lookup_order: schema changed``.
    summary: str
    #: Per-item changes for by-name aspects: ``[{"name", "change", "recorded", "current"}]``.
    items: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Integration:
    """How replaykit reads one integration's activities.

    Attributes:
        name: The integration, as users know it (``OpenAI Agents``).
        activity: Whether an activity type name belongs to it (any of its activities).
        shape: Whether decoded arguments look like its input (guards against a user's own
            activity that happens to share a name).
        volatile: Paths inside the arguments that are new on every run by design.
        normalize: Rewrites arguments so values that differ only by design compare equal
            (e.g. unordered ids carrying object addresses); runs after masking.
        model_call: Whether an activity type is the model call (gets an agent explanation).
        aspects: Splits a model call's arguments into aspects.
        agent: The agent's name from the activity type, its arguments and its summary.
        distributions: The PyPI distributions whose release decides what its activities
            send (recorded with each history; see :func:`framework_upgrade_note`).
    """

    name: str
    activity: Callable[[str], bool]
    shape: Callable[[Sequence[Any]], bool]
    volatile: tuple[str, ...] = ()
    normalize: Callable[[list[Any]], list[Any]] | None = None
    model_call: Callable[[str], bool] = lambda _t: False
    aspects: Callable[[Sequence[Any]], list[Aspect]] | None = None
    agent: Callable[[str, Sequence[Any], Any], str | None] = lambda _t, _a, _s: None
    distributions: tuple[str, ...] = ()
    docs: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- paths


def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"\.|\[(\d+|\*)\]", path) if s]


_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
_HEX_ID = r"(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}"
_ISO_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_VOLATILE_KINDS = (
    ("a uuid", re.compile(_UUID)),
    ("a timestamp", re.compile(_ISO_TIME)),
    ("a hex id", re.compile(_HEX_ID)),
)
_IN_KEY = re.compile(rf"(?<![0-9a-zA-Z])(?:{_UUID}|{_ISO_TIME}|{_HEX_ID})(?![0-9a-zA-Z])")


def volatile_kind(value: Any) -> str | None:
    """What ``value`` looks like when it is an id or a time new on every run: ``a uuid``,
    ``a hex id`` (12+ hex digits, letters and digits), ``a timestamp`` (ISO 8601, or Unix
    seconds/milliseconds as a number); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return "a Unix timestamp" if 1e9 <= value < 1e10 or 1e12 <= value < 1e13 else None
    if not isinstance(value, str):
        return None
    for kind, pattern in _VOLATILE_KINDS:
        if pattern.fullmatch(value):
            return kind
    return None


def volatile_kind_in_key(key: str) -> str | None:
    """What the first id or timestamp inside ``key`` looks like (see :func:`volatile_kind`)."""
    found = _IN_KEY.search(key)
    return volatile_kind(found.group(0)) if found else None


def mask_key(key: str) -> str:
    """``key`` with its ids and timestamps replaced by :data:`VOLATILE` (the whole key when
    it has none): ``react_agent_entrypoint:f83e…`` -> ``react_agent_entrypoint:<volatile>``."""
    masked = _IN_KEY.sub(VOLATILE, key)
    return masked if masked != key else VOLATILE


def _mask_keys(value: dict[Any, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for k, v in value.items():
        new = mask_key(k) if isinstance(k, str) else k
        n = 2
        while new in out:  # two keys that differ only by an id stay two entries
            new = f"{mask_key(k)}#{n}"
            n += 1
        out[new] = v
    return out


def _mask(value: Any, segs: Sequence[str]) -> Any:
    """``value`` with everything at ``segs`` replaced by :data:`VOLATILE` (a copy where changed)."""
    if not segs:
        return VOLATILE
    head, rest = segs[0], segs[1:]
    if head == KEY_SEGMENT:
        return _mask_keys(value) if isinstance(value, dict) and not rest else value
    if head == "**":
        value = _mask(value, rest)  # zero segments
        return _map_children(value, lambda child: _mask(child, segs))
    if isinstance(value, dict):
        if head == "*":
            return {k: _mask(v, rest) for k, v in value.items()}
        if head in value:
            out = dict(value)
            out[head] = _mask(value[head], rest)
            return out
        return value
    if isinstance(value, list):
        if head == "*":
            return [_mask(v, rest) for v in value]
        if head.isdigit() and int(head) < len(value):
            out_l = list(value)
            out_l[int(head)] = _mask(value[int(head)], rest)
            return out_l
    return value


def _map_children(value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fn(v) for v in value]
    return value


@dataclass(frozen=True)
class VolatileRule:
    """A user's ``activity:NAME.PATH`` rule: values at PATH of activity NAME are ignored."""

    text: str
    target: str  # NAME.PATH, split per activity (names have dots)

    def path_for(self, activity_type: str) -> list[str] | None:
        """The path segments when this rule names ``activity_type`` (longest name match)."""
        parts = self.target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            name = ".".join(parts[:cut])
            if name == activity_type or (
                any(c in name for c in "*?[") and fnmatch.fnmatchcase(activity_type, name)
            ):
                return _segments(".".join(parts[cut:]))
        return None


def parse_volatile_rules(
    rules: Iterable[str], *, source: str = "volatile"
) -> tuple[VolatileRule, ...]:
    """Validate ``activity:NAME.PATH`` rules.

    Raises:
        ConfigError: A rule does not have that form.
    """
    out: list[VolatileRule] = []
    for rule in rules:
        target = rule.removeprefix("activity:")
        segs = target.split(".")
        if (
            not rule.startswith("activity:")
            or "." not in target
            or target.startswith(".")
            or KEY_SEGMENT in segs[:-1]
        ):
            raise ConfigError(
                f"{source}: {rule!r} is not a volatile rule; write activity:NAME.PATH, e.g. "
                "activity:react-agent.agent.langgraph_config.execution_info.task_id (NAME is "
                "the full activity type, dots included; PATH is a dotted path inside each "
                "argument, * = any key or index, ** = any depth, a last <key> masks the ids "
                "in the keys of the dict it leads to)"
            )
        out.append(VolatileRule(rule, target))
    return tuple(out)


def find_integration(activity_type: str, args: Sequence[Any]) -> Integration | None:
    """The integration an activity belongs to (by type name and input shape), if any."""
    for integ in INTEGRATIONS:
        if integ.activity(activity_type) and integ.shape(args):
            return integ
    return None


def mask_volatile(
    activity_type: str,
    args: list[Any],
    integration: Integration | None,
    rules: Sequence[VolatileRule] = (),
) -> list[Any]:
    """Arguments with volatile values masked (built-in ones, then the user's) and normalised."""
    paths: list[list[str]] = []
    if integration is not None:
        paths.extend(_segments(p) for p in integration.volatile)
    for rule in rules:
        segs = rule.path_for(activity_type)
        if segs is not None:
            paths.append(segs)
    if not paths and (integration is None or integration.normalize is None):
        return args
    out = [copy.deepcopy(a) for a in args] if integration and integration.normalize else list(args)
    for segs in paths:
        out = [_mask(a, segs) for a in out]
    if integration is not None and integration.normalize is not None:
        out = integration.normalize(out)
    return out


# ----------------------------------------------------------------------------- explaining


def explain_model_call(
    integration: Integration,
    activity_type: str,
    recorded: Sequence[Any],
    current: Sequence[Any],
    *,
    same: Callable[[Any, Any], bool],
) -> tuple[list[AspectChange], Any, Any]:
    """Changed aspects of a model call, one per cause, plus the rest of the input.

    Aspects of one cause that changed together (a Strands prompt sent both as text and as
    content blocks, an ADK model and its generation config) make one change, so each cause is
    reported once and allowed by its own ``--allow``. What an aspect covers is taken from
    both sides: a setting present in only one of them (an ADK ``temperature`` added to the
    config) is still that aspect's, never also part of the rest.

    The rest is everything no aspect covers (tracing flags, run context, ...): the caller
    reports it as a plain input change when it differs.
    """
    assert integration.aspects is not None
    rec_aspects = integration.aspects(recorded)
    cur_list = integration.aspects(current)
    cur_aspects = {a.path: a for a in cur_list}
    changed: dict[str, list[AspectChange]] = {}
    for ra in rec_aspects:
        ca = cur_aspects.get(ra.path)
        cur_value = ca.value if ca is not None else None
        if same(ra.value, cur_value):
            continue
        summary, items = _summarise(ra, cur_value)
        changed.setdefault(ra.cause, []).append(
            AspectChange(ra.cause, ra.label, ra.path, ra.value, cur_value, summary, items)
        )
    changes = [_one_per_cause(group) for group in changed.values()]
    paths = list(
        dict.fromkeys(p for a in (*rec_aspects, *cur_list) for p in (a.covers or (a.path,)))
    )
    return changes, _rest(recorded, paths), _rest(current, paths)


def _one_per_cause(group: list[AspectChange]) -> AspectChange:
    """One change for the aspects of one cause (the first's path; values keyed by label).

    Per-item changes are kept when every aspect has them (tools and native tools); otherwise
    the values keyed by label carry the whole change.
    """
    if len(group) == 1:
        return group[0]
    first = group[0]
    return AspectChange(
        first.cause,
        " and ".join(c.label for c in group),
        first.path,
        {c.label: c.recorded for c in group},
        {c.label: c.current for c in group},
        "; ".join(c.summary for c in group),
        tuple(it for c in group for it in c.items) if all(c.items for c in group) else (),
    )


def _rest(args: Sequence[Any], paths: Sequence[str]) -> list[Any]:
    out = [copy.copy(a) for a in args]
    for path in paths:
        segs = _segments(path)
        if segs and segs[0].isdigit() and int(segs[0]) < len(out):
            holder: Any = out
            for s in segs[:-1]:
                nxt = holder[int(s)] if isinstance(holder, list) else holder.get(s)
                if not isinstance(nxt, (dict, list)):
                    holder = None
                    break
                if isinstance(holder, list):
                    nxt = holder[int(s)] = copy.copy(nxt)
                else:
                    nxt = holder[s] = copy.copy(nxt)
                holder = nxt
            if isinstance(holder, dict):
                holder.pop(segs[-1], None)
    return out


def _summarise(aspect: Aspect, current: Any) -> tuple[str, tuple[dict[str, Any], ...]]:
    recorded = aspect.value
    if isinstance(recorded, dict) and isinstance(current, dict):
        keys = [
            k for k in dict.fromkeys([*recorded, *current]) if recorded.get(k) != current.get(k)
        ]
        if 0 < len(keys) <= 4:
            return f"{aspect.label} changed ({', '.join(map(str, keys))})", ()
    if aspect.key is None or not isinstance(recorded, list) or not isinstance(current, list):
        return f"{aspect.label} changed", ()
    rec = {aspect.key(x): x for x in recorded}
    cur = {aspect.key(x): x for x in current}
    items: list[dict[str, Any]] = []
    for name in rec:
        if name not in cur:
            items.append(
                {"name": name, "change": "removed", "recorded": rec[name], "current": None}
            )
    for name in cur:
        if name not in rec:
            items.append({"name": name, "change": "added", "recorded": None, "current": cur[name]})
    for name in rec:
        if name in cur and rec[name] != cur[name]:
            what = _what_changed(rec[name], cur[name])
            items.append(
                {"name": name, "change": what, "recorded": rec[name], "current": cur[name]}
            )
    if not items and list(rec) != list(cur):
        return f"{aspect.label} reordered: {', '.join(rec)} -> {', '.join(cur)}", (
            {"name": "order", "change": "reordered", "recorded": list(rec), "current": list(cur)},
        )
    parts = [
        f"{it['change']} {it['name']}"
        if it["change"] in ("added", "removed")
        else f"{it['name']}: {it['change']}"
        for it in items
    ]
    return f"{aspect.label}: " + "; ".join(parts), tuple(items)


_SCHEMA_KEYS = (
    "params_json_schema",
    "input_json_schema",
    "parameters_json_schema",
    "inputSchema",
    "input_schema",
    "json_schema",
    "parameters",
)
_DESCRIPTION_KEYS = ("description", "tool_description")


def _what_changed(a: Any, b: Any) -> str:
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return "changed"
    if isinstance(a.get("function"), dict) and isinstance(b.get("function"), dict):
        # OpenAI-format tool schemas (LangChain's convert_to_openai_tool, Deep Agents)
        a = {**a, **a["function"], "function": None}
        b = {**b, **b["function"], "function": None}
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    words = []
    for k in keys:
        if k in _SCHEMA_KEYS:
            words.append("schema changed")
        elif k in _DESCRIPTION_KEYS:
            words.append("description changed")
        else:
            words.append(f"{k} changed")
    return ", ".join(dict.fromkeys(words)) or "changed"


def _name_of(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("name", "tool_name", "agent_name"):
            if isinstance(item.get(key), str):
                return str(item[key])
        cfg = item.get("tool_config")
        if isinstance(cfg, dict):
            for key in ("name", "server_label", "type"):
                if isinstance(cfg.get(key), str):
                    return str(cfg[key])
        if isinstance(item.get("type"), str):
            return str(item["type"])
    return repr(item)[:40]


# ----------------------------------------------------------------------------- OpenAI Agents

_OPENAI_MODEL = frozenset({"invoke_model_activity", "invoke_model_activity_streaming"})


def _openai_shape(args: Sequence[Any]) -> bool:
    return (
        len(args) == 1
        and isinstance(args[0], dict)
        and {"input", "model_settings", "tracing"} <= set(args[0])
    )


def _openai_aspects(args: Sequence[Any]) -> list[Aspect]:
    a = args[0]
    return [
        Aspect("prompt", "instructions", "0.system_instructions", a.get("system_instructions")),
        Aspect("prompt", "prompt template", "0.prompt", a.get("prompt")),
        Aspect("model-settings", "model", "0.model_name", a.get("model_name")),
        Aspect("model-settings", "model settings", "0.model_settings", a.get("model_settings")),
        Aspect("tools", "tools", "0.tools", a.get("tools"), key=_name_of),
        Aspect(
            "handoffs",
            "handoffs",
            "0.handoffs",
            a.get("handoffs"),
            key=lambda h: (
                str(h.get("agent_name") or _name_of(h)) if isinstance(h, dict) else _name_of(h)
            ),
        ),
        Aspect("output-schema", "output schema", "0.output_schema", a.get("output_schema")),
        Aspect("input", "conversation input", "0.input", a.get("input")),
    ]


def _summary_agent(_t: str, _a: Sequence[Any], summary: Any) -> str | None:
    # The plugin sets the activity summary to the agent's name (unless overridden).
    return summary if isinstance(summary, str) and summary else None


# ----------------------------------------------------------------------------- LangGraph


def _langgraph_shape(args: Sequence[Any]) -> bool:
    return (
        len(args) == 1
        and isinstance(args[0], dict)
        and set(args[0]) == {"args", "kwargs", "langgraph_config"}
    )


def _is_system_message(m: Any) -> bool:
    return isinstance(m, dict) and (m.get("type") == "system" or m.get("role") == "system")


#: Names under which a node's or task's input carries the agent's configuration (the
#: Functional API passes them as task arguments; a Graph API node may keep them in state).
_LG_TOOLS = frozenset({"tools", "tool_schemas"})
_LG_SETTINGS = frozenset(
    {"model", "model_name", "model_settings", "model_kwargs", "temperature", "settings"}
)


def _lg_tool_name(t: Any) -> str:
    fn = t.get("function") if isinstance(t, dict) else None
    return str(fn["name"]) if isinstance(fn, dict) and "name" in fn else _name_of(t)


def _langgraph_aspects(args: Sequence[Any]) -> list[Aspect]:
    """The node's (or task's) input: system messages in ``messages`` (of the state, or a
    keyword argument) are the prompt; ``tools``, and the model and its settings, when the
    input or the runtime context carries them by name, are the tools and the model
    settings."""
    a = args[0]
    system: list[Any] = []
    named: list[Aspect] = []

    def split(holder: Any, root: str) -> Any:
        if not isinstance(holder, dict):
            return holder
        out = dict(holder)
        msgs = out.get("messages")
        if isinstance(msgs, list):
            system.extend(m.get("content") for m in msgs if _is_system_message(m))
            out["messages"] = [m for m in msgs if not _is_system_message(m)]
        for key in [k for k in out if k in _LG_TOOLS]:
            named.append(Aspect("tools", key, f"{root}.{key}", out.pop(key), key=_lg_tool_name))
        for key in [k for k in out if k in _LG_SETTINGS]:
            label = "model" if key in ("model", "model_name") else key.replace("_", " ")
            named.append(Aspect("model-settings", label, f"{root}.{key}", out.pop(key)))
        return out

    state_args = a.get("args") if isinstance(a.get("args"), list) else []
    rest = [split(arg, f"0.args.{i}") for i, arg in enumerate(state_args)]
    kwargs = split(a.get("kwargs"), "0.kwargs")
    # the Graph API's runtime context (`graph.ainvoke(state, context=...)`): its tools and
    # model settings are aspects; the rest of it stays in "the rest" of the input
    cfg = a.get("langgraph_config")
    split(cfg.get("context") if isinstance(cfg, dict) else None, "0.langgraph_config.context")
    return [
        Aspect(
            "prompt",
            "system prompt",
            "0.args#system",
            system[0] if len(system) == 1 else system,
            covers=(),
        ),
        *named,
        Aspect("input", "node input (graph state)", "0.args", rest),
        Aspect("input", "node keyword arguments", "0.kwargs", kwargs),
    ]


def _langgraph_agent(activity_type: str, args: Sequence[Any], _s: Any) -> str | None:
    # A Functional API task (activity type `module.qualname`) runs under its entrypoint:
    # LangGraph's path for it starts with a push, its namespace with `entrypoint:<id>`.
    cfg = args[0].get("langgraph_config") if args and isinstance(args[0], dict) else None
    meta = cfg.get("metadata") if isinstance(cfg, dict) else None
    lg_path = meta.get("langgraph_path") if isinstance(meta, dict) else None
    ns = meta.get("langgraph_checkpoint_ns") if isinstance(meta, dict) else None
    if isinstance(lg_path, list) and lg_path[:1] == ["__pregel_push"] and isinstance(ns, str):
        entry = ns.split("|")[0].partition(":")[0]
        node = meta.get("langgraph_node") if isinstance(meta, dict) else None
        task = node if isinstance(node, str) else activity_type.rpartition(".")[2]
        return f"entrypoint {entry!r}, task {task!r}"
    graph, _, node = activity_type.rpartition(".")
    return f"graph {graph!r}, node {node!r}" if graph else None


_LG_CONFIG = (
    # LangGraph's checkpoint ids are uuid6 values of the wall clock and `random` (LangGraph
    # is passed through the workflow sandbox, so neither is the workflow's deterministic
    # one); task ids and namespaces are derived from them.
    "configurable.checkpoint_id",
    "configurable.checkpoint_map.*",
    # its keys are `{entrypoint or subgraph}:{task id}` (a Functional API run has one)
    "configurable.checkpoint_map.<key>",
    "configurable.checkpoint_ns",
    "configurable.__pregel_task_id",
    "metadata.langgraph_checkpoint_ns",
    "metadata.checkpoint_ns",
)
_LANGGRAPH_VOLATILE = (
    *(f"langgraph_config.{p}" for p in _LG_CONFIG),
    "langgraph_config.execution_info.checkpoint_id",
    "langgraph_config.execution_info.checkpoint_ns",
    "langgraph_config.execution_info.task_id",
    # time.time() when the node's first attempt started
    "langgraph_config.execution_info.node_first_attempt_time",
    # a node that takes `config` gets it stripped to the same keys
    *(f"kwargs.config.{p}" for p in _LG_CONFIG),
    # add_messages gives messages without an id a uuid4 (real `uuid`, not workflow.uuid4)
    "args.*.messages.*.id",
)


# ----------------------------------------------------------------------------- Pydantic AI

_PAI = re.compile(r"^agent__(?P<agent>.+?)__(?P<op>model_request(?:_stream)?|.+)$")


def _pai_activity(activity_type: str) -> bool:
    return _PAI.match(activity_type) is not None


def _pai_model(activity_type: str) -> bool:
    m = _PAI.match(activity_type)
    return m is not None and m.group("op") in ("model_request", "model_request_stream")


def _pai_shape(args: Sequence[Any]) -> bool:
    return bool(args) and isinstance(args[0], dict) and "serialized_run_context" in args[0]


def _pai_agent(activity_type: str, _a: Sequence[Any], _s: Any) -> str | None:
    m = _PAI.match(activity_type)
    return m.group("agent") if m else None


def _pai_instructions(messages: Any) -> list[Any]:
    """System prompt parts and request instructions, in order, from the message history."""
    out: list[Any] = []
    for msg in messages if isinstance(messages, list) else []:
        if not isinstance(msg, dict):
            continue
        if msg.get("instructions") is not None:
            out.append(msg["instructions"])
        for part in msg.get("parts") or []:
            if isinstance(part, dict) and part.get("part_kind") == "system-prompt":
                out.append(part.get("content"))
    return out


def _pai_conversation(messages: Any) -> list[Any]:
    out: list[Any] = []
    for msg in messages if isinstance(messages, list) else []:
        if not isinstance(msg, dict):
            out.append(msg)
            continue
        msg = {k: v for k, v in msg.items() if k != "instructions"}
        if isinstance(msg.get("parts"), list):
            msg["parts"] = [
                p
                for p in msg["parts"]
                if not (isinstance(p, dict) and p.get("part_kind") == "system-prompt")
            ]
        out.append(msg)
    return out


_PAI_OUTPUT = (
    "output_mode",
    "output_object",
    "output_tools",
    "prompted_output_template",
    "allow_text_output",
)


def _pai_aspects(args: Sequence[Any]) -> list[Aspect]:
    p = args[0]
    mrp = p.get("model_request_parameters") or {}
    instructions = _pai_instructions(p.get("messages"))
    if not instructions:
        instructions = [
            i.get("content") for i in mrp.get("instruction_parts") or [] if isinstance(i, dict)
        ]
    return [
        Aspect(
            "prompt",
            "instructions",
            "0.messages#instructions",
            instructions[0] if len(instructions) == 1 else instructions,
            covers=("0.model_request_parameters.instruction_parts",),
        ),
        Aspect("model-settings", "model", "0.model_id", p.get("model_id")),
        Aspect("model-settings", "model settings", "0.model_settings", p.get("model_settings")),
        Aspect(
            "tools",
            "tools",
            "0.model_request_parameters.function_tools",
            mrp.get("function_tools"),
            key=_name_of,
        ),
        Aspect(
            "tools",
            "native tools",
            "0.model_request_parameters.native_tools",
            mrp.get("native_tools"),
            key=_name_of,
        ),
        Aspect(
            "output-schema",
            "output schema",
            "0.model_request_parameters#output",
            {k: mrp.get(k) for k in _PAI_OUTPUT},
            covers=tuple(f"0.model_request_parameters.{k}" for k in _PAI_OUTPUT),
        ),
        Aspect("input", "conversation input", "0.messages", _pai_conversation(p.get("messages"))),
    ]


_PAI_CAPABILITY = re.compile(r":[0-9a-f]+>$")


def _pai_normalize(args: list[Any]) -> list[Any]:
    # Capability ids carry an object's address (`<temporal_durability:3027a1>`) and come from
    # a set: both differ on every run. Compare them without the address, in sorted order.
    for a in args:
        ctx = a.get("serialized_run_context") if isinstance(a, dict) else None
        ids = ctx.get("active_capability_ids") if isinstance(ctx, dict) else None
        if isinstance(ctx, dict) and isinstance(ids, list) and all(isinstance(i, str) for i in ids):
            ctx["active_capability_ids"] = sorted(_PAI_CAPABILITY.sub(">", i) for i in ids)
    return args


_PAI_VOLATILE = (
    # ModelRequest timestamps are datetime.now() in the workflow (Pydantic AI is passed
    # through the sandbox); model responses come from activity results and replay as recorded.
    "messages.*.timestamp",
    "messages.*.parts.*.timestamp",
)


# ----------------------------------------------------------------------------- Strands

# Strands and Google ADK both name their model activity `invoke_model`; the input shape
# (``shape=``) tells them apart.
_INVOKE_MODEL = frozenset({"invoke_model", "invoke_model_streaming"})
_STRANDS_KEYS = frozenset({"model_name", "messages", "tool_specs", "system_prompt"})


def _strands_shape(args: Sequence[Any]) -> bool:
    return len(args) == 1 and isinstance(args[0], dict) and _STRANDS_KEYS <= set(args[0])


def _strands_message(message: Any) -> Any:
    """A message of the agent's own list as the model call's ``messages`` holds it."""
    if not isinstance(message, dict):
        return message
    return {k: v for k, v in message.items() if k not in ("tracking_id", "metadata")}


def _strands_normalize(args: list[Any]) -> list[Any]:
    # TemporalModel sends the agent's state twice: as the model call's own fields and again
    # in ``invocation_state`` (the system prompt, the tool config, the agent's messages with
    # their ids and usage), plus the prompt once more as content blocks. A copy that says
    # the same as its field is dropped, so one edit is one change; a copy that differs stays.
    for a in args:
        if not isinstance(a, dict):
            continue
        prompt = a.get("system_prompt")
        if a.get("system_prompt_content") == ([{"text": prompt}] if prompt is not None else None):
            a.pop("system_prompt_content", None)
        state = a.get("invocation_state")
        if not isinstance(state, dict):
            continue
        if "system_prompt" in state and state["system_prompt"] == prompt:
            del state["system_prompt"]
        msgs = state.get("messages")
        if isinstance(msgs, list) and [_strands_message(m) for m in msgs] == a.get("messages"):
            del state["messages"]
        config = state.get("tool_config")
        tools = config.get("tools") if isinstance(config, dict) else None
        if isinstance(config, dict) and isinstance(tools, list):
            specs = [t.get("toolSpec") if isinstance(t, dict) else t for t in tools]
            if specs == (a.get("tool_specs") or []):
                del config["tools"]
    return args


def _strands_aspects(args: Sequence[Any]) -> list[Aspect]:
    a = args[0]
    raw_state = a.get("invocation_state")
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    raw_config = state.get("tool_config")
    config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
    return [
        Aspect("prompt", "system prompt", "0.system_prompt", a.get("system_prompt")),
        Aspect(
            "prompt",
            "system prompt content",
            "0.system_prompt_content",
            a.get("system_prompt_content"),
        ),
        Aspect("model-settings", "model", "0.model_name", a.get("model_name")),
        Aspect(
            "model-settings",
            "tool choice",
            "0.tool_choice",
            {"tool_choice": a.get("tool_choice"), "toolChoice": config.get("toolChoice")},
            covers=("0.tool_choice", "0.invocation_state.tool_config.toolChoice"),
        ),
        Aspect("tools", "tools", "0.tool_specs", a.get("tool_specs"), key=_name_of),
        Aspect("input", "conversation input", "0.messages", a.get("messages")),
    ]


_STRANDS_VOLATILE = (
    # Strands gives each message of the agent's own list a uuid4 (real `uuid`; the plugin
    # installs no shim); the list is sent in invocation_state.
    "invocation_state.messages.*.tracking_id",
)


# ----------------------------------------------------------------------------- Google ADK


def _adk_shape(args: Sequence[Any]) -> bool:
    if len(args) != 1 or not isinstance(args[0], dict):
        return False
    a = args[0].get("llm_request", args[0])  # invoke_model_streaming wraps the request
    return isinstance(a, dict) and "contents" in a and "config" in a and "model" in a


def _adk_request(args: Sequence[Any]) -> tuple[dict[str, Any], str]:
    a = args[0]
    return (a["llm_request"], "0.llm_request.") if "llm_request" in a else (a, "0.")


def _adk_get(config: Any, snake: str) -> tuple[str, Any]:
    """A GenerateContentConfig field, whichever spelling the converter wrote."""
    parts = snake.split("_")
    camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
    if isinstance(config, dict) and camel in config and snake not in config:
        return camel, config.get(camel)
    return snake, config.get(snake) if isinstance(config, dict) else None


def _adk_tool_declarations(tools: Any) -> list[Any]:
    out: list[Any] = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        decls = tool.get("function_declarations", tool.get("functionDeclarations"))
        if isinstance(decls, list):
            out.extend(decls)
        else:
            out.append({k: v for k, v in tool.items() if v is not None})
    return out


def _adk_aspects(args: Sequence[Any]) -> list[Aspect]:
    req, root = _adk_request(args)
    raw = req.get("config")
    config: dict[str, Any] = raw if isinstance(raw, dict) else {}
    sys_key, system = _adk_get(config, "system_instruction")
    tools_key, tools = _adk_get(config, "tools")
    schema_keys = [
        _adk_get(config, k)[0]
        for k in ("response_schema", "response_json_schema", "response_mime_type")
    ]
    settings = {k: v for k, v in config.items() if k not in (sys_key, tools_key, *schema_keys)}
    return [
        Aspect("prompt", "system instruction", f"{root}config.{sys_key}", system),
        Aspect("model-settings", "model", f"{root}model", req.get("model")),
        Aspect(
            "model-settings",
            "generation config",
            f"{root}config#settings",
            settings,
            covers=tuple(f"{root}config.{k}" for k in settings),
        ),
        Aspect(
            "tools",
            "tools",
            f"{root}config.{tools_key}",
            _adk_tool_declarations(tools),
            key=_name_of,
        ),
        Aspect(
            "output-schema",
            "output schema",
            f"{root}config#output",
            {k: config.get(k) for k in schema_keys},
            covers=tuple(f"{root}config.{k}" for k in schema_keys),
        ),
        Aspect("input", "conversation input", f"{root}contents", req.get("contents")),
    ]


# ----------------------------------------------------------------------------- Google GenAI

# The Gemini SDK's HTTP calls, run as activities: the request body is the REST API's
# (camelCase); the model is in the path (``models/gemini-2.5-flash:generateContent``).
_GENAI = frozenset({"gemini_api_client_async_request", "gemini_api_client_async_request_streamed"})
_GENAI_SETTINGS = ("generationConfig", "safetySettings", "toolConfig", "cachedContent")


def _genai_shape(args: Sequence[Any]) -> bool:
    return (
        len(args) == 1
        and isinstance(args[0], dict)
        and {"http_method", "path", "request_dict"} <= set(args[0])
    )


def _genai_text(content: Any) -> Any:
    """A system instruction's text when it is all text parts, else the content as sent."""
    parts = content.get("parts") if isinstance(content, dict) else None
    if (
        isinstance(parts, list)
        and parts
        and all(isinstance(p, dict) and set(p) == {"text"} for p in parts)
    ):
        return "\n".join(str(p["text"]) for p in parts)
    return content


def _genai_settings(req: dict[str, Any]) -> dict[str, Any]:
    """The generation config's fields (temperature, ...) with the other request settings."""
    config = req.get("generationConfig")
    out = dict(config) if isinstance(config, dict) else {}
    if config is not None and not isinstance(config, dict):
        out["generationConfig"] = config
    out.update((k, req[k]) for k in _GENAI_SETTINGS[1:] if k in req)
    return out


#: The telemetry tokens the Gemini SDK adds to every request's ``user-agent`` and
#: ``x-goog-api-client`` headers (``google-genai-sdk/1.52.0 gl-python/3.11.7``): a new
#: google-genai or Python patch release on the worker is not a change to the workflow.
_GENAI_TELEMETRY = re.compile(r"\b(google-genai-sdk|gl-python)/[^\s]+")
_GENAI_TELEMETRY_HEADERS = frozenset({"user-agent", "x-goog-api-client"})


def _genai_normalize(args: list[Any]) -> list[Any]:
    for a in args:
        options = a.get("http_options_overrides") if isinstance(a, dict) else None
        headers = options.get("headers") if isinstance(options, dict) else None
        if not isinstance(headers, dict):
            continue
        for name, value in headers.items():
            if name.lower() in _GENAI_TELEMETRY_HEADERS and isinstance(value, str):
                headers[name] = _GENAI_TELEMETRY.sub(rf"\1/{VOLATILE}", value)
    return args


def _genai_aspects(args: Sequence[Any]) -> list[Aspect]:
    a = args[0]
    raw = a.get("request_dict")
    req: dict[str, Any] = raw if isinstance(raw, dict) else {}
    sys_key = "system_instruction" if "system_instruction" in req else "systemInstruction"
    return [
        Aspect(
            "prompt",
            "system instruction",
            f"0.request_dict.{sys_key}",
            _genai_text(req.get(sys_key)),
        ),
        Aspect(
            "model-settings",
            "model",
            "0.path",
            a.get("path"),
            covers=("0.path", "0.request_dict._url"),
        ),
        Aspect(
            "model-settings",
            "generation config",
            "0.request_dict#settings",
            _genai_settings(req),
            covers=tuple(f"0.request_dict.{k}" for k in _GENAI_SETTINGS),
        ),
        Aspect(
            "tools",
            "tools",
            "0.request_dict.tools",
            _adk_tool_declarations(req.get("tools")),
            key=_name_of,
        ),
        Aspect("input", "contents", "0.request_dict.contents", req.get("contents")),
    ]


# ----------------------------------------------------------------------------- DeepAgents

_DEEP_MODEL = frozenset({"deepagents.invoke_model", "deepagents.invoke_model_streaming"})


def _deep_shape(args: Sequence[Any]) -> bool:
    return (
        len(args) == 1
        and isinstance(args[0], dict)
        and {"model_name", "messages", "tool_schemas", "bind_kwargs"} <= set(args[0])
    )


def _lc_type(message: Any) -> str | None:
    """The message type of a ``langchain_core.load.dumpd`` message (``system``, ``human``)."""
    if not isinstance(message, dict):
        return None
    kwargs = message.get("kwargs")
    if isinstance(kwargs, dict) and isinstance(kwargs.get("type"), str):
        return str(kwargs["type"])
    ident = message.get("id")
    if isinstance(ident, list) and ident and isinstance(ident[-1], str):
        return str(ident[-1]).removesuffix("Message").lower() or None
    return None


def _deep_aspects(args: Sequence[Any]) -> list[Aspect]:
    a = args[0]
    messages = a.get("messages") if isinstance(a.get("messages"), list) else []
    system = [(m.get("kwargs") or {}).get("content") for m in messages if _lc_type(m) == "system"]
    rest = [m for m in messages if _lc_type(m) != "system"]

    def tool_name(t: Any) -> str:
        fn = t.get("function") if isinstance(t, dict) else None
        return str(fn["name"]) if isinstance(fn, dict) and "name" in fn else _name_of(t)

    return [
        Aspect(
            "prompt",
            "system prompt",
            "0.messages#system",
            system[0] if len(system) == 1 else system,
            covers=(),
        ),
        Aspect("model-settings", "model", "0.model_name", a.get("model_name")),
        Aspect("model-settings", "model settings", "0.bind_kwargs", a.get("bind_kwargs")),
        Aspect("tools", "tools", "0.tool_schemas", a.get("tool_schemas"), key=tool_name),
        Aspect("input", "conversation input", "0.messages", rest),
    ]


def _deep_agent(_t: str, args: Sequence[Any], _s: Any) -> str | None:
    # The agent's name (`create_deep_agent(name=...)`) is on its own earlier turns (AI
    # messages) in the conversation; its first model call carries none (the plugin sends
    # no run metadata and fixes the activity summary to `invoke_model[<model>]`).
    a = args[0] if args and isinstance(args[0], dict) else {}
    messages = a.get("messages")
    for m in reversed(messages if isinstance(messages, list) else []):
        name = (m.get("kwargs") or {}).get("name") if isinstance(m, dict) else None
        if _lc_type(m) == "ai" and isinstance(name, str) and name:
            return name
    return None


_DEEP_VOLATILE = (
    # DeepAgents' loop is a LangGraph graph in the workflow: add_messages gives messages
    # without an id a uuid4 (real `uuid`; the plugin installs no uuid shim), in dumpd form
    "messages.*.kwargs.id",
)


INTEGRATIONS: tuple[Integration, ...] = (
    Integration(
        name="OpenAI Agents",
        distributions=("openai-agents",),
        activity=lambda t: t in _OPENAI_MODEL,
        shape=_openai_shape,
        model_call=lambda t: t in _OPENAI_MODEL,
        aspects=_openai_aspects,
        agent=_summary_agent,
        docs="temporalio.openai_agents: invoke_model_activity(ActivityModelInput)",
    ),
    Integration(
        name="DeepAgents",
        distributions=("deepagents", "langchain-core", "langgraph"),
        activity=lambda t: t.startswith("deepagents."),
        shape=_deep_shape,
        volatile=_DEEP_VOLATILE,
        model_call=lambda t: t in _DEEP_MODEL,
        aspects=_deep_aspects,
        agent=_deep_agent,
        docs="temporalio.deepagents: deepagents.invoke_model(ModelActivityInput)",
    ),
    Integration(
        name="Strands",
        distributions=("strands-agents",),
        activity=lambda t: t in _INVOKE_MODEL,
        shape=_strands_shape,
        volatile=_STRANDS_VOLATILE,
        normalize=_strands_normalize,
        model_call=lambda t: t in _INVOKE_MODEL,
        aspects=_strands_aspects,
        agent=_summary_agent,  # TemporalAgent(summary=...); no name otherwise
        docs="temporalio.strands_agents: invoke_model(_InvokeModelInput)",
    ),
    Integration(
        name="Google ADK",
        distributions=("google-adk", "google-genai"),
        activity=lambda t: t in _INVOKE_MODEL,
        shape=_adk_shape,
        model_call=lambda t: t in _INVOKE_MODEL,
        aspects=_adk_aspects,
        agent=_summary_agent,
        docs="temporalio.google_adk: invoke_model(LlmRequest)",
    ),
    Integration(
        name="Google GenAI",
        distributions=("google-genai",),
        activity=lambda t: t in _GENAI,
        shape=_genai_shape,
        model_call=lambda t: t in _GENAI,
        aspects=_genai_aspects,
        normalize=_genai_normalize,
        docs="temporalio.google_genai: gemini_api_client_async_request(_GeminiApiRequest)",
    ),
    Integration(
        name="LangGraph",
        distributions=("langgraph", "langchain-core"),
        activity=lambda t: "." in t,
        shape=_langgraph_shape,
        volatile=_LANGGRAPH_VOLATILE,
        model_call=lambda t: "." in t,
        aspects=_langgraph_aspects,
        agent=_langgraph_agent,
        docs="temporalio.langgraph: {graph}.{node}(ActivityInput(args, kwargs, langgraph_config))",
    ),
    Integration(
        name="Pydantic AI",
        distributions=("pydantic-ai-slim",),
        activity=_pai_activity,
        shape=_pai_shape,
        volatile=_PAI_VOLATILE,
        normalize=_pai_normalize,
        model_call=_pai_model,
        aspects=_pai_aspects,
        agent=_pai_agent,
        docs="pydantic_ai.durable_exec.temporal: agent__{name}__model_request(_RequestParams, deps)",
    ),
)


# ----------------------------------------------------------------------------- releases


@functools.cache
def framework_versions() -> dict[str, str]:
    """The installed release of every distribution an integration names (those installed):
    what ``record`` and the pytest harvest stamp into each history's metadata."""
    import importlib.metadata

    out: dict[str, str] = {}
    for name in sorted({d for integ in INTEGRATIONS for d in integ.distributions}):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def framework_upgrade_note(integration: str, recorded: Mapping[str, str]) -> str | None:
    """A sentence for a finding on ``integration``'s activity when the history was recorded
    with other releases of its distributions than are installed now; None otherwise (or
    when the history does not say)."""
    integ = next((i for i in INTEGRATIONS if i.name == integration), None)
    if integ is None or not recorded:
        return None
    installed = framework_versions()
    changed = [
        f"{d} {recorded[d]} -> {installed.get(d, 'not installed')}"
        for d in integ.distributions
        if d in recorded and recorded[d] != installed.get(d)
    ]
    if not changed:
        return None
    return (
        f"this history was recorded with another {integ.name} release ({', '.join(changed)}): "
        "this difference may be the framework's own (what it sends changed between "
        "releases), not your code; if so, re-record the history with the installed release"
    )
