"""Check workers skip the SDK's payload passes only where they are the identity."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import asyncio, dataclasses
    import temporalio.bridge.worker as bw
    import temporalio.converter
    from temporalio.api.common.v1 import Payload
    from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
    from replaykit._capture import skip_identity_payload_passes

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
        await bw.encode_completion(c, plain, encode_headers=False, storage_concurrency_limit=1)
        assert c.successful.commands[0].complete_workflow_execution.result.data == b"1"
        coded = dataclasses.replace(plain, payload_codec=Marking())
        c = completion()
        await bw.encode_completion(c, coded, encode_headers=False, storage_concurrency_limit=1)
        assert Marking.calls == 1, Marking.calls
        assert c.successful.commands[0].complete_workflow_execution.result.data == b"enc:1"
        print("ok")

    asyncio.run(main())
''')


def test_codecs_still_run_and_plain_converters_skip() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
