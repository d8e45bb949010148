"""A history recorded with another release of an AI framework than is installed says so.

``tests/data/upgrade/runbook-1.json`` is the Pydantic AI reference agent's history as
recorded before pydantic-ai-slim 2.78 (its tool definitions have no ``durable`` and
``ui_visibility`` fields, its requests no ``attempt``): against 2.78 it drifts although the
agent's code is the same. Its metadata carries no releases; the tests stamp the ones they
name. ``replaykit record`` stamps the installed ones (``HistoryMeta.frameworks``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replaykit import CheckOptions, check_histories
from replaykit.check import HistoryResult
from replaykit.integrations._agents import framework_versions

pytest.importorskip("pydantic_ai.durable_exec.temporal")
pytestmark = [pytest.mark.integration]

OLD = Path(__file__).resolve().parents[1] / "data" / "upgrade" / "runbook-1.json"
PLUGIN = "reference_agents.integration_plugins:pydantic_ai"


def _check(tmp_path: Path, frameworks: dict[str, str] | None) -> HistoryResult:
    doc = json.loads(OLD.read_text())
    if frameworks is not None:
        doc["replaykit"]["frameworks"] = frameworks
    path = tmp_path / "runbook-1.json"
    path.write_text(json.dumps(doc))
    report = check_histories(
        [path],
        workflows=["reference_agents"],
        jobs=0,
        options=CheckOptions(plugins=(PLUGIN,), verdict_cache=False),
    )
    (result,) = report.results
    return result


def test_a_finding_on_the_framework_names_the_release_it_was_recorded_with(
    tmp_path: Path,
) -> None:
    installed = framework_versions()["pydantic-ai-slim"]
    result = _check(tmp_path, {"pydantic-ai-slim": "2.70.0", "openai-agents": "0.0.1"})
    assert result.status == "divergent", result.describe()
    on_framework = [d for d in result.divergences if d.integration == "Pydantic AI"]
    assert on_framework, result.describe()
    for d in on_framework:
        assert d.hint is not None and d.hint.startswith(
            "this history was recorded with another Pydantic AI release "
            f"(pydantic-ai-slim 2.70.0 -> {installed})"
        ), d.hint
        assert "re-record the history" in d.hint
        assert "openai-agents" not in d.hint  # only the integration's own distributions
    assert f"pydantic-ai-slim 2.70.0 -> {installed}" in result.describe()
    # the framework's own retry options on its activity (other non-retryable error types)
    options = [d for d in result.divergences if d.kind == "option-change"]
    assert options, result.describe()
    assert all((d.hint or "").startswith("this history was recorded with") for d in options)


@pytest.mark.parametrize("stamp", ["installed", "none"])
def test_no_release_note_when_the_release_is_the_same_or_unknown(
    tmp_path: Path, stamp: str
) -> None:
    frameworks = framework_versions() if stamp == "installed" else None
    result = _check(tmp_path, frameworks)
    # the drift is still reported (the framework sends other values), without the note
    assert result.status == "divergent", result.describe()
    assert all("recorded with another" not in (d.hint or "") for d in result.divergences)


def test_a_malformed_frameworks_entry_is_an_input_error(tmp_path: Path) -> None:
    result = _check(tmp_path, {"pydantic-ai-slim": 2})  # type: ignore[dict-item]
    assert result.status == "error", result.describe()
    assert result.error is not None and '"replaykit.frameworks" must map' in result.error
