"""Fleet plans: 1, 10, 100 and 300 merchants, each with its own Centra emulator served on 127.0.0.1 (in a
separate process, so the servers do not compete with the client for the interpreter) and 50 ms of latency
injected through the sandbox's fault surface. Prints wall time, requests per merchant, the client's peak
memory, and the ratio to the ideal measured in the same run: requests × latency ÷ requests in flight
(in flight: the parallelism, or the merchants when there are fewer). Also the client's CPU time (all its
processes: a large fleet is planned in one per core) and the emulators' over the same span: the machine's
cores are shared by both, so when the two together near cores × wall time, the CPU is the limit, not
Centra. Each size runs in a fresh client process, so its peak memory is its own.

    python bench/bench_fleet.py [--sizes 1,10,100,300] [--latency-ms 50] [--parallelism N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.emulators import MERCHANT, emulator, served, warm, write_merchants  # noqa: E402 - after the path is set
from bench.emulators import process_cpu as _process_cpu  # noqa: E402 - bench_fleet_apply imports it from here
from provisioner.engine.fleet import planner as fleet  # noqa: E402
from provisioner.engine.fleet.hosts import Gates  # noqa: E402
from provisioner.sandbox.server import make_server  # noqa: E402

__all__ = ["MERCHANT", "serve"]  # bench_fleet_apply and bench_gitops take these (and _process_cpu) from here

TARGET_RATIO = 1.5  # at the default parallelism, for 100 merchants


def serve(directory: Path, count: int, latency_ms: int) -> None:
    """The emulators' process: one store, server and thread per merchant; prints their ports and tokens,
    then serves until its stdin closes."""
    # Up to `parallelism` requests are served at once, in threads that mostly wait (the latency, SQLite);
    # at the default 5 ms switch interval each one that has its data back may wait that long for the
    # interpreter, more than once a request: a stand-in for Centra should not add that to every answer.
    sys.setswitchinterval(0.0005)
    endpoints = []
    for number in range(count):
        box = emulator(f"m{number:03d}", directory / f"m{number:03d}.db", latency_ms)
        server = make_server(box.app, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoints.append({"port": server.server_address[1], "token": box.admin_token})
        if number == 0:
            warm(box)
    print(json.dumps(endpoints), flush=True)
    sys.stdin.read()


def client(directory: Path, size: int, parallelism: int) -> None:
    """One measurement, in its own process: plan the first `size` merchants; print the figures as JSON."""
    endpoints = json.loads((directory / "endpoints.json").read_text())[:size]
    project = Path(tempfile.mkdtemp(prefix=f"project-{size}-{parallelism}-", dir=directory))  # a first run each time
    write_merchants(project, endpoints)
    os.chdir(project)
    gates = Gates(in_flight=parallelism)
    started, cpu = time.perf_counter(), _cpu()
    document = fleet.plan_fleet(fleet.FleetRequest(environment="qa", every=True, parallelism=parallelism),
                                gates=gates)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    if document.errors:
        raise SystemExit(f"{len(document.errors)} merchant(s) failed: {document.errors[0].reason}")
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({"wall": wall, "cpu": cpu, "requests": sum(gates.requests().values()),
                      "plans": len(document.plans), "peak_kib": peak}))


def _cpu() -> float:
    """This process's CPU time and its finished children's (a large fleet is planned in several processes)."""
    return sum(usage.ru_utime + usage.ru_stime for usage in (resource.getrusage(resource.RUSAGE_SELF),
                                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def measure(scratch: str, size: int, parallelism: int, server: int) -> dict[str, float]:
    serving = _process_cpu(server)
    done = subprocess.run([sys.executable, __file__, "--client", str(size), "--dir", scratch,
                           "--parallelism", str(parallelism)], capture_output=True, text=True, check=True,
                          timeout=600)
    figures: dict[str, float] = json.loads(done.stdout)
    figures["server_cpu"] = _process_cpu(server) - serving  # includes the client's start: an upper bound
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100,300")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=fleet.DEFAULT_PARALLELISM)
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median run is shown")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        return serve(args.dir, args.serve, args.latency_ms)
    if args.client is not None:
        return client(args.dir, args.client, args.parallelism)
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        with served(__file__, max(sizes), scratch, args.latency_ms) as server:
            assert server.stdout is not None
            (directory / "endpoints.json").write_text(server.stdout.readline())
            print(f"{max(sizes)} emulators served, {args.latency_ms} ms latency each; parallelism "
                  f"{args.parallelism}")
            # the baseline, in the same run: merchants one after another, as `plan --all` used to
            sequential = measure(scratch, min(10, max(sizes)), 1, server.pid)["wall"] / min(10, max(sizes))
            print(f"baseline: one merchant after another takes {sequential:.3f} s per merchant")
            print(f"{'merchants':>9}{'wall s':>8}{'client CPU s':>14}{'server CPU s':>14}{'req/merchant':>14}"
                  f"{'peak MiB':>10}{'ideal s':>9}{'ratio':>7}{'vs baseline':>13}   runs' wall s")
            for size in sizes:
                # The median of a few runs: a shared 2-core machine's speed drifts between runs.
                runs = sorted((measure(scratch, size, args.parallelism, server.pid) for _ in range(args.repeat)),
                              key=lambda run: run["wall"])
                figures = runs[len(runs) // 2]
                in_flight = min(args.parallelism, size)
                ideal = figures["requests"] * args.latency_ms / 1000 / in_flight
                ratio = figures["wall"] / ideal
                flag = (f"  (target ≤ {TARGET_RATIO})" if size == 100 and args.parallelism == fleet.DEFAULT_PARALLELISM
                        else "")
                print(f"{size:>9}{figures['wall']:>8.2f}{figures['cpu']:>14.2f}{figures['server_cpu']:>14.2f}"
                      f"{figures['requests'] / size:>14.1f}"
                      f"{figures['peak_kib'] / 1024:>10.0f}{ideal:>9.2f}{ratio:>7.2f}"
                      f"{sequential * size / figures['wall']:>12.1f}x"
                      f"   {runs[0]['wall']:.2f}–{runs[-1]['wall']:.2f}{flag}")


if __name__ == "__main__":
    main()
