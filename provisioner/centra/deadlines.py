"""Time limits on talking to Centra. httpx's timeouts hold each read and write, not a whole request: a
server that drips a byte a second never trips them and keeps an attempt open for as long as it likes.
So each request has an overall deadline, and the retries of a command a budget:

- **Request deadline** (`PROVISION_REQUEST_DEADLINE`, seconds, default 120): from the request's first
  byte written (a wait for a connection slot or for the rate-limit pacer is not counted) to the answer's
  last byte read. Every network read and write is given at most what is left of it, by a network backend
  that wraps httpcore's; a transport without a network (the in-process sandbox) is checked between the
  chunks of its answer.
- **Retry budget** (`PROVISION_COMMAND_BUDGET`, seconds, default 900): counted from when the command
  connected to the store. A retry is made only if its wait ends within the budget; otherwise the command
  ends with an error that says so. So retries never stretch a command past its budget by more than one
  request's deadline. The first attempt of each request is not held to it: a long catalogue export is
  slow, not stuck.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore

from provisioner.environ import seconds_from_env

DEADLINE_ENV = "PROVISION_REQUEST_DEADLINE"
BUDGET_ENV = "PROVISION_COMMAND_BUDGET"
DEFAULT_DEADLINE = 120.0  # a Centra answer takes seconds; four times httpx's per-read timeout of 30 s
DEFAULT_BUDGET = 900.0  # above the worst the retry policy did before it had a budget (4 waits of 2 min)

Clock = Callable[[], float]


class DeadlinePassed(Exception):
    """The request's deadline passed between two chunks of its answer."""


class Deadline:
    """One request's time limit. It starts with the first network write (or the first check), so time
    spent waiting for a connection slot or the pacer is not the server's."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends: float | None = None
        self.binding = False  # the last bound given was what was left of the deadline, not the timeout

    def left(self) -> float:
        if self._ends is None:
            self._ends = self._clock() + self.seconds
        return self._ends - self._clock()

    def check(self) -> None:
        if self.left() <= 0:
            raise DeadlinePassed

    def bound(self, timeout: float | None) -> float:
        """The timeout of one network read or write: `timeout`, or what is left of the deadline if less."""
        left = self.left()
        if left <= 0:
            self.binding = True
            raise DeadlinePassed
        self.binding = timeout is None or left < timeout
        return left if timeout is None or self.binding else timeout


class Budget:
    """How long a command's retries may run: from when the client was made."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    @classmethod
    def from_env(cls, clock: Clock = time.monotonic) -> Budget:
        return cls(seconds_from_env(BUDGET_ENV, DEFAULT_BUDGET), clock)

    def left(self) -> float:
        return self._ends - self._clock()


_CURRENT: ContextVar[Deadline | None] = ContextVar("provisioner_centra_deadline", default=None)


@contextmanager
def holding(deadline: Deadline) -> Iterator[None]:
    """Network reads and writes of this thread, inside the block, are held to `deadline`."""
    token = _CURRENT.set(deadline)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _bounded(timeout: float | None, passed: type[Exception]) -> float | None:
    deadline = _CURRENT.get()
    if deadline is None:
        return timeout
    try:
        return deadline.bound(timeout)
    except DeadlinePassed:
        raise passed("the request's deadline passed") from None


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network, each connect, read and write given at most what is left of the deadline of
    the request this thread is sending (none outside a request of this client: then httpx's own)."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address,
                                               socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _bounded(timeout, httpcore.ConnectTimeout),
                                                       socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
