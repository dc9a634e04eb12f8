"""The plan: typed changes with address, action, executor and risk, the fingerprints of every live
object read, and the state of each section (docs/architecture.md). Serialised as versioned JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from provisioner import files
from provisioner.centra.capabilities import Capabilities
from provisioner.config.environments import normalise_url
from provisioner.config.resolve import DesiredState
from provisioner.engine.plan import diff
from provisioner.engine.plan.live import LiveState, fingerprint, fingerprint_of, unknown_reason
from provisioner.engine.state import ledger as ledgers
from provisioner.engine.state.ledger import Ledger, canonical
from provisioner.policy.findings import Finding
from provisioner.policy.risk import assess, preset_permissions
from provisioner.reference import catalogue
from provisioner.resources import KINDS
from provisioner.resources.base import Kind, Obj, Reveal, Setting

FORMAT_VERSION = 2  # 2: plans carry their binding (target, store, merchant file, tool)
SENSITIVE = "(sensitive)"

Action = Literal["create", "update", "delete", "no-op"]
Executor = Literal["api", "manual", "attested"]
Risk = Literal["info", "warning", "critical"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldChangeModel(_Model):
    path: str
    before: Any = None
    after: Any = None
    added: list[Any] | None = None
    removed: list[Any] | None = None
    sensitive: bool = False


class Change(_Model):
    address: str = Field(description="merchant/environment/kind/name")
    kind: str
    name: str
    action: Action
    executor: Executor
    risk: Risk = "info"
    reasons: list[str] = Field(default_factory=list)
    fields: list[FieldChangeModel] = Field(default_factory=list)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class SectionState(_Model):
    state: Literal["managed", "unknown"]
    mode: Literal["additive", "exclusive"] = "additive"
    permission: str | None = None
    message: str | None = None
    blocked: list[str] = Field(default_factory=list, description="desired objects a denied read leaves unplanned")

    @property
    def reason(self) -> str:
        """Why the section is unknown: a missing permission, or what the target's schema lacks."""
        return unknown_reason(self.permission, self.message)


class Binding(_Model):
    """What a plan was made from. `apply PLAN.json` recomputes all of it and refuses on any difference."""

    target_url: str = Field(description="the Centra URL, normalised")
    store_identity: str = Field(description="digest of the store's ids and names as read")
    merchant_file_sha256: str
    tool_version: str


class Plan(_Model):
    format_version: Literal[2] = 2
    merchant: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    environment: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    binding: Binding
    tier: str
    centra_url: str
    generated_at: str
    app_version: str | None = None
    capabilities: dict[str, Any] = Field(default_factory=dict)
    sections: dict[str, SectionState] = Field(default_factory=dict)
    changes: list[Change] = Field(default_factory=list)
    fingerprints: dict[str, str] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list, description="policy findings (provision policy list)")
    warnings: list[str] = Field(default_factory=list, description="things to check that change nothing")

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "no-op"]

    @property
    def unknown_sections(self) -> dict[str, SectionState]:
        return {k: v for k, v in self.sections.items() if v.state == "unknown"}

    def has_changes(self) -> bool:
        return bool(self.pending or self.unknown_sections)

    @property
    def to_attest(self) -> list[Change]:
        """Settings never confirmed: nothing to create, update or delete, only `provision attest` to run
        once the runbook is done. Counted apart (an attested value that differs is an update)."""
        return [c for c in self.pending if c.executor == "attested" and c.action == "create"]

    def has_work(self) -> bool:
        """Whether anything is left to create, update or delete (or cannot be known): what
        `--detailed-exitcode` reports as 2. Settings only waiting to be attested are not."""
        attest = {id(c) for c in self.to_attest}
        return bool(self.unknown_sections or any(id(c) not in attest for c in self.pending))

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0, "no-op": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def write(self, path: Path) -> None:
        files.ensure_dir(path.parent)
        files.write_atomic(path, self.model_dump_json(indent=2) + "\n")


@cache
def tool_version() -> str:
    """Read once: importlib.metadata scans the installed distributions on every call."""
    try:
        return metadata.version("provisioner")
    except metadata.PackageNotFoundError:
        return "unknown"


def file_digest(path: Path) -> str:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def binding(state: DesiredState, live: LiveState) -> Binding:
    stores = sorted(f"{store_id}:{name}" for store_id, name in live.stores.items())
    return Binding(target_url=normalise_url(state.centra_url), store_identity=fingerprint(stores),
                   merchant_file_sha256=file_digest(Path(state.source)), tool_version=tool_version())


def comparable(plan: Plan) -> dict[str, Any]:
    """Everything a plan says except when it was written and its policy findings: those are worked out
    again on the fresh plan, which `apply` enforces, and some depend on the day (a token's days left)."""
    return plan.model_dump(mode="json", exclude={"generated_at", "findings"})


def differences(saved: Plan, fresh: Plan) -> list[str]:
    """Top-level fields (and change addresses) where a saved plan differs from the plan made now."""
    old, new = comparable(saved), comparable(fresh)
    found = []
    for key in sorted(set(old) | set(new)):
        if key == "changes":
            before = {c["address"]: c for c in old[key]}
            after = {c["address"]: c for c in new[key]}
            found += [f"changes[{a}]" for a in sorted(set(before) | set(after)) if before.get(a) != after.get(a)]
            if not found and old[key] != new[key]:
                found.append("changes (order)")
        elif isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            found += [f"{key}.{k}" for k in sorted(set(old[key]) | set(new[key]))
                      if k not in old[key] or k not in new[key] or old[key][k] != new[key][k]]  # one side only, too
        elif old.get(key) != new.get(key):
            found.append(key)
    return found


def address(state: DesiredState, kind: str, name: str) -> str:
    return f"{state.merchant}/{state.environment}/{kind}/{name}"


def public(obj: Obj | None) -> dict[str, Any] | None:
    return None if obj is None else {k: v for k, v in obj.items() if not k.startswith("_")}


def build(state: DesiredState, live: LiveState, capabilities: Capabilities, ledger: Ledger, reveal: Reveal) -> Plan:
    plan = Plan(merchant=state.merchant, environment=state.environment, binding=binding(state, live),
                tier=state.tier, centra_url=state.centra_url,
                generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                app_version=live.app_version, capabilities=capabilities.as_dict())
    for kind in KINDS:
        desired = kind.desired(state)
        if desired is None:
            continue
        if kind.kind in live.unknown:
            why = live.unknown[kind.kind]
            plan.sections[kind.section] = SectionState(
                state="unknown", mode=desired.mode, permission=why.permission, message=why.message,
                blocked=sorted(desired.objects) + sorted(desired.absent))
            continue
        plan.sections[kind.section] = SectionState(state="managed", mode=desired.mode)
        objects = live.objects.get(kind.kind, {})
        # Each object's canonical JSON once, for its own fingerprint and inside its kind's (a canonical
        # object is its members' canonical texts under the keys in order, as canonical() writes it).
        texts = {name: canonical(public(obj)) for name, obj in objects.items()}
        plan.fingerprints[f"{state.merchant}/{state.environment}/{kind.kind}"] = fingerprint_of(
            "{" + ",".join(f"{canonical(name)}:{texts[name]}" for name in sorted(texts)) + "}")
        for name, text in texts.items():
            plan.fingerprints[address(state, kind.kind, name)] = fingerprint_of(text)
        plan.changes.extend(_object_changes(state, kind, desired.objects, desired.absent, desired.mode, objects,
                                            capabilities))
        plan.changes.extend(_attested_changes(state, kind, kind.settings(state, reveal), ledger))
    plan.warnings.extend(catalogue_warnings(live))
    plan.warnings.extend(unused_write_warnings(capabilities))
    return plan


def unused_write_warnings(capabilities: Capabilities) -> list[str]:
    """`capabilities.unused_writes` in words, for every renderer that shows a plan's warnings."""
    if not capabilities.unused_writes:
        return []
    return [f"the target can write {', '.join(capabilities.unused_writes)} through its Integration API, which "
            "this tool still plans by hand (runbook): a newer version of the tool may make those changes itself"]


def catalogue_warnings(live: LiveState) -> list[str]:
    """A live token holding a permission the catalogue does not know means the catalogue is behind
    Centra: said out loud, never dropped silently."""
    known = catalogue.permissions()
    warnings = []
    for name, token in sorted(live.objects.get("api_token", {}).items()):
        unknown = known.unknown(token.get("permissions") or [])
        if unknown:
            warnings.append(f"token {name!r} holds permissions the catalogue does not know "
                            f"({', '.join(unknown)}): the permission catalogue may be out of date "
                            "(provisioner/reference/permissions.yaml)")
    return warnings


def _change(state: DesiredState, kind: str, name: str, action: Action, executor: str,
            fields: list[dict[str, Any]], before: Obj | None, after: Obj | None) -> Change:
    expected = preset_permissions(state.spec.presets, name) if kind == "api_token" else frozenset()
    risk, reasons = assess(kind, action, fields, expected)
    return Change(address=address(state, kind, name), kind=kind, name=name, action=action,
                  executor=executor,
                  risk=risk, reasons=reasons,
                  fields=[FieldChangeModel(**f) for f in fields], before=public(before), after=public(after))


def _object_changes(state: DesiredState, kind: Kind, wanted: dict[str, Obj], absent: set[str], mode: str,
                    live: dict[str, Obj], capabilities: Capabilities) -> list[Change]:
    changes = []
    for name, want in sorted(wanted.items()):
        have = live.get(name)
        if have is None:
            fields = [f.as_dict() for f in diff.changes(want, {}, kind.set_fields)]
            changes.append(_executed(state, kind, name, "create", capabilities, fields, None, want))
            continue
        have = kind.comparable(want, have)
        fields = [f.as_dict() for f in diff.changes(want, have, kind.set_fields)]
        action: Action = "update" if fields else "no-op"
        changes.append(_executed(state, kind, name, action, capabilities, fields, have, want))
    for name, have in sorted(live.items()):
        if kind.kind == "api_token" and name == state.token_name:
            continue  # the token this run authenticates with: revoking it would lock the tool out
        if name not in wanted and (name in absent or mode == "exclusive") and have.get("valid", True):
            # a revoked or expired token is already gone as far as anyone using it can tell
            fields = [f.as_dict() for f in diff.changes({}, have, kind.set_fields)]
            changes.append(_executed(state, kind, name, "delete", capabilities, fields, have, None))
    return changes


def _executed(state: DesiredState, kind: Kind, name: str, action: Action, capabilities: Capabilities,
              fields: list[dict[str, Any]], before: Obj | None, after: Obj | None) -> Change:
    """A change with the executor that makes it; planned by hand, it says why the API does not."""
    why = kind.why_manual(action, [str(f["path"]) for f in fields], capabilities)
    executor = "manual" if why else kind.executor(action, capabilities)
    change = _change(state, kind.kind, name, action, executor, fields, before, after)
    if why and action != "no-op":
        change.reasons.append(f"manual: {why}")
    return change


def _attested_changes(state: DesiredState, kind: Kind, settings: dict[str, dict[str, Setting]],
                      ledger: Ledger) -> list[Change]:
    changes = []
    for name, values in sorted(settings.items()):
        settings_kind = f"{kind.kind}_settings"
        target = address(state, settings_kind, name)
        fields, after = [], {}
        for setting, item in sorted(values.items()):
            shown = SENSITIVE if item.sensitive else item.value
            after[setting] = shown
            recorded = ledger.attested(target, setting)
            same = None if item.value is None else ledger.matches(target, setting, item.value,
                                                                  sensitive=item.sensitive)
            if not recorded or not same:
                before = ("(not attested)" if not recorded else "(attested value differs)" if same is False
                          else f"(cannot verify: the ledger key {ledgers.KEY_ENV} is not set)")
                if item.value is None:
                    before = f"(cannot verify: {item.reference} is not set)"
                fields.append({"path": setting, "before": before, "after": shown, "sensitive": item.sensitive})
        attested_before = {k: "(attested)" for k in values if ledger.attested(target, k)}
        action: Action = "no-op" if not fields else ("update" if attested_before else "create")
        changes.append(_change(state, settings_kind, name, action, "attested", fields, attested_before or None,
                               after))
    return changes

