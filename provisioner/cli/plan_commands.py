"""`provision plan`: show what differs between merchant files and the live stores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provisioner import config
from provisioner.cli import completion
from provisioner.cli.terminal import Progress, console, example
from provisioner.engine import planning, policies
from provisioner.errors import ExitCode
from provisioner.render import markdown, text


@click.command(epilog=example("provision plan acme --env qa --out plan.json --detailed-exitcode"))
@click.argument("merchants", nargs=-1, shell_complete=completion.merchants)
@click.option("--all", "every", is_flag=True, help="Every merchant in merchants/.")
@click.option("--env", "environment", required=True, help="Environment name, or sandbox.",
              shell_complete=completion.environments)
@click.option("--out", type=click.Path(path_type=Path, allow_dash=True),
              help="Write the JSON plan here (one merchant); - for stdout (the rendering then goes to stderr).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none.")
@click.option("--verbose", "-v", is_flag=True, help="Also list unchanged objects.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]),
              help="Exit 6 when an unwaived policy finding is at least this severe.")
def plan(merchants: tuple[str, ...], every: bool, environment: str, out: Path | None, fmt: str,
         detailed_exitcode: bool, verbose: bool, fail_on: str | None) -> None:
    """Show what `apply` would change for MERCHANT(s) in ENV."""
    names = [p.stem for p in config.merchant_files([])] if every else list(merchants)
    if not names:
        raise click.UsageError("name a merchant or use --all")
    if out and len(names) > 1:
        raise click.UsageError("--out takes one merchant")
    plans = []
    with Progress("planning", len(names), unit="merchants", hidden=len(names) == 1) as progress:
        for name in names:
            progress.working_on(name)
            plans.append(planning.plan(name, environment, on_wait=progress.waiting).plan)
            progress.advance()
    to_stdout = out is not None and str(out) == "-"
    if to_stdout:
        click.echo(plans[0].model_dump_json(indent=2))
    elif out:
        plans[0].write(out)
    if fmt == "json":
        if not to_stdout:
            documents = [p.model_dump(mode="json") for p in plans]
            click.echo(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    elif fmt == "markdown":
        click.echo(markdown.render(plans), err=to_stdout)
    else:
        paint = console().paint(err=to_stdout)
        for item in plans:
            console().echo(text.render(item, paint=paint, verbose=verbose), nl=False, err=to_stdout)
    if out and not to_stdout:
        click.echo(f"plan written to {out}", err=True)
    if fail_on:
        policies.enforce(plans, fail_on)
    if detailed_exitcode and any(p.has_changes() for p in plans):
        sys.exit(ExitCode.CHANGES)
