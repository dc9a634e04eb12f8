"""Fleet reports group merchants whose change sets are the same apart from their own identifiers
(merchant name, environment, Centra host, Global-e merchant id), and items that need attention (critical,
warning, deletes, unknown sections) across the merchants they occur in."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from provisioner.engine.plan.document import PlanDocument
from provisioner.engine.plan.model import Change, Plan
from provisioner.policy.findings import Finding
from provisioner.policy.risk import word

RISK_ORDER = {"critical": 0, "warning": 1, "info": 2}


_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\x00")


class Normaliser:
    """Replaces one merchant's identifiers by placeholders naming their role, whole words only ("qa" in
    "qa.example", never in "aqua"), longest first. When two roles share a value, the earlier role in
    `identifiers` names it. Plain string search: compiling a pattern per merchant costs more than it saves."""

    def __init__(self, identifiers: dict[str, str]) -> None:
        roles: dict[str, str] = {}
        for role, value in identifiers.items():
            if value:
                roles.setdefault(value, role)
        # \x00 frames a placeholder and counts as part of a word, so no identifier matches inside one
        self._ordered = [(value, f"\x00{role}\x00") for value, role in
                         sorted(roles.items(), key=lambda item: len(item[0]), reverse=True)]

    def text(self, value: str) -> str:
        for identifier, placeholder in self._ordered:
            if identifier in value:
                value = _replace_words(value, identifier, placeholder)
        return value


def _replace_words(text: str, word: str, replacement: str) -> str:
    parts: list[str] = []
    start, found = 0, text.find(word)
    while found != -1:
        end = found + len(word)
        if (found == 0 or text[found - 1] not in _WORD) and (end == len(text) or text[end] not in _WORD):
            parts += [text[start:found], replacement]
            start = end
        found = text.find(word, end if start == end else found + 1)
    return "".join(parts) + text[start:]


def normaliser(document: PlanDocument, plan: Plan) -> Normaliser:
    own = document.identifiers.get(f"{plan.merchant}/{plan.environment}")
    return _normaliser(tuple((own if own is not None else {
        "merchant": plan.merchant, "environment": plan.environment, "centra_url": plan.centra_url}).items()))


@lru_cache(maxsize=4096)
def _normaliser(identifiers: tuple[tuple[str, str], ...]) -> Normaliser:
    return Normaliser(dict(identifiers))


def change_key(change: Change) -> list[Any]:
    """What makes two changes the same, before identifiers are replaced (`signature` does that once for a
    whole plan, on its JSON text)."""
    return [change.kind, change.name, change.action, change.executor, change.risk, change.reasons,
            [f.model_dump(exclude_none=True) for f in change.fields]]


def signature(document: PlanDocument, plan: Plan) -> str:
    body = {"changes": [change_key(c) for c in plan.pending],
            "unknown": [[section, state.reason, sorted(state.blocked)]
                        for section, state in sorted(plan.unknown_sections.items())]}
    return normaliser(document, plan).text(json.dumps(body, sort_keys=True, default=str))


def label(plan: Plan, environment: str) -> str:
    """A merchant as a report names it; the environment only when it is not the one asked for."""
    return plan.merchant if plan.environment == environment else f"{plan.merchant} ({plan.environment})"


@dataclass
class Group:
    plans: list[Plan]

    @property
    def first(self) -> Plan:
        return self.plans[0]

    @property
    def worst_risk(self) -> int:
        return min((RISK_ORDER[c.risk] for c in self.first.pending), default=2)

    def counts(self) -> dict[str, int]:
        """Changes by action, and the settings that only wait for `provision attest` apart ("attest")."""
        counts = {"create": 0, "update": 0, "delete": 0, "attest": len(self.first.to_attest)}
        for change in self.first.pending:
            counts[change.action] += 1
        counts["create"] -= counts["attest"]
        return counts


def groups(document: PlanDocument) -> list[Group]:
    """Merchants with changes, grouped; the riskiest and largest groups first."""
    by_signature: dict[str, list[Plan]] = {}
    for plan in document.plans:
        if plan.has_changes():
            by_signature.setdefault(signature(document, plan), []).append(plan)
    found = [Group(sorted(plans, key=lambda p: (p.merchant, p.environment))) for plans in by_signature.values()]
    return sorted(found, key=lambda g: (g.worst_risk, -len(g.plans), g.first.merchant, g.first.environment))


@dataclass
class Attention:
    """One item that needs a reviewer's eyes, and every merchant it occurs in."""

    level: str  # "caution" (critical risk or a delete) | "warning"
    text: str  # as the first merchant has it
    address: str  # the first merchant's full address (a section name for an unknown section)
    neutral: str  # the merchant-neutral part, used once several merchants share the item
    unknown_section: bool = False
    note: bool = False  # a plan warning that changes nothing (e.g. the permission catalogue may be out of date)
    plans: list[Plan] = field(default_factory=list)

    @property
    def where(self) -> str:
        return self.address if len(self.plans) == 1 else self.neutral


def attention(document: PlanDocument) -> list[Attention]:
    found: dict[str, Attention] = {}
    for plan in document.plans:
        norm = normaliser(document, plan)
        for change in plan.pending:
            if change.risk == "info" and change.action != "delete":
                continue
            level = "caution" if change.risk == "critical" or change.action == "delete" else "warning"
            key = norm.text(json.dumps([level, *change_key(change)[:6]], default=str))
            found.setdefault(key, Attention(level, _change_text(change), change.address,
                                            f"{change.kind}/{change.name}")).plans.append(plan)
        for section, state in plan.unknown_sections.items():
            key = json.dumps(["unknown", section, state.reason])
            found.setdefault(key, Attention("warning", state.reason, section, section,
                                            unknown_section=True)).plans.append(plan)
        for warning in plan.warnings:
            key = norm.text(json.dumps(["note", warning]))
            found.setdefault(key, Attention("warning", warning, f"{plan.merchant}/{plan.environment}", "",
                                            note=True)).plans.append(plan)
    return sorted(found.values(), key=lambda a: (a.level != "caution", -len(a.plans), a.neutral))


def _change_text(change: Change) -> str:
    detail = f" ({change.executor}" + (f", {word(change.risk)}" if change.risk != "info" else "") + ")"
    return f"{change.action}{detail}: " + ("; ".join(change.reasons) or "removes it from the store")


@dataclass
class SharedFinding:
    """A policy finding, and every merchant it was found in (the same apart from their identifiers)."""

    finding: Finding
    plans: list[Plan] = field(default_factory=list)


def findings(document: PlanDocument) -> list[SharedFinding]:
    found: dict[str, SharedFinding] = {}
    for plan in document.plans:
        norm = normaliser(document, plan)
        for finding in plan.findings:
            key = norm.text(json.dumps([finding.rule, finding.severity, finding.message, finding.fix,
                                        finding.waived]))
            found.setdefault(key, SharedFinding(finding)).plans.append(plan)
    return sorted(found.values(), key=lambda s: (s.finding.waived is not None, RISK_ORDER[s.finding.severity],
                                                 -len(s.plans), s.finding.rule))
