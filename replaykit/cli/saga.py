"""``replaykit saga``: verify saga compensation from recorded histories."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from replaykit._errors import ConfigError
from replaykit._saga import SagaSpec, SagaStep, load_saga_spec, verify_saga_files


@click.group("saga")
def command() -> None:
    """Verify saga compensation from histories."""


def _spec(steps: tuple[str, ...], spec_ref: str | None) -> SagaSpec:
    if bool(steps) == bool(spec_ref):
        raise click.UsageError("give the saga either as --step FORWARD:COMPENSATION ... or --spec")
    try:
        if spec_ref:
            return load_saga_spec(spec_ref)
        return SagaSpec([SagaStep.parse(s) for s in steps])
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


@command.command("verify")
@click.argument("histories", nargs=-1, required=True, type=click.Path())
@click.option(
    "--step",
    "steps",
    multiple=True,
    metavar="FORWARD:COMPENSATION",
    help="A saga step as activity type names, in forward order (repeat per step).",
)
@click.option(
    "--spec",
    "spec_ref",
    metavar="MODULE:NAME",
    help="A SagaSpec (or a class with a SAGA attribute); MODULE alone means MODULE:SAGA.",
)
@click.option("--workflow-id", help="Workflow id for plain history files (default: file stem).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def verify(
    histories: tuple[str, ...],
    steps: tuple[str, ...],
    spec_ref: str | None,
    workflow_id: str | None,
    as_json: bool,
) -> None:
    """Check compensations in HISTORIES (files or folders): order, completeness, success.

    Exit status: 0 all sagas correct, 1 a violation, 2 unreadable input or usage error.
    """
    spec = _spec(steps, spec_ref)
    report = verify_saga_files(histories, spec=spec, workflow_id=workflow_id)
    if as_json:
        body = [
            {
                "path": str(r.path),
                "error": r.error,
                "report": asdict(r.report) if r.report else None,
            }
            for r in report.results
        ]
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(report.format())
    sys.exit(report.exit_code)
