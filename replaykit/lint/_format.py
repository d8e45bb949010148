"""Output formats of `replaykit lint`: text, JSON and SARIF 2.1.0."""

from __future__ import annotations

import json
from collections import Counter
from importlib import metadata
from pathlib import PurePath, PurePosixPath
from typing import Any
from urllib.parse import quote

from replaykit.lint._model import RULES, LintReport

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def format_text(report: LintReport) -> str:
    """One ``path:line:col: RK101 [wall-clock] message`` line per finding, then a summary."""
    lines = [f"{f.path}:{f.line}:{f.col}: {f.rule} [{f.name}] {f.message}" for f in report.findings]
    lines += [f"{e.path}: error: {e.message}" for e in report.errors]
    files = f"{report.files_checked} file{'s' if report.files_checked != 1 else ''} checked"
    if report.findings:
        counts = Counter(f"{f.rule} {f.name}" for f in report.findings)
        detail = ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))
        noun = "finding" if len(report.findings) == 1 else "findings"
        summary = f"{len(report.findings)} {noun} in {files} ({detail})"
    else:
        summary = f"No determinism hazards found ({files})"
    if report.errors:
        summary += (
            f"; {len(report.errors)} path{'s' if len(report.errors) != 1 else ''} not checked"
        )
    lines.append(summary)
    return "\n".join(lines) + "\n"


def format_json(report: LintReport) -> str:
    """``{"findings": [...], "errors": [...], "files_checked": N}`` as indented JSON."""
    document = {
        "findings": [
            {
                "rule": f.rule,
                "name": f.name,
                "path": f.path,
                "line": f.line,
                "col": f.col,
                "message": f.message,
            }
            for f in report.findings
        ],
        "errors": [{"path": e.path, "message": e.message} for e in report.errors],
        "files_checked": report.files_checked,
    }
    return json.dumps(document, indent=2) + "\n"


def _artifact(path: str) -> dict[str, str]:
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": PurePosixPath(pure.as_posix()).as_uri()}
    # Relative to the folder the linter ran in: code scanning resolves it against the checkout.
    return {"uri": quote(pure.as_posix()), "uriBaseId": "%SRCROOT%"}


def _version() -> str:
    try:
        return metadata.version("replaykit")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def format_sarif(report: LintReport) -> str:
    """A SARIF 2.1.0 log (one run) suitable for GitHub code scanning upload."""
    index = {rule.id: i for i, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary}. {rule.help}"},
            "help": {"text": rule.help, "markdown": f"**{rule.summary}.** {rule.help}"},
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["determinism", "temporal", "replay"],
                "problem.severity": "error",
                "precision": "high",
            },
        }
        for rule in RULES
    ]
    results: list[dict[str, Any]] = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "error",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(f.path),
                        "region": {"startLine": f.line, "startColumn": f.col},
                    }
                }
            ],
        }
        for f in report.findings
    ]
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{e.path}: {e.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(e.path)}}],
        }
        for e in report.errors
    ]
    log = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "replaykit",
                        "informationUri": "https://pypi.org/project/replaykit/",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def format_rules() -> str:
    """The rule table: ``RK101  wall-clock        summary`` per line."""
    width = max(len(rule.name) for rule in RULES)
    return "".join(f"{rule.id}  {rule.name:<{width}}  {rule.summary}\n" for rule in RULES)
