"""The plan: typed changes with address, action, executor and risk, the fingerprints of every live
object read, and the state of each section (DESIGN §3, §7). Serialised as versioned JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioner.centra.capabilities import Capabilities
from provisioner.config.resolve import DesiredState
from provisioner.engine import diff
from provisioner.engine.ledger import Ledger
from provisioner.engine.live import LiveState, fingerprint
from provisioner.errors import ProvisionerError
from provisioner.policy.findings import Finding
from provisioner.policy.risk import assess
from provisioner.resources import KINDS
from provisioner.resources.base import Kind, Obj, Reveal, Setting

FORMAT_VERSION = 1
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


class Plan(_Model):
    format_version: Literal[1] = 1
    merchant: str
    environment: str
    tier: str
    centra_url: str
    generated_at: str
    app_version: str | None = None
    capabilities: dict[str, Any] = Field(default_factory=dict)
    sections: dict[str, SectionState] = Field(default_factory=dict)
    changes: list[Change] = Field(default_factory=list)
    fingerprints: dict[str, str] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list, description="policy findings (provision policy list)")

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "no-op"]

    @property
    def unknown_sections(self) -> dict[str, SectionState]:
        return {k: v for k, v in self.sections.items() if v.state == "unknown"}

    def has_changes(self) -> bool:
        return bool(self.pending or self.unknown_sections)

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0, "no-op": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_plan(path: Path) -> Plan:
    try:
        return Plan.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise ProvisionerError(f"{path}: not a plan this version can apply ({str(exc).splitlines()[0]})") from None


def json_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "provision plan"
    return schema


def address(state: DesiredState, kind: str, name: str) -> str:
    return f"{state.merchant}/{state.environment}/{kind}/{name}"


def public(obj: Obj | None) -> dict[str, Any] | None:
    return None if obj is None else {k: v for k, v in obj.items() if not k.startswith("_")}


def build(state: DesiredState, live: LiveState, capabilities: Capabilities, ledger: Ledger, reveal: Reveal) -> Plan:
    plan = Plan(merchant=state.merchant, environment=state.environment, tier=state.tier,
                centra_url=state.centra_url, generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
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
        plan.fingerprints[f"{state.merchant}/{state.environment}/{kind.kind}"] = fingerprint(
            {name: public(obj) for name, obj in objects.items()})
        for name, obj in objects.items():
            plan.fingerprints[address(state, kind.kind, name)] = fingerprint(public(obj))
        plan.changes.extend(_object_changes(state, kind, desired.objects, desired.absent, desired.mode, objects,
                                            capabilities))
        plan.changes.extend(_attested_changes(state, kind, kind.settings(state, reveal), ledger))
    return plan


def _change(state: DesiredState, kind: str, name: str, action: Action, executor: str,
            fields: list[dict[str, Any]], before: Obj | None, after: Obj | None) -> Change:
    risk, reasons = assess(kind, action, fields)
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
            changes.append(_change(state, kind.kind, name, "create", kind.executor("create", capabilities),
                                   fields, None, want))
            continue
        fields = [f.as_dict() for f in diff.changes(want, have, kind.set_fields)]
        action: Action = "update" if fields else "no-op"
        changes.append(_change(state, kind.kind, name, action, kind.executor(action, capabilities), fields,
                               have, want))
    for name, have in sorted(live.items()):
        if name not in wanted and (name in absent or mode == "exclusive") and have.get("valid", True):
            # a revoked or expired token is already gone as far as anyone using it can tell
            fields = [f.as_dict() for f in diff.changes({}, have, kind.set_fields)]
            changes.append(_change(state, kind.kind, name, "delete", kind.executor("delete", capabilities),
                                   fields, have, None))
    return changes


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
            current = None if item.value is None else ledger.digest(item.value)
            if recorded is None or current is None or recorded != current:
                before = "(not attested)" if recorded is None else "(attested value differs)"
                if item.value is None:
                    before = f"(cannot verify: {item.reference} is not set)"
                fields.append({"path": setting, "before": before, "after": shown, "sensitive": item.sensitive})
        attested_before = {k: "(attested)" for k in values if ledger.attested(target, k) is not None}
        action: Action = "no-op" if not fields else ("update" if attested_before else "create")
        changes.append(_change(state, settings_kind, name, action, "attested", fields, attested_before or None,
                               after))
    return changes

