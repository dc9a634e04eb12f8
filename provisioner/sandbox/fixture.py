"""The seeded state of a fresh sandbox: what a merchant's Centra store looks like before anyone ran
the Global-e checklist. Deterministic per merchant, so tests and demos see the same store."""

from __future__ import annotations

import random
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass

from provisioner.config.environments import SANDBOX_TOKEN_NAME
from provisioner.reference import catalogue
from provisioner.sandbox import ratelimit
from provisioner.sandbox.store import dumps, set_meta

APP_VERSION = "v1.60.0-sandbox"
ADMIN_TOKEN_NAME = SANDBOX_TOKEN_NAME
ADMIN_INTEGRATION = "provisioner"
ADMIN_TTL_SECONDS = 10 * 365 * 86400


@dataclass(frozen=True)
class FixtureSpec:
    merchant: str
    store: str = "Default Store"
    primary_warehouse: str = "Main"
    markets: tuple[str, ...] = ()
    products: int = 300
    rate_tier: str = "growth"
    checkout_plugin: str | None = None  # the Checkout API plugin the store already has, if any


def seed(db: sqlite3.Connection, spec: FixtureSpec, admin_token: str | None = None) -> None:
    """Empty every table and seed it. Runs inside the caller's transaction. `admin_token` keeps the
    admin token's value across a reset, so a served sandbox's token file stays valid."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        db.execute(f"DELETE FROM {table}")
    rng = random.Random(spec.merchant)
    set_meta(db, "merchant", spec.merchant)
    set_meta(db, "app_version", APP_VERSION)
    ratelimit.set_quotas(db, ratelimit.TIERS[spec.rate_tier])

    other_store = "Wholesale" if spec.store != "Wholesale" else "Wholesale B2B"
    db.execute("INSERT INTO stores VALUES (1, ?, 'DIRECT_TO_CONSUMER', 'ACTIVE')", (spec.store,))
    db.execute("INSERT INTO stores VALUES (2, ?, 'WHOLESALE', 'ACTIVE')", (other_store,))
    market_names = ["Default", *spec.markets, "EU", "US", "Rest of World"]
    for index, name in enumerate(dict.fromkeys(market_names), start=1):
        db.execute("INSERT INTO markets (id, name, store_id) VALUES (?, ?, 1)", (index, name))
    db.execute("INSERT INTO markets (name, store_id) VALUES ('Wholesale EU', 2)")
    # The merchant's primary warehouse is not there yet: the merchant file's `warehouses` creates it.
    for index, name in enumerate(["Retail", "Outlet"], start=1):
        db.execute("INSERT INTO warehouses VALUES (?, ?, 'ACTIVE')", (index, name))
    # Centra's default pricelist of the store and the shipping option it uses; the Global-e ones are made
    # by hand in AMS (no documented write) from the merchant file's runbook.
    db.execute("INSERT INTO shipping_options VALUES (1, 'Standard', 'standard')")
    db.execute("INSERT INTO pricelists VALUES (1, 'Default', 1, 'ACTIVE', 'EUR', 1, '[]')")

    _seed_catalogue(db, rng, spec.products)
    _seed_configuration(db)
    if spec.checkout_plugin:
        # A store selling online already reads carts through a Checkout API plugin before Global-e arrives.
        db.execute("INSERT INTO plugins (store_id, name, method, type, uri, status, external_id, settings) "
                   "VALUES (1, ?, ?, ?, 'checkout', 'ACTIVE', NULL, '{}')",
                   (spec.checkout_plugin, catalogue.PLUGIN_KINDS["checkout_api"].method,
                    catalogue.PLUGIN_KINDS["checkout_api"].type))
    create_token(db, name=ADMIN_TOKEN_NAME, organization="Provisioner", integration=ADMIN_INTEGRATION,
                 email="provisioner@sandbox.invalid", phone=None,
                 permissions=[*catalogue.permissions().every, "admin"],
                 restrictions={}, ttl=ADMIN_TTL_SECONDS, value=admin_token)
    remember(db, spec)


def remember(db: sqlite3.Connection, spec: FixtureSpec) -> None:
    set_meta(db, "fixture", dumps(asdict(spec)))


def admin_token(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM tokens WHERE name = ? ORDER BY id LIMIT 1", (ADMIN_TOKEN_NAME,)).fetchone()
    return str(row[0]) if row else None


def _seed_catalogue(db: sqlite3.Connection, rng: random.Random, count: int) -> None:
    countries = list(catalogue.countries())
    now = time.time()
    products, variants, sizes, displays = [], [], [], []
    size_names = ["XS", "S", "M", "L", "XL"]
    for pid in range(1, count + 1):
        status = "INACTIVE" if pid % 11 == 0 else "ACTIVE"
        country = None if pid % 7 == 0 else rng.choice(countries)
        products.append((pid, f"Product {pid}", status, country, now - pid * 60))
        for v in range(1 + pid % 2):
            vid = pid * 10 + v
            variants.append((vid, pid, f"Colour {v + 1}"))
            for s, size in enumerate(size_names[: 1 + (pid + v) % 5]):
                sizes.append((vid * 10 + s, vid, f"SKU-{pid:06d}-{v + 1}-{size}", size))
        if pid % 13 != 0:  # every 13th product has no display at all
            displays.append((pid * 10, pid, 1, f"Display {pid}", f"Description of product {pid}, \"quoted\", a, b"))
        if pid % 5 == 0:  # some are shown in the other store too
            displays.append((pid * 10 + 1, pid, 2, f"Wholesale display {pid}", "B2B"))
    db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", products)
    db.executemany("INSERT INTO variants VALUES (?, ?, ?)", variants)
    db.executemany("INSERT INTO sizes VALUES (?, ?, ?, ?)", sizes)
    db.executemany("INSERT INTO displays VALUES (?, ?, ?, ?, ?)", displays)


def _seed_configuration(db: sqlite3.Connection) -> None:
    """What a store has before the integration: configuration that belongs to someone else."""
    db.execute("INSERT INTO attribute_types VALUES (?, ?)", ("pr_materials", dumps({
        "desc": "Materials", "readonly": True, "group": "product",
        "elements": {"text": {"desc": "Material", "type": "input"}}})))
    db.execute("INSERT INTO attribute_types VALUES (?, ?)", ("sh_swatch", dumps({
        "desc": "Showroom Color Swatch", "readonly": True, "group": "variation",
        "elements": {"color": {"desc": "Image", "type": "image", "size": "60x60"},
                     "color_text": {"desc": "Color", "type": "textarea"}}})))
    db.execute("INSERT INTO tax_groups VALUES (1, 'Standard', 'ACTIVE', ?)", (dumps([1, 2]),))
    db.execute("INSERT INTO tax_rules (group_id, body) VALUES (1, ?)", (dumps({
        "name": "Standard rate", "display_name": "VAT", "code": "VAT", "rate": 20.0,
        "apply_tax_type": "SHIP_TO_COUNTRY", "apply_to_shipping": True, "apply_to_handling": True,
        "countries": ["GB"], "include_tax_in_prices": True, "include_shipping_in_order_total": True}),))
    unrelated = [("Adyen Drop-In", "adyen-drop-in", "PAYMENT_METHOD", "adyen"),
                 ("Klaviyo", "klaviyo", "EMAIL_TRIGGER", "klaviyo"),
                 ("Google Shopping", "google-feed", "FEED", "google-shopping")]
    for name, method, kind, uri in unrelated:
        db.execute("INSERT INTO plugins (store_id, name, method, type, uri, status, external_id, settings) "
                   "VALUES (1, ?, ?, ?, ?, 'ACTIVE', NULL, '{}')", (name, method, kind, uri))


def create_token(db: sqlite3.Connection, *, name: str, organization: str | None, integration: str | None,
                 email: str | None, phone: str | None, permissions: list[str], restrictions: dict[str, object],
                 ttl: int, value: str | None = None) -> tuple[int, str]:
    value = value or secrets.token_hex(20)
    now = time.time()
    cursor = db.execute(
        "INSERT INTO tokens (value, name, organization, integration, email, phone, permissions, restrictions, "
        "created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (value, name, organization, integration, email, phone, dumps(sorted(set(permissions))),
         dumps(restrictions), now, now + ttl))
    return int(cursor.lastrowid or 0), value
