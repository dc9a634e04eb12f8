"""`provision validate` of 100 merchant files, and what presets cost in it.

Compares, in one run and on the same 100 generated files (variants of the examples), the current
path (each preset parsed once per run, every file by PyYAML's C parser where available) with the path
it replaced (every file and every preset, re-parsed for every merchant and environment, by the
pure-Python parser, and the permission catalogue's set rebuilt for every permission checked;
re-created here by clearing the cache, hiding the C parser and swapping the cached property for a plain
one). Reports the median of a few runs and the ratio."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioner.config import presets, yamlnodes  # noqa: E402 - after the path is set for `python bench/...`
from provisioner.config.resolve import validate_file  # noqa: E402
from provisioner.reference import catalogue  # noqa: E402

FILES = 100
RUNS = 3


def generate(directory: Path) -> list[Path]:
    examples = sorted((ROOT / "merchants").glob("*.yaml"))
    files = []
    for number in range(FILES):
        source = examples[number % len(examples)]
        text = source.read_text(encoding="utf-8").replace(f"merchant: {source.stem}", f"merchant: m{number:03d}")
        path = directory / f"m{number:03d}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


once = presets.parsed


def timed(files: list[Path]) -> float:
    samples = []
    for _ in range(RUNS):
        once.cache_clear()  # each run parses the presets afresh
        started = time.perf_counter()
        for path in files:
            assert validate_file(path) == [], path
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        files = generate(Path(directory))
        os.chdir(directory)
        current = timed(files)
        fast, cached = yamlnodes.LIMITED_C_LOADER, catalogue.PermissionCatalogue.__dict__["every"]
        presets.parsed = once.__wrapped__  # parsed again at every use, as before
        yamlnodes.LIMITED_C_LOADER = None  # the pure-Python parser, as before
        catalogue.PermissionCatalogue.every = property(cached.func)
        catalogue.permissions.cache_clear()
        try:
            previous = timed(files)
        finally:
            presets.parsed = once
            yamlnodes.LIMITED_C_LOADER = fast
            catalogue.PermissionCatalogue.every = cached
            catalogue.permissions.cache_clear()
    print(f"validate {FILES} files: {current:.2f} s now, {previous:.2f} s the previous way "
          f"(median of {RUNS}); {previous / current:.1f}x faster")


if __name__ == "__main__":
    main()
