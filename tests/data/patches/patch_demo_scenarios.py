"""Scenarios that record PatchDemo histories with each code version.

``record_v1`` records pre-patch histories, ``record_v2`` post-patch ones (patch marker),
``record_v3`` deprecated-marker ones. ``replaykit patches --generate-old`` on ``record_v2``
produces pre-patch histories from the v2 code itself.
"""

from __future__ import annotations

import patch_demo_v1
import patch_demo_v2
import patch_demo_v3
from patch_demo_activities import ACTIVITIES

from replaykit import ScenarioRun, scenario


@scenario(workflows=[patch_demo_v1.PatchDemoWorkflow], activities=ACTIVITIES, server="timeskip")
async def record_v1(run: ScenarioRun) -> None:
    """A PatchDemo execution on the original code."""
    assert await run.execute("PatchDemo", "ada", id="patch-demo-v1") == "Hello, ada!"


@scenario(workflows=[patch_demo_v2.PatchDemoWorkflow], activities=ACTIVITIES, server="timeskip")
async def record_v2(run: ScenarioRun) -> None:
    """A PatchDemo execution on the patched code."""
    assert await run.execute("PatchDemo", "grace", id="patch-demo-v2") == "Hello, grace!"


@scenario(workflows=[patch_demo_v3.PatchDemoWorkflow], activities=ACTIVITIES, server="timeskip")
async def record_v3(run: ScenarioRun) -> None:
    """A PatchDemo execution on the code that deprecated the patch."""
    assert await run.execute("PatchDemo", "linus", id="patch-demo-v3") == "Hello, linus!"
