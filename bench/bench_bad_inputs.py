"""How fast a bad merchant file is refused: each case of the adversarial corpus against validating the
valid file it is built from (the baseline, measured in the same run). A ratio near 1 means a hostile
input costs no more than a normal one; the limits exist so none of them can take seconds or hang."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioner.config.resolve import validate_file  # noqa: E402 - after the path is set
from tests.adversarial import corpus  # noqa: E402

RUNS = 5


def timed(path: Path, content: bytes) -> float:
    path.write_bytes(content)
    validate_file(path)  # warm (preset parsing, imports)
    started = time.perf_counter()
    for _ in range(RUNS):
        validate_file(path)
    return (time.perf_counter() - started) / RUNS * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        os.chdir(directory)
        path = Path("m.yaml")
        baseline = timed(path, corpus.VALID.encode())
        print(f"{'case':<38}{'ms':>8}{'x valid':>9}")
        print(f"{'(the valid file)':<38}{baseline:>8.1f}{1:>9.2f}")
        worst = 0.0
        for name, case in sorted(corpus.cases().items()):
            elapsed = timed(path, case.content)
            worst = max(worst, elapsed)
            print(f"{name:<38}{elapsed:>8.1f}{elapsed / baseline:>9.2f}")
        print(f"slowest refusal: {worst:.1f} ms ({worst / baseline:.1f}x the valid file)")


if __name__ == "__main__":
    main()
