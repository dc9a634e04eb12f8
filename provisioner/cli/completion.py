"""Shell completion of merchant and environment names (click's `shell_complete`), cheap enough to
run on every Tab: a directory listing, and one merchant file's `environments` keys."""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import CompletionItem

from provisioner.config import MERCHANTS_DIR
from provisioner.config.environments import SANDBOX


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
