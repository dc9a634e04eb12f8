"""The fleet's HTTP: a cap on requests in flight per Centra host, one gate (and pacer) per host shared by
every merchant on it, and a pool that outlives each merchant's client."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from provisioner.centra.client import CentraClient
from provisioner.engine.fleet.hosts import GatedTransport, Gates, SharedPool


class Recording(httpx.BaseTransport):
    """Answers after a short pause, noting how many requests per host were inside at once."""

    def __init__(self) -> None:
        self.inside: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.lock = threading.Lock()
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        with self.lock:
            self.inside[host] = self.inside.get(host, 0) + 1
            self.most[host] = max(self.most.get(host, 0), self.inside[host])
        time.sleep(0.01)  # long enough for the other threads to pile up at the gate
        with self.lock:
            self.inside[host] -= 1
        return httpx.Response(200, json={"data": {"ok": True}})

    def close(self) -> None:
        self.closed = True


def test_no_host_gets_more_than_its_cap_in_flight() -> None:
    inner = Recording()
    gates = Gates(per_host=2)
    shared = SharedPool(gates)

    def call(number: int) -> int:
        host = "a.example" if number % 2 else "b.example"
        with httpx.Client(transport=shared.wrap(inner)) as client:
            return client.get(f"https://{host}/graphql").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert set(pool.map(call, range(48))) == {200}
    assert set(inner.most) == {"a.example", "b.example"}
    assert all(1 <= most <= 2 for most in inner.most.values())
    assert gates.requests() == {"https://a.example": 24, "https://b.example": 24}
    assert not inner.closed  # each client closed its transport; the shared one stays open


def test_the_run_never_has_more_requests_in_flight_than_its_cap_across_hosts() -> None:
    inner = Recording()
    shared = SharedPool(Gates(per_host=4, in_flight=3))
    inside, most, lock = [0], [0], threading.Lock()

    class Counting(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            try:
                return inner.handle_request(request)
            finally:
                with lock:
                    inside[0] -= 1

    def call(number: int) -> int:
        with httpx.Client(transport=shared.wrap(Counting())) as client:
            return client.get(f"https://host{number % 6}.example/graphql").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert set(pool.map(call, range(36))) == {200}
    assert most[0] == 3  # six hosts with room for four each, and still never more than three at once


def test_merchants_on_one_host_share_its_gate_and_pacer() -> None:
    gates = Gates()
    assert gates.for_host("https://shop.centra.com") is gates.for_host("https://shop.centra.com")
    assert gates.for_host("https://shop.centra.com") is not gates.for_host("https://other.centra.com")
    assert gates.for_host("https://shop.centra.com").pacer.requests == 48  # 80% of the default 60 per 10 s


def test_a_client_closing_leaves_the_run_pool_open() -> None:
    pool = SharedPool(Gates())
    inner = Recording()
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
