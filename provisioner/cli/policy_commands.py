"""`provision policy list`: the rules every plan is checked against."""

from __future__ import annotations

import click

from provisioner.policy.rules import RULES


@click.group()
def policy() -> None:
    """Policy rules checked by every plan."""


@policy.command("list")
def list_rules() -> None:
    """Every rule: id, severity, what it checks and how to fix a finding."""
    width = max(len(rule.id) for rule in RULES)
    for rule in RULES:
        click.echo(f"{rule.id:<{width}}  {rule.severity:<8}  {rule.title}")
        click.echo(f"{'':<{width}}  {'':<8}  fix: {rule.fix}")


def register(group: click.Group) -> None:
    group.add_command(policy)
