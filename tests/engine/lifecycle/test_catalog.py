"""`provision catalog export` against the sandbox: content, edges, failure, rate limits."""

from __future__ import annotations

import csv
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import build_schema

from provisioner.centra.client import CentraClient, CentraError, RetryPolicy
from provisioner.centra.pacing import Pacer
from provisioner.engine.lifecycle import catalog
from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import Sandbox, open_sandbox
from tests.engine.conftest import Outputs


def _expected(db_path: Path) -> list[list[str]]:
    """The rows, straight from the sandbox database: product sizes of displays in store 1."""
    query = """SELECT s.id, s.sku, d.name, d.description, COALESCE(p.country, 'N/A')
               FROM products p JOIN displays d ON d.product_id = p.id AND d.store_id = 1
               JOIN variants v ON v.product_id = p.id JOIN sizes s ON s.variant_id = v.id
               WHERE p.status = 'ACTIVE' ORDER BY p.id, d.id, v.id, s.id"""
    return [[str(c) for c in row] for row in sqlite3.connect(db_path).execute(query)]


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _box(tmp_path: Path, products: int) -> Sandbox:
    return open_sandbox(FixtureSpec("shop", "Shop Store", products=products), tmp_path / "shop.db")


def _client(box: Sandbox, sleeps: list[float] | None = None) -> CentraClient:
    return CentraClient("https://shop.sandbox.invalid", box.admin_token, transport=box.transport(),
                        sleep=(sleeps.append if sleeps is not None else lambda _: None),
                        retry=RetryPolicy(attempts=4, base_delay=0.01))


def test_csv_matches_the_fixture(project: Path, outputs: Outputs) -> None:
    result = outputs.run("catalog", "export", "acme", "--env", "sandbox", "--out", "out/catalog.csv")
    assert result.exit_code == 0, result.output
    rows = _read(Path("out/catalog.csv"))
    assert rows[0] == catalog.COLUMNS
    assert rows[1:] == _expected(Path(".provision/sandbox/acme.db"))
    assert any(row[4] == "N/A" for row in rows[1:])
    assert all(not name.endswith(".part") for name in (p.name for p in Path("out").iterdir()))


def test_empty_catalogue_gives_the_header_only(tmp_path: Path) -> None:
    box = _box(tmp_path, 0)
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv")
    assert _read(tmp_path / "c.csv") == [catalog.COLUMNS]
    assert (stats.rows, stats.pages) == (0, 1)


def test_products_without_country_or_display(tmp_path: Path) -> None:
    box = _box(tmp_path, 30)
    catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=7)
    rows = _read(tmp_path / "c.csv")[1:]
    skus = {row[1].split("-")[1] for row in rows}
    assert "000026" not in skus  # product 26 has no display in this store (every 13th)
    assert {row[4] for row in rows if row[1].startswith("SKU-000014-")} == {"N/A"}  # every 7th has no country
    assert rows == _expected(tmp_path / "shop.db")


def test_an_exact_multiple_of_the_page_size_stops_after_one_empty_page(tmp_path: Path) -> None:
    box = _box(tmp_path, 22)  # 20 active products: 2 of 22 are inactive (every 11th)
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=10)
    assert (stats.products, stats.pages) == (20, 3)
    assert _read(tmp_path / "c.csv")[1:] == _expected(tmp_path / "shop.db")


def test_a_failure_half_way_leaves_no_partial_file(tmp_path: Path) -> None:
    box = _box(tmp_path, 60)
    out = tmp_path / "c.csv"
    out.write_text("the previous export\n")

    def break_after_first_page(stats: catalog.ExportStats) -> None:
        if stats.pages == 1:
            from provisioner.sandbox.wire import Request
            box.app.handle(Request("PUT", "/_sandbox/faults", headers=box.admin_headers(),
                                   body=b'{"status": {"code": 500, "count": 10}}'))

    with pytest.raises(CentraError, match="HTTP 500"):
        catalog.export_with(_client(box), 1, out, page_size=10, progress=break_after_first_page)
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".c.csv")] == []


def test_a_rate_limited_run_still_completes(tmp_path: Path) -> None:
    box = _box(tmp_path, 40)
    from provisioner.sandbox.wire import Request
    box.app.handle(Request("PUT", "/_sandbox/faults", headers=box.admin_headers(),
                          body=b'{"rate_limit": {"count": 2, "retry_after": 1}}'))
    sleeps: list[float] = []
    stats = catalog.export_with(_client(box, sleeps), 1, tmp_path / "c.csv", page_size=10,
                                pacer=Pacer(1000, 10**9), sort="id_ASC")
    assert _read(tmp_path / "c.csv")[1:] == _expected(tmp_path / "shop.db")
    assert len(sleeps) == 2 and all(0 < s <= 2.2 for s in sleeps)
    assert stats.requests == stats.pages + 1 + 2  # the count, and the two refused


def test_pacer_keeps_requests_under_the_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer.from_rate_limits([{"type": "REQUEST_COUNT", "intervalSeconds": "TEN_SECONDS", "remainingQuota": 5},
                                    {"type": "QUERY_COMPLEXITY", "intervalSeconds": "TEN_SECONDS",
                                     "remainingQuota": 10**6}], clock=lambda: now[0], sleep=sleep)
    assert pacer.requests == 4  # 80 %: the limits are shared with other integrations
    for _ in range(9):
        pacer.before(10)
        pacer.after(10)
    assert slept and sum(slept) >= 10


def test_the_cli_reports_its_figures(project: Path, outputs: Outputs) -> None:
    result = outputs.run("catalog", "export", "acme", "--env", "sandbox", "--out", "c.csv", "--page-size", "50")
    assert result.exit_code == 0 and "requests" in result.output


def test_progress_hears_the_product_count_first_then_each_page(tmp_path: Path) -> None:
    box = _box(tmp_path, 45)
    heard: list[tuple[int | None, int, int]] = []
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=20, pacer=Pacer(1000, 10**9),
                                progress=lambda s: heard.append((s.total, s.pages, s.products)), sort="id_ASC")
    active = sqlite3.connect(tmp_path / "shop.db").execute(
        "SELECT COUNT(*) FROM products WHERE status = 'ACTIVE'").fetchone()[0]
    assert heard[0] == (active, 0, 0) and heard[-1] == (active, stats.pages, active)
    assert stats.requests == stats.pages + 1  # the count is one request, and no page is asked past the last


def test_the_pacers_waits_are_announced_as_rate_limit_waits() -> None:
    now = [0.0]
    heard: list[tuple[float, str]] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(2, 10**9, clock=lambda: now[0], sleep=sleep, on_wait=lambda s, why: heard.append((s, why)))
    for _ in range(3):
        pacer.before(1)
        pacer.after(1)
    assert heard == [(10.0, "for Centra's rate limit")] and pacer.waited == 10.0


def test_a_reader_that_goes_away_ends_the_export_quietly(project: Path) -> None:
    """`provision catalog export ... --out - | head`: no traceback and no error about the pipe."""
    command = [sys.executable, "-m", "provisioner.cli", "catalog", "export", "acme", "--env", "sandbox", "--out", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        assert reader.stdout.read(100).startswith(b"Product Unique Identifier")
        reader.stdout.close()
        errors = reader.stderr.read().decode()
        assert reader.wait(timeout=60) == 1
    assert "Traceback" not in errors and "Broken pipe" not in errors and "Exception ignored" not in errors


@pytest.mark.parametrize("window", [1, 3, 8])
def test_pages_in_flight_are_written_in_order_and_none_is_asked_past_the_last(tmp_path: Path, window: int) -> None:
    box = _box(tmp_path, 75)
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=7, pacer=Pacer(1000, 10**9),
                                sort="id_ASC", window=window)
    assert _read(tmp_path / "c.csv")[1:] == _expected(tmp_path / "shop.db")
    assert stats.requests == stats.pages + 1  # the count sized the run: not one page too many


def test_without_a_count_the_window_stops_at_the_first_short_page(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    box = _box(tmp_path, 50)
    monkeypatch.setattr(catalog, "product_count", lambda client: None)
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=10, pacer=Pacer(1000, 10**9),
                                sort="id_ASC", window=4)
    assert _read(tmp_path / "c.csv")[1:] == _expected(tmp_path / "shop.db")
    assert stats.pages == 5 and stats.pages <= stats.requests <= stats.pages + 3  # at most a window past the end


def test_the_sort_is_discovered_from_the_targets_schema(tmp_path: Path) -> None:
    box = _box(tmp_path, 20)
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=6, pacer=Pacer(1000, 10**9))
    assert stats.sort == "id_ASC"  # the sandbox lists it, as Centra's schema does
    assert _read(tmp_path / "c.csv")[1:] == _expected(tmp_path / "shop.db")


@pytest.mark.parametrize(("values", "chosen"), [
    ("id_ASC id_DESC updatedAt_DESC", "id_ASC"),
    ("updatedAt_DESC id_DESC", "id_DESC"),
    ("updatedAt_ASC updatedAt_DESC", "updatedAt_DESC"),
    ("name_ASC", None),
])
def test_the_sort_chosen_is_a_stable_one_then_the_documented_one(values: str, chosen: str | None) -> None:
    schema = build_schema(f"""
        enum ProductSort {{ {values} }}
        type Product {{ id: Int! }}
        type Query {{ products(sort: [ProductSort!], limit: Int, page: Int): [Product!]! }}""")
    assert catalog.sort_from(schema) == chosen
    assert catalog.sort_from(build_schema("type Query { products(limit: Int): [Int!]! }")) is None


def test_a_sort_that_may_move_writes_each_product_once(tmp_path: Path) -> None:
    box = _box(tmp_path, 40)
    stats = catalog.export_with(_client(box), 1, tmp_path / "c.csv", page_size=9, pacer=Pacer(1000, 10**9),
                                sort="updatedAt_DESC", window=3)
    assert sorted(_read(tmp_path / "c.csv")[1:]) == sorted(_expected(tmp_path / "shop.db"))
    assert stats.sort == "updatedAt_DESC"


def test_the_csv_gets_the_users_usual_mode_it_holds_no_secret(tmp_path: Path) -> None:
    box = _box(tmp_path, 5)
    previous = os.umask(0o022)
    try:
        catalog.export_with(_client(box), 1, tmp_path / "c.csv", pacer=Pacer(1000, 10**9), sort="id_ASC")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "c.csv").stat().st_mode) == 0o644
