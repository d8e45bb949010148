"""Check workers skip work only where it cannot change a result."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import asyncio, dataclasses
    import temporalio.bridge.worker as bw
    import temporalio.converter
    from temporalio.api.common.v1 import Payload
    from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
    from replaykit.check._capture import skip_identity_payload_passes
    import inspect

    # temporalio >= 1.25 takes a storage concurrency limit (external storage)
    EXTRA = (
        {"storage_concurrency_limit": 1}
        if "storage_concurrency_limit" in inspect.signature(bw.encode_completion).parameters
        else {}
    )

    class Marking(temporalio.converter.PayloadCodec):
        calls = 0
        async def encode(self, payloads):
            Marking.calls += 1
            return [Payload(metadata=dict(p.metadata), data=b"enc:" + p.data) for p in payloads]
        async def decode(self, payloads):
            return list(payloads)

    def completion():
        c = WorkflowActivationCompletion(run_id="r")
        cmd = c.successful.commands.add()
        cmd.complete_workflow_execution.result.CopyFrom(
            Payload(metadata={"encoding": b"json/plain"}, data=b"1"))
        return c

    async def main():
        assert skip_identity_payload_passes()
        assert skip_identity_payload_passes()  # idempotent
        plain = temporalio.converter.DataConverter.default
        c = completion()
        await bw.encode_completion(c, plain, encode_headers=False, **EXTRA)
        assert c.successful.commands[0].complete_workflow_execution.result.data == b"1"
        coded = dataclasses.replace(plain, payload_codec=Marking())
        c = completion()
        await bw.encode_completion(c, coded, encode_headers=False, **EXTRA)
        assert Marking.calls == 1, Marking.calls
        assert c.successful.commands[0].complete_workflow_execution.result.data == b"enc:1"
        print("ok")

    asyncio.run(main())
""")


def test_codecs_still_run_and_plain_converters_skip() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


COMPILE_SCRIPT = textwrap.dedent("""
    import importlib, sys, pathlib
    sys.dont_write_bytecode = True
    d = pathlib.Path(sys.argv[1]); sys.path.insert(0, str(d))
    src = d / "wfmod.py"
    src.write_text("X = 1\\n")
    from replaykit.check._engine import _memoize_compiles
    _memoize_compiles(); _memoize_compiles()

    def load():
        sys.modules.pop("wfmod", None)
        importlib.invalidate_caches()
        return importlib.import_module("wfmod")

    a, b = load(), load()
    assert a is not b and a.X == b.X == 1
    first = a.__loader__.get_code("wfmod")
    assert first is a.__loader__.get_code("wfmod")  # compiled once
    src.write_text("X = 22\\n")  # a changed source is compiled anew
    c = load()
    assert c.X == 22, c.X
    print("ok")
""")


def test_sources_compile_once_and_changes_recompile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-c", COMPILE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
