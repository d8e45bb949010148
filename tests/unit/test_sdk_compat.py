"""One test per assumption ``replaykit/_internal/_sdk_compat.py`` makes about temporalio's private parts.

Each failure names the assumption and the installed temporalio version, so a release that
changes one says exactly what to mend. The error texts are produced for real with the stock
``Replayer`` on small workflows and the histories in ``tests/data`` (no server).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import logging
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import temporalio.worker
import temporalio.workflow
from google.protobuf import json_format
from temporalio.api.enums.v1 import EventType

from replaykit._internal import _sdk_compat
from replaykit.history import load_history

DATA = Path(__file__).resolve().parents[1] / "data"
LOOPER = DATA / "core" / "histories" / "looper_flow" / "looper-1.json"
PARENT = DATA / "core" / "histories" / "parent_flow" / "parent-1.json"
PATCHED = DATA / "patches" / "histories" / "record_v2" / "patch-demo-v2.json"
VERSION = importlib.metadata.version("temporalio")


def broken(assumption: str, detail: object = "") -> str:
    return f"temporalio {VERSION} broke a replaykit assumption: {assumption}" + (
        f" ({detail})" if detail != "" else ""
    )


def impl() -> Any:
    from temporalio.worker import _workflow_instance as wi

    return getattr(wi, "_WorkflowInstanceImpl", None)


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))


_counter = iter(range(10**6))


def workflow_class(directory: Path, source: str, name: str) -> type:
    module = f"sdk_compat_wf_{next(_counter)}"
    (directory / f"{module}.py").write_text(textwrap.dedent(source))
    mod = __import__(module)
    cls: type = getattr(mod, name)
    return cls


def replay(cls: type, path: Path, **worker: Any) -> BaseException | None:
    """Replay one history with the stock Replayer; the replay failure (None when clean)."""
    history = load_history(path).to_workflow_history()

    async def run() -> BaseException | None:
        replayer = temporalio.worker.Replayer(workflows=[cls], **worker)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        return result.replay_failure

    return asyncio.run(run())


# ---------------------------------------------------------------------------------------
# Private methods replaykit wraps


def test_workflow_instance_add_command_exists_and_takes_only_self() -> None:
    cls = impl()
    assumption = "_WorkflowInstanceImpl._add_command exists and takes only self"
    assert cls is not None, broken(
        assumption, "no temporalio.worker._workflow_instance._WorkflowInstanceImpl"
    )
    method = getattr(cls, "_add_command", None)
    assert callable(method), broken(assumption, "no _add_command")
    params = list(inspect.signature(method).parameters)
    assert params == ["self"], broken(assumption, f"parameters {params}")


def test_workflow_patch_takes_an_id_and_keyword_deprecated() -> None:
    assumption = "_WorkflowInstanceImpl.workflow_patch(self, id, *, deprecated) -> bool"
    method = getattr(impl(), "workflow_patch", None)
    assert callable(method), broken(assumption, "no workflow_patch")
    params = inspect.signature(method).parameters
    names = list(params)
    assert names[:2] == ["self", "id"], broken(assumption, f"parameters {names}")
    assert "deprecated" in params and params["deprecated"].kind == inspect.Parameter.KEYWORD_ONLY, (
        broken(assumption, f"workflow_patch has no keyword-only 'deprecated': {names}")
    )
    required = [
        n
        for n, p in params.items()
        if n not in ("self", "id", "deprecated")
        and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    assert required == [], broken(assumption, f"new required parameters {required}")


def test_encode_completion_and_decode_activation_take_the_object_and_a_data_converter() -> None:
    import temporalio.bridge.worker as bridge_worker

    for name, first in (("encode_completion", "completion"), ("decode_activation", "activation")):
        assumption = f"bridge.worker.{name} signature ({first}, data_converter, ...) async"
        fn = getattr(bridge_worker, name, None)
        if getattr(fn, "_replaykit", False):  # wrapped by a check earlier in this process
            continue
        assert fn is not None, broken(assumption, f"no temporalio.bridge.worker.{name}")
        assert inspect.iscoroutinefunction(fn), broken(assumption, "no longer async")
        params = list(inspect.signature(fn).parameters)
        assert params[:2] == [first, "data_converter"], broken(assumption, f"parameters {params}")


def test_a_skipped_payload_pass_returns_what_the_sdk_returns() -> None:
    import temporalio.bridge.worker as bridge_worker

    if _sdk_compat.sdk_version() < (1, 25):
        hints = inspect.signature(getattr(bridge_worker, "encode_completion")).return_annotation  # noqa: B009
        wrapped = getattr(getattr(bridge_worker, "encode_completion"), "_replaykit", False)  # noqa: B009
        assumption = "encode_completion / decode_activation return None (temporalio < 1.25)"
        assert wrapped or str(hints) == "None", broken(assumption, hints)
        return
    from temporalio.converter._extstore import StorageOperationMetrics

    assumption = (
        "converter._extstore.StorageOperationMetrics() is what encode_completion / "
        "decode_activation return"
    )
    StorageOperationMetrics()  # constructible without arguments
    hints = inspect.signature(getattr(bridge_worker, "encode_completion")).return_annotation  # noqa: B009
    wrapped = getattr(getattr(bridge_worker, "encode_completion"), "_replaykit", False)  # noqa: B009
    assert wrapped or "StorageOperationMetrics" in str(hints), broken(assumption, hints)


def test_history_from_json_reads_legacy_event_type_names() -> None:
    assumption = "client._helpers._history_from_json reads legacy PascalCase event types"
    try:
        history = _sdk_compat.legacy_history_from_json(
            {
                "events": [
                    {
                        "eventId": "1",
                        "eventType": "WorkflowExecutionStarted",
                        "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "W"}},
                    },
                ]
            }
        )
    except (ImportError, AttributeError) as err:
        pytest.fail(broken(assumption, err))
    [event] = history.events
    assert event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, broken(
        assumption, json_format.MessageToDict(event)
    )


# ---------------------------------------------------------------------------------------
# Real replays: the hooks see what they should, the errors say what replaykit matches


LOOPER_SOURCE = """
    from datetime import timedelta
    from temporalio import workflow

    @workflow.defn(name={name!r})
    class Looper:
        @workflow.run
        async def run(self, n: int) -> int:
            {body}
            await workflow.sleep(timedelta(hours=1))
            if n < 3:
                workflow.continue_as_new(n + 1)
            return n
"""


def looper(directory: Path, *, name: str = "Looper", body: str = "pass") -> type:
    return workflow_class(directory, LOOPER_SOURCE.format(name=name, body=body), "Looper")


def test_add_command_hook_sees_each_command_its_instance_and_primary_task(
    module_dir: Path,
) -> None:
    seen: list[tuple[Any, Any, Any]] = []
    recording = threading.Event()

    def record(instance: Any, command: Any, frame: Any) -> None:
        if recording.is_set():
            seen.append((command, _sdk_compat.workflow_primary_task(instance), frame))

    assumption = "_WorkflowInstanceImpl._add_command is called once per command"
    assert _sdk_compat.hook_add_command("test-sdk-compat", record), broken(assumption)
    cls = looper(module_dir)

    # Hooks stay for the process (other tests' replays call this one too): record only here.
    recording.set()
    try:
        failure = replay(cls, LOOPER)
    finally:
        recording.clear()
    assert failure is None, failure
    kinds = [c.WhichOneof("variant") for c, _, _ in seen]
    assert kinds == ["start_timer", "continue_as_new_workflow_execution"], broken(assumption, kinds)
    task_assumption = "a workflow instance's asyncio task is in _primary_task"
    for _, task, frame in seen:
        assert isinstance(task, asyncio.Task), broken(task_assumption, task)
        assert frame is not None
    assert "temporalio" in seen[0][2].f_code.co_filename, broken(
        "_add_command is called from SDK code", seen[0][2].f_code.co_filename
    )


def test_workflow_patch_hook_sees_the_patch_call_and_instance_info(module_dir: Path) -> None:
    sys.path.insert(0, str(DATA / "patches"))
    calls: list[_sdk_compat.PatchCall] = []
    try:
        from replaykit.patches import _hook as _patch_hook

        with _patch_hook.observing() as sink:
            cls = importlib.import_module("patch_demo_v2").PatchDemoWorkflow
            failure = replay(cls, PATCHED)
            calls = list(sink)
    finally:
        sys.path.remove(str(DATA / "patches"))
    assert failure is None, failure
    assumption = (
        "workflow_patch is what workflow.patched calls; the instance has "
        "_info.workflow_id and _is_replaying"
    )
    hf = load_history(PATCHED)
    assert [(c.patch_id, c.deprecated, c.result, c.replaying) for c in calls][:1] == [
        ("patch-demo-audit", False, True, True)
    ], broken(assumption, calls)
    assert calls[0].workflow_id == hf.workflow_id, broken(assumption, calls[0])


def test_nondeterminism_error_text(module_dir: Path) -> None:
    """Reordered commands: NondeterminismError, with [TMPRL1100] and the event id."""
    source = """
        from datetime import timedelta
        from temporalio import workflow

        @workflow.defn
        class Child:
            @workflow.run
            async def run(self, item: str) -> str:
                return item

        @workflow.defn
        class Parent:
            @workflow.signal
            def approve(self) -> None:
                pass

            @workflow.run
            async def run(self, topic: str) -> str:
                await workflow.sleep(timedelta(days=7))
                return topic
    """
    failure = replay(workflow_class(module_dir, source, "Parent"), PARENT)
    assumption = "nondeterminism arrives as NondeterminismError"
    assert isinstance(failure, temporalio.workflow.NondeterminismError), broken(
        assumption, repr(failure)
    )
    text = str(failure)
    assert "Nondeterminism" in text, broken("the text says 'Nondeterminism'", text)
    assert "[TMPRL1100]" in text, broken("the text carries the code [TMPRL1100]", text)
    assert "[TMPRL" not in _sdk_compat.strip_sdk_error_codes(text)
    event_id = _sdk_compat.error_event_id(text)
    assert event_id == 5, broken("the text names the event id ('event_id: 5' or similar)", text)


def test_removed_patch_error_text() -> None:
    sys.path.insert(0, str(DATA / "patches"))
    try:
        cls = importlib.import_module("patch_demo_v4").PatchDemoWorkflow
        failure = replay(cls, PATCHED)
    finally:
        sys.path.remove(str(DATA / "patches"))
    assumption = (
        "a removed patch call fails replay with 'Non-deprecated patch marker "
        "encountered for change ID, but there is no corresponding change command'"
    )
    found = _sdk_compat.removed_patch_in_text(str(failure))
    assert found is not None and found[0] == "patch-demo-audit", broken(assumption, failure)


def test_unregistered_workflow_type_error_text(module_dir: Path) -> None:
    failure = replay(looper(module_dir, name="LooperV2"), LOOPER)
    assumption = "an unregistered workflow type fails replay with '... not registered'"
    assert failure is not None, broken(assumption, "replay passed")
    assert not isinstance(failure, temporalio.workflow.NondeterminismError), broken(
        assumption, "it is a NondeterminismError now"
    )
    assert _sdk_compat.is_unregistered_workflow_type_text(str(failure)), broken(assumption, failure)


def test_deadlock_error_text(module_dir: Path) -> None:
    cls = looper(module_dir, body="import time; time.sleep(2.5)")
    failure = replay(cls, LOOPER, workflow_runner=temporalio.worker.UnsandboxedWorkflowRunner())
    assumption = "a blocked workflow fails replay with 'Potential deadlock ... didn't yield'"
    assert failure is not None, broken(assumption, "replay passed")
    assert _sdk_compat.is_deadlock_text(str(failure)), broken(assumption, failure)


def test_a_raising_workflow_task_text_and_the_sdks_warning(module_dir: Path) -> None:
    """A workflow raising a plain exception during replay: the core's Debug text of the
    failure (type, message, cause, stack) and the SDK's WorkflowTaskFailure warning."""
    cls = looper(
        module_dir,
        body="try:\n                {}['k']\n            except KeyError as e:\n"
        "                raise RuntimeError('boom in replay') from e",
    )
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    sdk_logger = logging.getLogger(_sdk_compat.SDK_WORKFLOW_TASK_LOGGER)
    sdk_logger.addHandler(handler)
    level = sdk_logger.level  # `replaykit record` (run in process by other tests) raises it
    sdk_logger.setLevel(logging.WARNING)
    try:
        failure = replay(cls, LOOPER)
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.setLevel(level)
    assumption = (
        "a workflow task that raised fails replay with 'Workflow activation completion "
        "failed: Failure { failure: Some(Failure { message: ..., stack_trace: ..., cause: "
        "..., failure_info: ... r#type: ... }) }'"
    )
    assert failure is not None, broken(assumption, "replay passed")
    core = _sdk_compat.core_failure_in_text(str(failure))
    assert core is not None, broken(assumption, failure)
    assert core.chain == ("RuntimeError: boom in replay", "KeyError: 'k'"), broken(
        assumption, core.chain
    )
    assert core.frame is not None and core.frame[0].startswith(str(module_dir)), broken(
        assumption, core.frame
    )
    assert core.frame[2] == "run"
    assert core.describe() == "RuntimeError: boom in replay (caused by KeyError: 'k')"
    assert _sdk_compat.core_failure_in_text("4: something else") is None
    warning = "the SDK warns on its workflow-task logger, marked WorkflowTaskFailure"
    assert any(_sdk_compat.is_sdk_task_failure_record(r) for r in records), broken(
        warning, [(r.name, r.getMessage()) for r in records]
    )


def test_sandbox_validation_error_text(module_dir: Path) -> None:
    source = """
        import datetime
        from temporalio import workflow

        TODAY = datetime.date.today()  # the sandbox forbids this at import

        @workflow.defn
        class Looper:
            @workflow.run
            async def run(self, n: int) -> int:
                return n
    """
    cls = workflow_class(module_dir, source, "Looper")
    assumption = "the sandbox rejects a workflow with RuntimeError('Failed validating workflow X')"
    try:
        failure = replay(cls, LOOPER)
    except Exception as err:  # noqa: BLE001 - the Replayer raises it when it validates
        failure = err
    assert failure is not None, broken(assumption, "nothing rejected")
    assert _sdk_compat.is_workflow_validation_error(failure), broken(assumption, repr(failure))


def test_bridge_connect_error_text() -> None:
    import temporalio.client
    import temporalio.service

    async def connect() -> BaseException | None:
        try:
            await temporalio.client.Client.connect(
                "127.0.0.1:1", retry_config=temporalio.service.RetryConfig(max_retries=0)
            )
        except Exception as err:  # noqa: BLE001
            return err
        return None

    failure = asyncio.run(connect())
    assumption = (
        "a refused connection is a RuntimeError whose first line carries "
        "'message: \"...\"' or a known transport reason"
    )
    assert isinstance(failure, RuntimeError), broken(assumption, repr(failure))
    reason = _sdk_compat.bridge_connect_reason(str(failure))
    first = str(failure).split("\n")[0]
    assert reason != first[:200], broken(assumption, first)


# ---------------------------------------------------------------------------------------
# Definitions: workflow_definition / is_workflow_class / workflow_type_name /
# activity_definition read the private _Definition the decorators attach.


@temporalio.workflow.defn(name="Renamed")
class _NamedFlow:
    @temporalio.workflow.run
    async def run(self) -> None:
        return None


@temporalio.workflow.defn
class _PlainFlow:
    @temporalio.workflow.run
    async def run(self) -> None:
        return None


def test_workflow_definitions_are_read_from_the_decorated_class() -> None:
    assert _sdk_compat.is_workflow_class(_NamedFlow), broken("workflow._Definition.from_class")
    assert not _sdk_compat.is_workflow_class(object)
    assert not _sdk_compat.is_workflow_class("not a class")
    assert _sdk_compat.workflow_type_name(_NamedFlow) == "Renamed"
    assert _sdk_compat.workflow_type_name(_PlainFlow) == "_PlainFlow"
    defn = _sdk_compat.workflow_definition(_NamedFlow)
    assert defn is not None and defn.cls is _NamedFlow


def test_activity_definitions_are_read_from_the_decorated_function() -> None:
    import temporalio.activity

    @temporalio.activity.defn(name="charge-card")
    async def charge() -> None:
        return None

    defn = _sdk_compat.activity_definition(charge)
    assert defn is not None and defn.name == "charge-card", broken(
        "activity._Definition.from_callable"
    )
    assert _sdk_compat.activity_definition(lambda: None) is None


def test_the_worker_keeps_its_core_worker_where_wrap_bridge_worker_replaces_it() -> None:
    source = inspect.getsource(temporalio.worker.Worker)
    assert "self._bridge_worker" in source, broken("Worker._bridge_worker holds the core worker")

    class _Holder:
        _bridge_worker = "core"

    holder = _Holder()
    _sdk_compat.wrap_bridge_worker(holder, lambda core: f"wrapped({core})")
    assert holder._bridge_worker == "wrapped(core)"


def test_the_sdk_logs_failed_activity_attempts_on_the_named_loggers() -> None:
    import importlib

    for name in _sdk_compat.SDK_ACTIVITY_LOGGERS:
        module = importlib.import_module(name)
        assert hasattr(module, "logger") or "getLogger(__name__)" in inspect.getsource(module), (
            broken("activity attempt failures are logged on", name)
        )


def test_search_attributes_of_core_commands_unset_and_set() -> None:
    # temporalio < 1.24 carries them as a map, later as a SearchAttributes message with presence.
    from temporalio.api.common.v1 import Payload
    from temporalio.bridge.proto.workflow_commands import ContinueAsNewWorkflowExecution

    assumption = "core commands' search_attributes: a map (< 1.24) or a message with presence"
    unset = ContinueAsNewWorkflowExecution(workflow_type="W")
    assert _sdk_compat.command_search_attributes(unset) is None, broken(assumption)
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')
    cmd = ContinueAsNewWorkflowExecution(workflow_type="W")
    try:
        cmd.search_attributes.indexed_fields["Key"].CopyFrom(payload)
    except AttributeError:  # temporalio < 1.24: a map
        cmd.search_attributes["Key"].CopyFrom(payload)
    assert _sdk_compat.command_search_attributes(cmd) == {"Key": payload}, broken(assumption)


def test_the_store_context_is_one_the_sdk_builds() -> None:
    assumption = "StorageDriverStoreContext(target=None) (temporalio >= 1.25)"
    context = _sdk_compat.no_store_context()
    if _sdk_compat.sdk_version() >= (1, 25):
        assert context is not None and context.target is None, broken(assumption, context)
    else:
        assert context is None, broken("no store context before temporalio 1.25", context)


def test_the_version_is_the_installed_one() -> None:
    major, minor = _sdk_compat.sdk_version()
    assert VERSION.startswith(f"{major}.{minor}."), VERSION
