"""`provision verify` and `provision doctor`: live checks."""

from __future__ import annotations

import click

from provisioner.engine import doctor as doctoring
from provisioner.engine import verify as verifying
from provisioner.errors import AuthError, ProvisionerError


@click.command()
@click.argument("merchant")
@click.option("--env", "environment", required=True)
def verify(merchant: str, environment: str) -> None:
    """Probe MERCHANT's live store: plugins present and active, the Order API secret working."""
    checks = verifying.verify(merchant, environment)
    for check in checks:
        click.echo(f"  {'ok ' if check.passed else 'FAIL'} {check.subject}: {check.detail}")
    failed = [c for c in checks if not c.passed]
    if failed:
        raise ProvisionerError(f"{len(failed)} of {len(checks)} check(s) failed")
    click.echo(f"{len(checks)} check(s) passed" if checks else "nothing to probe")


@click.command()
@click.argument("merchant")
@click.option("--env", "environment", required=True)
def doctor(merchant: str, environment: str) -> None:
    """Can the environment's token read every section MERCHANT manages?"""
    found = doctoring.diagnose(merchant, environment)
    click.echo(f"Centra {found.app_version or '(version not reported)'}")
    if found.token is not None:
        level = "" if found.token.severity == "info" else f"{found.token.severity.upper()}: "
        click.echo(f"  own token        {level}{found.token.message}")
    for section, readable in found.readable.items():
        managed = "managed" if section in found.managed else "not managed"
        state = "readable" if readable else f"DENIED: needs {found.missing[section]}"
        click.echo(f"  {section:<16} {managed:<12} {state}")
    for what, mutation in found.writes.items():
        click.echo(f"  write {what:<26} {mutation or 'not exposed: done by runbook'}")
    for line in found.quotas:
        click.echo(f"  rate limit {line}")
    if found.blocking:
        raise AuthError("the token cannot read " + ", ".join(f"{s} (needs {p})" for s, p in found.blocking.items()))


def register(group: click.Group) -> None:
    group.add_command(verify)
    group.add_command(doctor)
