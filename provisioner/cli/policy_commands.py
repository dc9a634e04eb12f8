"""`provision policy list`: the rules every plan is checked against."""

from __future__ import annotations

import click

from provisioner.cli.terminal import echo, example


@click.group(epilog=example("provision policy list"))
def policy() -> None:
    """Policy rules checked by every plan."""


@policy.command("list", epilog=example("provision policy list"))
def list_rules() -> None:
    """Every rule: id, severity, what it checks and how to fix a finding."""
    from provisioner.policy.rules import RULES  # imported when run, so that --help stays fast

    width = max(len(rule.id) for rule in RULES)
    for rule in RULES:
        echo(f"{rule.id:<{width}}  {rule.severity:<8}  {rule.title}")
        echo(f"{'':<{width}}  {'':<8}  fix: {rule.fix}")

