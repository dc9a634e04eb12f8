"""What a command people run all day costs: `provision plan MERCHANT --env qa` for one merchant, its
target's schema already in the cache (a warm run), against an emulator served on 127.0.0.1 with no
latency, so what is measured is the client: the interpreter's start, the imports, the plan. Shown as a
ratio to `python -c 'import click'` in the same run (the floor of any click command). Goal: ≤ 3x.
Before lazy imports (issue #24) it was ~11x: 0.5 s of the 0.56 s was importing gql, graphql-core's whole
package, every pydantic model, deepdiff and httpx's command line.

    python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PROVISION = Path(sys.executable).parent / "provision"
GOAL = 3.0

SERVE = """
import json, sys
from pathlib import Path
from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from provisioner.sandbox.server import make_server
box = open_sandbox(FixtureSpec("m000", "GlobalE Store", "Main", ("GB",), products=5), Path(sys.argv[1]))
server = make_server(box.app, 0)
print(json.dumps({"port": server.server_address[1], "token": box.admin_token}), flush=True)
server.serve_forever()
"""

def median_seconds(command: list[str], runs: int, cwd: Path | None = None) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples.append(time.perf_counter() - started)
        if done.returncode not in (0, 2):
            raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        os.environ["PYTHONPATH"] = str(ROOT)  # this checkout, whichever one the venv installed
        environment = dict(os.environ)
        server = subprocess.Popen([sys.executable, "-c", SERVE, str(project / "m000.db")], stdout=subprocess.PIPE,
                                  text=True, env=environment)
        try:
            assert server.stdout is not None
            endpoint = json.loads(server.stdout.readline())
            from bench.emulators import write_merchants  # the fleet benchmarks' merchant file

            write_merchants(project, [endpoint])
            plan = [str(PROVISION), "plan", "m000", "--env", "qa"]
            median_seconds(plan, 1, project)  # introspects and fills the cache: the runs after it are warm
            click = median_seconds([sys.executable, "-c", "import click"], args.runs)
            warm = median_seconds(plan, args.runs, project)
            help_time = median_seconds([str(PROVISION), "--help"], args.runs)
        finally:
            server.terminate()
            server.wait(timeout=30)
    ratio = warm / click
    print(f"python -c 'import click'        {click * 1000:6.0f} ms")
    print(f"provision --help                {help_time * 1000:6.0f} ms  ({help_time / click:.1f}x)")
    print(f"provision plan m000 --env qa    {warm * 1000:6.0f} ms  ({ratio:.1f}x; warm cache; goal ≤ {GOAL:g}x: "
          f"{'met' if ratio <= GOAL else 'MISSED'})")


if __name__ == "__main__":
    main()
