"""`provision plan`: show what differs between merchant files and the live stores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provisioner import config
from provisioner.engine import planning, policies
from provisioner.errors import ExitCode
from provisioner.render import markdown, text


def waiting(seconds: float, why: str) -> None:
    if sys.stderr.isatty():
        click.echo(f"  … waiting {why} ({seconds:.1f} s)", err=True)


@click.command()
@click.argument("merchants", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every merchant in merchants/.")
@click.option("--env", "environment", required=True, help="Environment name, or sandbox.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the JSON plan here (one merchant).")
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
    for number, name in enumerate(names, start=1):
        if len(names) > 1 and sys.stderr.isatty():
            click.echo(f"\r  planning {name} ({number}/{len(names)})…", err=True, nl=False)
        plans.append(planning.plan(name, environment, on_wait=waiting).plan)
    if len(names) > 1 and sys.stderr.isatty():
        click.echo("", err=True)
    if out:
        plans[0].write(out)
    if fmt == "json":
        documents = [p.model_dump(mode="json") for p in plans]
        click.echo(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    elif fmt == "markdown":
        click.echo(markdown.render(plans))
    else:
        colour = sys.stdout.isatty()
        for item in plans:
            click.echo(text.render(item, colour=colour, verbose=verbose), nl=False)
    if out:
        click.echo(f"plan written to {out}", err=True)
    if fail_on:
        policies.enforce(plans, fail_on)
    if detailed_exitcode and any(p.has_changes() for p in plans):
        sys.exit(ExitCode.CHANGES)


def register(group: click.Group) -> None:
    group.add_command(plan)
