"""`provision catalog export`: the initial catalog CSV Global-e needs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.plan_commands import waiting
from provisioner.engine import catalog as catalogue


@click.group()
def catalog() -> None:
    """The merchant's catalog, as Global-e's initial upload needs it."""


@catalog.command()
@click.argument("merchant")
@click.option("--env", "environment", required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The CSV to write.")
@click.option("--page-size", type=click.IntRange(1, catalogue.MAX_PAGE_SIZE), default=catalogue.PAGE_SIZE,
              show_default=True)
def export(merchant: str, environment: str, out: Path, page_size: int) -> None:
    """Write one CSV row per product size of MERCHANT's store."""
    terminal = sys.stderr.isatty()

    def progress(stats: catalogue.ExportStats) -> None:
        if terminal:
            click.echo(f"\r  page {stats.pages}: {stats.products} products, {stats.rows} rows", err=True, nl=False)

    stats = catalogue.export(merchant, environment, out, page_size=page_size, progress=progress, on_wait=waiting)
    if terminal:
        click.echo("", err=True)
    click.echo(f"wrote {out}: {stats.rows} rows from {stats.products} products in {stats.pages} page(s), "
               f"{stats.requests} requests, {stats.seconds:.1f}s (paced {stats.waited:.1f}s)")


def register(group: click.Group) -> None:
    group.add_command(catalog)
