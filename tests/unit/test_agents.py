"""Model calls explained in agent terms, volatile values, long-text diffs, dotted allow rules.

Payloads are built with the integrations' own types and converters: an OpenAI Agents
``ActivityModelInput`` made by the plugin's model stub from real ``agents`` tools, handoffs
and output schemas and encoded with the plugin's data converter; LangGraph's
``ActivityInput`` with langchain messages; Pydantic AI's ``_RequestParams`` with its own
message and tool types, encoded with the Pydantic AI plugin's converter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import temporalio.api.common.v1 as common
import temporalio.api.history.v1 as history
import temporalio.api.sdk.v1 as sdk
import temporalio.api.taskqueue.v1 as taskqueue
import temporalio.bridge.proto.workflow_commands as wf_commands
import temporalio.converter
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType

from replaykit import ConfigError
from replaykit._internal._frames import SDK as _SDK
from replaykit._internal._frames import THIRD_PARTY as _THIRD_PARTY
from replaykit._internal._frames import USER as _USER
from replaykit._internal._frames import file_kind as _file_kind
from replaykit.check import CheckOptions, Divergence
from replaykit.check._capture import CapturedCommand, RunCapture
from replaykit.check._engine import _allowed, _verdict
from replaykit.check._strict import compare_run, value_diff
from replaykit.config import load_project_config
from replaykit.history import HistoryFile
from replaykit.history._textdiff import text_diff
from replaykit.integrations._agents import find_integration, mask_volatile, parse_volatile_rules

# ----------------------------------------------------------------------------- helpers


def _compare(
    activity: str,
    recorded: Sequence[temporalio.api.common.v1.Payload],
    current: Sequence[temporalio.api.common.v1.Payload],
    *,
    summary: temporalio.api.common.v1.Payload | None = None,
    volatile: Sequence[str] = (),
) -> list[Divergence]:
    """Strict comparison of one scheduled activity (recorded event vs the command now)."""
    ev = history.HistoryEvent(
        event_id=5,
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        activity_task_scheduled_event_attributes=history.ActivityTaskScheduledEventAttributes(
            activity_id="1",
            activity_type=common.ActivityType(name=activity),
            task_queue=taskqueue.TaskQueue(name="tq"),
            input=common.Payloads(payloads=list(recorded)),
        ),
    )
    if summary is not None:
        ev.user_metadata.CopyFrom(sdk.UserMetadata(summary=summary))
    cmd = wf_commands.WorkflowCommand(
        schedule_activity=wf_commands.ScheduleActivity(
            seq=1,
            activity_id="1",
            activity_type=activity,
            task_queue="tq",
            arguments=list(current),
        )
    )
    if summary is not None:
        cmd.user_metadata.CopyFrom(sdk.UserMetadata(summary=summary))
    capture = RunCapture(
        run_id="r", workflow_type="W", task_queue="tq", commands=[CapturedCommand(cmd, 0)]
    )
    found = compare_run([ev], capture, task_queue="tq", volatile=volatile)
    return [d for d in found if d.kind == "drift"]


# ----------------------------------------------------------------------------- long texts

PROMPT = " ".join(
    f"Rule {n}: look order {n} up first and quote its status exactly as the tool returns it."
    for n in range(1, 50)
)


def test_a_change_halfway_through_a_long_prompt_shows_the_changed_words() -> None:
    assert len(PROMPT) > 4000
    changed = PROMPT.replace("Rule 25: look order 25 up first", "Rule 25: look order 25 up last")
    diff = text_diff(PROMPT, changed)
    assert diff.splitlines()[0] == f"text changed ({len(PROMPT)} -> {len(changed)} chars):"
    assert "[-first-]{+last+}" in diff
    assert "… 25: look order 25 up [-first-]{+last+} and quote its status" in diff  # context
    assert diff.count("…") == 2 and len(diff) < 200  # ... and the rest elided
    # the same inside any value diff (nested, as in an activity's input)
    nested = value_diff([{"system": PROMPT}], [{"system": changed}])
    assert nested.startswith("args[0]['system']: text changed")
    assert "[-first-]{+last+}" in nested


def test_multi_line_texts_are_diffed_by_line() -> None:
    a = "\n".join(f"line {n}: keep the customer informed." for n in range(40))
    b = a.replace("line 20: keep", "line 20: never keep")
    diff = text_diff(a, b)
    assert "by line" in diff.splitlines()[0]
    assert "  - line 20: keep the customer informed." in diff
    assert "  + line 20: never keep the customer informed." in diff
    assert "    line 19: keep the customer informed." in diff  # one line of context
    assert "line 5:" not in diff


def test_long_string_options_get_a_text_diff_too() -> None:
    # a finding without a value diff (here an activity summary) still shows the changed words
    conv = temporalio.converter.default().payload_converter
    old, new = (
        "Summary: " + PROMPT[:300],
        "Summary: " + PROMPT[:300].replace("Rule 2:", "Rule two:"),
    )
    ev = history.HistoryEvent(
        event_id=5,
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        activity_task_scheduled_event_attributes=history.ActivityTaskScheduledEventAttributes(
            activity_id="1",
            activity_type=common.ActivityType(name="a"),
            task_queue=taskqueue.TaskQueue(name="tq"),
        ),
        user_metadata=sdk.UserMetadata(summary=conv.to_payload(old)),
    )
    cmd = wf_commands.WorkflowCommand(
        schedule_activity=wf_commands.ScheduleActivity(
            seq=1, activity_id="1", activity_type="a", task_queue="tq"
        ),
        user_metadata=sdk.UserMetadata(summary=conv.to_payload(new)),
    )
    capture = RunCapture(
        run_id="r", workflow_type="W", task_queue="tq", commands=[CapturedCommand(cmd, 0)]
    )
    (d,) = [d for d in compare_run([ev], capture, task_queue="tq") if d.cause == "summary"]
    assert d.diff is not None and "[-2-]{+two+}" in d.diff
    assert "[-2-]{+two+}" in d.describe()


def test_short_values_keep_the_plain_arrow() -> None:
    assert value_diff(["a"], ["b"]) == "args[0]: 'a' -> 'b'"


# ----------------------------------------------------------------------------- OpenAI Agents

agents = pytest.importorskip("agents")
pytest.importorskip(
    "temporalio.openai_agents",
    reason="temporalio.openai_agents is in temporalio>=1.35 only (replaykit[openai-agents])",
)
from agents import Agent, AgentOutputSchema, ModelSettings, ModelTracing, function_tool, handoff  # noqa: E402
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin  # noqa: E402
from temporalio.openai_agents._temporal_model_stub import _TemporalModelStub  # noqa: E402


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up by its id.

    Args:
        order_id: The order's id.
    """
    return order_id


@function_tool
def cancel_order(order_id: str) -> str:
    """Cancel an order."""
    return order_id


@function_tool(name_override="lookup_order")
def lookup_order_v2(order_id: str, region: str) -> str:
    """Look an order up by its id.

    Args:
        order_id: The order's id.
        region: Where it ships.
    """
    return order_id


class Verdict(BaseModel):
    approved: bool


def _oa_converter() -> temporalio.converter.DataConverter:
    config = OpenAIAgentsPlugin().configure_client(
        {"data_converter": temporalio.converter.DataConverter.default}  # type: ignore[typeddict-item]
    )
    return config["data_converter"]


def _oa_payloads(**changes: Any) -> list[temporalio.api.common.v1.Payload]:
    """The model activity's input as the plugin builds and encodes it."""
    refunds = Agent(name="Refunds", instructions="You process refunds.")
    kwargs: dict[str, Any] = {
        "system_instructions": PROMPT,
        "input": [{"role": "user", "content": "Where is order 42?"}],
        "model_settings": ModelSettings(temperature=0.2),
        "tools": [lookup_order],
        "output_schema": None,
        "handoffs": [handoff(refunds)],
        "tracing": ModelTracing.ENABLED,
        "previous_response_id": None,
        "conversation_id": None,
        "prompt": None,
    }
    model_name = changes.pop("model_name", "gpt-4o-mini")
    kwargs.update(changes)
    stub = _TemporalModelStub(model_name, model_params=ModelActivityParameters(), agent=None)
    activity_input, _ = stub._build_activity_input(**kwargs)
    return _oa_converter().payload_converter.to_payloads([activity_input])


def _oa(**changes: Any) -> list[Divergence]:
    summary = _oa_converter().payload_converter.to_payload("Triage")
    return _compare(
        "invoke_model_activity", _oa_payloads(), _oa_payloads(**changes), summary=summary
    )


def test_openai_agents_input_is_recognised_by_name_and_shape() -> None:
    decoded = temporalio.converter.default().payload_converter.from_payloads(_oa_payloads())
    integ = find_integration("invoke_model_activity", decoded)
    assert integ is not None and integ.name == "OpenAI Agents"
    assert find_integration("invoke_model_activity", [{"prompt": "x"}]) is None  # not its shape
    assert _oa() == []


def test_openai_prompt_change_is_a_prompt_finding_naming_the_agent() -> None:
    changed = PROMPT.replace("Rule 25: look order 25 up first", "Rule 25: look order 25 up last")
    (d,) = _oa(system_instructions=changed)
    assert (d.cause, d.agent, d.integration) == ("prompt", "Triage", "OpenAI Agents")
    assert d.message == (
        "activity invoke_model_activity: agent 'Triage' (OpenAI Agents): instructions changed"
    )
    assert d.field == "input.system_instructions"
    assert d.diff is not None and "[-first-]{+last+}" in d.diff
    assert d.recorded == PROMPT and d.current == changed
    assert "--allow prompt" in (d.hint or "")


def test_openai_tools_added_removed_and_schema_changed_by_name() -> None:
    (added,) = _oa(tools=[lookup_order, cancel_order])
    assert added.cause == "tools"
    assert added.message.endswith("tools: added cancel_order")
    assert [(i["name"], i["change"]) for i in added.items] == [("cancel_order", "added")]
    (removed,) = _oa(tools=[])
    assert removed.message.endswith("tools: removed lookup_order")
    (schema,) = _oa(tools=[lookup_order_v2])
    assert schema.message.endswith("tools: lookup_order: schema changed")
    assert schema.diff is not None and "region" in schema.diff


def test_openai_model_settings_handoffs_output_schema_and_input() -> None:
    by_cause = {d.cause: d for d in _oa(model_settings=ModelSettings(temperature=0.7))}
    assert set(by_cause) == {"model-settings"}
    assert by_cause["model-settings"].message.endswith("model settings changed (temperature)")
    assert "model_settings['temperature']: 0.2 -> 0.7" in (by_cause["model-settings"].diff or "")
    (model,) = _oa(model_name="gpt-5")
    assert (model.cause, model.field) == ("model-settings", "input.model_name")
    (handoffs,) = _oa(handoffs=[])
    assert handoffs.cause == "handoffs" and handoffs.message.endswith("handoffs: removed Refunds")
    (schema,) = _oa(output_schema=AgentOutputSchema(Verdict))
    assert schema.cause == "output-schema"
    (conversation,) = _oa(input=[{"role": "user", "content": "Where is order 43?"}])
    assert conversation.cause == "input" and conversation.field == "input.input"


def test_several_changes_give_one_finding_each_and_each_is_allowable() -> None:
    found = _oa(system_instructions="Be brief.", tools=[], model_settings=ModelSettings(top_p=0.5))
    assert sorted(d.cause for d in found) == ["model-settings", "prompt", "tools"]
    started = history.HistoryEvent(
        event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    hf = HistoryFile(path=None, workflow_id="w", history=history.History(events=[started]))

    def verdict(*allow: str) -> str:
        return _verdict(
            hf, list(found), CheckOptions(allow=allow), seconds=0, stock_error=None
        ).status

    assert verdict("prompt", "tools") == "divergent"
    assert verdict("prompt", "tools", "model-settings") == "clean"
    assert verdict("activity-input") == "clean"  # the agent causes refine activity-input
    assert verdict("activity:invoke_model_activity.input") == "clean"


def test_other_input_fields_are_still_reported() -> None:
    (d,) = _oa(tracing=ModelTracing.DISABLED)
    assert d.cause == "activity-input" and "other input arguments changed" in d.message
    assert "tracing" in (d.diff or "")


# ----------------------------------------------------------------------------- LangGraph

pytest.importorskip(
    "temporalio.langgraph",
    reason="temporalio.langgraph is in temporalio>=1.35 only (replaykit[langgraph])",
)
from langchain_core.messages import HumanMessage  # noqa: E402
from temporalio.langgraph._activity import ActivityInput  # noqa: E402


def _lg_config(checkpoint: str, task: str, started: float) -> dict[str, Any]:
    """A node activity's ``langgraph_config`` as the plugin sends it (values of a real run)."""
    ns = f"agent:{task}"
    return {
        "tags": [],
        "metadata": {
            "langgraph_step": 1,
            "langgraph_node": "agent",
            "langgraph_triggers": ["branch:to:agent"],
            "langgraph_path": ["__pregel_pull", "agent"],
            "langgraph_checkpoint_ns": ns,
        },
        "configurable": {
            "checkpoint_ns": ns,
            "checkpoint_id": None,
            "checkpoint_map": {"": checkpoint},
            "__pregel_task_id": task,
            "__pregel_scratchpad": {"step": 1, "stop": 10007, "resume": [], "null_resume": None},
        },
        "context": None,
        "previous": None,
        "execution_info": {
            "checkpoint_id": checkpoint,
            "checkpoint_ns": ns,
            "task_id": task,
            "thread_id": None,
            "run_id": None,
            "node_attempt": 1,
            "node_first_attempt_time": started,
        },
    }


def _lg(question: str, checkpoint: str, task: str, started: float, msg_id: str) -> Any:
    state = {"messages": [HumanMessage(content=question, id=msg_id)]}
    value = ActivityInput(
        args=(state,), kwargs={}, langgraph_config=_lg_config(checkpoint, task, started)
    )
    return temporalio.converter.default().payload_converter.to_payloads([value])


RUN_A = (
    "1f1edccc-ec30-6f86-8000-0e7d308c4797",
    "20e36318-1895-d0fd-3393-0fdce844c3d3",
    1796159932.3198915,
    "3fcc02db-81b6-465b-98a8-abdac0fe774b",
)
RUN_B = (
    "1f1edccc-ed5b-6772-8000-c27221e22d43",
    "54666d95-da65-4649-2325-fc9e7e210d99",
    1796159932.4421606,
    "6309facb-17e7-497b-b2db-fb4bb2e18a6d",
)


def test_langgraph_checkpoint_and_task_ids_are_volatile() -> None:
    assert _compare("react-agent.agent", _lg("refund?", *RUN_A), _lg("refund?", *RUN_B)) == []
    # without the built-in rules the same two runs differ (what replaykit used to report)
    decoded = [
        temporalio.converter.default().payload_converter.from_payloads(_lg("refund?", *r))
        for r in (RUN_A, RUN_B)
    ]
    assert decoded[0] != decoded[1]
    integ = find_integration("react-agent.agent", decoded[0])
    assert integ is not None and integ.name == "LangGraph"
    assert mask_volatile("react-agent.agent", decoded[0], integ) == mask_volatile(
        "react-agent.agent", decoded[1], integ
    )


def test_replaykit_diff_of_two_langgraph_runs_ignores_the_volatile_values() -> None:
    from replaykit.views._diff import _activity_values

    a = _activity_values("react-agent.agent", _lg("refund?", *RUN_A))
    assert a == _activity_values("react-agent.agent", _lg("refund?", *RUN_B))
    assert a != _activity_values("react-agent.agent", _lg("refund now?", *RUN_B))


def test_langgraph_state_change_is_reported_without_the_volatile_noise() -> None:
    (d,) = _compare("react-agent.agent", _lg("refund?", *RUN_A), _lg("refund now?", *RUN_B))
    assert (d.cause, d.agent, d.integration) == (
        "input",
        "graph 'react-agent', node 'agent'",
        "LangGraph",
    )
    assert d.field == "input.args"
    assert d.diff == "args[0]['messages'][0]['content']: 'refund?' -> 'refund now?'"


def test_langgraph_system_messages_in_the_state_are_the_prompt() -> None:
    from langchain_core.messages import SystemMessage

    conv = temporalio.converter.default().payload_converter

    def payloads(prompt: str, run: tuple[str, str, float, str]) -> Any:
        state = {
            "messages": [
                SystemMessage(content=prompt, id="s1"),
                HumanMessage(content="refund?", id=run[3]),
            ]
        }
        return conv.to_payloads(
            [ActivityInput(args=(state,), kwargs={}, langgraph_config=_lg_config(*run[:3]))]
        )

    rec = payloads(PROMPT, RUN_A)
    assert _compare("react-agent.agent", rec, payloads(PROMPT, RUN_B)) == []
    changed = PROMPT.replace("look order 25 up first", "look order 25 up last")
    (d,) = _compare("react-agent.agent", rec, payloads(changed, RUN_B))
    assert (d.cause, d.agent) == ("prompt", "graph 'react-agent', node 'agent'")
    assert "[-first-]{+last+}" in (d.diff or "")


def test_user_volatile_rules_match_full_dotted_activity_names() -> None:
    rec, cur = _lg("refund?", *RUN_A), _lg("refund now?", *RUN_B)
    rule = "activity:react-agent.agent.args.*.messages.*.content"
    assert _compare("react-agent.agent", rec, cur, volatile=[rule]) == []
    assert (
        _compare("react-agent.agent", rec, cur, volatile=["activity:*.agent.args.**.content"]) == []
    )
    # a rule for another activity does not apply
    assert (
        len(
            _compare(
                "react-agent.agent",
                rec,
                cur,
                volatile=["activity:react-agent.other.args.*.messages.*.content"],
            )
        )
        == 1
    )
    # and a rule works on any activity, integration or not
    conv = temporalio.converter.default().payload_converter
    plain = _compare(
        "fetch.page",
        conv.to_payloads([{"url": "u", "at": 1}]),
        conv.to_payloads([{"url": "u", "at": 2}]),
        volatile=["activity:fetch.page.at"],
    )
    assert plain == []


def test_volatile_rules_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="activity:NAME.PATH"):
        parse_volatile_rules(["react-agent.agent.input"])
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.replaykit]\nvolatile = ["activity:my.graph.node.args.*.id"]\n')
    assert load_project_config(pyproject).volatile == ("activity:my.graph.node.args.*.id",)


# ----------------------------------------------------------------------------- Pydantic AI

from pydantic_ai.durable_exec.temporal import PydanticAIPlugin  # noqa: E402
from pydantic_ai.durable_exec.temporal._transports import _RequestParams  # noqa: E402
from pydantic_ai.messages import ModelRequest, SystemPromptPart, UserPromptPart  # noqa: E402
from pydantic_ai.models import ModelRequestParameters  # noqa: E402
from pydantic_ai.tools import ToolDefinition  # noqa: E402


def _pai_payloads(
    *,
    prompt: str = "You are helpful.",
    when: datetime,
    capability: str,
    tools: Sequence[str] = ("lookup_order",),
    temperature: float = 0.1,
) -> Any:
    params = _RequestParams(
        messages=[
            ModelRequest(
                parts=[
                    SystemPromptPart(content=prompt, timestamp=when),
                    UserPromptPart(content="Where is 42?", timestamp=when),
                ],
                timestamp=when,
            )
        ],
        model_settings={"temperature": temperature},
        model_request_parameters=ModelRequestParameters(
            function_tools=[
                ToolDefinition(
                    name=name,
                    description=f"{name} tool",
                    parameters_json_schema={"type": "object", "properties": {}},
                )
                for name in tools
            ]
        ),
        serialized_run_context={
            "run_id": "r1",
            "run_step": 1,
            "active_capability_ids": [f"<temporal_durability:{capability}>", "tool_search"],
        },
        model_id=None,
    )
    config = PydanticAIPlugin().configure_client(
        {"data_converter": temporalio.converter.DataConverter.default}  # type: ignore[typeddict-item]
    )
    return config["data_converter"].payload_converter.to_payloads([params, None])


T1, T2 = datetime(2026, 12, 1, 21, 0, tzinfo=UTC), datetime(2026, 12, 1, 21, 5, tzinfo=UTC)


def test_pydantic_ai_timestamps_and_capability_addresses_are_volatile() -> None:
    rec = _pai_payloads(when=T1, capability="3027a1")
    assert (
        _compare("agent__helper__model_request", rec, _pai_payloads(when=T2, capability="243e48"))
        == []
    )


def test_pydantic_ai_prompt_tools_and_settings_are_named() -> None:
    rec = _pai_payloads(when=T1, capability="3027a1")
    cur = _pai_payloads(
        prompt="You are terse.",
        tools=("lookup_order", "refund"),
        temperature=0.9,
        when=T2,
        capability="243e48",
    )
    by_cause = {d.cause: d for d in _compare("agent__helper__model_request", rec, cur)}
    assert set(by_cause) == {"prompt", "tools", "model-settings"}, by_cause
    assert all(d.agent == "helper" and d.integration == "Pydantic AI" for d in by_cause.values())
    assert by_cause["tools"].message.endswith("tools: added refund")
    assert "'You are helpful.' -> 'You are terse.'" in (by_cause["prompt"].diff or "")


# ----------------------------------------------------------------------------- Strands, DeepAgents


def _plugin_converter(plugin: Any) -> temporalio.converter.DataConverter:
    config = plugin.configure_client({"data_converter": temporalio.converter.DataConverter.default})
    return config["data_converter"]


def test_strands_system_prompt_and_tool_specs() -> None:
    pytest.importorskip("temporalio.strands_agents")
    from strands import tool
    from temporalio.strands_agents import StrandsPlugin
    from temporalio.strands_agents._model_activity import _InvokeModelInput

    @tool
    def lookup_order(order_id: str) -> str:
        """Look an order up.

        Args:
            order_id: The order's id.
        """
        return order_id

    @tool(name="lookup_order")
    def lookup_order_v2(order_id: str, region: str) -> str:
        """Look an order up.

        Args:
            order_id: The order's id.
            region: Where it ships.
        """
        return order_id

    conv = _plugin_converter(StrandsPlugin(models={"m": lambda: None}))  # type: ignore[dict-item]

    def payloads(prompt: str, tools: list[Any]) -> Any:
        value = _InvokeModelInput(
            model_name="m",
            messages=[{"role": "user", "content": [{"text": "Where is 42?"}]}],
            tool_specs=[t.tool_spec for t in tools],
            system_prompt=prompt,
        )
        return conv.payload_converter.to_payloads([value])

    rec = payloads(PROMPT, [lookup_order])
    assert _compare("invoke_model", rec, payloads(PROMPT, [lookup_order])) == []
    changed = PROMPT.replace("look order 25 up first", "look order 25 up last")
    by_cause = {
        d.cause: d for d in _compare("invoke_model", rec, payloads(changed, [lookup_order_v2]))
    }
    assert set(by_cause) == {"prompt", "tools"}
    assert by_cause["prompt"].integration == "Strands"
    assert "[-first-]{+last+}" in (by_cause["prompt"].diff or "")
    assert by_cause["tools"].message.endswith("tools: lookup_order: schema changed")


def _strands_call(prompt: str, tools: list[str], ids: str, model: str = "m") -> Any:
    """An ``invoke_model`` input as TemporalModel sends it on a second turn: the prompt also
    as content blocks, and the agent's state again in invocation_state (the prompt, the tool
    config, its messages with random tracking ids)."""
    pytest.importorskip("temporalio.strands_agents")
    from temporalio.strands_agents import StrandsPlugin
    from temporalio.strands_agents._model_activity import _InvokeModelInput

    specs = [{"name": t, "description": f"{t} tool", "inputSchema": {"json": {}}} for t in tools]
    messages = [
        {"role": "user", "content": [{"text": "Where is 42?"}]},
        {"role": "assistant", "content": [{"text": "Looking."}]},
    ]
    value = _InvokeModelInput(
        model_name=model,
        messages=messages,
        invocation_state={
            "request_state": {},
            "messages": [
                {**m, "tracking_id": f"{ids}-{n}", "metadata": {"usage": {"inputTokens": 0}}}
                for n, m in enumerate(messages)
            ],
            "system_prompt": prompt,
            "tool_config": {
                "tools": [{"toolSpec": spec} for spec in specs],
                "toolChoice": {"auto": {}},
            },
        },
        tool_specs=specs,
        system_prompt=prompt,
        system_prompt_content=[{"text": prompt}],
    )
    conv = _plugin_converter(StrandsPlugin(models={"m": lambda: None}))  # type: ignore[dict-item]
    return conv.payload_converter.to_payloads([value])


def test_strands_state_sent_twice_is_one_finding_per_cause() -> None:
    rec = _strands_call("Be polite.", ["lookup", "cancel"], ids="a")
    # the tracking ids are new on every run: nothing else changed
    assert (
        _compare("invoke_model", rec, _strands_call("Be polite.", ["lookup", "cancel"], "b")) == []
    )
    # the prompt is sent three times and a tool added in front shifts the tool config: one
    # finding each, and no "other input arguments"
    found = _compare(
        "invoke_model", rec, _strands_call("Be brief.", ["refund", "lookup", "cancel"], "b")
    )
    assert sorted(d.cause for d in found) == ["prompt", "tools"], found
    tools = next(d for d in found if d.cause == "tools")
    assert tools.message.endswith("tools: added refund"), tools.message
    assert tools.agent == "workflow 'W'"  # no summary: the workflow is the agent
    assert "the agent in workflow 'W' (Strands)" in tools.message
    (model,) = _compare(
        "invoke_model", rec, _strands_call("Be polite.", ["lookup", "cancel"], "b", "n")
    )
    assert (model.cause, model.field) == ("model-settings", "input.model_name")
    # TemporalAgent(summary="OrderDesk") is the activity summary: the agent's name
    summary = temporalio.converter.default().payload_converter.to_payload("OrderDesk")
    cur = _strands_call("Be brief.", ["lookup", "cancel"], "b")
    (named,) = _compare("invoke_model", rec, cur, summary=summary)
    assert named.agent == "OrderDesk" and "agent 'OrderDesk' (Strands)" in named.message


def test_strands_a_copy_that_disagrees_is_still_reported() -> None:
    rec = _strands_call("Be polite.", ["lookup"], ids="a")
    conv = temporalio.converter.default().payload_converter
    (value,) = [conv.from_payload(p) for p in _strands_call("Be polite.", ["lookup"], ids="b")]
    value["invocation_state"]["system_prompt"] = "Be rude."
    (d,) = _compare("invoke_model", rec, conv.to_payloads([value]))
    assert d.cause == "activity-input" and "Be rude." in (d.diff or ""), d


def _adk_call(**config: Any) -> Any:
    pytest.importorskip("temporalio.google_adk")
    from google.adk.models.llm_request import LlmRequest
    from google.genai import types
    from temporalio.google_adk import GoogleAdkPlugin

    model = config.pop("model", "gemini-2.5-flash")
    value = LlmRequest(
        model=model,
        contents=[types.Content(role="user", parts=[types.Part(text="Where is 42?")])],
        config=types.GenerateContentConfig(system_instruction="Be polite.", **config),
    )
    return _plugin_converter(GoogleAdkPlugin()).payload_converter.to_payloads([value])


def test_adk_settings_are_one_finding_whichever_side_has_them() -> None:
    rec = _adk_call()  # no temperature recorded
    (d,) = _compare("invoke_model", rec, _adk_call(temperature=0.7))
    assert d.cause == "model-settings" and "generation config changed (temperature)" in d.message
    # the model and a setting changed together: still one model-settings finding
    (both,) = _compare("invoke_model", rec, _adk_call(model="gemini-2.5-pro", top_p=0.5))
    assert both.cause == "model-settings", both
    assert "model changed; generation config changed (top_p)" in both.message, both.message
    assert "gemini-2.5-pro" in (both.diff or "") and "top_p" in (both.diff or ""), both.diff


def test_genai_request_aspects() -> None:
    pytest.importorskip("temporalio.google_genai")
    from google.genai import Client
    from temporalio.google_genai import GoogleGenAIPlugin
    from temporalio.google_genai._models import _GeminiApiRequest

    conv = _plugin_converter(GoogleGenAIPlugin(Client(api_key="offline"))).payload_converter

    def call(system: str, temperature: float, tools: list[str]) -> Any:
        body = {
            "_url": {"model": "models/gemini-2.5-flash"},
            "contents": [{"parts": [{"text": "Where is 42?"}], "role": "user"}],
            "systemInstruction": {"parts": [{"text": system}], "role": "user"},
            "tools": [{"functionDeclarations": [{"name": t, "description": t} for t in tools]}],
            "generationConfig": {"temperature": temperature},
        }
        req = _GeminiApiRequest(
            http_method="post", path="models/gemini-2.5-flash:generateContent", request_dict=body
        )
        return conv.to_payloads([req])

    act = "gemini_api_client_async_request"
    rec = call("Be polite.", 0.2, ["lookup"])
    assert _compare(act, rec, call("Be polite.", 0.2, ["lookup"])) == []
    found = {d.cause: d for d in _compare(act, rec, call("Be brief.", 0.7, ["refund", "lookup"]))}
    assert set(found) == {"prompt", "tools", "model-settings"}, found
    assert found["prompt"].integration == "Google GenAI"
    assert found["prompt"].diff == "request_dict.systemInstruction: 'Be polite.' -> 'Be brief.'"
    assert found["tools"].message.endswith("tools: added refund")
    assert "generation config changed (temperature)" in found["model-settings"].message


def test_deepagents_system_message_and_tool_schemas() -> None:
    pytest.importorskip("temporalio.deepagents")
    from langchain_core.messages import HumanMessage, SystemMessage
    from temporalio.deepagents import _serde
    from temporalio.deepagents._activity import ModelActivityInput

    conv = temporalio.converter.default().payload_converter
    tool = {
        "type": "function",
        "function": {"name": "ls", "description": "List files.", "parameters": {"type": "object"}},
    }

    def payloads(prompt: str, tools: list[Any], temperature: float = 0.0) -> Any:
        value = ModelActivityInput(
            model_name="fake-model",
            messages=_serde.dump_messages(
                [SystemMessage(content=prompt), HumanMessage(content="Where is 42?", id="m1")]
            ),
            tool_schemas=tools,
            bind_kwargs={"temperature": temperature},
        )
        return conv.to_payloads([value])

    rec = payloads("You are a research assistant.", [tool])
    assert (
        _compare("deepagents.invoke_model", rec, payloads("You are a research assistant.", [tool]))
        == []
    )
    found = _compare(
        "deepagents.invoke_model", rec, payloads("You are a lazy assistant.", [], temperature=0.5)
    )
    by_cause = {d.cause: d for d in found}
    assert set(by_cause) == {"prompt", "tools", "model-settings"}, found
    assert by_cause["tools"].message.endswith("tools: removed ls")
    assert by_cause["prompt"].integration == "DeepAgents"
    assert "'You are a research assistant.' -> 'You are a lazy assistant.'" in (
        by_cause["prompt"].diff or ""
    )


# ----------------------------------------------------------------------------- allow, code lines


def _div(subject: str, field: str, cause: str = "activity-input") -> Divergence:
    return Divergence(kind="drift", cause=cause, message="m", subject=subject, field=field)


def test_allow_rules_match_dotted_activity_names_whole() -> None:
    d = _div("activity react-agent.agent", "input")
    assert _allowed("activity:react-agent.agent.input", d)
    assert _allowed("activity:react-agent.agent", d)
    assert not _allowed("activity:react-agent", d)
    assert not _allowed("activity:react-agent.agent.start_to_close_timeout", d)
    assert _allowed("react-agent.agent.input", d)  # the <subject>.<field> form too
    assert _allowed("activity:search_web.input", _div("activity search_web", "input"))
    assert _allowed("timer.start_to_fire_timeout", _div("timer", "start_to_fire_timeout"))
    prompt = _div("activity invoke_model_activity", "input.system_instructions", cause="prompt")
    assert _allowed("activity:invoke_model_activity.input", prompt)
    assert _allowed("activity:invoke_model_activity.input.system_instructions", prompt)
    assert not _allowed("activity:invoke_model_activity.input.tools", prompt)


def test_code_lines_skip_installed_packages() -> None:
    import agents.run as agents_run
    import temporalio.workflow as twf

    assert _file_kind(agents_run.__file__) == _THIRD_PARTY
    assert _file_kind(twf.__file__) == _SDK
    assert _file_kind(__file__) == _USER
