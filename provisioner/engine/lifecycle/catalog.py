"""`provision catalog export`: the CSV Global-e's onboarding guide asks for as the initial catalog
upload, done right: it stops after the last page, paces itself under the rate limits, retries reads,
streams in constant memory and writes a file atomically (no partial file on failure)."""

from __future__ import annotations

import contextlib
import csv
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from provisioner.centra.client import CentraClient
from provisioner.centra.pacing import Pacer
from provisioner.engine import limits
from provisioner.engine.plan import planning, target
from provisioner.errors import ProvisionerError

COLUMNS = ["Product Unique Identifier", "SKU", "Display Name", "Product Description", "Country of Origin"]
PAGE_SIZE = limits.CATALOG_PAGE_SIZE
MAX_PAGE_SIZE = limits.CATALOG_MAX_PAGE_SIZE


@dataclass
class ExportStats:
    total: int | None = None  # products to export, when counted (for progress)
    rows: int = 0
    products: int = 0
    pages: int = 0
    requests: int = 0
    seconds: float = 0.0
    waited: float = 0.0


def rows_of(product: dict[str, Any]) -> Iterator[list[str]]:
    """One row per product size shown in the store; a product with no display there has none."""
    country = (product.get("countryOfOrigin") or {}).get("code") or "N/A"
    for display in product["displays"]:
        for item in display["displayItems"]:
            for size in item["productVariant"]["productSizes"]:
                yield [str(size["id"]), size["SKU"], display["name"], display["description"], country]


def store_id(client: CentraClient, name: str) -> int:
    stores = client.run("stores").data["stores"]
    for store in stores:
        if store["name"] == name:
            return int(store["id"])
    raise ProvisionerError(f"no store named {name!r} in Centra (stores: {', '.join(s['name'] for s in stores)})")


def product_count(client: CentraClient) -> int | None:
    """How many active products there are (Centra's `counters`); None if the target cannot say."""
    try:
        return int(client.run("catalog_count", {"status": ["ACTIVE"]}).data["counters"]["products"])
    except (ProvisionerError, KeyError, TypeError, ValueError):
        return None


def export_with(client: CentraClient, store: int, out: Path | TextIO, *, page_size: int = PAGE_SIZE,
                pacer: Pacer | None = None, progress: Callable[[ExportStats], None] | None = None,
                on_wait: Callable[[float, str], None] | None = None) -> ExportStats:
    """The CSV into a file (atomically) or an open stream (`--out -`)."""
    started, before = time.monotonic(), client.requests
    if pacer is None:
        pacer = Pacer.from_rate_limits(client.run("rate_limits").data["rateLimits"], on_wait=on_wait)
    stats = ExportStats()
    if progress is not None:  # the total only serves progress: not worth a request otherwise
        stats.total = product_count(client)
        progress(stats)
    if isinstance(out, Path):
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
        try:
            os.fchmod(fd, _normal_mode(out))  # mkstemp's 0600 is for secrets; a catalog is the user's file
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
                _write(client, store, handle, page_size, pacer, stats, progress)
            os.replace(temporary, out)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    else:
        _write(client, store, out, page_size, pacer, stats, progress)
    stats.requests = client.requests - before
    stats.seconds = time.monotonic() - started
    stats.waited = pacer.waited
    return stats


def _normal_mode(out: Path) -> int:
    """The mode the file would get from the user's own tools: an existing file's, else 0666 less the umask."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(out.stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write(client: CentraClient, store: int, handle: TextIO, page_size: int, pacer: Pacer, stats: ExportStats,
           progress: Callable[[ExportStats], None] | None) -> None:
    writer = csv.writer(handle)
    writer.writerow(COLUMNS)
    expected = page_size * 20
    while True:
        pacer.before(expected)
        result = client.run("catalog_page", {"status": ["ACTIVE"], "page": stats.pages + 1,
                                             "limit": page_size, "storeId": store})
        expected = int(result.extensions.get("complexity", expected))
        pacer.after(expected)
        products = result.data["products"]
        stats.pages += 1
        stats.products += len(products)
        for product in products:
            for row in rows_of(product):
                writer.writerow(row)
                stats.rows += 1
        if progress is not None:
            progress(stats)
        if len(products) < page_size:  # the last page: the script in Global-e's guide never asks this
            break


def export(merchant: str, environment: str, out: Path | TextIO, *, page_size: int = PAGE_SIZE,
           progress: Callable[[ExportStats], None] | None = None,
           on_wait: Callable[[float, str], None] | None = None) -> ExportStats:
    state = planning.desired(merchant, environment)
    if not state.spec.store:
        raise ProvisionerError(f"{merchant}: the merchant file names no store, so there is no catalog to export")
    with target.connect(state, on_wait=on_wait) as client:
        return export_with(client, store_id(client, state.spec.store), out, page_size=page_size, progress=progress,
                           on_wait=on_wait)
