"""Every policy rule, and their evaluation with the merchant file's waivers applied."""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.policy import global_e, global_e_prices, safety
from provisioner.policy.context import Context
from provisioner.policy.findings import Finding, Hit, Rule, at_least


def unknown_waiver_check(ctx: Context) -> Iterator[Hit]:
    policy = ctx.state.spec.policy
    known = {rule.id for rule in RULES}
    for waiver in policy.waivers if policy else ():
        if waiver.rule not in known:
            yield Hit(f"the waiver names no rule: '{waiver.rule}' (see `provision policy list`)")


RULES: tuple[Rule, ...] = (*global_e.RULES, *global_e_prices.RULES, *safety.RULES, Rule(
    "policy.unknown-waiver", "warning", "A waiver naming a rule that does not exist",
    "Correct the rule id (`provision policy list`) or remove the waiver.", unknown_waiver_check))
BY_ID = {rule.id: rule for rule in RULES}


def evaluate(ctx: Context) -> list[Finding]:
    policy = ctx.state.spec.policy
    waivers = {w.rule: w.reason for w in policy.waivers} if policy else {}
    findings = []
    for rule in RULES:
        for hit in rule.check(ctx):
            severity = hit.severity or rule.severity
            findings.append(Finding(rule=rule.id, severity=severity, message=hit.message, fix=rule.fix,
                                    waived=waivers.get(rule.id) if severity != "info" else None))
    return findings


def blocking(findings: list[Finding], threshold: str) -> list[Finding]:
    return [f for f in findings if f.blocking and at_least(f.severity, threshold)]
