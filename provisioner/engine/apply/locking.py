"""One `apply`, `attest` or `rotate` per merchant and environment at a time, across processes: a person
and a pipeline running at once would otherwise both create the same token, and one value would be lost.

The lock is an OS file lock (`filelock`), released by the kernel when the holder dies, so a killed run
never leaves a stale lock behind. It lives in `.provision/locks/` of the working directory, which covers
one checkout; runs in several checkouts or on several runners share one by naming the same directory in
`PROVISION_LOCK_DIR` (a shared file system whose locks reach every runner: a local disk, NFSv4). Runs that
share no directory are still caught before they create twice: apply reads the store again right before
each token it creates (`executors.py`).

The rules, each with a test (tests/engine/apply/test_locking.py):
- a busy lock is waited for up to `PROVISION_LOCK_TIMEOUT` seconds (default 120; 0 does not wait;
  anything but a finite number is an error), then the run fails with exit 1 naming the holder;
- the holder (command, pid, host, user, since) is written next to the lock, one file per merchant AND
  environment, and removed on release; a holder file naming a process of this machine that has ended is
  stale (its run was killed: the kernel freed the lock, not the file) and is said to be, never named as
  the holder;
- a link in place of the lock directory (by default), the lock or the holder file is refused."""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from provisioner import files
from provisioner.errors import ProvisionerError

LOCK_DIR = Path(".provision/locks")
DIR_ENV = "PROVISION_LOCK_DIR"
TIMEOUT_ENV = "PROVISION_LOCK_TIMEOUT"
DEFAULT_WAIT = 120.0  # seconds; an apply of one merchant takes a few, a paced one a minute at most
HOLDER_LIMIT = 4096  # bytes: a holder file is a hundred
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # merchant and environment names (the plan's pattern): no dots
_SHOWN = re.compile(r"[^A-Za-z0-9_.@/+ -]")  # no ":" either: nothing to start a CI command


def lock_dir() -> tuple[Path, bool]:
    """Where the locks are, and whether it is the tool's own directory in the checkout (whose every
    component must be a real directory) rather than one configured in `PROVISION_LOCK_DIR`."""
    configured = os.environ.get(DIR_ENV, "")
    return (Path(configured), False) if configured else (LOCK_DIR, True)


def wait_limit() -> float:
    """Seconds to wait for a busy lock: `PROVISION_LOCK_TIMEOUT`, or DEFAULT_WAIT when unset or empty."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ProvisionerError(f"{TIMEOUT_ENV} must be a number of seconds, not {files.one_line(raw, 20)!r}")
    return max(0.0, value)


def paths(merchant: str, environment: str) -> tuple[Path, Path]:
    """The lock file and the holder file of one merchant in one environment."""
    for what, name in (("merchant", merchant), ("environment", environment)):
        if not _NAME.fullmatch(name):
            raise ProvisionerError(f"cannot lock {what} {files.one_line(name, 40)!r}: not a name of lower-case "
                                   "letters, digits, '-' and '_'")
    directory, _ = lock_dir()
    base = f"{merchant}.{environment}"
    return directory / f"{base}.lock", directory / f"{base}.holder"


def _shown(value: Any) -> str:
    """A field of a holder file (written by another run, or by anyone): safe on a terminal and a log."""
    return _SHOWN.sub("?", str(value))[:64]


def holder_text(path: Path, *, host: str | None = None) -> str:
    """Who holds the lock, as its holder file says; `host`: this machine's name (for the stale rule)."""
    try:
        holder = files.read_json(path, limit=HOLDER_LIMIT, depth=1, follow_links=False)
        command, pid, where, user = (holder["command"], int(holder["pid"]), str(holder["host"]),
                                     holder["user"])
        since = time.strftime("%H:%M:%S", time.localtime(float(holder["since"])))
    except (files.FileError, KeyError, TypeError, ValueError, OverflowError, OSError):
        return "another run (its details are unreadable)"
    if where == (host if host is not None else socket.gethostname()) and not files.running(pid):
        return (f"another run (the holder file names pid {pid} on this machine, which has ended: it was left "
                "by a run that was killed)")
    return f"{_shown(command)} (pid {pid} on {_shown(where)}, user {_shown(user)}, since {since})"


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise files.FileError(path, "is a symbolic link; refusing to lock through it (remove it)")


@contextmanager
def hold(merchant: str, environment: str, command: str, *, wait: float | None = None,
         on_wait: Callable[[float, str], None] | None = None) -> Iterator[None]:
    """Hold the lock of `merchant` in `environment` for the block. `wait`: seconds (default
    `wait_limit()`); `on_wait(seconds, why)` is told once when the lock is busy, before waiting."""
    limit = wait_limit() if wait is None else wait
    directory, owned = lock_dir()
    files.ensure_dir(directory, owned=owned)
    lock_path, holder = paths(merchant, environment)
    _refuse_link(lock_path)
    lock = FileLock(str(lock_path), mode=0o600)
    try:
        if not _acquire(lock, 0):
            if on_wait is not None:
                on_wait(limit, f"for {merchant}/{environment}, locked by {holder_text(holder)}")
            if not _acquire(lock, limit):
                raise ProvisionerError(
                    f"{merchant} in {environment} is locked by {holder_text(holder)}; waited {limit:g} s — try "
                    "again when it has finished (nothing was changed)")
    except OSError as exc:
        raise files.FileError(lock_path, f"cannot lock it: {exc.strerror or type(exc).__name__}") from None
    try:
        files.write_atomic(holder, _holder_json(command))
    except BaseException:
        lock.release()  # a holder file refused (a link in its place) is left as it is, for a person to see
        raise
    try:
        yield
    finally:
        try:
            holder.unlink(missing_ok=True)
        finally:
            lock.release()


def _acquire(lock: FileLock, timeout: float) -> bool:
    with contextlib.suppress(Timeout):
        lock.acquire(timeout=timeout)
    return lock.is_locked


def _holder_json(command: str) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's user may have no name
        user = str(os.getuid())
    return json.dumps({"command": command, "pid": os.getpid(), "host": socket.gethostname(), "user": user,
                       "since": time.time()})
