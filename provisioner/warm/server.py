"""The warm server: imports the tool once, then forks a fresh copy of itself for each command.

Each command runs in a grandchild of the server, in the state the server had after its imports and
nothing since: one command's caches, settings or secrets never reach the next. Between them sits a
child that only waits: it tells the client which process runs the command (for signals), passes on a
hang-up when the client goes away, and sends the command's exit status, or the signal that ended it.

The command's process takes the client's standard streams (passed as descriptors), working folder,
environment and umask, and the stream settings of the client's interpreter; it then runs the CLI as a
cold start would, and ends as an interpreter does (exit handlers, waiting for its threads, flushing).

Before each command the server checks that the tool on disk is the one it imported (every file of the
package, and the folders of the import path, which an install or upgrade changes): when it is not, it
says "stale" (the client starts cold) and exits. It exits too after `idle` seconds without a command,
on `provision warm stop`, and on SIGTERM or SIGINT; it removes its socket as it goes.

The server itself is single-threaded (forking is safe only then) and writes a line to its log for
each of these events, never a command's arguments or environment.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from provisioner.warm import wire

ANSWER_SECONDS = 5.0  # for a client's request, once connected
Fingerprint = dict[str, tuple[int, int]]


def fingerprint() -> Fingerprint:
    """What says the tool on disk changed: each package file's (mtime, size), each import folder's."""
    found: Fingerprint = {}
    stack = [wire.PACKAGE_DIR]
    while stack:  # bounded: each pass takes one folder off, and a folder's entries are finite
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name == "__pycache__":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    info = entry.stat()
                    found[entry.path] = (info.st_mtime_ns, info.st_size)
    for folder in sys.path:
        try:
            found[folder] = (os.stat(folder).st_mtime_ns, 0)
        except OSError:
            continue
    return found


def changed(before: Fingerprint, now: Fingerprint) -> str | None:
    """The first path that differs, or None."""
    for path in sorted(before.keys() | now.keys()):
        if before.get(path) != now.get(path):
            return path
    return None


def log(line: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [{os.getpid()}] {line}\n")
    sys.stderr.flush()


class Server:
    def __init__(self, path: str, idle_seconds: float, run: Callable[[], object], *,
                 imported: Fingerprint | None = None) -> None:
        """`imported`: the fingerprint taken before the imports (a file changed while they ran is then
        seen at the first command); by default, now."""
        self.path, self.idle_seconds, self.run = path, idle_seconds, run
        self.pid = os.getpid()
        self.started = time.time()
        self.fingerprint = imported if imported is not None else fingerprint()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def serve(self) -> None:
        """Accept commands until idle, stopped, stale or signalled; the socket is removed at the end."""
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the waiting children are reaped by the kernel
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        umask = os.umask(0o177)
        try:
            self.listener.bind(self.path)  # created 0600, in a folder only its user may enter
        finally:
            os.umask(umask)
        bound = os.stat(self.path).st_ino
        try:
            self.listener.listen(16)
            log(f"serving {self.path} (idle limit {self.idle_seconds:g} s)")
            self._accept_until_done()
        finally:
            if os.getpid() == self.pid:  # never from a command's process (os._exit)
                self.listener.close()
                try:
                    if os.stat(self.path).st_ino == bound:  # not a successor's socket
                        os.unlink(self.path)
                except OSError:
                    pass
                log("stopped")

    def _accept_until_done(self) -> None:
        self.listener.settimeout(self.idle_seconds)
        while True:  # bounded by the idle limit: each pass waits at most that long for a command
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                log(f"no command for {self.idle_seconds:g} s")
                return
            with connection:
                if not self._handle(connection):
                    return

    def _handle(self, connection: socket.socket) -> bool:
        """One client's request; False when the server is to stop."""
        connection.settimeout(ANSWER_SECONDS)
        if wire.peer_uid(connection) != os.getuid():
            log("refused a connection from another user")
            return True
        try:
            request, fds = wire.receive(connection, fds=wire.STREAMS)
        except (OSError, wire.WireError) as exc:
            log(f"refused a request: {type(exc).__name__}")
            return True
        try:
            return self._answer(connection, request, fds)
        except OSError as exc:  # the client went away, or no process could be forked: not the server's end
            log(f"a request failed: {type(exc).__name__}")
            return True
        finally:
            if os.getpid() == self.pid:
                for fd in fds:
                    os.close(fd)

    def _answer(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> bool:
        op = request.get("op")
        if op == "status":
            wire.send(connection, {"pid": self.pid, "started": self.started, "idle_seconds": self.idle_seconds,
                                   "package": wire.PACKAGE_DIR, "python": sys.executable})
            return True
        if op == "stop":
            wire.send(connection, {"stopping": self.pid})
            log("stop asked")
            return False
        if op != "run" or len(fds) != wire.STREAMS:
            wire.send(connection, {"refused": "not a request to run a command"})
            return True
        different = changed(self.fingerprint, fingerprint())
        if different is not None:
            wire.send(connection, {"stale": True})
            log(f"stale: {different} changed since the start; exiting")
            return False
        try:
            waiting = os.fork()
        except OSError as exc:
            wire.send(connection, {"refused": f"no process could be started ({exc.strerror})"})
            return True
        if waiting == 0:
            _wait_for_command(connection, request, fds, self.listener, self.run)
        return True


def _terminate(number: int, frame: object) -> NoReturn:
    raise SystemExit(128 + number)


def _wait_for_command(connection: socket.socket, request: dict[str, Any], fds: list[int],
                      listener: socket.socket, run: Callable[[], object]) -> NoReturn:
    """In the waiting child: fork the command's process, then report how it ended. Nothing raised here
    may reach the server's frames, where this copy would go on as a second server."""
    try:
        listener.close()
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(number, signal.SIG_DFL)
        command = os.fork()
    except BaseException:  # the client sees the connection close before a process is named
        os._exit(1)
    if command == 0:
        _run_command(connection, request, fds, run)
    try:
        for fd in fds:
            os.close(fd)
        connection.settimeout(None)
        wire.send(connection, {"pid": command})
        ended = _ended(command, connection)
        log(f"command process {command} ended: " + ", ".join(f"{key} {value}" for key, value in ended.items()))
        wire.send(connection, ended)
    except BaseException:  # the client sees the connection close without a status, and says so
        pass
    os._exit(0)


def _ended(command: int, connection: socket.socket) -> dict[str, int]:
    """Wait for the command's process; a client that goes away first gets it a hang-up, as a closed
    terminal would."""
    process = os.pidfd_open(command)
    watched = [process, connection.fileno()]
    try:
        while True:  # bounded by the command's life: the client's end is watched once
            ready, _, _ = select.select(watched, [], [])
            if process in ready:
                break
            watched = [process]
            try:
                os.kill(command, signal.SIGHUP)
            except ProcessLookupError:
                break
    finally:
        os.close(process)
    _, status = os.waitpid(command, 0)
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"exit": os.waitstatus_to_exitcode(status)}


def _run_command(connection: socket.socket, request: dict[str, Any], fds: list[int],
                 run: Callable[[], object]) -> NoReturn:
    """In the command's process: become the client's command, run the CLI, leave as an interpreter does.
    Never returns: whatever happens here ends this process, which must not go on in the server's frames."""
    code: object = 1
    try:
        connection.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        random.seed()  # the server's generator state is every command's otherwise
        _streams(request.get("streams") or [])
        try:
            os.chdir(str(request["cwd"]))
        except OSError as exc:  # the client's folder went away between its start and this one
            raise SystemExit(f"provision: cannot run in the current folder: {exc.strerror}") from None
        os.environ.clear()
        os.environ.update({str(name): str(value) for name, value in dict(request["env"]).items()})
        os.umask(int(request["umask"]))
        sys.argv = [str(part) for part in request["argv"]]
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # a bug: shown as the interpreter shows an exception nothing caught
        traceback.print_exc()
    status = 1
    try:
        status = _leave(code)
    finally:
        os._exit(status)


def _leave(code: object) -> int:
    """What an interpreter does at its end that a command may rely on: a SystemExit's code made a status
    (its text, if not a number, to stderr), the threads' exit hooks and a wait for threads that are not
    daemons (`threading._shutdown`, which Py_FinalizeEx calls), the exit handlers, the streams flushed.
    Not the tearing down of every module the server imported: tens of milliseconds that free memory the
    process is about to give back whole."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code & 0xFF
    else:
        sys.stderr.write(f"{code}\n")
        status = 1
    shutdown = getattr(threading, "_shutdown", None)
    if callable(shutdown):
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return status


def _streams(settings: list[Any]) -> None:
    """Standard streams over the client's descriptors, set up as the client's interpreter set its own."""
    defaults = [("utf-8", "strict", False), ("utf-8", "strict", False), ("utf-8", "backslashreplace", True)]
    made = []
    for fd, (default, given) in enumerate(zip(defaults, [*settings, None, None, None][:3], strict=True)):
        encoding, errors, line_buffering = given if isinstance(given, list) and len(given) == 3 else default
        raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        made.append(io.TextIOWrapper(buffered, encoding=str(encoding), errors=str(errors),
                                     line_buffering=bool(line_buffering)))
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc]  # what a cold start has there
