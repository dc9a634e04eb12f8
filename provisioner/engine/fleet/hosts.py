"""HTTP for a fleet run: connections shared by every merchant on a host (TLS set up once per connection,
not once per merchant), at most a few requests in flight per Centra host, and one pacer per host shared
by every merchant on it, because Centra's rate limits belong to the environment, not to a token."""

from __future__ import annotations

import codecs
import ssl
import threading
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from provisioner.centra import wire
from provisioner.centra.pacing import HEADROOM, Pacer

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


class Slots(Protocol):
    """A semaphore: the threading one, or multiprocessing's, shared by a run's processes."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class Gates:
    """Every host's gate, and the run's cap on requests in flight across all hosts (None: no cap).
    `share`: the part of each host's request budget this process may use (a run split over processes
    divides it, so together they stay within it)."""

    def __init__(self, per_host: int = PER_HOST_IN_FLIGHT, in_flight: int | None = None, *,
                 share: float = 1.0, slots: Slots | None = None) -> None:
        """`slots`: the run-wide cap when it is shared with other processes (`in_flight` then sizes this
        process's part of the work)."""
        self.per_host = per_host
        self.cap = in_flight
        self.in_flight = slots if slots is not None else (
            None if in_flight is None else threading.BoundedSemaphore(in_flight))
        self.share = share
        self._gates: dict[str, HostGate] = {}
        self._lock = threading.Lock()

    def for_host(self, host: str) -> HostGate:
        with self._lock:
            if host not in self._gates:
                budget = HEADROOM * self.share
                self._gates[host] = HostGate(
                    threading.BoundedSemaphore(self.per_host),
                    Pacer(max(1, int(GROWTH_REQUESTS_PER_WINDOW * budget)),
                          max(1, int(GROWTH_COMPLEXITY_PER_WINDOW * budget))))
            return self._gates[host]

    def requests(self) -> dict[str, int]:
        with self._lock:
            return {host: gate.requests for host, gate in self._gates.items()}

    def count(self, requests: dict[str, int]) -> None:
        """Requests made for this run elsewhere (by its other processes), for `requests()` to include."""
        for host, number in requests.items():
            gate = self.for_host(host)
            with self._lock:
                gate.requests += number


def prepare() -> None:
    """Import what a process's first request would (httpcore, h11, the IDNA codec: ~20 ms) before the
    run's workers start or its processes are forked, rather than in each, on its first request."""
    httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)).close()
    codecs.lookup("idna")


class GatedTransport(httpx.BaseTransport):
    """Sends through the run's pool once the host's gate lets the request in; the answer is read whole
    before the slot is given back. One per merchant client: closing it tells the pool this client is done
    with its hosts (the pool itself is the run's)."""

    def __init__(self, pool: SharedPool, sandbox: httpx.BaseTransport | None = None) -> None:
        self.pool = pool
        self.sandbox = sandbox
        self._origins: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        if origin not in self._origins:
            self._origins.add(origin)
            self.pool.hold(origin)
        inner = self.sandbox if self.sandbox is not None else self.pool.transport(origin)
        gates = self.pool.gates
        gate = gates.for_host(origin)
        gate.enter()  # the host's cap and pacer first: a request waiting for its host holds no run-wide slot
        if gates.in_flight is not None:
            gates.in_flight.acquire()
        try:
            response = inner.handle_request(request)
            try:
                response.read()
            except BaseException:
                response.close()
                raise
            return response
        finally:
            if gates.in_flight is not None:
                gates.in_flight.release()
            gate.leave()

    def close(self) -> None:
        for origin in self._origins:
            self.pool.release(origin)
        self._origins.clear()


class SharedPool:
    """The run's connections: a small pool per Centra host, sized to the host's in-flight cap (a request
    looks through that host's few connections, not the whole run's), kept while a merchant client uses
    the host and closed when the last one is done, so a fleet of hundreds never holds hundreds of idle
    sockets. Every https host shares one TLS context, made when the first needs it: loading the CA
    bundle costs ~50 ms, once per run rather than once per host."""

    def __init__(self, gates: Gates) -> None:
        self.gates = gates
        self._hosts: dict[str, httpx.HTTPTransport] = {}
        self._users: dict[str, int] = {}
        self._tls: ssl.SSLContext | None = None
        self._plain: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def hold(self, origin: str) -> None:
        with self._lock:
            self._users[origin] = self._users.get(origin, 0) + 1

    def release(self, origin: str) -> None:
        with self._lock:
            self._users[origin] -= 1
            if self._users[origin] > 0:
                return
            del self._users[origin]
            idle = self._hosts.pop(origin, None)
        if idle is not None:
            idle.close()

    def transport(self, origin: str) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._hosts.get(origin)
            if transport is None:
                transport = self._hosts[origin] = wire.pooled(
                    verify=self._context(origin),
                    limits=httpx.Limits(max_connections=self.gates.per_host,
                                        max_keepalive_connections=self.gates.per_host))
            return transport

    def _context(self, origin: str) -> ssl.SSLContext:
        """Called under the lock."""
        if not origin.startswith("https://"):
            # Never used for TLS (this pool only sends plain http to this origin), and closed if it were:
            # it verifies and trusts nothing. Loading the CA bundle is what costs; even an empty context
            # costs ~0.2 ms, so every plain origin shares one.
            if self._plain is None:
                self._plain = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            return self._plain
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def wrap(self, sandbox: httpx.BaseTransport | None) -> httpx.BaseTransport:
        """The transport for one merchant client: its in-process sandbox, or the run's pool; gated either way."""
        return GatedTransport(self, sandbox)

    def close(self) -> None:
        with self._lock:
            hosts, self._hosts = list(self._hosts.values()), {}
            self._users.clear()
        for transport in hosts:
            transport.close()
