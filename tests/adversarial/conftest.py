"""Shared set-up of the adversarial suite: a served sandbox reached over real HTTP on 127.0.0.1, and a
merchant environment pointing at it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.sandbox.instance import Sandbox, for_merchant
from provisioner.sandbox.server import make_server
from tests.engine.conftest import PLANTED, outputs, project  # noqa: F401  (fixtures shared with tests/engine)


@dataclass
class ServedMerchant:
    url: str
    box: Sandbox
    token: str


@pytest.fixture
def served_acme(examples: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedMerchant]:
    """acme's sandbox served over HTTP, and an environment `served` of acme.yaml that targets it."""
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    box = for_merchant("acme")
    server = make_server(box.app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    url = f"http://{host!s}:{port}"
    merchant = examples / "merchants" / "acme.yaml"
    merchant.write_text(merchant.read_text(encoding="utf-8") + f"  served:\n    centra_url: {url}\n"
                        "    token: env:SERVED_ADMIN_TOKEN\n    tier: qa\n", encoding="utf-8")
    monkeypatch.setenv("SERVED_ADMIN_TOKEN", box.admin_token)
    try:
        yield ServedMerchant(url, box, box.admin_token)
    finally:
        server.shutdown()
        server.server_close()
