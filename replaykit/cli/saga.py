"""``replaykit saga``: verify saga compensation from recorded histories."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click

from replaykit._internal._errors import ConfigError
from replaykit.cli._options import plugin_option, server_options
from replaykit.sagas._verify import SagaSpec, SagaStep, load_saga_spec, verify_saga_files

_F = TypeVar("_F", bound=Callable[..., Any])


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


def _saga_options(fn: _F) -> _F:
    """``--step FORWARD:COMPENSATION`` (repeatable) and ``--spec MODULE:NAME``."""
    fn = click.option(
        "--spec",
        "spec_ref",
        metavar="MODULE:NAME",
        help="A SagaSpec (or a class with a SAGA attribute); MODULE alone means MODULE:SAGA.",
    )(fn)
    return click.option(
        "--step",
        "steps",
        multiple=True,
        metavar="FORWARD:COMPENSATION",
        help="A saga step as activity type names, in forward order (repeat per step).",
    )(fn)


@command.command("verify")
@click.argument("histories", nargs=-1, required=True, type=click.Path())
@_saga_options
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


@command.command("prove-rollback")
@click.argument("scenario_files", nargs=-1, required=True)
@click.option("-k", "pattern", default=None, help="Only scenarios whose name matches.")
@_saga_options
@click.option(
    "--snapshot",
    "snapshot_ref",
    required=True,
    metavar="MODULE:FUNCTION",
    help="Returns the world as a JSON-able mapping (e.g. rows per table); called before and "
    "after each run. $REPLAYKIT_WORLD names the run's fresh world file.",
)
@click.option(
    "--at",
    "only",
    multiple=True,
    metavar="FORWARD",
    help="Only inject faults at these forward steps (repeatable; default: every step).",
)
@click.option(
    "--phase",
    "phases",
    multiple=True,
    type=click.Choice(["before-effect", "after-effect", "cancel"]),
    help="Only these phases (repeatable; default: all three).",
)
@click.option("--no-cancel", is_flag=True, help="Skip cancelling the workflow at each step.")
@click.option(
    "--ignore",
    multiple=True,
    metavar="KEY",
    help="Snapshot key (table) not compared: expected residue such as an audit log.",
)
@click.option(
    "--worker-context",
    default=None,
    metavar="MODULE:FUNC",
    help="Workers run inside FUNC(scenario_name), a context manager.",
)
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@server_options
def prove_rollback(
    scenario_files: tuple[str, ...],
    pattern: str | None,
    steps: tuple[str, ...],
    spec_ref: str | None,
    snapshot_ref: str,
    only: tuple[str, ...],
    phases: tuple[str, ...],
    no_cancel: bool,
    ignore: tuple[str, ...],
    worker_context: str | None,
    plugins: tuple[str, ...],
    as_json: bool,
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """Fail every forward step of the saga in SCENARIO_FILES' scenario on a real server -
    before its side effect, after it, and by cancelling the workflow - and compare the world
    after each run with the world before. Every difference is reported as a leftover (a
    reservation never released, a charge never refunded); each run's history also goes
    through the saga verifier and the effects ledger verifier.

    Exit status: 0 the world came back every time, 1 a leftover or violation, 2 usage or
    harness error.
    """
    from replaykit.cli._options import plugin_refs, server_spec_from_options
    from replaykit.cli._prove_rollback import ProveRollbackRequest, run_prove_rollback_request
    from replaykit.sagas._rollback import PHASES

    spec = _spec(steps, spec_ref)
    chosen = tuple(p for p in PHASES if p in phases) if phases else PHASES
    if no_cancel:
        chosen = tuple(p for p in chosen if p != "cancel")
    if not chosen:
        raise click.UsageError("--no-cancel leaves no phase to run")
    request = ProveRollbackRequest(
        files=scenario_files,
        pattern=pattern,
        spec=spec,
        snapshot_ref=snapshot_ref,
        server=server_spec_from_options(
            server=server, address=address, namespace=namespace, db_filename=db_filename
        ),
        phases=chosen,
        only=only,
        ignore=ignore,
        worker_context=worker_context,
        plugins=plugin_refs(plugins),
        as_json=as_json,
    )
    sys.exit(run_prove_rollback_request(request, click.echo))
