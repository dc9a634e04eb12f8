"""The network under the client: answers read up to their limit and marked when cut, gzip decoded
under the same limit, the proxy the environment names, and the guard on httpx's internals."""

from __future__ import annotations

import gzip
import zlib

import httpcore
import httpx
import pytest
import respx

from provisioner.centra import wire
from provisioner.centra.client import BadReply
from tests.centra.conftest import ENDPOINT, FakeClock, client_on

JSON = {"content-type": "application/json"}
MIB = 1024 * 1024


def _read(transport: httpx.BaseTransport) -> httpx.Response:
    with httpx.Client(transport=transport) as client, client.stream("POST", ENDPOINT) as response:
        response.read()
        return response


def test_the_limits() -> None:
    assert (wire.MAX_REPLY_BYTES, wire.MAX_QUOTED_BYTES) == (16 * MIB, 64 * 1024)


@pytest.mark.parametrize("content_type, json", [
    ("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
    ("application/graphql-response+json", True), ("text/html", False), ("text/json", False), ("", False),
    ("application/jsonp", False)])
def test_what_counts_as_json(content_type: str, json: bool) -> None:
    assert wire.is_json(httpx.Headers({"content-type": content_type} if content_type else {})) is json


def test_only_a_200_in_json_may_be_long() -> None:
    assert wire.limit_for(200, httpx.Headers(JSON)) == wire.MAX_REPLY_BYTES
    assert wire.limit_for(200, httpx.Headers({"content-type": "text/html"})) == wire.MAX_QUOTED_BYTES
    assert wire.limit_for(500, httpx.Headers(JSON)) == wire.MAX_QUOTED_BYTES


@respx.mock
@pytest.mark.parametrize("size, cut", [(wire.MAX_REPLY_BYTES, False), (wire.MAX_REPLY_BYTES + 1, True)])
def test_an_answer_is_cut_after_its_limit_and_marked(size: int, cut: bool) -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, headers=JSON, content=b"a" * size))
    response = _read(wire.for_endpoint(ENDPOINT))
    assert len(response.content) == wire.MAX_REPLY_BYTES and bool(response.extensions.get(wire.CUT)) is cut


@respx.mock
def test_anything_else_is_cut_at_the_quoting_limit() -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(502, content=b"b" * MIB))
    response = _read(wire.for_endpoint(ENDPOINT))
    assert len(response.content) == wire.MAX_QUOTED_BYTES and response.extensions[wire.CUT] is True


@respx.mock
@pytest.mark.parametrize("encoding, pack", [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_gzip_and_deflate_are_decoded_here(encoding: str, pack: object) -> None:
    body = b'{"data": {"stores": []}}' * 1000
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, headers={**JSON, "content-encoding": encoding},
                                                          content=pack(body)))  # type: ignore[operator]
    response = _read(wire.for_endpoint(ENDPOINT))
    assert response.content == body and wire.CUT not in response.extensions
    assert "content-encoding" not in response.headers and "content-length" not in response.headers


@respx.mock
def test_a_gzip_bomb_is_cut_where_it_unfolds() -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, headers={**JSON, "content-encoding": "gzip"},
                                                          content=gzip.compress(b" " * (40 * MIB))))
    response = _read(wire.for_endpoint(ENDPOINT))
    assert len(response.content) == wire.MAX_REPLY_BYTES and response.extensions[wire.CUT] is True


@respx.mock
@pytest.mark.parametrize("size, cut", [(wire.MAX_QUOTED_BYTES, False), (wire.MAX_QUOTED_BYTES + 1, True)])
def test_a_gzip_answer_is_cut_exactly_after_its_limit(size: int, cut: bool) -> None:
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    respx.post(ENDPOINT).mock(return_value=httpx.Response(500, headers={"content-encoding": "gzip"},
                                                          content=gzip.compress(body)))
    response = _read(wire.for_endpoint(ENDPOINT))
    assert response.content == body[:wire.MAX_QUOTED_BYTES] and bool(response.extensions.get(wire.CUT)) is cut


@respx.mock
def test_another_encoding_is_passed_on_undecoded() -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, headers={**JSON, "content-encoding": "br"},
                                                          stream=httpx.ByteStream(b"\x8b\x02\x80{}\x03")))
    response = _read(wire.for_endpoint(ENDPOINT))
    assert response.headers["content-encoding"] == "br"


def test_a_broken_gzip_answer_is_a_decoding_error() -> None:
    capped = wire._Capped(httpx.ByteStream(b"\x1f\x8b not gzip at all"), wire.MAX_REPLY_BYTES, "gzip")
    with pytest.raises(httpx.DecodingError, match="the answer's gzip encoding is broken"):
        list(capped)


def test_an_undecodable_answer_is_a_bad_reply(clock: FakeClock) -> None:
    broken = httpx.Response(200, headers={**JSON, "content-encoding": "gzip"},
                            stream=httpx.ByteStream(b"\x1f\x8b not gzip at all"))
    client = client_on(clock, transport=httpx.MockTransport(lambda request: broken))
    with pytest.raises(BadReply, match=rf"stores: {ENDPOINT} sent an answer that cannot be decoded: "):
        client.run("stores")


def test_the_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert type(wire.for_endpoint(ENDPOINT)._pool) is httpcore.ConnectionPool
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert isinstance(wire.for_endpoint(ENDPOINT)._pool, httpcore.HTTPProxy)
    monkeypatch.setenv("NO_PROXY", "acme.centraqa.com")
    assert type(wire.for_endpoint(ENDPOINT)._pool) is httpcore.ConnectionPool


def test_a_pool_for_many_clients_has_the_deadline_backend() -> None:
    pool = wire.pooled(limits=httpx.Limits(max_connections=3))
    assert pool._pool._max_connections == 3
    assert type(pool._pool._network_backend).__name__ == "DeadlineBackend"
    pool.close()


def test_without_httpx_s_network_backend_there_is_no_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """An httpx or httpcore release that moves it must fail loudly, not leave requests without a deadline."""
    original = httpx.HTTPTransport.__init__

    def without(self: httpx.HTTPTransport, **options: object) -> None:
        original(self, **options)  # type: ignore[arg-type]
        del self._pool._network_backend  # type: ignore[union-attr]

    monkeypatch.setattr(httpx.HTTPTransport, "__init__", without)
    with pytest.raises(RuntimeError, match="the request deadline cannot be enforced"):
        wire.pooled()
