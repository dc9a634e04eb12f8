"""Start-up: `provision --help` wall time, median of repeated runs, against Python doing nothing in
the same run (the floor). The goal is under 0.15 s: command modules, gql and pydantic are imported
only when a command runs (provisioner/cli/main.py), and a command module imports the engine only when
the command runs, so `provision plan -h` has the same goal. Before lazy loading --help took 0.36-0.47 s,
and `plan -h` 0.6 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15
GOAL = 0.15
PROVISION = Path(sys.executable).parent / "provision"


def median_seconds(command: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    floor = median_seconds([sys.executable, "-c", "pass"])
    help_time = median_seconds([str(PROVISION), "--help"])
    plan_help = median_seconds([str(PROVISION), "plan", "--help"])
    print(f"python -c pass      {floor * 1000:6.0f} ms")
    print(f"provision --help    {help_time * 1000:6.0f} ms  ({help_time / floor:.1f}x python; goal < "
          f"{GOAL * 1000:.0f} ms: {'met' if help_time < GOAL else 'MISSED'})")
    print(f"provision plan -h   {plan_help * 1000:6.0f} ms  ({plan_help / floor:.1f}x python; goal < "
          f"{GOAL * 1000:.0f} ms: {'met' if plan_help < GOAL else 'MISSED'})")


if __name__ == "__main__":
    main()
