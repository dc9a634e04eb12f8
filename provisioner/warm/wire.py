"""Where a warm server listens and how a client and it talk. Standard library only: the launcher imports
this before anything else, and every millisecond here is paid by every command.

The socket lives in a folder only its user can enter ($XDG_RUNTIME_DIR/provision-warm, or
$TMPDIR/provision-warm-UID), named by the interpreter and the installation it serves, so a server only
ever runs commands for the interpreter and the copy of the tool that started it. Both sides check the
folder (owned by the user, no access for others) and each other's user id (SO_PEERCRED).

A message is a 4-byte length and that many bytes of JSON. The client's first message carries its
standard input, output and error as file descriptors (SCM_RIGHTS): the command writes to the very
terminal, pipe or file the client was given.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
import sys

# As typing.TYPE_CHECKING, which type checkers take for True: importing typing would cost every command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARM_ENV = "PROVISION_WARM"  # "0": every command starts cold, even with a server running
MAX_MESSAGE = 4 * 1024 * 1024  # an environment is a few KiB; a bigger message is not from a client of ours
STREAMS = 3  # standard input, output and error
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """The other side said something that is not a message, or went away in the middle of one."""


def folder() -> str:
    """The folder the socket is in (not created here)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "provision-warm")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"provision-warm-{os.getuid()}")


def socket_path() -> str:
    """The socket of the server for this interpreter and this copy of the tool."""
    served = f"{os.path.realpath(sys.executable)}\0{PACKAGE_DIR}".encode()
    return os.path.join(folder(), hashlib.sha256(served).hexdigest()[:16] + ".sock")


def private(path: str) -> bool:
    """Whether `path` is a folder of this user's that nobody else may enter or change (not a link)."""
    try:
        found = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and found.st_mode & 0o077 == 0


def peer_uid(connection: socket.socket) -> int:
    """The user id of the process at the other end (SO_PEERCRED: the kernel's word, not the peer's)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def send(connection: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    payload = json.dumps(message, separators=(",", ":")).encode()
    header = _HEADER.pack(len(payload))
    if fds:
        socket.send_fds(connection, [header], fds)  # the descriptors travel with the header's bytes
        connection.sendall(payload)
    else:
        connection.sendall(header + payload)


def receive(connection: socket.socket, *, fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """The next message, and the descriptors that came with it (up to `fds`). EOF before a message
    begins is a WireError too: every exchange expects its answer."""
    received: list[int] = []
    if fds:
        data, received, _flags, _address = socket.recv_fds(connection, _HEADER.size, fds)
    else:
        data = connection.recv(_HEADER.size)
    try:
        header = data + _exactly(connection, _HEADER.size - len(data))
        (size,) = _HEADER.unpack(header)
        if size > MAX_MESSAGE:
            raise WireError(f"a message of {size} bytes")
        message = json.loads(_exactly(connection, size))
        if not isinstance(message, dict):
            raise WireError("a message that is not an object")
    except (WireError, ValueError) as exc:
        for fd in received:
            os.close(fd)
        raise WireError(str(exc)) from None
    return message, received


def _exactly(connection: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:  # each pass reads at least one byte or raises
        chunk = connection.recv(min(size, 65536))
        if not chunk:
            raise WireError("the other side went away")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
