"""`provision`: parse options, call one core function, map errors to exit codes (DESIGN §7)."""

from __future__ import annotations

from typing import Any

import click

from provisioner.cli import (
    apply_commands,
    catalog_commands,
    check_commands,
    config_commands,
    lifecycle_commands,
    plan_commands,
    policy_commands,
    sandbox_commands,
)
from provisioner.errors import ConfigError, ExitCode, ProvisionerError
from provisioner.render.escape import terminal, terminal_lines


class Provision(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for diagnostic in exc.diagnostics:
                click.echo(terminal(diagnostic), err=True)
            click.echo(f"{len(exc.diagnostics)} problem(s) found", err=True)
            ctx.exit(exc.exit_code)
        except ProvisionerError as exc:
            click.echo(f"error: {terminal_lines(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=Provision, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="provisioner")
def cli() -> None:
    """Centra configuration as code: validate, plan and apply merchant files."""


config_commands.register(cli)
sandbox_commands.register(cli)
plan_commands.register(cli)
apply_commands.register(cli)
catalog_commands.register(cli)
check_commands.register(cli)
policy_commands.register(cli)
lifecycle_commands.register(cli)


def main() -> None:
    cli(prog_name="provision")


__all__ = ["ExitCode", "cli", "main"]
