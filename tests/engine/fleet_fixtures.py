"""A fleet of generated merchants whose environments point at an emulator served on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import Sandbox, open_sandbox
from provisioner.sandbox.server import make_server

TOKEN_VARIABLE = "FLEET_TOKEN"
PLANTED_TOKEN_NOTE = "the emulator's admin token, planted in FLEET_TOKEN"


@dataclass
class Served:
    url: str
    box: Sandbox

    def put(self, path: str, body: object) -> None:
        response = httpx.put(f"{self.url}{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text


@pytest.fixture
def served_centra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    box = open_sandbox(FixtureSpec("fleet", "GlobalE Store", "Main", ("GB",), products=5, rate_tier="enterprise"),
                       tmp_path / "fleet-centra.db")
    server = make_server(box.app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    monkeypatch.setenv(TOKEN_VARIABLE, box.admin_token)
    monkeypatch.setenv("FLEET_ORDER_SECRET", "planted-fleet-order-secret-5e1b")
    try:
        yield Served(f"http://{host!s}:{port}", box)
    finally:
        server.shutdown()
        server.server_close()


def merchant_yaml(name: str, url: str, *, merchant_id: int, environments: dict[str, str | None],
                  token: str = TOKEN_VARIABLE, extra: str = "") -> str:
    """A Global-e merchant; `environments` maps a name to its declared tier (None: from the name)."""
    lines = [f"merchant: {name}", "presets: [global-e]", "store: GlobalE Store",
             f"global_e: {{merchant_id: {merchant_id}, checkout_plugin: Checkout API}}", "local_vat_rate: 20",
             "operated_markets: [GB]",
             "primary_warehouse: Main", "secrets:", "  order_api_secret: env:FLEET_ORDER_SECRET", "api_tokens:",
             "  - description: Global-e integration", f"    email: integrations@{name}.example", "environments:"]
    for environment, tier in environments.items():
        lines += [f"  {environment}:", f"    centra_url: {url}", f"    token: env:{token}"]
        if tier:
            lines.append(f"    tier: {tier}")
    return "\n".join(lines) + "\n" + extra


def write_fleet(root: Path, url: str, names: list[str], environments: dict[str, str | None] | None = None) -> None:
    for number, name in enumerate(names, start=1):
        (root / "merchants" / f"{name}.yaml").write_text(
            merchant_yaml(name, url, merchant_id=1000 + number, environments=environments or {"qa": None}),
            encoding="utf-8")


def write_failing(root: Path, url: str) -> None:
    """Two merchants that cannot be planned: `broken` (invalid YAML, exit 4) and `tokenless` (its token's
    variable is not set, exit 3)."""
    (root / "merchants" / "broken.yaml").write_text("merchant: broken\nstore: [unclosed\n", encoding="utf-8")
    (root / "merchants" / "tokenless.yaml").write_text(
        merchant_yaml("tokenless", url, merchant_id=77, environments={"qa": None}, token="TOKENLESS_QA_TOKEN"),
        encoding="utf-8")
