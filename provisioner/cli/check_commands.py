"""`provision verify` and `provision doctor`: live checks."""

from __future__ import annotations

import click

from provisioner.cli import completion
from provisioner.cli.terminal import echo, example
from provisioner.errors import AuthError, ProvisionerError
from provisioner.escape import terminal

# The engine is imported when a command runs, so that --help stays fast.


@click.command(epilog=example("provision verify acme --env qa"))
@click.argument("merchant", shell_complete=completion.merchants)
@completion.env_option()
def verify(merchant: str, environment: str) -> None:
    """Probe MERCHANT's live store: plugins, Order API secret, order stages.

    Plugins must be present and active, the Order API must accept the secret the file references, and
    for Global-e each stage of the order lifecycle must be ready. Exit 0 only when everything is."""
    from provisioner.engine.lifecycle import verify as verifying

    result = verifying.verify(merchant, environment)
    for check in result.checks:
        echo(f"  {'ok ' if check.passed else 'FAIL'} {terminal(check.subject)}: {terminal(check.detail)}")
    if result.stages:
        echo("Order lifecycle (Global-e):")
    for stage in result.stages:
        echo(f"  {'✓' if stage.ready else '✗'} {stage.number}. {terminal(stage.name)} ({terminal(stage.api)})")
        for check in stage.checks:
            echo(f"      {'✓' if check.passed else '✗'} {terminal(check.subject)}: {terminal(check.detail)}")
    failed = [c for c in result.checks if not c.passed]
    unready = [f"{s.number}. {s.name}" for s in result.stages if not s.ready]
    if failed or unready:
        raise ProvisionerError(f"{len(failed)} of {len(result.checks)} check(s) failed"
                               + (f"; not ready: {', '.join(unready)}" if unready else ""))
    total = len(result.checks) + len(result.stages)
    echo(f"{len(result.checks)} check(s) passed" + (f"; all {len(result.stages)} stages ready"
                                                            if result.stages else "") if total else "nothing to probe")


@click.command(epilog=example("provision doctor acme --env qa"))
@click.argument("merchant", shell_complete=completion.merchants)
@completion.env_option()
def doctor(merchant: str, environment: str) -> None:
    """What can the environment's token read and write?

    Whether it can read every section MERCHANT manages, which writes the target exposes, and what
    is left of the rate limits."""
    from provisioner.engine.lifecycle import doctor as doctoring

    found = doctoring.diagnose(merchant, environment)
    # The version, permission names, messages, mutation names and quota types are the server's words.
    echo(f"Centra {terminal(found.app_version) if found.app_version else '(version not reported)'}")
    if found.token is not None:
        level = "" if found.token.severity == "info" else f"{found.token.severity.upper()}: "
        echo(f"  own token        {level}{terminal(found.token.message)}")
    for section, readable in found.readable.items():
        managed = "managed" if section in found.managed else "not managed"
        state = "readable" if readable else (f"DENIED: needs {found.missing[section]}" if section in found.missing
                                             else f"NOT READABLE: {found.unanswerable[section]}")
        echo(f"  {section:<16} {managed:<12} {terminal(state)}")
    for what, mutation in found.writes.items():
        echo(f"  write {what:<26} {terminal(mutation) if mutation else 'not exposed: done by runbook'}")
    for line in found.quotas:
        echo(f"  rate limit {terminal(line)}")
    if found.blocking:
        raise AuthError("the token cannot read " + ", ".join(f"{s} (needs {p})" for s, p in found.blocking.items()))

