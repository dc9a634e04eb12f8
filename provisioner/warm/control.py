"""Start, stop and ask after the warm server of this interpreter and copy of the tool."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from provisioner.errors import ProvisionerError
from provisioner.warm import wire

DEFAULT_IDLE_SECONDS = 3600.0
START_SECONDS = 20.0  # the server imports the whole tool before it listens: a few seconds at most
STOP_SECONDS = 10.0
POLL_SECONDS = 0.05
# What the server's own process keeps of the environment `warm start` ran in: what finds and runs the
# interpreter and the tool, never a token. Each command gets its own client's environment whole.
KEPT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "XDG_RUNTIME_DIR", "VIRTUAL_ENV",
        "PYTHONPATH", "PYTHONHOME", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE", "SYSTEMROOT")


@dataclass(frozen=True)
class Running:
    pid: int
    started: float
    idle_seconds: float
    socket: str


def status() -> Running | None:
    """The server answering on this copy's socket, or None."""
    path = wire.socket_path()
    answer = _ask(path, {"op": "status"}, "pid")
    if answer is None:
        return None
    return Running(int(answer["pid"]), float(answer.get("started", 0)), float(answer.get("idle_seconds", 0)), path)


def start(idle_seconds: float = DEFAULT_IDLE_SECONDS) -> Running:
    """Start a server (or find the one running) and wait until it answers."""
    if not idle_seconds > 0:
        raise ProvisionerError(f"the idle limit must be above 0 seconds, not {idle_seconds:g}")
    path = wire.socket_path()
    _prepare_folder(os.path.dirname(path))
    if len(path.encode()) > 100:  # a Unix socket's path has ~108 bytes
        raise ProvisionerError(f"the warm server's socket path is too long ({len(path.encode())} bytes): "
                               "set XDG_RUNTIME_DIR or TMPDIR to a shorter folder")
    running = status()
    if running is not None:
        return running
    if os.path.lexists(path):
        os.unlink(path)  # no server answers on it: one that was killed left it
    log = os.open(path.removesuffix(".sock") + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        server = subprocess.Popen(
            [sys.executable, "-P", "-m", "provisioner.launch", "serve", path, repr(float(idle_seconds))],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", start_new_session=True,
            env={name: value for name, value in os.environ.items() if name in KEPT or name.startswith("LC_")})
    finally:
        os.close(log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:  # bounded by the deadline
        running = status()
        if running is not None:
            return running
        if server.poll() is not None:
            raise ProvisionerError(f"the warm server ended as it started (exit code {server.returncode}); "
                                   f"its log: {path.removesuffix('.sock')}.log")
        time.sleep(POLL_SECONDS)
    server.kill()
    raise ProvisionerError(f"the warm server did not answer within {START_SECONDS:g} s")


def stop() -> int | None:
    """Stop the server; its pid, or None when none was running."""
    path = wire.socket_path()
    answer = _ask(path, {"op": "stop"}, "stopping")
    if answer is None:
        return None
    deadline = time.monotonic() + STOP_SECONDS
    while os.path.lexists(path) and time.monotonic() < deadline:  # bounded by the deadline
        time.sleep(POLL_SECONDS)
    return int(answer["stopping"])


def _prepare_folder(folder: str) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    if not wire.private(folder):
        raise ProvisionerError(f"{folder} must be a folder of this user's that nobody else may enter "
                               "(mode 0700, not a link): the warm server will not listen there")


def _ask(path: str, request: dict[str, Any], pid_in: str) -> dict[str, Any] | None:
    """The server's answer to `request`, when one of this user's answers with a process id under `pid_in`."""
    if not wire.private(os.path.dirname(path)):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        try:
            connection.settimeout(STOP_SECONDS)
            connection.connect(path)
            if wire.peer_uid(connection) != os.getuid():
                return None
            wire.send(connection, request)
            answer, _ = wire.receive(connection)
        except (OSError, wire.WireError):
            return None
    return answer if isinstance(answer.get(pid_in), int) else None
