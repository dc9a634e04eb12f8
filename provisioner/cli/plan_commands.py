"""`provision plan` (one merchant or a fleet) and `provision report` (shards back into one report)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provisioner.cli import completion
from provisioner.cli.terminal import Progress, console, echo, example, show_error
from provisioner.engine import limits
from provisioner.escape import data_text, terminal

# Only what `--help` needs is imported at the top; the engine when the command runs.
if TYPE_CHECKING:
    from provisioner.engine.fleet import planner as fleet
    from provisioner.engine.plan import document as documents

FORMATS = ["text", "markdown", "json"]


def emit(document: documents.AnyDocument, fmt: str, *, out: Path | None, plan_at: str | None, verbose: bool,
         detailed_exitcode: bool, fail_on: str | None) -> None:
    """Print the document as asked (with `--out -` the document goes to stdout and the rendering to
    stderr), failures to stderr, and exit with the run's code. The JSON printed is the document's, with
    the characters a terminal or CI log would act on written as JSON escapes (`escape.data_text`)."""
    from provisioner.engine.plan import document as documents
    from provisioner.engine.plan import policies
    from provisioner.errors import ProvisionerError
    from provisioner.render import fleet_text

    to_stdout = out is not None and str(out) == "-"
    if to_stdout:
        _print_json(document)
    elif out:
        document.write(out)
    if fmt == "json":
        if not to_stdout:
            _print_json(document)
    elif fmt == "markdown":
        from provisioner.render import markdown

        whole = document.materialize() if isinstance(document, documents.SpooledDocument) else document
        echo(markdown.render(whole, plan_at=plan_at or (str(out) if out and not to_stdout else None),
                             fail_on=fail_on),
                   err=to_stdout)
    else:
        for piece in fleet_text.pieces(document, paint=console().paint(err=to_stdout), verbose=verbose):
            console().echo(piece, nl=False, err=to_stdout)
    alone = len(document.merchants) == 1 and not document.plans and len(document.errors) == 1
    for error in document.errors:
        echo(fleet_text.alone(error) if alone else f"error: {fleet_text.error_line(error)}", err=True)
    if out and not to_stdout:
        echo(f"plan written to {terminal(out)}", err=True)
    codes = [document.exit_code(detailed=detailed_exitcode)]
    if fail_on:
        try:
            policies.enforce(document.plans, fail_on)
        except ProvisionerError as exc:
            show_error(exc)
            codes.append(exc.exit_code)
    code = documents.most_severe(codes)
    if code:
        sys.exit(code)


def _print_json(document: documents.AnyDocument) -> None:
    for chunk in document.chunks():  # a plan at a time: a fleet's document is never whole in memory
        echo(data_text(chunk), nl=False)


@click.command(epilog=example("provision plan acme --env qa --out plan.json --detailed-exitcode",
                              "provision plan --changed-since origin/main --env prod --format markdown"))
@click.argument("merchants", nargs=-1, shell_complete=completion.merchants)
@click.option("--all", "every", is_flag=True, help="Every merchant in merchants/.")
@click.option("--changed-since", metavar="REF", help="Merchants whose file, or a preset they use, changed since "
                                                     "the fork point with git REF.")
@click.option("--env", "environment", required=True, shell_complete=completion.environments_and_tiers,
              help="Environment name, or a tier (qa, prod) to take each merchant's environments of that tier.")
@click.option("--shard", metavar="I/N", help="Plan only shard I of N (stable in the merchant name).")
@click.option("--parallelism", type=click.IntRange(1, 256), default=limits.DEFAULT_PARALLELISM, show_default=True,
              help="Requests in flight across the run (twice as many merchants are in progress).")
@click.option("-C", "--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Run as if started in DIR (another checkout).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
              help="Also write the JSON plan document here; - for stdout (the rendering then goes to stderr).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--plan-at", metavar="TEXT", help="Where readers find the full JSON plan (markdown; default --out).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none.")
@click.option("--verbose", "-v", is_flag=True, help="Also list unchanged objects.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]),
              help="Exit 6 when an unwaived policy finding (not a change's risk) is at least this severe.")
def plan(merchants: tuple[str, ...], every: bool, changed_since: str | None, environment: str, shard: str | None,
         parallelism: int, directory: Path | None, out: Path | None, fmt: str, plan_at: str | None,
         detailed_exitcode: bool, verbose: bool, fail_on: str | None) -> None:
    """Show what `apply` would change for MERCHANT(s) in ENV.

    A merchant that fails is reported with its reason and the others are still planned; the exit code is
    then the most severe: 5, 8, 3 (auth), 4 (invalid file), 7, 6 (--fail-on), 1, then 2 (changes, with
    --detailed-exitcode), then 0.
    """
    from provisioner.engine.fleet import planner as fleet
    from provisioner.engine.fleet.selection import Shard
    from provisioner.render import fleet_text

    if directory is not None:
        os.chdir(directory)
    request = fleet.FleetRequest(environment=environment, names=list(merchants), every=every,
                                 changed_since=changed_since, parallelism=parallelism,
                                 shard=Shard.parse(shard) if shard else None)
    if sum((bool(merchants), every, changed_since is not None)) != 1:
        raise click.UsageError("name merchants, or use --all or --changed-since REF (one of them)")
    with Progress("planning", None, unit="merchants", hidden=len(merchants) == 1) as progress:
        def advance(event: fleet.Progress) -> None:
            progress.set_total(event.total)
            progress.advance(1, f"{event.merchant}: {event.outcome}")

        # The text report's plans are rendered where they are planned, as their JSON is (fleet_text.shower).
        show = (fleet_text.shower(paint=console().paint(err=out is not None and str(out) == "-"), verbose=verbose)
                if fmt == "text" else None)
        document = fleet.plan_fleet_spooled(request, on_progress=advance, on_wait=progress.waiting, show=show)
    try:
        emit(document, fmt, out=out, plan_at=plan_at, verbose=verbose, detailed_exitcode=detailed_exitcode,
             fail_on=fail_on)
    finally:
        document.close()


@click.command(epilog=example("provision report plans/qa-*.json --out qa.json > comment.md"))
@click.argument("plans", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True)
@click.option("--expect-shards", type=click.IntRange(1, 256), metavar="N",
              help="Fail (exit 1, no report) unless the documents are exactly shards 1/N to N/N.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
              help="Also write the merged JSON plan document here; - for stdout.")
@click.option("--plan-at", metavar="TEXT", help="Where readers find the full JSON plan (markdown; default --out).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]),
              help="Exit 6 when an unwaived policy finding (not a change's risk) is at least this severe.")
def report(plans: tuple[Path, ...], fmt: str, expect_shards: int | None, out: Path | None, plan_at: str | None,
           detailed_exitcode: bool, fail_on: str | None) -> None:
    """Merge the JSON plans of shards into the report one run would have given (PLAN.json...)."""
    from provisioner.engine.fleet.selection import Shard
    from provisioner.engine.plan import document as documents

    read = [documents.read(path) for path in plans]
    if expect_shards is not None:
        Shard.check_complete([d.shard for d in read], expect_shards)
    document = documents.merge(read)
    emit(document, fmt, out=out, plan_at=plan_at, verbose=False, detailed_exitcode=detailed_exitcode,
         fail_on=fail_on)
