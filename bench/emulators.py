"""The emulators' process every fleet benchmark starts: `SCRIPT --serve COUNT --dir DIR --latency-ms MS`
(the script's own `serve`), its first line of output (the endpoints), and its end when the benchmark is
done (closing its stdin ends it). One place, so each benchmark measures the same kind of server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
