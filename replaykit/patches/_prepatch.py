"""Old-branch (pre-patch) histories from the current code: every ``workflow.patched()`` held off.

A worker whose ``patch_activation_callback`` returns False makes ``workflow.patched()`` take the
old branch and write no marker, exactly what code from before the patch did
(:func:`generate_pre_patch_histories_async`); :func:`generate_pre_patch_groups` starts the servers
too (``replaykit patches --generate-old``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import temporalio.client
import temporalio.worker

from replaykit._internal._sync import sync_twin
from replaykit.config._server_spec import ServerSpec
from replaykit.record._record import RecordedScenario, RecordReport, write_outcome
from replaykit.record._scenario import Scenario, run_scenario_async
from replaykit.servers import start_server_async

__all__ = [
    "PrePatchReport",
    "generate_pre_patch_groups",
    "generate_pre_patch_groups_async",
    "generate_pre_patch_histories",
    "generate_pre_patch_histories_async",
]


@dataclass(frozen=True)
class PrePatchReport(RecordReport):
    """What :func:`generate_pre_patch_histories_async` produced: a record report (``scenarios``,
    ``ok``, ``files``) plus, per scenario, the patch ids the code asked about and was told
    "no" (``deactivated``).
    """

    deactivated: tuple[tuple[str, tuple[str, ...]], ...]


async def generate_pre_patch_histories_async(
    scenarios: Sequence[Scenario],
    client: temporalio.client.Client,
    *,
    out_dir: Path | str,
    patch_ids: Sequence[str] | None = None,
    overwrite: bool = False,
    on_done: Callable[[RecordedScenario, tuple[str, ...]], None] | None = None,
    plugins: Sequence[Any] = (),
) -> PrePatchReport:
    """Record old-branch histories by running scenarios with every patch held off.

    The worker's (experimental) ``patch_activation_callback`` answers False for new patch
    calls, so ``workflow.patched(id)`` returns False and writes no marker: the executions run
    the old branch exactly as code from before the patch did. ``deprecate_patch`` ignores the
    callback (its old branch is gone), so deprecated patches still take the new branch.

    Files go to ``<out_dir>/<scenario>/<workflow id>[.runN].json``; their metadata's ``extra``
    says ``pre_patch: true`` and lists the ids held off.

    Args:
        scenarios: What to run.
        client: A connected client.
        out_dir: Destination folder (keep it apart from the post-patch recordings).
        patch_ids: Hold off only these ids (default: every patch).
        overwrite: Replace existing files (otherwise they are kept and reported).
        on_done: Called after each scenario with its result and the ids held off.
        plugins: Plugins for every scenario, after each scenario's own.
    """
    wanted = set(patch_ids) if patch_ids is not None else None
    done: list[RecordedScenario] = []
    deactivated: list[tuple[str, tuple[str, ...]]] = []
    for scn in scenarios:
        held: dict[str, None] = {}
        lock = threading.Lock()

        def hold_off(
            input: temporalio.worker.PatchActivationInput,
            held: dict[str, None] = held,
            lock: threading.Lock = lock,
        ) -> bool:
            if wanted is not None and input.patch_id not in wanted:
                return True
            with lock:
                held[input.patch_id] = None
            return False

        outcome = await run_scenario_async(
            scn, client, patch_activation_callback=hold_off, plugins=plugins
        )
        ids = tuple(held)
        recorded = write_outcome(
            scn,
            outcome,
            out_dir,
            namespace=client.namespace,
            overwrite=overwrite,
            extra={"pre_patch": True, "patches_held_off": list(ids)},
        )
        done.append(recorded)
        deactivated.append((scn.name, ids))
        if on_done is not None:
            on_done(recorded, ids)
    return PrePatchReport(tuple(done), tuple(deactivated))


async def generate_pre_patch_groups_async(
    groups: Sequence[tuple[ServerSpec, Sequence[Scenario]]],
    *,
    out_dir: Path | str,
    patch_ids: Sequence[str] | None = None,
    overwrite: bool = False,
    on_done: Callable[[RecordedScenario, tuple[str, ...]], None] | None = None,
    plugins: Sequence[Any] = (),
) -> PrePatchReport:
    """Start each group's server in turn and generate its scenarios' old-branch histories.

    ``groups`` are ``(server spec, scenarios)`` pairs (the CLI's ``server_groups``); the other
    arguments are :func:`generate_pre_patch_histories_async`'.

    Raises:
        ReplaykitError: A server does not start or cannot be reached.
    """
    done: list[RecordedScenario] = []
    deactivated: list[tuple[str, tuple[str, ...]]] = []
    for spec, group in groups:
        async with await start_server_async(spec) as running:
            client = await running.client()
            report = await generate_pre_patch_histories_async(
                group,
                client,
                out_dir=out_dir,
                patch_ids=patch_ids,
                overwrite=overwrite,
                on_done=on_done,
                plugins=plugins,
            )
            done.extend(report.scenarios)
            deactivated.extend(report.deactivated)
    return PrePatchReport(tuple(done), tuple(deactivated))


generate_pre_patch_groups = sync_twin(
    generate_pre_patch_groups_async,
    doc=":func:`generate_pre_patch_groups_async` from sync code (via ``run_sync``).",
)


generate_pre_patch_histories = sync_twin(
    generate_pre_patch_histories_async,
    doc=":func:`generate_pre_patch_histories_async` from sync code (via ``run_sync``).",
)
