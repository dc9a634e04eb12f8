from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import Sandbox, open_sandbox
from provisioner.sandbox.server import make_server
from provisioner.sandbox.wire import Request, Response

CATALOG_QUERY = """
query productList($status: [ProductStatus!]!, $page: Int!) {
  products(where: { status: $status }, sort: [updatedAt_DESC], limit: 30, page: $page) {
    id
    countryOfOrigin { code }
    displays(where: { storeId: 1 }) {
      name
      description
      displayItems { id productVariant { productSizes { id SKU } } }
    }
  }
}
"""


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return open_sandbox(FixtureSpec("acme", "GlobalE Store", "Main", ("GB",), products=95),
                        tmp_path / "acme.db")


@dataclass
class Clock:
    """The emulator's now, moving only when a test moves it."""

    now: float

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Stops the emulator's clock (rate-limit buckets refill with time and tokens expire, so what a test
    reads back would depend on how fast the machine runs it). The modules that answer requests read only
    `time.time()`; the fixture's tokens were made on the real clock, so it starts at the real now."""
    from provisioner.sandbox import ams, app, mutations

    stopped = Clock(time.time())
    for module in (app, mutations, ams):
        monkeypatch.setattr(module, "time", stopped)
    return stopped


Call = Callable[..., Response]


@pytest.fixture
def call(box: Sandbox) -> Call:
    """POST a GraphQL request in-process; `token=None` sends the admin token."""
    def post(query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
             headers: dict[str, str] | None = None) -> Response:
        sent = {"authorization": f"Bearer {token or box.admin_token}", **(headers or {})}
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return box.app.handle(Request("POST", "/graphql", headers=sent, body=body))
    return post


def sandbox_request(box: Sandbox, method: str, path: str, body: Any = None) -> Any:
    response = box.app.handle(Request(method, path, headers=box.admin_headers(),
                                      body=json.dumps(body).encode() if body is not None else b""))
    assert response.status == 200, response.payload()
    return response.payload()


def new_token(box: Sandbox, permissions: list[str], **extra: Any) -> str:
    created = sandbox_request(box, "POST", "/_sandbox/tokens",
                              {"name": "test", "integration": "tests", "permissions": permissions, **extra})
    return str(created["token"])


@dataclass
class Served:
    url: str
    box: Sandbox


@pytest.fixture
def served(box: Sandbox) -> Iterator[Served]:
    server = make_server(box.app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield Served(f"http://{host!s}:{port}", box)
    finally:
        server.shutdown()
        server.server_close()


def post_http(url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
