"""The served emulator: real HTTP on 127.0.0.1, persistence across restarts, concurrent writers."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from tests.sandbox.conftest import CATALOG_QUERY, Served, post_http

CREATE = ('mutation($n: String!) { createAccessToken(input: {name: $n, organizationName: "o", integrationName: "i", '
          'email: "a@b.example", permissions: ["Order:read"], ttl: 3600}) '
          '{ accessToken { id } userErrors { message } } }')


def admin(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.box.admin_token}"}


def test_catalog_query_over_http_pages_and_403s(served: Served) -> None:
    token = served.box.admin_token
    first = post_http(served.url, token, CATALOG_QUERY, {"status": ["ACTIVE"], "page": 1}).json()
    third = post_http(served.url, token, CATALOG_QUERY, {"status": ["ACTIVE"], "page": 3}).json()
    fourth = post_http(served.url, token, CATALOG_QUERY, {"status": ["ACTIVE"], "page": 4}).json()
    assert (len(first["data"]["products"]), len(third["data"]["products"]), fourth["data"]["products"]) == (30, 27, [])
    assert post_http(served.url, "unknown", CATALOG_QUERY, {"status": ["ACTIVE"], "page": 1}).status_code == 403


def test_dropped_connection_over_http(served: Served) -> None:
    httpx.put(f"{served.url}/_sandbox/faults", json={"drop": {"count": 1}}, headers=admin(served))
    try:
        post_http(served.url, served.box.admin_token, "{ stores { id } }")
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the connection was not dropped")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    spec = FixtureSpec("acme", "GlobalE Store", products=10)
    first = open_sandbox(spec, tmp_path / "s.db")
    token = first.admin_token
    httpx.Client(transport=first.transport()).post(
        "https://x.invalid/graphql", json={"query": CREATE, "variables": {"n": "kept"}},
        headers={"Authorization": f"Bearer {token}"})
    first.store.close()
    again = open_sandbox(spec, tmp_path / "s.db")
    assert again.admin_token == token
    names = [row[0] for row in sqlite3.connect(tmp_path / "s.db").execute("SELECT name FROM tokens")]
    assert "kept" in names


def test_two_clients_writing_at_once_do_not_corrupt_it(served: Served) -> None:
    httpx.put(f"{served.url}/_sandbox/rate-limits", json={"tier": "enterprise"}, headers=admin(served))
    token = served.box.admin_token

    def create(n: int) -> int:
        body = post_http(served.url, token, CREATE, {"n": f"t{n}"}).json()
        return int(body["data"]["createAccessToken"]["accessToken"]["id"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = list(pool.map(create, range(40)))
    assert len(set(ids)) == 40
    database = sqlite3.connect(served.box.store.path)
    assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert database.execute("SELECT COUNT(*) FROM tokens WHERE name LIKE 't%'").fetchone()[0] == 40


def test_a_broken_database_is_a_503_and_one_line_not_a_traceback(served: Served,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    """What the store refuses (a full disk, a file that is no longer a database) reaches the client as
    an error it can show and the operator as one line."""
    path, token = served.box.store.path, served.box.admin_token  # read while the database is whole
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)
    path.write_bytes(b"not a database, " * 512)
    reply = post_http(served.url, token, "{ stores { id } }")
    assert reply.status_code == 503
    message = reply.json()["errors"][0]["message"]
    assert message.startswith("the sandbox cannot answer: ") and "(the sandbox database)" in message
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("sandbox: ")] == [
        f"sandbox: {message.removeprefix('the sandbox cannot answer: ')}"]
