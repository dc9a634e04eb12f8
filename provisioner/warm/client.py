"""The launcher's side of a warm server: hand it the command, and wait for how the command ended.

The command starts cold (None) whenever the server could not have run it: PROVISION_WARM=0, no server,
a socket folder or a peer that is not this user's, a standard stream that is closed, a server that
found the tool changed on disk since it started ("stale": it then exits). Once the server has said
which process runs the command, the command is under way and is never started a second time: a
server that goes away after that is an error (exit 1), not a reason to run the command again.

While the command runs, the signals a terminal or a CI runner sends the client (Ctrl-C, SIGTERM,
SIGHUP, SIGQUIT) are passed on to the process running it, which handles them as a cold run would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

from provisioner.warm import wire

CONNECT_SECONDS = 2.0  # a server that does not take a connection in this long is not used
ANSWER_SECONDS = 30.0  # for the server's first answer: the command's process, or why not
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
LOST_EXIT = 1


def run(argv: list[str]) -> int | None:
    """The command's exit status when a warm server ran it; None when it must start cold here."""
    if os.environ.get(wire.WARM_ENV, "").strip() == "0" or (argv[:1] == ["warm"]):
        return None  # `provision warm ...` manages the server: always here
    path = wire.socket_path()
    if not wire.private(os.path.dirname(path)) or not _streams_open():
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        return _run(connection, path, argv)
    finally:
        connection.close()


def _run(connection: socket.socket, path: str, argv: list[str]) -> int | None:
    try:
        connection.settimeout(CONNECT_SECONDS)
        connection.connect(path)
        if wire.peer_uid(connection) != os.getuid():
            return None
        wire.send(connection, _request(argv), fds=list(range(wire.STREAMS)))
    except OSError:
        return None  # nothing was received: the command has not started
    try:
        connection.settimeout(ANSWER_SECONDS)
        first, _ = wire.receive(connection)
    except (OSError, wire.WireError) as exc:
        return _lost(f"the warm server did not answer ({exc or type(exc).__name__})")
    pid = first.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None  # stale or refused: the server has run nothing
    connection.settimeout(None)
    previous = {number: signal.signal(number, _forward_to(pid)) for number in FORWARDED}
    try:
        last, _ = wire.receive(connection)
    except (OSError, wire.WireError):
        return _lost("the warm server's process ended without saying how the command ended")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return _status(last)


def _request(argv: list[str]) -> dict[str, object]:
    umask = os.umask(0o077)
    os.umask(umask)
    streams = [sys.stdin, sys.stdout, sys.stderr]
    return {
        "op": "run", "argv": [sys.argv[0], *argv], "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask,
        # How this interpreter set up its streams (encoding, errors, line buffering): the command's are
        # set up alike, not as the server's were.
        "streams": [[s.encoding, s.errors, s.line_buffering] if s is not None else None for s in streams],
    }


def _streams_open() -> bool:
    try:
        for fd in range(wire.STREAMS):
            os.fstat(fd)
    except OSError:
        return False
    return True


def _forward_to(pid: int) -> Callable[[int, FrameType | None], None]:
    def forward(number: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):  # it has just ended: its status is on its way
            os.kill(pid, number)

    return forward


def _status(message: dict[str, object]) -> int:
    code, killed = message.get("exit"), message.get("signal")
    if isinstance(code, int):
        return code
    if isinstance(killed, int) and killed > 0:
        # Ended by a signal: end this process by the same one, as the shell would have seen it.
        sys.stdout.flush()
        signal.signal(killed, signal.SIG_DFL)
        os.kill(os.getpid(), killed)
        return 128 + killed
    return _lost("the warm server's answer did not say how the command ended")


def _lost(reason: str) -> int:
    sys.stderr.write(f"provision: {reason}; PROVISION_WARM=0 runs commands without it\n")
    return LOST_EXIT
