"""`provision attest`: an operator confirms the settings the API can neither read nor write; the ledger
records a keyed hash of each confirmed value, never the value."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field

from provisioner.config.resolve import DesiredState
from provisioner.engine.apply import locking, runbook
from provisioner.engine.plan import planning, target
from provisioner.engine.plan.model import Change
from provisioner.engine.state import ledger as ledgers
from provisioner.errors import ProvisionerError
from provisioner.resources import BY_KIND, KINDS


@dataclass
class Attested:
    recorded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ledger: str = ""


def _describe(change: Change, references: dict[str, str]) -> str:
    """What the person confirms, in the runbook's words: the object as AMS names it, then one setting a
    line, labelled and valued as AMS shows them; a secret by where its value is, never the value."""
    what = "plugin" if change.kind == "plugin_settings" else "tax group"
    lines = [f"The {what} {change.name} ({change.address}):"]
    for item in change.fields:
        if item.sensitive:
            label = runbook.LABELS.get(item.path, item.path)
            ref = references.get(item.path)
            lines.append(f"  {label}: " + (f"the value of {ref}" if ref else "(a secret; not shown)"))
            continue
        if isinstance(item.after, dict):  # event triggers: one box a line, as AMS lists them
            lines.append(f"  {runbook.LABELS.get(item.path, item.path)}:")
            lines += [f"    {key.replace('_', ' ').capitalize()}: {runbook.shown(ticked)}"
                      for key, ticked in item.after.items()]
            continue
        label, value = runbook.setting_words(item.path, item.after)
        lines.append(f"  {label}: {value}")
    return "\n".join(lines)


def attest(merchant: str, environment: str, paths: list[str], confirm: Callable[[str], bool]) -> Attested:
    state = planning.desired(merchant, environment)
    with locking.hold(state.merchant, state.environment, "attest"):
        return _attest(state, paths, confirm)


def _attest(state: DesiredState, paths: list[str], confirm: Callable[[str], bool]) -> Attested:
    with target.connect(state) as client:
        planned = planning.plan_with(client, state)
    plan = planned.plan
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
        references = {path: setting.reference for path, setting in values.items() if setting.reference}
        if not confirm(_describe(change, references)):
            result.skipped.append(f"{change.address}: not confirmed")
            continue
        for item in change.fields:
            setting = values.get(item.path)
            if setting is None or setting.value is None:
                result.skipped.append(f"{change.address}: {item.path} cannot be hashed ({item.before})")
                continue
            ledger.record(change.address, item.path, setting.value, by, sensitive=setting.sensitive)
        result.recorded.append(change.address)
    _reverify_legacy(state, ledger, reveal)
    if result.recorded or ledger.migrated or ledger.legacy_key:
        dropped = ledger.save()
        result.skipped += [f"{entry}: its format-1 hash could not be re-verified (the value is not available); "
                           "attest it again" for entry in dropped]
    return result


def _reverify_legacy(state: DesiredState, ledger: ledgers.Ledger, reveal: Callable[[str], str | None]) -> None:
    """Every value known now is checked against a format-1 entry, which re-hashes it in the current scheme."""
    if not ledger.legacy_key:
        return
    for kind in KINDS:
        for name, values in kind.settings(state, reveal).items():
            address = f"{state.merchant}/{state.environment}/{kind.kind}_settings/{name}"
            for setting, item in values.items():
                if item.value is not None:
                    ledger.matches(address, setting, item.value, sensitive=item.sensitive)
