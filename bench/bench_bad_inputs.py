"""Bad inputs, two ways.

1. The whole adversarial corpus (tests/adversarial/: hostile YAML, a hostile Centra and GitHub on
   127.0.0.1, hostile files, every foreign-text vector under GITHUB_ACTIONS=true, tampered plans, races):
   how many cases there are, how many end cleanly (the exact exit code, no traceback, no workflow command
   in the output: what each case asserts), and the slowest case (goal: none over 10 s).
2. How fast a bad merchant file is refused: each case of the YAML corpus against validating the valid
   file it is built from (the baseline, measured in the same run). A ratio near 1 means a hostile input
   costs no more than a normal one; the limits exist so none of them can take seconds or hang."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioner.config.resolve import validate_file  # noqa: E402 - after the path is set
from tests.adversarial import corpus  # noqa: E402

RUNS = 5
SLOWEST_ALLOWED = 10.0  # seconds, for any one case


def corpus_outcomes() -> None:
    """Run tests/adversarial once and read its JUnit report: cases, clean endings, the slowest."""
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "adversarial.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                        str(ROOT / "tests" / "adversarial")], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800, check=False)
        cases = ElementTree.parse(report).getroot().iter("testcase")
        results = [(f"{c.get('classname')}::{c.get('name')}", float(c.get("time") or 0),
                    next((child.tag for child in c), "passed")) for c in cases]
    clean = [r for r in results if r[2] == "passed"]
    skipped = [r for r in results if r[2] == "skipped"]
    slowest = max(results, key=lambda r: r[1])
    print(f"adversarial corpus: {len(results)} cases, {len(clean)} end cleanly, {len(skipped)} skipped, "
          f"{len(results) - len(clean) - len(skipped)} do not")
    for name, _, outcome in results:
        if outcome not in ("passed", "skipped"):
            print(f"  not clean: {name} ({outcome})")
    print(f"slowest case: {slowest[1]:.2f} s ({slowest[0].rsplit('.', 1)[-1]})"
          + ("" if slowest[1] <= SLOWEST_ALLOWED else f"  OVER {SLOWEST_ALLOWED:.0f} s"))


def timed(path: Path, content: bytes) -> float:
    path.write_bytes(content)
    validate_file(path)  # warm (preset parsing, imports)
    started = time.perf_counter()
    for _ in range(RUNS):
        validate_file(path)
    return (time.perf_counter() - started) / RUNS * 1000


def main() -> None:
    corpus_outcomes()
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
