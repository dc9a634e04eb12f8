"""`provision attest`: an operator confirms the settings the API can neither read nor write; the ledger
records a keyed hash of each confirmed value, never the value (DESIGN §3)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field

from provisioner.engine import ledger as ledgers
from provisioner.engine import planning, target
from provisioner.engine.plan import Change
from provisioner.errors import ProvisionerError
from provisioner.resources import BY_KIND


@dataclass
class Attested:
    recorded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ledger: str = ""


def _describe(change: Change) -> str:
    return f"{change.address}: " + ", ".join(f"{f.path} = {f.after if not f.sensitive else '(sensitive)'}"
                                             for f in change.fields)


def attest(merchant: str, environment: str, paths: list[str], confirm: Callable[[str], bool]) -> Attested:
    planned = planning.plan(merchant, environment)
    state, plan = planned.state, planned.plan
    pending_creates = {(c.kind, c.name) for c in plan.pending if c.action == "create" and c.executor != "attested"}
    chosen = [c for c in plan.pending if c.executor == "attested" and (not paths or any(p in c.address for p in paths))]
    if paths and not chosen:
        raise ProvisionerError(f"nothing to attest matches {', '.join(paths)}")
    ledger = ledgers.load(state.merchant, state.environment)
    reveal = target.reveal(state)
    result = Attested(ledger=str(ledger.path))
    by = getpass.getuser()
    for change in chosen:
        base = change.kind.removesuffix("_settings")
        if (base, change.name) in pending_creates:
            result.skipped.append(f"{change.address}: the {base.replace('_', ' ')} is not in the store yet; "
                                  "do its runbook step first")
            continue
        values = BY_KIND[base].settings(state, reveal).get(change.name, {})
        if not confirm(_describe(change)):
            result.skipped.append(f"{change.address}: not confirmed")
            continue
        for item in change.fields:
            setting = values.get(item.path)
            if setting is None or setting.value is None:
                result.skipped.append(f"{change.address}: {item.path} cannot be hashed ({item.before})")
                continue
            ledger.record(change.address, item.path, setting.value, by)
        result.recorded.append(change.address)
    if result.recorded:
        ledger.save()
    return result
