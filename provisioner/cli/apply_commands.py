"""`provision apply` and `provision attest`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provisioner.cli import completion
from provisioner.cli.terminal import confirmer, console, echo, example, note_wait
from provisioner.escape import terminal, terminal_lines

INTERRUPTED = 130  # Ctrl-C, as every command ends on it (cli/main.py)

# Only what `--help` needs is imported at the top; the engine when the command runs.
if TYPE_CHECKING:
    from provisioner.engine.apply import merchant as applying
    from provisioner.engine.fleet import applier as fleet_apply
    from provisioner.engine.plan.document import PlanDocument
    from provisioner.engine.plan.model import Plan


@click.command(epilog=example("provision apply acme --env qa", "provision apply plan.json --yes"))
@click.argument("target", shell_complete=completion.merchants_or_plans)
@completion.env_option(required=False, help="Environment (not with a saved PLAN.json).")
@completion.yes_option("Do not ask; for CI after a reviewed plan.")
@click.option("--allow-deletes", is_flag=True, help="Allow the plan's deletes.")
@click.option("--runbook-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Default out/MERCHANT.ENV.runbook.md.")
@click.option("--secret-sink", help="env:NAME: each created token to its own variable NAME__MERCHANT__ENV__TOKEN "
                                    "for later CI steps, listed in NAME__VARIABLES (default: a 0600 file each).")
def apply(target: str, environment: str | None, yes: bool, allow_deletes: bool,
          runbook_out: Path | None, secret_sink: str | None) -> None:
    """Reconcile MERCHANT in ENV, or apply exactly a saved plan (PLAN.json).

    The plan is shown first; on a terminal, apply then asks before changing anything. Each change is
    printed as it completes. A saved plan of several merchants is applied to them at once (one after
    another when it has to ask), each merchant's block printed whole, in the plan's order."""
    from provisioner.engine.apply import merchant as applying
    from provisioner.engine.plan import document as fleet_document
    from provisioner.render import text

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

    options = applying.Options(auto_approve=yes, allow_deletes=allow_deletes,
                               runbook_out=runbook_out, secret_sink=secret_sink, confirm=confirmer(), on_plan=show,
                               on_step=_step)
    if document is None or saved is None:
        try:
            _print(applying.apply(target, environment, options, on_wait=note_wait))
        except applying.Interrupted as exc:
            echo(f"interrupted\n{terminal_lines(exc.story)}", err=True)
            sys.exit(INTERRUPTED)
        return
    _apply_document(document, saved, options, heading)


def _step(role: str, line: str) -> None:
    """One step of apply, printed as it happens; what it waits for, on a terminal only (stderr)."""
    if role == "working":
        if sys.stderr.isatty():
            echo(f"  … {terminal(line)}", err=True)
        return
    prefix = {"resumed": "continuing after an interrupted run: ", "warning": "warning: ", "done": "done: "}
    echo(prefix.get(role, "") + terminal(line))


def _apply_document(document: PlanDocument, saved: Path, options: applying.Options,
                    heading: Callable[[str, str], None]) -> None:
    from provisioner.engine.fleet import applier as fleet_apply
    from provisioner.render import fleet_text

    several = len(document.plans) > 1

    def step(merchant: str, environment: str) -> Callable[[str, str], None]:
        def shown(role: str, line: str) -> None:
            heading(merchant, environment)
            _step(role, line)
        return shown

    def applied(result: fleet_apply.Applied) -> None:
        heading(result.merchant, result.environment)
        result.replay(replace(options, on_step=step(result.merchant, result.environment)))
        if result.report is not None:
            _print(result.report)
        if result.error is not None:
            echo(f"error: {fleet_text.error_line(result.error)}", err=True)

    outcome = fleet_apply.apply_document(document, saved, options, on_wait=note_wait, on_applied=applied)
    if outcome.index is not None:
        echo(terminal(outcome.index))
    if outcome.index_error is not None:
        echo(f"error: {terminal_lines(outcome.index_error)}", err=True)
    for error in outcome.document.errors:
        echo(f"error: not planned, so not applied: {fleet_text.error_line(error)}", err=True)
    if several or outcome.document.errors:
        failed = sum(1 for r in outcome.results if r.error is not None)
        echo(f"applied {len(outcome.results) - failed} of {len(outcome.results)} plan(s)"
             + (f"; {failed} failed" if failed else "")
             + (f"; {len(outcome.document.errors)} merchant(s) were not planned" if outcome.document.errors
                else ""))
    if outcome.interrupted:
        echo("interrupted: each merchant above says what it did and where each created token went", err=True)
        sys.exit(INTERRUPTED)
    code = outcome.exit_code()
    if code:
        sys.exit(code)


def _print(report: applying.Report) -> None:
    """What is left to say when apply has finished: each change was printed as it completed
    (Options.on_step), the plan before it (Options.on_plan)."""
    if report.runbook is not None:
        echo(f"runbook: {report.runbook_steps} step(s) by hand in {terminal(report.runbook)}")
    if report.final is not None and report.plan.pending:
        left = len(report.final.pending)
        echo("converged: no api change left" + (f"; {left} change(s) wait for the runbook or attestation"
                                                      if left else "; the store matches the file"))


@click.command(epilog=example("provision attest acme --env qa"))
@click.argument("merchant", shell_complete=completion.merchants)
@click.argument("paths", nargs=-1)
@completion.env_option()
@completion.yes_option("Confirm every item without asking (scripts).")
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

