"""`provision catalog export`: the CSV Global-e's onboarding guide asks for as the initial catalog
upload, done right: it stops after the last page, paces itself under the rate limits, retries reads,
keeps a few pages in flight (at Centra's latency one page at a time leaves the connection idle most of
the time), writes them in order in constant memory, and writes a file atomically (no partial file on
failure).

Pages are asked for by number, so they must come in one order that does not move while the export
runs. The order is chosen from the target's own schema (its introspection, cached per host): `id_ASC`
(a product's id never changes) where the target lists it, else `id_DESC`, else the one sort Centra's
documentation shows (`updatedAt_DESC`; then a product edited during the export can move between pages,
so products are written once each by id, and the figures say which sort was used)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from io import TextIOWrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from provisioner import files
from provisioner.centra.client import CentraClient, Result
from provisioner.centra.pacing import Pacer
from provisioner.engine import limits
from provisioner.engine.plan import planning, target
from provisioner.errors import ProvisionerError

if TYPE_CHECKING:
    from graphql import GraphQLSchema

COLUMNS = ["Product Unique Identifier", "SKU", "Display Name", "Product Description", "Country of Origin"]
PAGE_SIZE = limits.CATALOG_PAGE_SIZE
MAX_PAGE_SIZE = limits.CATALOG_MAX_PAGE_SIZE
# Sorts that page stably, best first; then the documented one, whose pages may move under edits.
STABLE_SORTS = ("id_ASC", "id_DESC")
DOCUMENTED_SORT = "updatedAt_DESC"
# Pages in flight at most (at 50 ms a request, 8 pages of 200 products keep a served emulator busy: the
# limit is then Centra's work, not the round trip). Fewer when the rate limit's 10-second window allows
# fewer requests (growth: 4); the pacer still spaces them under the limits.
MAX_WINDOW = 8
REQUESTS_PER_WINDOW_SLOT = 10


@dataclass
class ExportStats:
    total: int | None = None  # products to export, when counted (for progress)
    rows: int = 0
    products: int = 0
    pages: int = 0
    requests: int = 0
    seconds: float = 0.0
    waited: float = 0.0
    sort: str | None = None  # the sort the pages were asked in (None: the target offers none)


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


def choose_sort(client: CentraClient) -> str | None:
    """The sort to page the catalogue in, from the target's schema: see the module's docstring."""
    from provisioner.centra.introspection import target_schema

    return sort_from(target_schema(client).schema)


def sort_from(schema: GraphQLSchema) -> str | None:
    from graphql import GraphQLEnumType, get_named_type

    query = schema.query_type
    field = query.fields.get("products") if query is not None else None
    argument = field.args.get("sort") if field is not None else None
    offered = get_named_type(argument.type) if argument is not None else None
    values = set(offered.values) if isinstance(offered, GraphQLEnumType) else set()
    return next((sort for sort in (*STABLE_SORTS, DOCUMENTED_SORT) if sort in values), None)


def window_for(pacer: Pacer) -> int:
    """Pages in flight: MAX_WINDOW, fewer when the rate limit's window allows few requests."""
    return max(1, min(MAX_WINDOW, pacer.requests // REQUESTS_PER_WINDOW_SLOT))


def export_with(client: CentraClient, store: int, out: Path | TextIO, *, page_size: int = PAGE_SIZE,
                pacer: Pacer | None = None, progress: Callable[[ExportStats], None] | None = None,
                on_wait: Callable[[float, str], None] | None = None, sort: str | None = None,
                window: int | None = None) -> ExportStats:
    """The CSV into a file (atomically; the user's usual mode: it holds no secret) or an open stream
    (`--out -`). `sort`: as `choose_sort` when not given; `window`: as `window_for` when not given."""
    started, before = time.monotonic(), client.requests
    if pacer is None:
        pacer = Pacer.from_rate_limits(client.run("rate_limits").data["rateLimits"], on_wait=on_wait)
    stats = ExportStats(sort=sort or choose_sort(client))
    # The count sizes the run: the pages are asked for up to the last one, not past it.
    stats.total = product_count(client)
    if progress is not None:
        progress(stats)
    pages = _Pages(client, store, page_size, pacer, stats.sort, window or window_for(pacer))
    if isinstance(out, Path):
        out.parent.mkdir(parents=True, exist_ok=True)
        with files.writing_atomic(out) as raw:
            handle = TextIOWrapper(raw, encoding="utf-8", newline="")
            _write(pages, handle, stats, progress)
            handle.flush()
            handle.detach()  # the file itself is closed by files, which then puts it in place
    else:
        _write(pages, out, stats, progress)
    stats.requests = client.requests - before
    stats.seconds = time.monotonic() - started
    stats.waited = pacer.waited
    return stats


class _Pages:
    """The catalogue's pages in order, up to `window` of them asked for at once, each sent when the pacer
    lets it. With a product count, pages are asked for up to the one that should be the last (short or
    empty); past it (the catalogue grew) or without a count, a few at a time until one is short."""

    def __init__(self, client: CentraClient, store: int, page_size: int, pacer: Pacer, sort: str | None,
                 window: int) -> None:
        self.client, self.store, self.page_size, self.pacer = client, store, page_size, pacer
        self.sort, self.window = sort, window
        self.expected = page_size * 20  # complexity of a page, until Centra says

    def read(self, total: int | None) -> Iterator[list[dict[str, Any]]]:
        last = total // self.page_size + 1 if total is not None else None
        pending: dict[int, Future[Result]] = {}
        pool = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="catalog")
        try:
            asked, number = 0, 1
            while True:
                horizon = last if last is not None and number <= last else number + self.window - 1
                while asked < horizon and len(pending) < self.window:
                    asked += 1
                    pending[asked] = self._send(pool, asked)
                result = pending.pop(number).result()
                self.expected = int(result.extensions.get("complexity", self.expected))
                products = result.data["products"]
                yield products
                if len(products) < self.page_size:  # the last page: the script in Global-e's guide never asks
                    return
                number += 1
        finally:
            for future in pending.values():
                future.cancel()
            pool.shutdown(wait=True)

    def _send(self, pool: ThreadPoolExecutor, number: int) -> Future[Result]:
        self.pacer.before(self.expected)
        self.pacer.after(self.expected)  # counted when sent: the window's requests are all in the limit's window
        variables = {"status": ["ACTIVE"], "page": number, "limit": self.page_size, "storeId": self.store,
                     "sort": [self.sort] if self.sort else None}
        return pool.submit(self.client.run, "catalog_page", variables)


def _write(pages: _Pages, handle: TextIO, stats: ExportStats, progress: Callable[[ExportStats], None] | None) -> None:
    writer = csv.writer(handle)
    writer.writerow(COLUMNS)
    written: set[int] | None = None if stats.sort in STABLE_SORTS else set()  # an order that may move: once each
    for products in pages.read(stats.total):
        stats.pages += 1
        for product in products:
            if written is not None:
                if product["id"] in written:
                    continue
                written.add(product["id"])
            stats.products += 1
            for row in rows_of(product):
                writer.writerow(row)
                stats.rows += 1
        if progress is not None:
            progress(stats)


def export(merchant: str, environment: str, out: Path | TextIO, *, page_size: int = PAGE_SIZE,
           progress: Callable[[ExportStats], None] | None = None,
           on_wait: Callable[[float, str], None] | None = None) -> ExportStats:
    state = planning.desired(merchant, environment)
    if not state.spec.store:
        raise ProvisionerError(f"{merchant}: the merchant file names no store, so there is no catalog to export")
    with target.connect(state, on_wait=on_wait) as client:
        return export_with(client, store_id(client, state.spec.store), out, page_size=page_size, progress=progress,
                           on_wait=on_wait)
