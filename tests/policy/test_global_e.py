"""The Global-e rules, one failure at a time: each way a merchant file (or the store it is planned against)
breaks what a live Global-e integration depends on is reported by its rule, with what is wrong and how to
fix it, and nothing else is reported."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from provisioner.config.resolve import DesiredState, load, resolve
from provisioner.policy.context import Context
from provisioner.policy.findings import Finding
from provisioner.policy.rules import BY_ID, evaluate
from provisioner.reference import catalogue

STORE_PLUGINS = {"plugin": {"Checkout API": {"type": "checkout_api", "status": "active"}}}

# How each rule's fix starts: the first thing a merchant reads on what to do.
FIX_STARTS = {
    "global-e.order-api": "Keep the preset's Order API plugin active and set `secrets.order_api_secret`",
    "global-e.order-api-settings": "Remove the override from the merchant file, or waive the rule",
    "global-e.webhook": "Use `url: ${webhook_url}`, `version: integration_api`",
    "global-e.token-permissions": "Give the Global-e token Order:read and Order:write",
    "global-e.attribute-types": "Keep ge_order_details, ge_customer_coupon and ge_voucher_details",
    "global-e.local-vat": "Set `operated_markets` and `local_vat_rate`",
    "global-e.checkout-plugin": "Name an active Checkout API or DTC/Storefront API plugin",
    "global-e.market-pricelists": "Name the Global-e markets in `global_e.markets`",
    "global-e.base-currency": "Set `global_e.base_currency`",
    "global-e.fixed-prices": "For each `global_e.fixed_prices` country",
    "global-e.primary-warehouse": "Declare the warehouse under `warehouses`",
    "global-e.shipping-codes": "Declare a shipping option for each `global_e.shipping_codes` code",
}


def acme(examples: Path, extra: str = "", swap: tuple[str, str] = ("", ""),
         edit: tuple[str, str] = ("", "")) -> DesiredState:
    """The example Global-e merchant in QA, with `extra` sections added before its environments."""
    path = examples / "merchants" / "acme.yaml"
    text = path.read_text(encoding="utf-8")
    assert edit[0] in text
    text = text.replace(*swap).replace(*edit).replace("environments:\n", extra + "environments:\n", 1)
    path.write_text(text, encoding="utf-8")
    return resolve(load(path), "qa")


def bare(workdir: Path, sections: str, operated: str = "[GB]") -> DesiredState:
    """A Global-e merchant without the preset: only what `sections` declares."""
    path = workdir / "merchants" / "bare.yaml"
    path.write_text("merchant: bare\nstore: S\nglobal_e: {merchant_id: 7, checkout_plugin: Checkout API}\n"
                    f"local_vat_rate: 20\noperated_markets: {operated}\n" + sections
                    + "environments:\n  qa: {centra_url: https://bare.centraqa.com, token: env:BARE_TOKEN}\n",
                    encoding="utf-8")
    return resolve(load(path), "qa")


def global_e_findings(state: DesiredState, live: dict[str, Any] | None = None, **context: Any) -> list[Finding]:
    found = evaluate(Context(state, STORE_PLUGINS if live is None else live, now=time.time(), **context))
    return [f for f in found if f.rule.startswith("global-e.")]


def messages(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in findings]


def test_the_example_merchant_passes_every_global_e_rule(examples: Path) -> None:
    assert global_e_findings(acme(examples)) == []


WEBHOOK_URL = ("https://centra-int.bglobale.com/webhooks/v1/Webhooks/WebhookIntegrationApi?merchantId=7"
               "&domain=bare.centraqa.com")
NOTHING_DECLARED = [
    ("global-e.order-api", "no Order API plugin: Global-e creates and captures orders through one"),
    ("global-e.webhook", f"no Centra Webhook plugin sends to {WEBHOOK_URL}"),
    ("global-e.token-permissions", "no Integration API token for Global-e: it confirms and cancels orders with one"),
    ("global-e.attribute-types", "the attribute type ge_order_details is missing (group order)"),
    ("global-e.attribute-types", "the attribute type ge_customer_coupon is missing (group customer)"),
    ("global-e.attribute-types", "the attribute type ge_voucher_details is missing (group voucher)"),
    ("global-e.local-vat", "no tax group 'GE Local VAT': Global-e orders would carry no local VAT"),
    ("global-e.checkout-plugin", "the checkout plugin 'Checkout API' does not exist in the store"),
    ("global-e.market-pricelists", "no Global-e markets named (`global_e.markets`): which markets need a pricelist "
                                   "cannot be checked"),
]


def test_a_merchant_declaring_nothing_is_told_everything_global_e_needs(workdir: Path) -> None:
    state = bare(workdir, "plugins: []\napi_tokens: []\nattribute_types: []\ntax_groups: []\n")
    findings = global_e_findings(state, {"plugin": {}})
    assert messages(findings) == NOTHING_DECLARED
    assert {f.severity for f in findings if f.rule != "global-e.market-pricelists"} == {"critical"}


def test_items_marked_absent_count_as_missing(workdir: Path) -> None:
    """`absent: true` deletes the item: declaring every requirement absent is the same as declaring none."""
    state = bare(workdir, "plugins:\n  - {name: GE Order API, absent: true}\n"
                          "  - {name: GE Integration Webhooks, absent: true}\n  - {name: Checkout API, absent: true}\n"
                          "api_tokens:\n  - {description: Global-e integration, absent: true}\n"
                          "attribute_types:\n  - {name: ge_order_details, absent: true}\n"
                          "  - {name: ge_customer_coupon, absent: true}\n  - {name: ge_voucher_details, absent: true}\n"
                          "tax_groups:\n  - {name: GE Local VAT, absent: true}\n")
    assert messages(global_e_findings(state, {"plugin": {}})) == NOTHING_DECLARED


def test_a_partial_declaration_names_each_gap(workdir: Path) -> None:
    state = bare(workdir, "plugins:\n  - {name: Checkout API, type: checkout_api, store: S, uri: co, "
                          "status: inactive}\n"
                          "attribute_types:\n  - {name: ge_order_details, description: d, group: order, "
                          "elements: {ge_order_id: {type: input, description: d}}}\n"
                          "tax_groups:\n  - {name: GE Local VAT, rules: []}\n")
    found = messages(global_e_findings(state))
    assert ("global-e.attribute-types", "the attribute type ge_order_details lacks the element ge_order_total") in found
    assert not any("lacks the element ge_order_id" in message for _, message in found)
    assert ("global-e.local-vat", "the tax group 'GE Local VAT' has no rule") in found
    # declared in the file, so the file's word counts, whatever the store holds today
    assert ("global-e.checkout-plugin", "the checkout plugin 'Checkout API' is declared inactive") in found


def test_a_webhook_trigger_left_out_is_one_it_does_not_trigger_on(workdir: Path) -> None:
    state = bare(workdir, "plugins:\n  - {name: Hook, type: centra_webhook, store: S, url: '${webhook_url}', "
                          "triggers: {order: true}}\n")
    assert [m for r, m in messages(global_e_findings(state)) if r == "global-e.webhook"] == [
        "the webhook plugin 'Hook' does not trigger on return"]


def test_a_local_vat_group_without_a_rule_of_its_name_has_its_rules_checked(workdir: Path) -> None:
    state = bare(workdir, "tax_groups:\n  - name: GE Local VAT\n    rules:\n      - {name: VAT, display_name: VAT, "
                          "code: VAT, rate: 19, countries: {all_except: [GB]}, include_tax_in_prices: true, "
                          "include_shipping_in_order_total: true}\n")
    assert [m for r, m in messages(global_e_findings(state)) if r == "global-e.local-vat"] == [
        "the rule 'VAT' charges 19%; the merchant's local VAT is 20%"]


TOKEN = "    email: integrations@acme.example\n"
VAT_RULE = "tax_groups:\n  - name: GE Local VAT\n    rules:\n      - name: GE Local VAT\n"


@dataclass(frozen=True)
class Broken:
    rule: str
    severity: str
    message: str  # how the finding starts
    extra: str = ""  # sections added to the example merchant
    token: str = ""  # lines added to its Global-e token
    edit: tuple[str, str] = ("", "")  # text of the example merchant replaced


BROKEN = {
    "order api inactive": Broken(
        "global-e.order-api", "critical", "the Order API plugin 'GE Order API' is inactive: Global-e cannot create "
        "orders", "plugins:\n  - name: GE Order API\n    status: inactive\n"),
    "order api without secret": Broken(
        "global-e.order-api", "critical", "the Order API plugin 'GE Order API' has no secret: Global-e "
        "authenticates with it", "plugins:\n  - name: GE Order API\n    secret: null\n"),
    "order api setting": Broken(
        "global-e.order-api-settings", "warning", "'GE Order API'.stock_updates is 'available'; Global-e expects "
        "'physical'", "plugins:\n  - name: GE Order API\n    stock_updates: available\n"),
    "webhook inactive": Broken(
        "global-e.webhook", "critical", "the webhook plugin 'GE Integration Webhooks' is inactive",
        "plugins:\n  - name: GE Integration Webhooks\n    status: inactive\n"),
    "webhook version": Broken(
        "global-e.webhook", "critical", "the webhook plugin 'GE Integration Webhooks' uses version checkout_api; "
        "Global-e reads integration_api", "plugins:\n  - name: GE Integration Webhooks\n    version: checkout_api\n"),
    "webhook trigger off": Broken(
        "global-e.webhook", "critical", "the webhook plugin 'GE Integration Webhooks' does not trigger on return",
        "plugins:\n  - name: GE Integration Webhooks\n    triggers: {return: false}\n"),
    "webhook elsewhere": Broken(
        "global-e.webhook", "critical", "no Centra Webhook plugin sends to https://centra-int.bglobale.com/webhooks/"
        "v1/Webhooks/WebhookIntegrationApi?merchantId=1808&domain=acme.centraqa.com",
        "plugins:\n  - name: GE Integration Webhooks\n    url: https://hooks.example/ge\n"),
    "token without order write": Broken(
        "global-e.token-permissions", "critical", "the token 'Global-e integration' lacks Order:write: Global-e "
        "cannot confirm or cancel orders",
        token="    permissions: {write: {all_except: [Anonymize:write, Order:write]}}\n"),
    "token narrower than the checklist": Broken(
        "global-e.token-permissions", "warning", "the token 'Global-e integration' lacks permissions the checklist "
        "selects: ", token="    permissions: {read: [Order:read, Product:read], write: [Order:write]}\n"),
    "attribute type group": Broken(
        "global-e.attribute-types", "critical", "the attribute type ge_order_details is in group customer; Global-e "
        "writes it to order", "attribute_types:\n  - name: ge_order_details\n    group: customer\n"),
    "attribute element type": Broken(
        "global-e.attribute-types", "critical", "ge_order_details.ge_order_id is of type textarea; Global-e expects "
        "input", "attribute_types:\n  - name: ge_order_details\n    elements:\n"
        "      ge_order_id: {type: textarea, description: Global-E Order Id}\n"),
    "local vat inactive": Broken(
        "global-e.local-vat", "critical", "the tax group 'GE Local VAT' is inactive",
        "tax_groups:\n  - name: GE Local VAT\n    status: inactive\n"),
    "local vat rate": Broken(
        "global-e.local-vat", "critical", "the rule 'GE Local VAT' charges 19%; the merchant's local VAT is 20%",
        VAT_RULE + "        rate: 19\n"),
    "local vat on operated markets": Broken(
        "global-e.local-vat", "critical", "the rule 'GE Local VAT' covers operated markets GB",
        VAT_RULE + "        countries: {all_except: []}\n"),
    "local vat leaves a country out": Broken(
        "global-e.local-vat", "critical", "the rule 'GE Local VAT' leaves out 1 countries Global-e serves: FR",
        VAT_RULE + "        countries: {all_except: [GB, FR]}\n"),
    "checkout plugin declared inactive": Broken(
        "global-e.checkout-plugin", "critical", "the checkout plugin 'Checkout API' is declared inactive",
        "plugins:\n  - {name: Checkout API, type: checkout_api, store: GlobalE Store, uri: checkout, "
        "status: inactive}\n"),
    "webhook trigger beyond the seven": Broken(
        "global-e.webhook", "warning", "the webhook plugin 'GE Integration Webhooks' triggers on refund, beyond "
        "Global-e's seven (order, shipment, customer, account, check_first, allocation_request, return)",
        "plugins:\n  - name: GE Integration Webhooks\n    triggers: {refund: true}\n"),
    "market without a pricelist": Broken(
        "global-e.market-pricelists", "critical", "the Global-e market 'Global-e Europe' is not assigned to a "
        "pricelist in SE: Global-e falls back to Centra's default pricelist there",
        edit=("countries: [CA, DE, FR, NL, SE]", "countries: [CA, DE, FR, NL]")),
    "global-e market missing": Broken(
        "global-e.market-pricelists", "critical", "the Global-e market 'Global-e Asia' does not exist",
        edit=("markets: [Global-e Europe, Global-e Americas]", "markets: [Global-e Europe, Global-e Asia]")),
    "pricelist not in the base currency": Broken(
        "global-e.base-currency", "critical", "the pricelist 'Global-e GBP' of a Global-e market is in EUR, not the "
        "base currency GBP", edit=("currency: GBP\n    countries: [CA", "currency: EUR\n    countries: [CA")),
    "fixed-price country in another currency": Broken(
        "global-e.fixed-prices", "critical", "the pricelist 'Global-e USD' geolocates the fixed-price country US but "
        "is in CAD; Global-e configured USD for it", edit=("currency: USD", "currency: CAD")),
    "fixed-price country not geolocated": Broken(
        "global-e.fixed-prices", "critical", "no pricelist geolocates JP, a fixed-price country",
        edit=("fixed_prices: {US: USD}", "fixed_prices: {US: USD, JP: JPY}")),
    "primary warehouse missing": Broken(
        "global-e.primary-warehouse", "critical", "the Order API plugin's primary warehouse 'Main' does not exist",
        "warehouses:\n  - {name: Main, absent: true}\n"),
    "shipping code missing": Broken(
        "global-e.shipping-codes", "critical", "no shipping option has the Global-e code ge-economy",
        edit=("shipping_codes: [ge-standard, ge-express]", "shipping_codes: [ge-standard, ge-express, ge-economy]")),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_requirement_is_reported_by_its_rule_alone(examples: Path, case: str) -> None:
    broken = BROKEN[case]
    findings = global_e_findings(acme(examples, broken.extra, (TOKEN, TOKEN + broken.token), broken.edit))
    assert {f.rule for f in findings} == {broken.rule}
    assert any(f.message.startswith(broken.message) for f in findings), messages(findings)
    assert {f.severity for f in findings} == {broken.severity}
    for finding in findings:
        assert finding.fix == BY_ID[broken.rule].fix and finding.fix.startswith(FIX_STARTS[broken.rule])


def test_every_global_e_rule_is_reached_by_a_broken_requirement() -> None:
    assert {rule for rule in BY_ID if rule.startswith("global-e.")} == {case.rule for case in BROKEN.values()} == set(
        FIX_STARTS)


@pytest.mark.parametrize(("left_out", "more"), [(8, ""), (9, " and 1 more")])
def test_a_token_short_of_the_checklist_lists_eight_permissions_and_counts_the_rest(
        examples: Path, left_out: int, more: str) -> None:
    read = [p for p in catalogue.permissions().read if p not in ("CentraIP", "Order:read")][:left_out]
    narrowed = f"    permissions: {{read: {{all_except: [CentraIP, {', '.join(read)}]}}}}\n"
    state = acme(examples, swap=(TOKEN, TOKEN + narrowed))
    [finding] = global_e_findings(state)
    assert finding.message == ("the token 'Global-e integration' lacks permissions the checklist selects: "
                               + ", ".join(sorted(read)[:8]) + more)


def test_a_narrow_token_names_what_the_checklist_selects_and_counts_the_rest(examples: Path) -> None:
    state = acme(examples, swap=(TOKEN, TOKEN + "    permissions: {read: [Order:read], write: [Order:write]}\n"))
    [finding] = global_e_findings(state)
    listed = finding.message.split("selects: ", 1)[1]
    shown, _, more = listed.partition(" and ")
    assert len(shown.split(", ")) == 8 and more.endswith(" more") and int(more.split()[0]) > 0
    assert "Order:read" not in shown and "Order:write" not in shown


def test_triggers_beyond_the_checklist_and_settings_left_unmanaged_are_fine(examples: Path) -> None:
    extra = "plugins:\n  - name: GE Integration Webhooks\n    triggers: {shipment: true, customer: true}\n"
    assert global_e_findings(acme(examples, extra)) == []


def test_the_checkout_plugin_in_a_store_whose_plugins_cannot_be_read_is_a_warning(examples: Path) -> None:
    findings = global_e_findings(acme(examples), {}, unknown={"plugin": "Plugin:read"})
    assert [(f.rule, f.severity, f.message) for f in findings] == [
        ("global-e.checkout-plugin", "warning",
         "cannot check the checkout plugin 'Checkout API': reading plugins needs Plugin:read")]


def test_the_checkout_plugin_is_not_checked_against_a_store_never_read(examples: Path) -> None:
    assert global_e_findings(acme(examples), {}) == []  # offline: nothing to say about the store


def test_a_global_e_state_naming_no_checkout_plugin_is_critical(examples: Path) -> None:
    """Validation refuses such a file; the rule holds on its own for a state built any other way."""
    state = acme(examples)
    assert state.spec.global_e is not None
    unnamed = state.spec.global_e.model_copy(update={"checkout_plugin": None})
    state = replace(state, spec=state.spec.model_copy(update={"global_e": unnamed}))
    assert messages(global_e_findings(state)) == [
        ("global-e.checkout-plugin", "no checkout plugin named: Global-e cannot read the cart")]


def test_a_merchant_without_global_e_is_not_held_to_its_checklist(workdir: Path) -> None:
    path = workdir / "merchants" / "plain.yaml"
    path.write_text("merchant: plain\nstore: S\nplugins:\n  - {name: Orders, type: order_api, store: S, uri: orders, "
                    "status: inactive, stock_updates: available}\ntax_groups: []\n"
                    "environments:\n  qa: {centra_url: https://plain.centraqa.com, token: env:PLAIN_TOKEN}\n",
                    encoding="utf-8")
    assert global_e_findings(resolve(load(path), "qa"), {"plugin": {}}) == []


def test_global_e_s_token_is_found_by_its_integration_when_renamed(workdir: Path) -> None:
    for integration in ("global-e", "GlobalE"):
        state = bare(workdir, f"api_tokens:\n  - {{description: GE orders, organization: Global-e, "
                              f"integration: {integration}, email: ge@bare.example, "
                              "permissions: {read: [Order:read]}}\n")
        assert ("global-e.token-permissions", "the token 'GE orders' lacks Order:write: Global-e cannot confirm or "
                "cancel orders") in messages(global_e_findings(state)), integration
    other = bare(workdir, "api_tokens:\n  - {description: ERP, organization: ERP, integration: erp, "
                          "email: erp@bare.example, permissions: {read: [Order:read]}}\n")
    assert ("global-e.token-permissions", NOTHING_DECLARED[2][1]) in messages(global_e_findings(other))


def test_a_token_lacking_both_order_permissions_names_both(examples: Path) -> None:
    state = acme(examples, swap=(TOKEN, TOKEN + "    permissions: {read: {all_except: [CentraIP, Order:read]}, "
                                                "write: {all_except: [Anonymize:write, Order:write]}}\n"))
    assert next(f.message for f in global_e_findings(state)) == (
        "the token 'Global-e integration' lacks Order:read, Order:write: Global-e cannot confirm or cancel orders")


def test_another_order_api_plugin_is_held_to_the_settings_not_to_the_presets_name(examples: Path) -> None:
    extra = ("plugins:\n  - {name: Outlet Order API, type: order_api, store: GlobalE Store, uri: outlet-orders, "
             "secret: 'env:ACME_ORDER_API_SECRET', stock_updates: available}\n")
    findings = global_e_findings(acme(examples, extra))
    assert messages(findings) == [("global-e.order-api-settings",
                                   "'Outlet Order API'.stock_updates is 'available'; Global-e expects 'physical'")]


def test_a_declared_active_checkout_plugin_is_not_looked_for_in_the_store(examples: Path) -> None:
    """The plan creates it as declared, so a store that lacks it today is no finding."""
    extra = "plugins:\n  - {name: Checkout API, type: checkout_api, store: GlobalE Store, uri: checkout}\n"
    assert global_e_findings(acme(examples, extra), {"plugin": {}}) == []


def vat_rule(name: str, rate: float, countries: str) -> str:
    return (f"      - {{name: {name}, display_name: VAT, code: VAT, rate: {rate}, countries: {countries}, "
            "include_tax_in_prices: true, include_shipping_in_order_total: true}\n")


def local_vat_messages(state: DesiredState) -> list[str]:
    return [message for rule, message in messages(global_e_findings(state)) if rule == "global-e.local-vat"]


def test_only_the_local_vat_group_and_its_own_rule_are_checked(workdir: Path) -> None:
    state = bare(workdir, "tax_groups:\n  - {name: Domestic, status: inactive, rules: []}\n"
                          "  - name: GE Local VAT\n    rules:\n" + vat_rule("Reduced", 5, "[SE]")
                          + vat_rule("GE Local VAT", 20, "{all_except: [GB]}"))
    assert local_vat_messages(state) == []


def test_countries_in_a_local_vat_finding_are_listed_and_cut_at_ten(workdir: Path) -> None:
    def rule_covering(countries: str, operated: str = "[GB]") -> DesiredState:
        return bare(workdir, "tax_groups:\n  - name: GE Local VAT\n    rules:\n"
                    + vat_rule("GE Local VAT", 20, countries), operated)

    assert local_vat_messages(rule_covering("{all_except: [GB, SE, DE]}", "[GB, NO, DK]")) == [
        "the rule 'GE Local VAT' covers operated markets DK, NO",
        "the rule 'GE Local VAT' leaves out 2 countries Global-e serves: DE, SE"]
    left_out = [c for c in sorted(catalogue.countries()) if c not in ("GB", "SE", "NO")]
    first_ten = ", ".join(left_out[:10])
    assert local_vat_messages(rule_covering("[SE, NO]")) == [
        f"the rule 'GE Local VAT' leaves out {len(left_out)} countries Global-e serves: {first_ten} …"]
    eleven, ten = (rule_covering(f"{{all_except: [GB, {', '.join(left_out[:n])}]}}") for n in (11, 10))
    leaves_out = "the rule 'GE Local VAT' leaves out {} countries Global-e serves: "
    assert local_vat_messages(eleven) == [leaves_out.format(11) + first_ten + " …"]
    assert local_vat_messages(ten) == [leaves_out.format(10) + first_ten]


def test_price_rules_read_the_live_store_where_the_file_declares_nothing(workdir: Path) -> None:
    """A Global-e market and pricelists that exist only in the store are checked as the store has them."""
    state = bare(workdir, "plugins: []\n", operated="[GB]")
    path = workdir / "merchants" / "bare.yaml"
    path.write_text(path.read_text().replace(
        "global_e: {merchant_id: 7, checkout_plugin: Checkout API}",
        "global_e: {merchant_id: 7, checkout_plugin: Checkout API, base_currency: GBP, markets: [World], "
        "fixed_prices: {JP: JPY}}"))
    state = resolve(load(path), "qa")
    live = {"plugin": {}, "market": {"World": {"store": "S", "countries": ["DE", "JP", "US"]}},
            "pricelist": {"EUR": {"store": "S", "currency": "EUR", "countries": ["DE"]},
                          "JP": {"store": "S", "currency": "USD", "countries": ["JP"]}}}
    found = [(r, m) for r, m in messages(global_e_findings(state, live))
             if r in ("global-e.market-pricelists", "global-e.base-currency", "global-e.fixed-prices")]
    assert found == [
        ("global-e.market-pricelists", "the Global-e market 'World' is not assigned to a pricelist in US: Global-e "
                                       "falls back to Centra's default pricelist there"),
        ("global-e.base-currency", "the pricelist 'EUR' of a Global-e market is in EUR, not the base currency GBP"),
        ("global-e.fixed-prices", "the pricelist 'JP' geolocates the fixed-price country JP but is in USD; Global-e "
                                  "configured JPY for it")]


def test_price_rules_say_what_they_cannot_read(examples: Path) -> None:
    findings = global_e_findings(acme(examples), unknown={"pricelist": "Pricelist:read"})
    assert {(f.rule, f.severity, f.message) for f in findings} == {
        (rule, "warning", "cannot check: the plan could not read pricelists (Pricelist:read)")
        for rule in ("global-e.market-pricelists", "global-e.base-currency", "global-e.fixed-prices")}
