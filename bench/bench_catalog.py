"""Catalog export: ours versus the script of Global-e's onboarding guide ("the seed"), same query shape,
against the served emulator with a large catalogue and Centra's latency (--latency-ms, default 50 ms a
request, injected through the sandbox's fault surface). Goal: ours ≥ 5x faster than the seed at zero
sleep (a few pages in flight, written in order). The seed sleeps a fixed second per page; that sleep is configurable
(--seed-sleep, default 0 so the two can be compared on the work itself) and its cost at 1 s is shown.
The seed's loop never ends on its own; here it is stopped at its first empty page."""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provisioner.centra.client import CentraClient
from provisioner.engine.lifecycle import catalog
from provisioner.sandbox import faults
from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from provisioner.sandbox.server import make_server
from tests.sandbox.conftest import CATALOG_QUERY as SEED_QUERY  # the seed's query, unchanged


def serve(path: Path, port: multiprocessing.Queue, processes: int = 1) -> None:  # type: ignore[type-arg]
    """The emulator on one listening socket, answered by `processes` forked processes (Centra answers
    requests in parallel; one interpreter answering a window of pages would measure its own limit)."""
    box = open_sandbox(FixtureSpec("bench"), path)
    server = make_server(box.app, 0)
    forked = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:  # the store opens a connection per thread: the forked process opens its own
            server.serve_forever()
            os._exit(0)
        forked.append(pid)
    port.put((server.server_address[1], forked))
    server.serve_forever()


def seed_method(url: str, token: str, out: Path, sleep: float) -> tuple[int, int, float]:
    """The seed's loop, kept as it is (raw responses printed, fixed sleep), bar the stop."""
    started, rows, page = time.perf_counter(), 0, 1
    printed = io.StringIO()
    with out.open("w", newline="", encoding="utf-8") as handle, httpx.Client(timeout=60) as http:
        writer = csv.writer(handle)
        writer.writerow(catalog.COLUMNS)
        while True:
            response = http.post(f"{url}/graphql", json={"query": SEED_QUERY,
                                                         "variables": {"status": "ACTIVE", "page": page}},
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            data = response.json()
            print(data, file=printed)
            products = data["data"]["products"]
            for product in products:
                for display in product["displays"]:
                    for item in display["displayItems"]:
                        for size in item["productVariant"]["productSizes"]:
                            country = product["countryOfOrigin"]["code"] if product["countryOfOrigin"] else "N/A"
                            writer.writerow([size["id"], size["SKU"], display["name"], display["description"],
                                             country])
                            rows += 1
            time.sleep(sleep)
            if not products:  # not in the seed: without it the loop runs forever
                break
            page += 1
    return rows, page, time.perf_counter() - started


def page_seconds(url: str, token: str, page: int, repeats: int = 5) -> float:
    """The median time of one 200-product page of our export's query, at a given page."""
    source = (Path(__file__).resolve().parents[1] / "provisioner/centra/operations/catalog_page.graphql").read_text()
    variables = {"status": ["ACTIVE"], "page": page, "limit": catalog.MAX_PAGE_SIZE, "storeId": 1, "sort": ["id_ASC"]}
    times = []
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(repeats):
            started = time.perf_counter()
            http.post(f"{url}/graphql", json={"query": source, "variables": variables}).raise_for_status()
            times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seed-sleep", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--server-processes", type=int, default=2, help="processes answering the emulator's port")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        started = time.perf_counter()
        box = open_sandbox(FixtureSpec("bench", "Bench Store", products=args.products, rate_tier="enterprise"),
                           folder / "bench.db")
        with box.store.transaction() as db:  # both methods run far under the quotas; measure the work itself
            db.execute("UPDATE rate_quotas SET quota = MIN(quota * 100, 2000000000)")
            faults.configure(db, {"latency": {"ms": args.latency_ms}})
        print(f"catalogue: {args.products} products seeded in {time.perf_counter() - started:.1f}s; "
          f"{args.latency_ms} ms latency a request; served by {args.server_processes} process(es)")
        port = multiprocessing.Queue()  # type: ignore[var-annotated]
        server = multiprocessing.Process(target=serve, args=(box.store.path, port, args.server_processes),
                                         daemon=True)
        server.start()
        bound, forked = port.get(timeout=60)
        url = f"http://127.0.0.1:{bound}"
        try:
            with CentraClient(url, box.admin_token) as client:
                stats = catalog.export_with(client, 1, folder / "ours.csv", page_size=catalog.MAX_PAGE_SIZE)
            seed_rows, seed_pages, seed_seconds = seed_method(url, box.admin_token, folder / "seed.csv",
                                                              args.seed_sleep)
            first_page = page_seconds(url, box.admin_token, 1)
            last_page = page_seconds(url, box.admin_token, max(stats.pages - 1, 1))
        finally:
            for pid in forked:
                os.kill(pid, signal.SIGTERM)
            server.terminate()
        same = sorted((folder / "ours.csv").read_text().splitlines()) == sorted(
            (folder / "seed.csv").read_text().splitlines())
    print(f"{'method':<34}{'rows':>9}{'requests':>10}{'seconds':>9}{'rows/s':>9}")
    print(f"{'provision catalog export':<34}{stats.rows:>9}{stats.requests:>10}{stats.seconds:>9.1f}"
          f"{stats.rows / stats.seconds:>9.0f}")
    print(f"{f'seed script (sleep {args.seed_sleep:g}s/page)':<34}{seed_rows:>9}{seed_pages:>10}"
          f"{seed_seconds:>9.1f}{seed_rows / seed_seconds:>9.0f}")
    projected = seed_seconds + seed_pages * (1 - args.seed_sleep)
    print(f"{'seed script as written (sleep 1s)':<34}{seed_rows:>9}{seed_pages:>10}{projected:>9.0f}"
          f"{seed_rows / projected:>9.0f}   (projected; and it never stops on its own)")
    print(f"same rows: {same}; sorted by {stats.sort}")
    print(f"ours vs the seed's method at sleep {args.seed_sleep:g}s: {seed_seconds / stats.seconds:.2f}x faster"
          f" (goal ≥ 5x: {'met' if seed_seconds / stats.seconds >= 5 else 'MISSED'})")
    print(f"one page at the start vs at the end of the catalogue: {first_page * 1000:.0f} ms vs "
          f"{last_page * 1000:.0f} ms (ratio {last_page / first_page:.2f}; sorted on an index, so near 1)")


if __name__ == "__main__":
    main()
