"""Requests per second of the served emulator for a typical read (one page of the seed's catalog
query, and the plan's small configuration read), with 1 and 2 concurrent clients. The server runs in
its own process, as `provision sandbox serve` does, so client and server do not share a GIL."""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from provisioner.sandbox.server import make_server
from tests.sandbox.conftest import CATALOG_QUERY

CONFIG_QUERY = "{ stores { id name } storePlugins { id name uri status type store { name } } rateLimits { type } }"
REQUESTS = 300


def measure(url: str, token: str, query: str, variables: dict[str, object], clients: int) -> float:
    def worker(count: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for _ in range(count):
                response = client.post(url, json={"query": query, "variables": variables})
                response.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [REQUESTS // clients] * clients))
    return REQUESTS / (time.perf_counter() - started)


def serve(path: Path, port: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    box = open_sandbox(FixtureSpec("bench"), path)
    server = make_server(box.app, 0)
    port.put(server.server_address[1])
    server.serve_forever()


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        box = open_sandbox(FixtureSpec("bench", "Bench Store", products=2000, rate_tier="enterprise"),
                           Path(directory) / "bench.db")
        with box.store.transaction() as db:  # a benchmark measures speed, not quotas
            db.execute("UPDATE rate_quotas SET quota = 1000000000")
        port = multiprocessing.Queue()  # type: ignore[var-annotated]
        server = multiprocessing.Process(target=serve, args=(box.store.path, port), daemon=True)
        server.start()
        url = f"http://127.0.0.1:{port.get(timeout=30)}/graphql"
        print(f"emulator over HTTP, {REQUESTS} requests each")
        for label, query, variables in (("catalog page (30 products)", CATALOG_QUERY,
                                         {"status": ["ACTIVE"], "page": 2}),
                                        ("configuration read", CONFIG_QUERY, {})):
            for clients in (1, 2):
                rate = measure(url, box.admin_token, query, variables, clients)
                print(f"  {label:<28} clients={clients}  {rate:8.0f} requests/s")
        server.terminate()


if __name__ == "__main__":
    main()
