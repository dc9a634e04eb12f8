"""Shell completion of merchant and environment names, tiers and saved plans (click's `shell_complete`),
cheap enough to run on every Tab: a directory listing, and one merchant file's `environments` keys. And
the options every command spells the same way: `--env` and the one flag for "don't ask"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from provisioner.config import MERCHANTS_DIR
from provisioner.config.environments import SANDBOX

F = TypeVar("F", bound=Callable[..., Any])

TIERS = ("qa", "prod")  # what `--env` also takes where a fleet is planned (engine.fleet.selection.TIERS)
ENV_HELP = "The merchant's environment: a key of its `environments:`, or sandbox (the built-in emulator)."
YES_HELP = "Do not ask: answer yes to every question (scripts and CI); also --auto-approve."


def _merchants() -> list[str]:
    return sorted(path.stem for path in MERCHANTS_DIR.glob("*.yaml"))


def merchants(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(name) for name in _merchants() if name.startswith(incomplete)]


def _environments_of(path: Path) -> list[str]:
    import yaml  # on Tab only: every command's --help imports this module

    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return []
    declared = document.get("environments") if isinstance(document, dict) else None
    return [str(name) for name in declared] if isinstance(declared, dict) else []


def environments(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The environments of the merchant(s) already on the command line, else of every merchant."""
    named = ctx.params.get("merchant") or ctx.params.get("target") or ctx.params.get("merchants") or ()
    # While an option still lacks its value, click leaves the arguments unparsed in ctx.args.
    chosen = [named] if isinstance(named, str) else list(named) or [a for a in ctx.args if a in _merchants()]
    found = {SANDBOX}
    for merchant in chosen or _merchants():
        found.update(_environments_of(MERCHANTS_DIR / f"{merchant}.yaml"))
    return [CompletionItem(name) for name in sorted(found) if name.startswith(incomplete)]


def environments_and_tiers(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """For a fleet command (`plan`): the environments, and the tiers that take each merchant's of that tier."""
    known = {item.value for item in environments(ctx, param, incomplete)}
    return [CompletionItem(name) for name in sorted(known | {t for t in TIERS if t.startswith(incomplete)})]


def merchants_or_plans(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A merchant's name, or a saved JSON plan (`apply plan.json`): the files of the folder being typed."""
    folder, _, start = incomplete.rpartition("/")
    base = Path(folder or ".")
    plans = sorted(str(p) if folder else p.name for p in base.glob(f"{start}*.json") if p.is_file()) \
        if base.is_dir() else []
    return [*merchants(ctx, param, incomplete), *(CompletionItem(p) for p in plans)]


def env_option(*, required: bool = True, help: str = ENV_HELP) -> Callable[[F], F]:
    """`--env`, with completion and help, the same on every command."""
    return click.option("--env", "environment", required=required, help=help, shell_complete=environments)


def yes_option(help: str = YES_HELP) -> Callable[[F], F]:
    """The one flag for "don't ask" on every command that asks: `--yes`, `-y` or `--auto-approve`."""
    return click.option("--yes", "-y", "--auto-approve", "yes", is_flag=True, help=help)
