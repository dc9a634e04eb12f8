"""What every fleet benchmark shares: the emulators' process (`SCRIPT --serve COUNT --dir DIR --latency-ms
MS`, the script's own `serve`: its first line of output is the endpoints, closing its stdin ends it), one
emulator's set-up, the merchant file each plans, and the CPU time of the emulators' process. One place, so
each benchmark measures the same kind of server and the same merchants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graphql import get_introspection_query

from provisioner.sandbox import faults
from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import Sandbox, open_sandbox
from provisioner.sandbox.wire import Request

MERCHANT = """merchant: {name}
presets: [global-e]
store: GlobalE Store
global_e: {{merchant_id: {merchant_id}, checkout_plugin: Checkout API}}
local_vat_rate: 20
operated_markets: [GB]
primary_warehouse: Main
secrets:
  order_api_secret: env:BENCH_ORDER_SECRET
api_tokens:
  - description: Global-e integration
    email: integrations@{name}.example
environments:
  qa:
    centra_url: http://127.0.0.1:{port}
    token: env:BENCH_TOKEN_{number}
"""


def merchant_file(name: str, number: int, port: int) -> str:
    """Merchant `number`'s file, on its emulator's port; its token is read from BENCH_TOKEN_<number>."""
    return MERCHANT.format(name=name, merchant_id=1000 + number, port=port, number=number)


def write_merchants(project: Path, endpoints: list[dict[str, Any]], environment: dict[str, str] | Any = os.environ,
                    width: int = 3) -> None:
    """A merchant file per endpoint under project/merchants (named m000, m001...), and each one's token (and
    the order API secret they share) in `environment`."""
    (project / "merchants").mkdir(parents=True, exist_ok=True)
    for number, endpoint in enumerate(endpoints):
        name = f"m{number:0{width}d}"
        (project / "merchants" / f"{name}.yaml").write_text(merchant_file(name, number, endpoint["port"]))
        environment[f"BENCH_TOKEN_{number}"] = endpoint["token"]
    environment["BENCH_ORDER_SECRET"] = "bench-order-secret"


def emulator(name: str, database: Path, latency_ms: int) -> Sandbox:
    """One merchant's emulator: a GlobalE store with 5 products, `latency_ms` added to every request."""
    box = open_sandbox(FixtureSpec(name, "GlobalE Store", "Main", ("GB",), products=5), database)
    if latency_ms:
        with box.store.transaction() as db:
            faults.configure(db, {"latency": {"ms": latency_ms}})
    return box


def warm(box: Sandbox) -> None:
    """Answer one introspection before the clock starts, as a running Centra would have: the emulators
    share its answer, and its first computation (~50 ms) is the emulator's start, not the client's cost."""
    body = json.dumps({"query": get_introspection_query(descriptions=False)}).encode()
    headers = {"authorization": f"Bearer {box.admin_token}", "content-type": "application/json"}
    answer = box.app.handle(Request("POST", "/graphql", headers=headers, body=body))
    if answer.status != 200:
        raise SystemExit(f"the emulator did not answer its introspection: HTTP {answer.status}")


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by another process (the emulators'), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(script: Path | str, count: int, directory: Path | str, latency_ms: int,
           stop_within: float = 60.0) -> Iterator[subprocess.Popen[str]]:
    """The running emulators' process; its stdout is at its first line (read it for the endpoints)."""
    server = subprocess.Popen([sys.executable, str(script), "--serve", str(count), "--dir", str(directory),
                               "--latency-ms", str(latency_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        yield server
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=stop_within)
