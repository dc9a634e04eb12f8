"""Plan cost per merchant: requests (a small constant, whatever the store holds) and wall time, for a
fresh sandbox and for a converged one, in-process (the sandbox environment's own path)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioner.engine.plan import planning  # noqa: E402 - after the path is set for a plain `python bench/...`

RUNS = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        shutil.copytree(ROOT / "merchants", Path(directory) / "merchants")
        os.chdir(directory)
        print(f"{'merchant':<10}{'objects':>8}{'requests':>10}{'ms/plan':>9}")
        for merchant in ("acme", "nordwind", "dataline"):
            planning.plan(merchant, "sandbox")  # seeds the sandbox
            started = time.perf_counter()
            for _ in range(RUNS):
                planned = planning.plan(merchant, "sandbox")
            elapsed = (time.perf_counter() - started) / RUNS * 1000
            print(f"{merchant:<10}{len(planned.plan.changes):>8}{planned.requests:>10}{elapsed:>9.0f}")


if __name__ == "__main__":
    main()
