"""The network under the client: httpx's HTTPTransport with every connect, read and write held to the
request's deadline (deadlines.py), and every answer read only up to a limit. An answer past its limit
is cut there (the connection is closed, the rest never read) and marked cut, so the layer above says
so rather than parse a fragment. gzip is decoded here, under the same limit, so a small compressed
answer cannot unfold into gigabytes. A fleet run's shared pool is built with `pooled()`, so its
connections keep the same limits."""

from __future__ import annotations

import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from provisioner.centra.deadlines import DeadlineBackend

MAX_REPLY_BYTES = 16 * 1024 * 1024  # a JSON answer; the largest Centra sends (a catalogue page) is a few MB
MAX_QUOTED_BYTES = 64 * 1024  # anything else (a refusal, an HTML page): read only to be quoted
CUT = "provisioner.cut"  # in a response's extensions: True when the answer was cut at its limit
ACCEPTED_ENCODING = "gzip"
_DECODED = ("gzip", "deflate")  # what this module decodes itself; anything else is passed on undecoded


def is_json(headers: httpx.Headers) -> bool:
    media = str(headers.get("content-type", "")).split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def limit_for(status: int, headers: httpx.Headers) -> int:
    return MAX_REPLY_BYTES if status == 200 and is_json(headers) else MAX_QUOTED_BYTES


class _Capped(httpx.SyncByteStream):
    """An answer's bytes, decoded when gzip or deflate, stopped after `limit` decoded bytes."""

    def __init__(self, raw: httpx.SyncByteStream, limit: int, encoding: str) -> None:
        self._raw, self._limit = raw, limit
        self._marks: dict[str, Any] = {}  # the response's extensions, once it exists (httpx copies them)
        # MAX_WBITS + 32: the stream opens with a gzip or a zlib header, whichever it is
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS + 32) if encoding in _DECODED else None

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for raw in self._raw:
            for chunk in self._decoded(raw, size):
                size += len(chunk)
                if size > self._limit:
                    self._marks[CUT] = True
                    yield chunk[:len(chunk) - (size - self._limit)]
                    return  # the rest is never read: closing the response closes the connection
                yield chunk
        # Nothing is left in the decoder: each call decoded all it was given unless it reached the limit.

    def _decoded(self, raw: bytes, size: int) -> Iterator[bytes]:
        if self._decoder is None:
            yield raw
            return
        try:
            # One byte more than the limit allows shows it was passed, without inflating the rest.
            yield self._decoder.decompress(raw, self._limit - size + 1)
        except zlib.error as exc:
            raise httpx.DecodingError(f"the answer's {ACCEPTED_ENCODING} encoding is broken ({exc})") from None

    def close(self) -> None:
        self._raw.close()


class BoundedTransport(httpx.HTTPTransport):
    """httpx's HTTPTransport (same options), with deadlines on the network and limits on answers."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        backend = getattr(self._pool, "_network_backend", None)
        if not isinstance(backend, httpcore.NetworkBackend):  # an httpx or httpcore release moved it
            raise RuntimeError("httpx's connection pool no longer exposes its network backend: "
                               "the request deadline cannot be enforced")
        self._pool._network_backend = DeadlineBackend(backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-length", "content-encoding") or encoding not in _DECODED]
        capped = _Capped(response.stream, limit_for(response.status_code, response.headers), encoding)
        bounded = httpx.Response(response.status_code, headers=headers, extensions=response.extensions,
                                 stream=capped)
        capped._marks = bounded.extensions
        return bounded


def pooled(**options: Any) -> BoundedTransport:
    """A connection pool for many clients (a fleet run's, per host): httpx.HTTPTransport's options."""
    return BoundedTransport(**options)


def for_endpoint(url: str) -> BoundedTransport:
    """One client's transport to `url`, through the proxy the environment names for it (HTTPS_PROXY,
    NO_PROXY, ...), as httpx would choose for a client of its own."""
    host = urlsplit(url).hostname or ""
    proxies = urllib.request.getproxies()
    proxy = None if urllib.request.proxy_bypass(host) else proxies.get(urlsplit(url).scheme) or proxies.get("all")
    return BoundedTransport(proxy=proxy)
