"""One `apply` or `attest` per merchant and environment at a time, across processes: a person and a
pipeline running at once would otherwise both create the same token, and one value would be lost.

The lock is an OS file lock (`filelock`), released by the kernel when the holder dies, so a killed
run never leaves a stale lock behind. Who holds it is written next to it, to name in the error."""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from provisioner.errors import ProvisionerError

LOCK_DIR = Path(".provision/locks")
DEFAULT_WAIT = 120.0  # seconds; an apply of one merchant takes a few, a paced one a minute at most


def wait_limit() -> float:
    """Bounded, overridable for CI (`PROVISION_LOCK_TIMEOUT`, seconds)."""
    try:
        return max(0.0, float(os.environ.get("PROVISION_LOCK_TIMEOUT", DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


def _holder_text(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return (f"{holder['command']} (pid {holder['pid']} on {holder['host']}, user {holder['user']}, "
                f"since {time.strftime('%H:%M:%S', time.localtime(holder['since']))})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another run (its details are unreadable)"


@contextmanager
def hold(merchant: str, environment: str, command: str, *, wait: float | None = None) -> Iterator[None]:
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    base = LOCK_DIR / f"{merchant}.{environment}"
    holder = base.with_suffix(".holder")
    lock = FileLock(str(base) + ".lock", timeout=wait_limit() if wait is None else wait, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise ProvisionerError(
            f"{merchant} in {environment} is locked by {_holder_text(holder)}; waited {lock.timeout:g} s — "
            "try again when it has finished (nothing was changed)") from None
    try:
        holder.write_text(json.dumps({"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                                      "user": getpass.getuser(), "since": time.time()}), encoding="utf-8")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()
