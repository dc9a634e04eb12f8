"""The fleet's HTTP: a cap on requests in flight per Centra host, one gate (and pacer) per host shared by
every merchant on it, and a pool that outlives each merchant's client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from provisioner.centra.client import CentraClient
from provisioner.engine.fleet.hosts import GatedTransport, Gates, SharedPool, Slots

WAIT = 10.0  # only a broken gate waits this long, and then the test fails


class Held(httpx.BaseTransport):
    """Keeps every request inside until the test opens it, noting how many per host are inside at once and
    how many threads wait at the gates it watches, so a test knows when requests have piled up (the gates
    full, everyone else waiting at them) instead of hoping a pause was long enough."""

    def __init__(self) -> None:
        self.inside: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.waiting = 0
        self.opened = False
        self.closed = False
        self.changed = threading.Condition()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        with self.changed:
            self.inside[host] = self.inside.get(host, 0) + 1
            self.most[host] = max(self.most.get(host, 0), self.inside[host])
            self.changed.notify_all()
            held = self.changed.wait_for(lambda: self.opened, timeout=WAIT)
            self.inside[host] -= 1
        assert held, "never opened"
        return httpx.Response(200, json={"data": {"ok": True}})

    def watch(self, slots: Slots) -> Slots:
        """`slots` (a gate's semaphore), counting the threads blocked in it."""
        held = self

        class Watched:
            def acquire(self) -> bool:
                with held.changed:
                    held.waiting += 1
                    held.changed.notify_all()
                try:
                    # bounded too: a gate that never gives a slot back fails the test instead of hanging it
                    return slots.acquire(timeout=2 * WAIT)  # type: ignore[call-arg]
                finally:
                    with held.changed:
                        held.waiting -= 1

            def release(self) -> None:
                slots.release()

        return Watched()

    def piled_up(self, inside: Callable[[dict[str, int]], bool], waiting: int) -> bool:
        """Whether (within WAIT) the requests inside satisfy `inside` while `waiting` threads wait at the
        watched gates: with every request accounted for and the gates full, those are held by them."""
        with self.changed:
            return self.changed.wait_for(lambda: inside(self.inside) and self.waiting == waiting, timeout=WAIT)

    def open(self) -> None:
        with self.changed:
            self.opened = True
            self.changed.notify_all()

    def close(self) -> None:
        self.closed = True


def test_no_host_gets_more_than_its_cap_in_flight() -> None:
    inner = Held()
    gates = Gates(per_host=2)
    hosts = ("a.example", "b.example")
    for host in hosts:
        gate = gates.for_host(f"https://{host}")
        gate.in_flight = inner.watch(gate.in_flight)  # type: ignore[assignment]
    shared = SharedPool(gates)

    def call(number: int) -> int:
        with httpx.Client(transport=shared.wrap(inner)) as client:
            return client.get(f"https://{hosts[number % 2]}/graphql").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = pool.map(call, range(12))
        # two in per host, the other four of each waiting at its gate
        piled = inner.piled_up(lambda inside: inside == {"a.example": 2, "b.example": 2}, waiting=8)
        inner.open()
        assert set(answers) == {200}
    assert piled, (inner.inside, inner.waiting)
    assert inner.most == {"a.example": 2, "b.example": 2}
    assert gates.requests() == {"https://a.example": 6, "https://b.example": 6}
    assert not inner.closed  # each client closed its transport; the shared one stays open


def test_the_run_never_has_more_requests_in_flight_than_its_cap_across_hosts() -> None:
    inner = Held()
    gates = Gates(per_host=4, in_flight=3)
    assert gates.in_flight is not None
    gates.in_flight = inner.watch(gates.in_flight)
    shared = SharedPool(gates)

    def call(number: int) -> int:
        with httpx.Client(transport=shared.wrap(inner)) as client:
            return client.get(f"https://host{number % 6}.example/graphql").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = pool.map(call, range(12))
        # six hosts with room for four each, and still three in at once, the other nine waiting for the run
        piled = inner.piled_up(lambda inside: sum(inside.values()) == 3, waiting=9)
        inner.open()
        assert set(answers) == {200}
    assert piled, (inner.inside, inner.waiting)
    assert sum(gates.requests().values()) == 12


def test_merchants_on_one_host_share_its_gate_and_pacer() -> None:
    gates = Gates()
    assert gates.for_host("https://shop.centra.com") is gates.for_host("https://shop.centra.com")
    assert gates.for_host("https://shop.centra.com") is not gates.for_host("https://other.centra.com")
    assert gates.for_host("https://shop.centra.com").pacer.requests == 48  # 80% of the default 60 per 10 s


def test_a_client_closing_leaves_the_run_pool_open() -> None:
    pool = SharedPool(Gates())
    inner = Held()
    client = CentraClient("https://shop.example", "token", transport=pool.wrap(inner))
    client.close()
    assert not inner.closed
    pool.close()


def test_each_host_has_its_own_small_pool_until_its_last_client_is_done() -> None:
    pool = SharedPool(Gates(per_host=3))
    one, other = pool.wrap(None), pool.wrap(None)
    assert isinstance(one, GatedTransport) and isinstance(other, GatedTransport)
    for transport in (one, other):
        transport.pool.hold("http://127.0.0.1:8001")
    shop = pool.transport("http://127.0.0.1:8001")
    assert pool.transport("http://127.0.0.1:8001") is shop
    assert pool.transport("http://127.0.0.1:8002") is not shop
    assert shop._pool._max_connections == 3  # the host's in-flight cap, not the run's
    assert pool._tls is None  # plain http never loads the CA bundle
    plain = pool.transport("http://127.0.0.1:8002")._pool._ssl_context
    assert plain is shop._pool._ssl_context  # one (never used) context for every plain origin
    pool.release("http://127.0.0.1:8001")
    assert pool.transport("http://127.0.0.1:8001") is shop  # another client still uses the host
    pool.release("http://127.0.0.1:8001")
    assert pool.transport("http://127.0.0.1:8001") is not shop  # closed with its last client; made anew
    pool.transport("https://shop.centra.com")
    tls = pool._tls
    assert tls is not None and pool.transport("https://other.centra.com") is not None and pool._tls is tls
    pool.close()
