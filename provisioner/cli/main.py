"""`provision`: parse options, call one core function, map errors to exit codes.

Commands are imported only when they run, so `provision --help` (and completion) stays fast: the
root group knows each command by a line of COMMANDS — its name, where its click command lives
("module:attribute") and the one-line help `provision --help` shows. Adding a command is one line:

    "report": ("provisioner.cli.report_commands:report", "Summarise the plans of every merchant."),

(tests/cli/test_main.py checks each line's help against the command's own docstring.)

Exit codes: expected errors (ProvisionerError) exit with their own code and no traceback; usage
errors exit 1, so that 2 only ever means "changes present" (`plan --detailed-exitcode`).

Output: everything goes through `terminal.echo`, every expected error through `terminal.show_error`,
the debug log through a formatter that escapes each record, and a usage error's message (which quotes
what was typed) is escaped before click shows it: no foreign text reaches a CI log unescaped.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

import click

from provisioner.cli.terminal import Console, echo, show_error
from provisioner.errors import ExitCode, ProvisionerError
from provisioner.escape import terminal, terminal_lines

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("provisioner.cli.config_commands:validate", "Check merchant files offline."),
    "resolve": ("provisioner.cli.config_commands:resolve", "Print the fully expanded desired state of MERCHANT."),
    "schema": ("provisioner.cli.config_commands:schema", "Write (or check) schemas/: merchant files and JSON plans."),
    "plan": ("provisioner.cli.plan_commands:plan", "Show what `apply` would change for MERCHANT(s) in ENV."),
    "report": ("provisioner.cli.plan_commands:report",
               "Merge the JSON plans of shards into the report one run would have given."),
    "apply": ("provisioner.cli.apply_commands:apply", "Reconcile MERCHANT in ENV, or apply exactly a saved plan."),
    "attest": ("provisioner.cli.apply_commands:attest", "Confirm settings the API cannot read."),
    "catalog": ("provisioner.cli.catalog_commands:catalog", "The merchant's catalog, for Global-e's initial upload."),
    "verify": ("provisioner.cli.check_commands:verify",
               "Probe MERCHANT's live store: plugins, Order API secret, order stages."),
    "doctor": ("provisioner.cli.check_commands:doctor", "What can the environment's token read and write?"),
    "sandbox": ("provisioner.cli.sandbox_commands:sandbox", "The built-in Centra emulator (`sandbox` environments)."),
    "policy": ("provisioner.cli.policy_commands:policy", "Policy rules checked by every plan."),
    "rotate": ("provisioner.cli.lifecycle_commands:rotate",
               "Replace TOKEN (its description) of MERCHANT with a new one."),
    "secret": ("provisioner.cli.lifecycle_commands:secret", "Secrets the merchant file references."),
    "handover": ("provisioner.cli.lifecycle_commands:handover", "Write what Global-e needs for MERCHANT in ENV."),
    "export": ("provisioner.cli.lifecycle_commands:export_command",
               "Read MERCHANT's live store in ENV and write it as a merchant file."),
    "github": ("provisioner.cli.github_commands:github_group",
               "For GitHub Actions workflows: comments, drift issues, job summaries."),
    "gitops": ("provisioner.cli.gitops_commands:gitops_group",
               "For the apply workflows: the merge applies exactly what was reviewed."),
    "warm": ("provisioner.cli.warm_commands:warm", "A server that runs commands warm (docs/warm.md)."),
}


@contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    try:
        yield
    except click.UsageError as exc:
        exc.exit_code = ExitCode.ERROR  # type: ignore[misc]  # click's default, 2, means "changes" here
        # It quotes the command line, which a workflow may build from foreign names.
        exc.message = terminal_lines(exc.message)  # type: ignore[misc]  # click shows it as it stands
        raise


class Provision(click.Group):
    """The root group: lazy commands, and the mapping of expected errors to exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command = getattr(import_module(module), attribute)
        assert isinstance(command, click.Command), f"{COMMANDS[cmd_name][0]} is not a click command"
        return _with_run_options(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The registry's one-line help, so that `--help` imports no command module."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        with _usage_errors_exit_1():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with _usage_errors_exit_1():
                return super().invoke(ctx)
        except ProvisionerError as exc:
            show_error(exc)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # The reader went away (`| head`): nothing to say to it. Point stdout at /dev/null so the
            # interpreter's final flush does not fail a second time (the recipe in Python's signal docs).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except OSError as exc:
            # A path the user gave that cannot be written or read (a folder, no permission, a full disk):
            # expected, so one line; the file name and the system's reason, never a traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            echo(f"error: {terminal(where)}{terminal(exc.strerror or type(exc).__name__)}", err=True)
            # With --debug, where it came from: an OSError without a path the user gave may be a bug.
            logging.getLogger("provisioner").debug("the error's origin", exc_info=exc)
            ctx.exit(1)
        except KeyboardInterrupt:
            echo("interrupted", err=True)
            ctx.exit(130)


def _late_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        configure_logging(True)


def _late_no_color(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    found = ctx.find_object(Console)
    if value and found is not None:
        found.no_color = True


def _with_run_options(command: click.Command) -> click.Command:
    """`--debug` and `--no-color` where people type them too: after the command
    (`provision plan acme --env qa --debug`), not only before it. Added once per command object."""
    names = {name for param in command.params for name in getattr(param, "opts", [])}
    if "--debug" not in names:
        command.params.append(click.Option(
            ["--debug"], is_flag=True, expose_value=False, is_eager=True, callback=_late_debug,
            help="Trace every Centra request on stderr (also PROVISION_LOG=debug)."))
    if "--no-color" not in names:
        command.params.append(click.Option(
            ["--no-color"], is_flag=True, expose_value=False, is_eager=True, callback=_late_no_color,
            help="No colour (also NO_COLOR=1; FORCE_COLOR=1 forces it)."))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_run_options(sub)
    return command


class _EscapedFormatter(logging.Formatter):
    """Log records quote what servers sent (an operation's error, a URL): escaped like any other output,
    as the handler writes to stderr itself."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_lines(super().format(record))


def configure_logging(debug: bool) -> None:
    """`--debug` or PROVISION_LOG=debug: the tool's own trace (every Centra request) on stderr. Only the
    `provisioner` loggers: libraries below log request and response bodies, which may hold secrets."""
    level = "DEBUG" if debug else os.environ.get("PROVISION_LOG", "WARNING").upper()
    logger = logging.getLogger("provisioner")
    for previous in [h for h in logger.handlers if h.get_name() == "provision-cli"]:
        logger.removeHandler(previous)  # a second run in one process (tests) writes to its own stderr
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("provision-cli")
    handler.setFormatter(_EscapedFormatter("%(relativeCreated)7.0f ms %(levelname)-5s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")


@click.group(cls=Provision, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExample:\n  provision plan acme --env qa --debug")
@click.version_option(package_name="provisioner")
@click.option("--debug", is_flag=True, help="Trace every Centra request on stderr (also PROVISION_LOG=debug).")
@click.option("--no-color", is_flag=True, help="No colour (also NO_COLOR=1; FORCE_COLOR=1 forces it).")
@click.option("-C", "directory", type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="Run as if started in DIR (a checkout): merchants/, out/ and .provision/ are DIR's, and so "
                   "are the paths given after it (as git -C).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, no_color: bool, directory: str | None) -> None:
    """Centra configuration as code: validate, plan and apply merchant files."""
    configure_logging(debug)
    if directory is not None:
        os.chdir(directory)
    ctx.obj = Console(no_color=no_color)


def main() -> None:
    try:
        cli(prog_name="provision")
    finally:
        # What the run made is about to go with the process. Frozen, the interpreter's closing collections
        # skip it (exit handlers, thread joins and flushes still run): ~40 ms of a one-merchant plan's ~300.
        gc.freeze()


__all__ = ["COMMANDS", "ExitCode", "cli", "main"]
