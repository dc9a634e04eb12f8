"""`provision warm start|stop|status`: the warm server that runs commands without the imports' cost."""

from __future__ import annotations

import time

import click

from provisioner.cli.terminal import echo, example
from provisioner.escape import terminal


@click.group(epilog=example("provision warm start"))
def warm() -> None:
    """A server that runs commands warm (docs/warm.md)."""


@warm.command(epilog=example("provision warm start --idle 7200"))
@click.option("--idle", "idle_seconds", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="Seconds without a command after which the server exits.")
def start(idle_seconds: float) -> None:
    """Start the warm server for this copy of the tool (or find the one running)."""
    from provisioner.warm import control

    running = control.start(idle_seconds)
    echo(f"warm server {running.pid} on {terminal(running.socket)}, "
         f"exits after {running.idle_seconds:g} s without a command")


@warm.command(epilog=example("provision warm stop"))
def stop() -> None:
    """Stop the warm server: commands start cold again."""
    from provisioner.warm import control

    stopped = control.stop()
    echo("no warm server was running" if stopped is None else f"warm server {stopped} stopped")


@warm.command(epilog=example("provision warm status"))
def status() -> None:
    """Whether a warm server runs for this copy of the tool (exit 1 when not)."""
    from provisioner.warm import control

    running = control.status()
    if running is None:
        echo("no warm server is running: commands start cold")
        click.get_current_context().exit(1)
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(running.started))
    echo(f"warm server {running.pid} on {terminal(running.socket)}, since {since}, "
         f"exits after {running.idle_seconds:g} s without a command")
