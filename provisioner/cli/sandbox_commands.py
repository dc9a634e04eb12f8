"""`provision sandbox ...`: the embedded Centra emulator."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli import completion
from provisioner.cli.terminal import echo, example
from provisioner.escape import terminal
from provisioner.sandbox import ratelimit

# The emulator is imported when a command runs, so that --help stays fast.


@click.group(epilog=example("provision sandbox serve acme --port 8765"))
def sandbox() -> None:
    """The built-in Centra emulator (`sandbox` environments).

    Every merchant has a `sandbox` environment served by it, in-process or over HTTP."""


@sandbox.command(epilog=example("provision sandbox serve acme --port 0"))
@click.argument("merchant", shell_complete=completion.merchants)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port.")
@click.option("--db", type=click.Path(path_type=Path), help="Database file (default .provision/sandbox/MERCHANT.db).")
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve(merchant: str, port: int, db: Path | None, verbose: bool) -> None:
    """Serve MERCHANT's sandbox over HTTP on 127.0.0.1."""
    from provisioner.sandbox import instance
    from provisioner.sandbox.server import make_server

    box = instance.for_merchant(merchant, db)
    token_file = box.write_token_file()
    server = make_server(box.app, port, quiet=not verbose)
    host, bound = server.server_address[:2]
    echo(f"Centra sandbox for {terminal(merchant)}: http://{host!s}:{bound}/graphql")
    echo(f"admin token in {terminal(token_file)} (curl -H \"Authorization: Bearer $(cat {terminal(token_file)})\")")
    echo("Ctrl-C to stop", err=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@sandbox.command(epilog=example("provision sandbox reset acme --products 20000 --rate-tier growth"))
@click.argument("merchant", shell_complete=completion.merchants)
@click.option("--db", type=click.Path(path_type=Path))
@click.option("--products", type=click.IntRange(0, 1_000_000), help="Catalogue size (default 300).")
@click.option("--rate-tier", type=click.Choice(sorted(ratelimit.TIERS)), help="Centra rate-limit tier.")
def reset(merchant: str, db: Path | None, products: int | None, rate_tier: str | None) -> None:
    """Restore MERCHANT's sandbox to its fixture."""
    from provisioner.engine.lifecycle import sandbox_reset

    path = sandbox_reset.reset(merchant, db, products=products, rate_tier=rate_tier)
    echo(f"sandbox {terminal(path)} reset (with its ledger and journal)")


@sandbox.command(epilog=example("provision sandbox operator out/acme.sandbox.runbook.md"))
@click.argument("runbook_path", metavar="RUNBOOK", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def operator(runbook_path: Path) -> None:
    """Perform a sandbox runbook's steps as an operator in AMS would."""
    from provisioner.sandbox import operator as simulated

    for number, line in enumerate(simulated.run(runbook_path), start=1):
        echo(f"step {number}: {terminal(line)}")

