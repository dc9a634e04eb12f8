"""`provision apply` and `provision attest`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provisioner.cli import completion
from provisioner.cli.terminal import confirmer, console, echo, example, note_wait
from provisioner.escape import terminal, terminal_lines

# Only what `--help` needs is imported at the top; the engine when the command runs.
if TYPE_CHECKING:
    from provisioner.engine.apply import merchant as applying
    from provisioner.engine.fleet import applier as fleet_apply
    from provisioner.engine.plan.model import Plan


@click.command(epilog=example("provision apply acme --env qa", "provision apply plan.json --auto-approve"))
@click.argument("target", shell_complete=completion.merchants)
@click.option("--env", "environment", help="Environment (not with a saved PLAN.json).",
              shell_complete=completion.environments)
@click.option("--auto-approve", is_flag=True, help="Do not ask; for CI after a reviewed plan.")
@click.option("--allow-deletes", is_flag=True, help="Allow the plan's deletes.")
@click.option("--runbook-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Default out/MERCHANT.ENV.runbook.md.")
@click.option("--secret-sink", help="env:NAME: each created token to its own variable NAME__MERCHANT__ENV__TOKEN "
                                    "for later CI steps, listed in NAME__VARIABLES (default: a 0600 file each).")
def apply(target: str, environment: str | None, auto_approve: bool, allow_deletes: bool, runbook_out: Path | None,
          secret_sink: str | None) -> None:
    """Reconcile MERCHANT in ENV, or apply exactly a saved plan (PLAN.json), merchant by merchant.

    The plan is shown first; on a terminal, apply then asks before changing anything."""
    from provisioner.engine.apply import merchant as applying
    from provisioner.engine.fleet import applier as fleet_apply
    from provisioner.engine.plan import document as fleet_document
    from provisioner.render import fleet_text, text

    saved = Path(target) if target.endswith(".json") else None
    if saved is None and not environment:
        raise click.UsageError("--env is required with a merchant name")
    if saved is not None and environment:
        raise click.UsageError("a saved plan names its environment; drop --env")
    document = fleet_document.read(saved) if saved is not None else None
    several = document is not None and len(document.plans) > 1
    headed: set[str] = set()

    def heading(merchant: str, environment: str) -> None:
        if several and f"{merchant}/{environment}" not in headed:
            headed.add(f"{merchant}/{environment}")
            echo(f"== {terminal(merchant)}/{terminal(environment)}")

    def show(plan: Plan) -> None:
        heading(plan.merchant, plan.environment)
        console().echo(text.render(plan, paint=console().paint()), nl=False)

    options = applying.Options(auto_approve=auto_approve, allow_deletes=allow_deletes, runbook_out=runbook_out,
                               secret_sink=secret_sink, confirm=confirmer(), on_plan=show)
    if document is None or saved is None:
        _print(applying.apply(target, environment, options, on_wait=note_wait))
        return

    def applied(result: fleet_apply.Applied) -> None:
        heading(result.merchant, result.environment)
        if result.report is not None:
            _print(result.report)
        if result.error is not None:
            echo(f"error: {fleet_text.error_line(result.error)}", err=True)

    outcome = fleet_apply.apply_document(document, saved, options, on_wait=note_wait, on_applied=applied)
    if outcome.index is not None:
        echo(terminal(outcome.index))
    for error in outcome.document.errors:
        echo(f"error: not planned, so not applied: {fleet_text.error_line(error)}", err=True)
    if several or outcome.document.errors:
        failed = sum(1 for r in outcome.results if r.error is not None)
        echo(f"applied {len(outcome.results) - failed} of {len(outcome.results)} plan(s)"
                   + (f"; {failed} failed" if failed else "")
                   + (f"; {len(outcome.document.errors)} merchant(s) were not planned" if outcome.document.errors
                      else ""))
    code = outcome.exit_code()
    if code:
        sys.exit(code)


def _print(report: applying.Report) -> None:
    """What apply did; the plan itself was shown before (Options.on_plan)."""
    for line in report.resumed:
        echo(f"continuing after an interrupted run: {terminal(line)}")
    for line in report.warnings:
        echo(f"warning: {terminal(line)}")
    for line in report.done:
        echo(f"done: {terminal(line)}")
    for line in report.secrets:
        echo(terminal(line))
    if report.runbook is not None:
        echo(f"runbook: {report.runbook_steps} step(s) by hand in {terminal(report.runbook)}")
    if report.final is not None and report.plan.pending:
        left = len(report.final.pending)
        echo("converged: no api change left" + (f"; {left} change(s) wait for the runbook or attestation"
                                                      if left else "; the store matches the file"))


@click.command(epilog=example("provision attest acme --env qa"))
@click.argument("merchant", shell_complete=completion.merchants)
@click.argument("paths", nargs=-1)
@click.option("--env", "environment", required=True, shell_complete=completion.environments)
@click.option("--yes", is_flag=True, help="Confirm every item without asking (scripts).")
def attest(merchant: str, paths: tuple[str, ...], environment: str, yes: bool) -> None:
    """Confirm settings the API cannot read; records their hashes in the ledger.

    PATHS limit it to some settings (e.g. plugin_settings/GE Order API); default: every one."""
    from provisioner.engine.apply import attest as attesting

    confirm = confirmer(yes=yes)
    if confirm is None:
        raise click.UsageError("attest asks per item on a terminal; pass --yes in scripts")
    asking = confirm

    def ask(description: str) -> bool:
        if not yes:
            echo(terminal_lines(description))  # one setting a line
        return asking("Confirm that the store has these settings?") if not yes else True

    result = attesting.attest(merchant, environment, list(paths), ask)
    for address in result.recorded:
        echo(f"attested: {terminal(address)}")
    for line in result.skipped:
        echo(f"skipped: {terminal(line)}")
    if result.recorded:
        echo(f"ledger: {terminal(result.ledger)} (hashes only)")
    elif not result.skipped:
        echo("nothing to attest")

