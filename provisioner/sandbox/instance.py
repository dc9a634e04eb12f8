"""One merchant's sandbox: where its database lives, how it is seeded, how the client reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provisioner import files
from provisioner.config.models import MerchantFile
from provisioner.sandbox.app import SandboxApp
from provisioner.sandbox.fixture import FixtureSpec, admin_token, seed
from provisioner.sandbox.store import SANDBOX_DIR, Store, meta
from provisioner.sandbox.transport import SandboxTransport


def default_path(merchant: str) -> Path:
    return SANDBOX_DIR / f"{merchant}.db"


def fixture_for(spec: MerchantFile, *, products: int = 300, rate_tier: str = "growth") -> FixtureSpec:
    checkout = spec.global_e.checkout_plugin if spec.global_e else None
    declared = {getattr(p, "name", None) for p in (spec.plugins.items if spec.plugins else ())}
    return FixtureSpec(merchant=spec.merchant, store=spec.store or "Default Store",
                       primary_warehouse=spec.primary_warehouse or "Main",
                       markets=tuple(spec.operated_markets or ()), products=products, rate_tier=rate_tier,
                       # one the merchant file declares is the runbook's to create
                       checkout_plugin=None if checkout in declared else checkout)


@dataclass
class Sandbox:
    store: Store
    app: SandboxApp

    @property
    def admin_token(self) -> str:
        with self.store.transaction() as db:
            token = admin_token(db)
        if token is None:
            raise RuntimeError(f"the sandbox at {self.store.path} has no admin token; reset it")
        return token

    def admin_headers(self) -> dict[str, str]:
        """What a call to `/_sandbox/` needs (in-process or served on 127.0.0.1)."""
        return {"authorization": f"Bearer {self.admin_token}", "host": "127.0.0.1"}

    @property
    def token_file(self) -> Path:
        return self.store.path.with_suffix(".token")

    def transport(self) -> SandboxTransport:
        return SandboxTransport(self.app)

    def write_token_file(self) -> Path:
        """The admin token for curl and other clients: a file only the user can read, never printed."""
        path = self.token_file
        files.write_atomic(path, self.admin_token + "\n", private=True)
        return path


def open_sandbox(fixture: FixtureSpec, path: Path | None = None, *, reset: bool = False) -> Sandbox:
    """Open the merchant's sandbox, seeding it on first use (or when `reset`)."""
    store = Store(path or default_path(fixture.merchant))
    with store.transaction() as db:
        if reset or meta(db, "merchant") is None:
            seed(db, fixture, admin_token=admin_token(db) if reset else None)
    return Sandbox(store, SandboxApp(store))


def for_merchant(merchant: str, path: Path | None = None, *, reset: bool = False, products: int | None = None,
                 rate_tier: str | None = None) -> Sandbox:
    """The sandbox of a merchant named by its file (merchants/<name>.yaml)."""
    from provisioner import config
    from provisioner.config import resolve

    spec = resolve.resolve(resolve.load(config.merchant_path(merchant)), "sandbox").spec
    fixture = fixture_for(spec, products=products or 300, rate_tier=rate_tier or "growth")
    return open_sandbox(fixture, path, reset=reset or products is not None or rate_tier is not None)
