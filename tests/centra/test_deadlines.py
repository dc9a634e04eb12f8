"""The request deadline and the retry budget as objects, and the network backend that gives every
connect, read and write at most what is left of the deadline (a fake network, a fake clock)."""

from __future__ import annotations

import ssl
from typing import Any

import httpcore
import pytest

from provisioner import environ
from provisioner.centra.deadlines import Budget, Deadline, DeadlineBackend, DeadlinePassed, holding
from provisioner.errors import ProvisionerError
from tests.centra.conftest import FakeClock


def test_seconds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOME_LIMIT", raising=False)
    assert environ.seconds_from_env("SOME_LIMIT", 5.0) == 5.0
    monkeypatch.setenv("SOME_LIMIT", "  ")
    assert environ.seconds_from_env("SOME_LIMIT", 5.0) == 5.0
    monkeypatch.setenv("SOME_LIMIT", "0.25")
    assert environ.seconds_from_env("SOME_LIMIT", 5.0) == 0.25
    monkeypatch.setenv("SOME_LIMIT", "x" * 100)
    with pytest.raises(ProvisionerError) as caught:
        environ.seconds_from_env("SOME_LIMIT", 5.0)
    assert str(caught.value) == f"SOME_LIMIT must be a number of seconds above 0, not {'x' * 40!r}"


def test_a_deadline_starts_when_first_asked(clock: FakeClock) -> None:
    deadline = Deadline(10, clock.monotonic)
    clock.advance(100)  # a wait for a connection slot or the pacer is not the server's
    assert deadline.left() == 10
    clock.advance(4)
    assert deadline.left() == 6
    deadline.check()
    clock.advance(6)
    assert deadline.left() == 0
    with pytest.raises(DeadlinePassed):
        deadline.check()


def test_a_deadline_bounds_each_timeout_by_what_is_left(clock: FakeClock) -> None:
    deadline = Deadline(10, clock.monotonic)
    assert deadline.bound(30) == 10 and deadline.binding
    assert deadline.bound(None) == 10 and deadline.binding
    assert deadline.bound(4) == 4 and not deadline.binding
    assert deadline.bound(10) == 10 and not deadline.binding  # equal: the timeout's own
    clock.advance(7)
    assert deadline.bound(4) == 3 and deadline.binding
    clock.advance(3)
    with pytest.raises(DeadlinePassed):
        deadline.bound(4)
    assert deadline.binding


def test_a_budget_counts_from_when_it_was_made(clock: FakeClock) -> None:
    clock.advance(50)
    budget = Budget(20, clock.monotonic)
    assert budget.left() == 20 and budget.seconds == 20
    clock.advance(25)
    assert budget.left() == -5


def test_the_budget_from_the_environment(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    assert Budget.from_env(clock.monotonic).seconds == 900.0
    monkeypatch.setenv("PROVISION_COMMAND_BUDGET", "12")
    assert Budget.from_env(clock.monotonic).left() == 12.0


class FakeStream(httpcore.NetworkStream):
    def __init__(self, calls: list[tuple[str, float | None]]) -> None:
        self.calls = calls
        self.closed = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.calls.append(("read", timeout))
        return b"x"

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.calls.append(("write", timeout))

    def close(self) -> None:
        self.closed = True

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self.calls.append(("start_tls", timeout))
        return FakeStream(self.calls)

    def get_extra_info(self, info: str) -> Any:
        return f"info:{info}"


class FakeBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []
        self.slept: list[float] = []

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        self.calls.append(("connect_tcp", timeout))
        return FakeStream(self.calls)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        self.calls.append(("connect_unix_socket", timeout))
        return FakeStream(self.calls)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_outside_a_request_the_network_keeps_httpx_s_timeouts() -> None:
    inner = FakeBackend()
    stream = DeadlineBackend(inner).connect_tcp("h", 1, timeout=30)
    stream.write(b"x", 30)
    assert stream.read(10, None) == b"x"
    assert inner.calls == [("connect_tcp", 30), ("write", 30), ("read", None)]


def test_inside_a_request_every_network_call_is_held_to_its_deadline(clock: FakeClock) -> None:
    inner = FakeBackend()
    backend = DeadlineBackend(inner)
    deadline = Deadline(10, clock.monotonic)
    with holding(deadline):
        stream = backend.connect_tcp("h", 1, timeout=30)
        clock.advance(2)
        tls = stream.start_tls(ssl.create_default_context(), "h", timeout=30)
        clock.advance(3)
        tls.write(b"x", 4)
        clock.advance(4)
        assert tls.read(10, 30) == b"x"
        local = backend.connect_unix_socket("/s", timeout=None)
        assert tls.get_extra_info("socket") == "info:socket"
        backend.sleep(0.5)
        clock.advance(1)
        for call, passed in ((lambda: tls.read(10, 30), httpcore.ReadTimeout),
                             (lambda: tls.write(b"x", 30), httpcore.WriteTimeout),
                             (lambda: backend.connect_tcp("h", 1, 30), httpcore.ConnectTimeout),
                             (lambda: tls.start_tls(ssl.create_default_context(), "h", 30), httpcore.ConnectTimeout)):
            with pytest.raises(passed, match=r"^the request's deadline passed$"):
                call()
    assert inner.calls == [("connect_tcp", 10), ("start_tls", 8), ("write", 4), ("read", 1),
                           ("connect_unix_socket", 1)]
    assert inner.slept == [0.5]
    local.close()
    tls.close()


def test_the_deadline_is_the_request_s_own_and_ends_with_it(clock: FakeClock) -> None:
    inner = FakeBackend()
    stream = DeadlineBackend(inner).connect_tcp("h", 1, timeout=30)
    outer = Deadline(10, clock.monotonic)
    with holding(outer):
        with holding(Deadline(2, clock.monotonic)):
            stream.read(1, 30)
        stream.read(1, 30)
    stream.read(1, 30)
    assert [timeout for _, timeout in inner.calls] == [30, 2, 10, 30]
