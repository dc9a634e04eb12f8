"""One pytest run in a copy of the project: its own process group (everything a test started is ended
with it), a time limit, the copy first on `PYTHONPATH` (so `python -m provisioner.cli` started by a test
imports the copy, mutant included), and the outcome of each test as the runner's plugin recorded it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLUGIN = "_mutation_plugin"


class RunnerError(Exception):
    """The runner itself could not do its work (not a low score): exit status 2."""


@dataclass
class PytestRun:
    exit_code: int | None  # None: killed at its time limit
    seconds: float
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: Path | None = None

    @property
    def failed(self) -> list[str]:
        return [test for test, entry in self.results.items() if entry.get("outcome") == "failed"]

    def log_tail(self, characters: int = 3000) -> str:
        if self.log is None or not self.log.is_file():
            return ""
        return self.log.read_text(encoding="utf-8", errors="replace")[-characters:]


_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()
_stopping = threading.Event()


def _end_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already: nothing a test started is left
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def allow_runs() -> None:
    _stopping.clear()


def stop_all() -> None:
    """End every pytest run still going (the runner was interrupted), with what its tests started; no run
    starts after this."""
    with _running_lock:
        _stopping.set()
        running = list(_running)
    for process in running:
        _end_group(process)


@dataclass(frozen=True)
class Place:
    """Where a run happens: the copy, the directory of the runner's plugin, a state directory (results,
    the current test) and a scratch directory for pytest's temporary paths."""

    copy: Path
    hooks: Path
    state: Path
    scratch: Path


def run_pytest(python: str, place: Place, args: list[str], timeout: float, log: Path) -> PytestRun:
    place.state.mkdir(parents=True, exist_ok=True)
    results_file = place.state / "results.json"
    results_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{place.copy}{os.pathsep}{place.hooks}", "MUTATION_STATE_DIR": str(place.state)}
    command = [python, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider", f"--basetemp={place.scratch}", *args]
    started = time.monotonic()
    with log.open("wb") as output:
        with _running_lock:
            if _stopping.is_set():
                raise RunnerError("interrupted")
            process = subprocess.Popen(command, cwd=place.copy, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            _running.add(process)
        try:
            exit_code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            exit_code = None
        finally:
            _end_group(process)
            with _running_lock:
                _running.discard(process)
    results: dict[str, dict[str, Any]] = {}
    if results_file.is_file():
        results = json.loads(results_file.read_text(encoding="utf-8"))
    return PytestRun(exit_code, time.monotonic() - started, results, log)


def write_args(path: Path, args: list[str]) -> str:
    """Node ids can be thousands: pytest reads them from a file (`@file`), one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{arg}\n" for arg in args), encoding="utf-8")
    return f"@{path}"
