"""A large fleet as people run it: `provision plan --all --env qa --out plan.json` (the real command in its
own process: start-up, planning, the JSON document written, the report printed) for 300 and 1,000
merchants, each with its own Centra emulator on 127.0.0.1 at 50 ms a request. Prints the wall time, its
ratio to the ideal (requests × latency ÷ requests in flight, the requests counted by the emulators) and
the peak memory and CPU time of the command (its processes included: on a 2-core machine that also
serves the emulators, CPU near the wall time means the cores are the limit, not Centra). Goal (issue
#24): 1,000 merchants ≤ 1.3x the ideal with peak memory under 250 MiB, memory flat as the fleet grows.

The emulators are served by one process with one thread watching every listening socket (each request
is then answered in a thread of its own, as `provision sandbox serve` does): a thread per server polling
its socket, a thousand times over, costs the machine more than the client being measured.

    python bench/bench_fleet_large.py [--sizes 300,1000] [--latency-ms 50] [--parallelism N]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_fleet import MERCHANT, _warm  # noqa: E402 - after the path is set for a plain `python bench/...`
from provisioner.engine import limits  # noqa: E402
from provisioner.sandbox import faults  # noqa: E402
from provisioner.sandbox.fixture import FixtureSpec  # noqa: E402
from provisioner.sandbox.instance import open_sandbox  # noqa: E402
from provisioner.sandbox.server import make_server  # noqa: E402
from provisioner.sandbox.wire import Request, Response  # noqa: E402

TARGET_RATIO = 1.3
TARGET_MIB = 250


class _Counted:
    """An emulator's app, counting the requests it answers (the ideal is computed from them)."""

    def __init__(self, app: Any, counter: list[int], lock: threading.Lock) -> None:
        self.app, self.counter, self.lock = app, counter, lock

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.counter[0] += 1
        response: Response = self.app.handle(request)
        return response


def serve(directory: Path, count: int, latency_ms: int) -> None:
    """The emulators' process: prints their ports and tokens, then serves until its stdin closes; each
    line read on stdin ("count") is answered with the requests served so far."""
    sys.setswitchinterval(0.0005)  # as bench_fleet.py: a stand-in for Centra should not add GIL waits
    counter, lock = [0], threading.Lock()
    selector = selectors.DefaultSelector()
    endpoints = []
    for number in range(count):
        box = open_sandbox(FixtureSpec(f"m{number:04d}", "GlobalE Store", "Main", ("GB",), products=5),
                           directory / f"m{number:04d}.db")
        with box.store.transaction() as db:
            faults.configure(db, {"latency": {"ms": latency_ms}})
        server = make_server(_Counted(box.app, counter, lock), 0)  # type: ignore[arg-type]
        selector.register(server.socket, selectors.EVENT_READ, server)
        endpoints.append({"port": server.server_address[1], "token": box.admin_token})
        if number == 0:
            _warm(box)

    def accept() -> None:
        while True:
            for key, _ in selector.select():
                key.data._handle_request_noblock()

    threading.Thread(target=accept, daemon=True).start()
    print(json.dumps(endpoints), flush=True)
    for _ in sys.stdin:
        with lock:
            print(counter[0], flush=True)


def measure(scratch: Path, endpoints: list[dict[str, Any]], parallelism: int) -> dict[str, float]:
    project = Path(tempfile.mkdtemp(prefix=f"project-{len(endpoints)}-", dir=scratch))
    (project / "merchants").mkdir()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_ORDER_SECRET": "bench-order-secret"}
    for number, endpoint in enumerate(endpoints):
        (project / "merchants" / f"m{number:04d}.yaml").write_text(
            MERCHANT.format(name=f"m{number:04d}", merchant_id=1000 + number, port=endpoint["port"],
                            number=number))
        environment[f"BENCH_TOKEN_{number}"] = endpoint["token"]
    command = [sys.executable, "-m", "provisioner.cli", "plan", "--all", "--env", "qa", "--out", "plan.json",
               "--parallelism", str(parallelism)]
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen(command, cwd=project, env=environment, stdout=sink, stderr=subprocess.PIPE)
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        raise SystemExit(f"the plan failed: {errors.decode()[-2000:]}")
    plans = len(json.loads((project / "plan.json").read_text())["plans"])
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_kib": usage.ru_maxrss, "plans": plans,
            "document_mib": (project / "plan.json").stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="300,1000")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=limits.DEFAULT_PARALLELISM)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        return serve(args.dir, args.serve, args.latency_ms)
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(max(sizes)), "--dir", scratch,
                                   "--latency-ms", str(args.latency_ms)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdin is not None and server.stdout is not None

        def served() -> int:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write("count\n")
            server.stdin.flush()
            return int(server.stdout.readline())

        try:
            endpoints = json.loads(server.stdout.readline())
            print(f"{max(sizes)} emulators served, {args.latency_ms} ms latency each; parallelism {args.parallelism}")
            print(f"{'merchants':>9}{'wall s':>8}{'CPU s':>7}{'requests':>10}{'ideal s':>9}{'ratio':>7}{'peak MiB':>10}"
                  f"{'plan.json MiB':>15}")
            for size in sizes:
                before = served()
                figures = measure(Path(scratch), endpoints[:size], args.parallelism)
                requests = served() - before
                ideal = requests * args.latency_ms / 1000 / min(args.parallelism, size)
                ratio, peak = figures["wall"] / ideal, figures["peak_kib"] / 1024
                print(f"{size:>9}{figures['wall']:>8.2f}{figures['cpu']:>7.2f}{requests:>10}{ideal:>9.2f}{ratio:>7.2f}{peak:>10.0f}"
                      f"{figures['document_mib']:>15.1f}"
                      + (f"   (goal ≤ {TARGET_RATIO}x and < {TARGET_MIB} MiB: "
                         f"{'met' if ratio <= TARGET_RATIO and peak < TARGET_MIB else 'MISSED'})"
                         if size >= 1000 else ""))
        finally:
            server.stdin.close()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
