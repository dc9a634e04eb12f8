"""HTTP for a fleet run: one connection pool for the whole run (TLS set up once per connection, not
once per merchant), at most a few requests in flight per Centra host, and one pacer per host shared by
every merchant on it, because Centra's rate limits belong to the environment, not to a token."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx

from provisioner.engine.pacing import HEADROOM, Pacer

PER_HOST_IN_FLIGHT = 4
GROWTH_REQUESTS_PER_WINDOW = 60  # Centra's default tier; the lowest a store can have
GROWTH_COMPLEXITY_PER_WINDOW = 250_000


@dataclass
class HostGate:
    """One Centra host: a cap on requests in flight and a pacer under its 10-second request budget."""

    in_flight: threading.BoundedSemaphore
    pacer: Pacer
    _pacing: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0

    def enter(self) -> None:
        self.in_flight.acquire()
        with self._pacing:  # waiting for the window is first come, first served
            self.pacer.before(1)
            self.pacer.after(1)
            self.requests += 1

    def leave(self) -> None:
        self.in_flight.release()


class Gates:
    def __init__(self, per_host: int = PER_HOST_IN_FLIGHT) -> None:
        self.per_host = per_host
        self._gates: dict[str, HostGate] = {}
        self._lock = threading.Lock()

    def for_host(self, host: str) -> HostGate:
        with self._lock:
            if host not in self._gates:
                self._gates[host] = HostGate(
                    threading.BoundedSemaphore(self.per_host),
                    Pacer(int(GROWTH_REQUESTS_PER_WINDOW * HEADROOM), int(GROWTH_COMPLEXITY_PER_WINDOW * HEADROOM)))
            return self._gates[host]

    def requests(self) -> dict[str, int]:
        with self._lock:
            return {host: gate.requests for host, gate in self._gates.items()}


class GatedTransport(httpx.BaseTransport):
    """Sends through `inner` once the host's gate lets the request in; the answer is read whole before
    the slot is given back. Closing it leaves the shared pool open: the run closes that once."""

    def __init__(self, inner: httpx.BaseTransport, gates: Gates) -> None:
        self.inner = inner
        self.gates = gates

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        gate = self.gates.for_host(f"{request.url.scheme}://{request.url.netloc.decode('ascii')}")
        gate.enter()
        try:
            response = self.inner.handle_request(request)
            try:
                response.read()
            except BaseException:
                response.close()
                raise
            return response
        finally:
            gate.leave()

    def close(self) -> None:
        """The pool is the run's, not this client's."""


class SharedPool:
    """The run's connection pool, sized for every host's in-flight cap; made on first use, because its TLS
    context costs ~50 ms and a sandbox-only run never needs it."""

    def __init__(self, gates: Gates, parallelism: int) -> None:
        self.gates = gates
        self.parallelism = parallelism
        self._transport: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def open(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._transport is None:
                # Idle connections are kept for about the merchants in progress: a finished merchant's host
                # is rarely asked again, and the pool looks through every connection it holds per request.
                self._transport = httpx.HTTPTransport(limits=httpx.Limits(
                    max_connections=max(self.parallelism * 2, self.gates.per_host),
                    max_keepalive_connections=max(self.parallelism, 1)))
            return self._transport

    def wrap(self, sandbox: httpx.BaseTransport | None) -> httpx.BaseTransport:
        """The transport for one merchant: its in-process sandbox, or the shared pool; gated either way."""
        return GatedTransport(sandbox if sandbox is not None else self.open(), self.gates)

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
