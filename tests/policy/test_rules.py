"""Every policy rule: a merchant (or live store) that triggers it, and the example merchants that do not."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from provisioner.config.resolve import DesiredState, load, resolve
from provisioner.policy.context import Context
from provisioner.policy.findings import Finding
from provisioner.policy.rules import BY_ID, RULES, blocking, evaluate

DAY = 86400.0


def state_of(examples: Path, merchant: str, environment: str, edit: Callable[[str], str] = lambda t: t) -> DesiredState:
    path = examples / "merchants" / f"{merchant}.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return resolve(load(path), environment)


def found(state: DesiredState, **context: Any) -> list[Finding]:
    return evaluate(Context(state, context.pop("live", {}), now=context.pop("now", time.time()), **context))


def rules_hit(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings if f.severity != "info" and not f.waived}


@pytest.mark.parametrize(("merchant", "environment"), [("acme", "qa"), ("acme", "prod"), ("nordwind", "staging"),
                                                       ("nordwind", "production"), ("dataline", "prod")])
def test_no_rule_triggers_on_the_examples(examples: Path, merchant: str, environment: str) -> None:
    assert rules_hit(found(state_of(examples, merchant, environment))) == set()


def _top(text: str, extra: str) -> str:
    return text.replace("environments:\n", extra + "environments:\n", 1)


# rule: (what the merchant file adds, how the finding starts)
EDITS = {
    "global-e.order-api": ("plugins:\n  - name: GE Order API\n    status: inactive\n",
                           "the Order API plugin 'GE Order API' is inactive"),
    "global-e.order-api-settings": ("plugins:\n  - name: GE Order API\n    stock_updates: available\n",
                                    "'GE Order API'.stock_updates is 'available'"),
    "global-e.webhook": ("plugins:\n  - name: GE Integration Webhooks\n    triggers: {return: false}\n",
                         "the webhook plugin 'GE Integration Webhooks' does not trigger on return"),
    "global-e.attribute-types": ("attribute_types:\n  - name: ge_order_details\n    elements:\n"
                                 "      ge_order_id: {type: textarea, description: Global-E Order Id}\n",
                                 "ge_order_details.ge_order_id is of type textarea"),
    "global-e.local-vat": ("tax_groups:\n  - name: GE Local VAT\n    rules:\n      - name: GE Local VAT\n"
                           "        countries: {all_except: [GB, FR]}\n", "the rule 'GE Local VAT' leaves out"),
    "policy.unknown-waiver": ("policy:\n  waivers:\n    - {rule: global-e.no-such-rule, reason: a reason long "
                              "enough}\n", "the waiver names no rule: 'global-e.no-such-rule'"),
}


@pytest.mark.parametrize("rule", sorted(EDITS))
def test_a_merchant_file_triggers_the_rule(examples: Path, rule: str) -> None:
    edit, message = EDITS[rule]
    findings = found(state_of(examples, "acme", "qa", lambda t: _top(t, edit)))
    assert rules_hit(findings) == {rule}
    hit = next(f for f in findings if f.rule == rule)
    # the finding says what is wrong, and carries its own rule's fix (not another's, not a blank one)
    assert hit.message.startswith(message), hit.message
    assert hit.fix == BY_ID[rule].fix and hit.fix.strip() and hit.fix not in {r.fix for r in RULES if r.id != rule}


def test_token_permissions_without_order_write_are_critical(examples: Path) -> None:
    def edit(text: str) -> str:
        return text.replace("    email: integrations@acme.example\n", "    email: integrations@acme.example\n"
                            "    permissions: {write: {all_except: [Anonymize:write, Order:write]}}\n")
    findings = found(state_of(examples, "acme", "qa", edit))
    assert rules_hit(findings) == {"global-e.token-permissions"}
    assert [f.severity for f in findings if f.rule == "global-e.token-permissions"] == ["critical"]
    assert "lacks Order:write" in findings[0].message


def test_permissions_beyond_the_preset_and_admin(examples: Path) -> None:
    def edit(text: str) -> str:
        return text.replace("    email: data@dataline.example\n", "    email: data@dataline.example\n"
                            "    permissions: {read: [Order:read, Customer:read, admin]}\n")
    findings = found(state_of(examples, "dataline", "prod", edit))
    assert rules_hit(findings) == {"privilege.beyond-presets", "privilege.admin"}
    assert any("Customer:read" in f.message for f in findings if f.rule == "privilege.beyond-presets")


def test_a_production_environment_on_qa_hosts(examples: Path) -> None:
    state = replace(state_of(examples, "acme", "qa"), tier="prod")
    findings = found(state)
    assert rules_hit(findings) == {"env.hosts"}
    assert any("QA Centra host acme.centraqa.com" in f.message for f in findings)
    assert any("sends to centra-int.bglobale.com" in f.message for f in findings)


def test_a_webhook_moving_between_global_e_hosts(examples: Path) -> None:
    state = state_of(examples, "acme", "prod")
    old = (state.webhook_url or "").replace("centra.global-e.com", "centra-int.bglobale.com")

    def attested_as(url: str | None) -> Any:
        def matches(address: str, setting: str, value: Any) -> bool | None:
            if address.endswith("plugin_settings/GE Integration Webhooks") and setting == "url":
                return bool(value == url)
            return None
        return matches

    findings = found(state, matches=attested_as(old))
    assert rules_hit(findings) == {"env.webhook-host-change"}
    assert "moves from centra-int.bglobale.com to centra.global-e.com" in findings[0].message
    unchanged = found(state, matches=attested_as(state.webhook_url))
    assert rules_hit(unchanged) == set()


@dataclass
class _Field:
    path: str
    added: list[Any] | None


@dataclass
class _Change:
    kind: str
    name: str
    action: str
    fields: list[_Field]


def test_a_plan_widening_a_token(examples: Path) -> None:
    state = state_of(examples, "acme", "qa")
    widening = _Change("api_token", "Global-e integration", "update", [_Field("permissions", ["Customer:write"])])
    assert rules_hit(found(state, changes=[widening])) == {"privilege.widening"}
    narrowing = _Change("api_token", "Global-e integration", "update", [_Field("permissions", [])])
    assert rules_hit(found(state, changes=[narrowing])) == set()


@pytest.mark.parametrize(("days", "severity"), [(3, "warning"), (-1, "critical"), (30, "info")])
def test_token_expiry_by_days_left(examples: Path, days: int, severity: str) -> None:
    now = 1_800_000_000.0
    live = {"api_token": {"Global-e integration": {"_expires_at": now + days * DAY}}}
    findings = [f for f in found(state_of(examples, "acme", "qa"), live=live, now=now) if f.rule == "token.expiry"]
    assert [f.severity for f in findings] == [severity]


def test_the_expiry_window_is_configurable(examples: Path) -> None:
    now = 1_800_000_000.0
    live = {"api_token": {"Global-e integration": {"_expires_at": now + 30 * DAY}}}
    state = state_of(examples, "acme", "qa", lambda t: _top(t, "policy: {token_expiry_warning_days: 45}\n"))
    assert [f.severity for f in found(state, live=live, now=now) if f.rule == "token.expiry"] == ["warning"]


@pytest.mark.parametrize(("also_valid", "hits"), [([], []), ([7], ["id 9 and the older 7"]),
                                                  ([5, 7], ["valid 3 times: id 9 and the older 5, 7"])])
def test_a_rotation_half_done_is_said_until_the_older_token_is_revoked(examples: Path, also_valid: list[int],
                                                                       hits: list[str]) -> None:
    live = {"api_token": {"Global-e integration": {"_id": 9, "_also_valid": also_valid}}}
    findings = [f for f in found(state_of(examples, "acme", "qa"), live=live) if f.rule == "token.rotation-unfinished"]
    assert [f.severity for f in findings] == ["warning"] * len(hits)
    assert all(hit in f.message for hit, f in zip(hits, findings, strict=True))


@pytest.mark.parametrize(("live", "needle"), [
    ({"plugin": {"Checkout API": {"type": "checkout_api", "status": "inactive"}}}, "is inactive"),
    ({"plugin": {"Checkout API": {"type": "order_api", "status": "active"}}}, "is of type order_api"),
    ({"plugin": {}}, "does not exist in the store"),
])
def test_the_checkout_plugin_as_the_store_has_it(examples: Path, live: dict[str, Any], needle: str) -> None:
    findings = found(state_of(examples, "acme", "qa"), live=live)
    assert rules_hit(findings) == {"global-e.checkout-plugin"}
    assert any(needle in f.message for f in findings)
    fine = {"plugin": {"Checkout API": {"type": "checkout_api", "status": "active"}}}
    assert rules_hit(found(state_of(examples, "acme", "qa"), live=fine)) == set()


def test_a_waiver_keeps_the_finding_visible_but_not_blocking(examples: Path) -> None:
    edit = EDITS["global-e.order-api-settings"][0] + (
        "policy:\n  waivers:\n    - rule: global-e.order-api-settings\n"
        "      reason: Global-e agreed to available stock\n")
    findings = found(state_of(examples, "acme", "qa", lambda t: _top(t, edit)))
    waived = [f for f in findings if f.rule == "global-e.order-api-settings"]
    assert waived and waived[0].waived == "Global-e agreed to available stock"
    assert blocking(findings, "warning") == []


def test_every_rule_is_tested_here() -> None:
    covered = set(EDITS) | {"global-e.token-permissions", "privilege.beyond-presets", "privilege.admin",
                            "env.hosts", "env.webhook-host-change", "privilege.widening", "token.expiry",
                            "token.rotation-unfinished",
                            "global-e.checkout-plugin"}
    # the price, warehouse and shipping rules: tests/policy/test_global_e.py, one broken requirement each
    covered |= {"global-e.market-pricelists", "global-e.base-currency", "global-e.fixed-prices",
                "global-e.primary-warehouse", "global-e.shipping-codes"}
    assert {rule.id for rule in RULES} == covered
