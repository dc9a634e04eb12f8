"""`provision catalog export`: the initial catalog CSV Global-e needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

import click

from provisioner.cli import completion
from provisioner.cli.terminal import Progress, SafeStream, echo, example
from provisioner.engine import limits
from provisioner.escape import terminal

# Only what `--help` needs is imported at the top; the engine when the command runs.
if TYPE_CHECKING:
    from provisioner.engine.lifecycle import catalog as catalogue


@click.group(epilog=example("provision catalog export acme --env prod --out catalog.csv"))
def catalog() -> None:
    """The merchant's catalog, for Global-e's initial upload."""


@catalog.command(epilog=example("provision catalog export acme --env prod --out catalog.csv"))
@click.argument("merchant", shell_complete=completion.merchants)
@completion.env_option()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), required=True,
              help="The CSV to write; - for stdout.")
@click.option("--page-size", type=click.IntRange(1, limits.CATALOG_MAX_PAGE_SIZE), default=limits.CATALOG_PAGE_SIZE,
              show_default=True)
def export(merchant: str, environment: str, out: Path, page_size: int) -> None:
    """Write one CSV row per product size of MERCHANT's store."""
    from provisioner.engine.lifecycle import catalog as catalogue

    to_stdout = str(out) == "-"
    sink: Path | TextIO = cast(TextIO, SafeStream(sys.stdout)) if to_stdout else out
    with Progress("exporting", None, unit="products") as progress:
        def advance(stats: catalogue.ExportStats) -> None:
            if stats.total is not None and progress.total is None:
                progress.set_total(stats.total)
            if stats.pages:
                progress.advance(stats.products - progress.completed, current=f"page {stats.pages + 1}")

        stats = catalogue.export(merchant, environment, sink, page_size=page_size,
                                 progress=advance if progress.enabled else None, on_wait=progress.waiting)
    echo(f"wrote {'stdout' if to_stdout else terminal(out)}: {stats.rows} rows from {stats.products} products in "
               f"{stats.pages} page(s), {stats.requests} requests, {stats.seconds:.1f}s "
               f"(waited {stats.waited:.1f}s for Centra's rate limit); sorted by "
               f"{terminal(stats.sort) if stats.sort else 'the order Centra chose (it lists no sort)'}", err=to_stdout)
