"""`/_sandbox/` over real HTTP: the admin token, a loopback Host and no foreign Origin, or nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from provisioner.sandbox.server import make_server
from tests.sandbox.conftest import Served


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    box = open_sandbox(FixtureSpec("acme", "GlobalE Store", "Main", ("GB",), products=5), tmp_path / "acme.db")
    server = make_server(box.app, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", box)
    finally:
        server.shutdown()
        server.server_close()


def _put_faults(served: Served, headers: dict[str, str]) -> httpx.Response:
    return httpx.put(f"{served.url}/_sandbox/faults", json={"drop": {"count": 1}}, headers=headers, timeout=10)


def _faults(served: Served) -> object:
    state = httpx.get(f"{served.url}/_sandbox/state", headers={"Authorization": f"Bearer {served.box.admin_token}"},
                      timeout=10)
    assert state.status_code == 200
    return state.json()["faults"]


@pytest.mark.parametrize(("case", "status"), [
    ("no token", 401), ("a wrong token", 401), ("a non-admin token", 401), ("a foreign Host", 403),
    ("a rebinding Host", 403), ("a cross-origin Origin", 403), ("a cross-site fetch", 403)])
def test_the_ams_surface_refuses(served: Served, case: str, status: int) -> None:
    from tests.sandbox.conftest import new_token

    admin = {"Authorization": f"Bearer {served.box.admin_token}"}
    headers = {
        "no token": {},
        "a wrong token": {"Authorization": "Bearer nope"},
        "a non-admin token": {"Authorization": f"Bearer {new_token(served.box, ['Order:read'])}"},
        "a foreign Host": {**admin, "Host": "evil.example"},
        "a rebinding Host": {**admin, "Host": "127.0.0.1.evil.example:8765"},
        "a cross-origin Origin": {**admin, "Origin": "https://evil.example"},
        "a cross-site fetch": {**admin, "Sec-Fetch-Site": "cross-site"},
    }[case]
    before = _faults(served)
    response = _put_faults(served, headers)
    assert response.status_code == status, response.text
    assert _faults(served) == before


def test_the_admin_on_loopback_is_served(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        headers = {"Authorization": f"Bearer {served.box.admin_token}", "Host": host,
                   "Origin": f"http://{host}"}
        assert _put_faults(served, headers).status_code == 200
