"""`provision sandbox reset`: the sandbox store back to its fixture, and the tool's own records about
that store (ledger, journal) with it — a ledger describing a store that no longer exists would lie."""

from __future__ import annotations

from pathlib import Path

from provisioner.config.environments import SANDBOX
from provisioner.engine.state.journal import JOURNAL_DIR
from provisioner.engine.state.ledger import ledger_path
from provisioner.sandbox.instance import for_merchant


def reset(merchant: str, db: Path | None = None, *, products: int | None = None, rate_tier: str | None = None) -> Path:
    box = for_merchant(merchant, db, reset=True, products=products, rate_tier=rate_tier)
    name = box.store.path.stem
    ledger_path(name, SANDBOX).unlink(missing_ok=True)
    (JOURNAL_DIR / f"{name}.{SANDBOX}.json").unlink(missing_ok=True)
    return box.store.path
