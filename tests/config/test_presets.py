"""The global-e preset against the checklist (Global-e's onboarding guide, sections 1.1–1.3 and 1.7), field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.config.models import ApiToken, AttributeType, CentraWebhookPlugin, OrderApiPlugin, TaxGroup
from provisioner.config.resolve import DesiredState, load, resolve
from provisioner.reference import catalogue
from provisioner.resources.attribute_types import ams_config

# The JSON of the guide's sections 1.2 and 1.7, verbatim.
SEED_ATTRIBUTE_JSON = {
    "ge_order_details": '{ "desc": "Global-E Information", "readonly": false, "group": "order", "elements": { "ge_order_id": { "type": "input", "desc": "Global-E Order Id" }, "ge_order_total": { "type": "input", "desc": "Global-E Order Total" }, "ge_order_shipping": { "type": "input", "desc": "Global-E Order Shipping" }, "ge_order_duties": { "type": "input", "desc": "Global-E Order Duties" }, "ge_order_delivery_days": { "type": "input", "desc": "Global-E delivery in days" }, "canceled_by_ge": { "type": "boolean", "desc": "Canceled by Global-E" }, "code_vouchers": { "type": "input", "desc": "Code Vouchers" }, "automatic_vouchers": { "type": "input", "desc": "Automatic Vouchers" }, "free_shipping": { "type": "input", "desc": "Free Shipping" }, "ge_cart_item_ids_mapping": { "type": "textarea", "desc": "Global-E CartItemIds mapping" }, "ge_cart_item_id_to_price_mapping": { "type": "textarea", "desc": "Global-E CartItemId to Price mapping" }, "centra_to_ge_cart_mapping": { "type": "textarea", "desc": "Centra to Global-E order items mapping" } } }',  # noqa: E501
    "ge_customer_coupon": '{ "desc": "Coupons used by GE orders", "readonly": false, "group": "customer", "elements": { "ge_coupon_usage": { "type": "textarea", "desc": "Coupons used by GE orders" } } }',  # noqa: E501
    "ge_voucher_details": '{ "desc": "Global-e Voucher details", "readonly": false, "group": "voucher", "elements": { "ge_successful_usages": { "type": "input", "desc": "Global-e Successful Usages" } } }',  # noqa: E501
}

# The guide's section 1.1 "Configure the Order API settings", in the model's terms.
SEED_ORDER_API = {
    "status": "active", "name": "GE Order API", "type": "order_api", "uri": "ge-order-api", "markets": "all",
    "debug_logging": True, "stock_updates": "physical", "limit_shipments_by_warehouse": False,
    "order_statuses": "all", "return_waiting_for_payment": True, "return_on_hold": True,
    "orders_starting_with": "oldest", "orders_return_internal_comment": True, "orders_return_other": True,
    "products_return_cost_price": True, "return_unconfirmed_allocations": False,
    "products_tax_for_country": "none", "bundles_in_shipments": "only_containing_items",
    "bundles_in_orders": "only_containing_items", "shipment_missing_items": "keep_items_in_order",
    "endpoints": "all",
}


@pytest.fixture
def acme_prod(examples: Path) -> DesiredState:
    return resolve(load(examples / "merchants" / "acme.yaml"), "prod")


def _item(desired: DesiredState, section: str, name: str) -> object:
    items = getattr(desired.spec, section).items
    return next(i for i in items if getattr(i, "name", getattr(i, "description", None)) == name)


def test_order_api_plugin_has_every_seed_setting(acme_prod: DesiredState) -> None:
    plugin = _item(acme_prod, "plugins", "GE Order API")
    assert isinstance(plugin, OrderApiPlugin)
    for setting, value in SEED_ORDER_API.items():
        assert getattr(plugin, setting) == value, setting
    assert plugin.primary_warehouse == "Main"  # "relevant warehouse specified by the merchant"
    assert plugin.store == "GlobalE Store"
    assert plugin.secret == "env:ACME_ORDER_API_SECRET"  # a reference, never the value
    unmanaged = {f for f, v in plugin.model_dump().items() if v is None}
    assert unmanaged == set(), f"settings the preset leaves unmanaged: {unmanaged}"


def test_webhook_plugin_and_triggers(acme_prod: DesiredState) -> None:
    plugin = _item(acme_prod, "plugins", "GE Integration Webhooks")
    assert isinstance(plugin, CentraWebhookPlugin)
    assert plugin.status == "active" and plugin.version == "integration_api"
    assert plugin.url == ("https://centra.global-e.com/webhooks/v1/Webhooks/WebhookIntegrationApi"
                          "?merchantId=1808&domain=acme.centra.com")
    assert plugin.triggers == {"order": True, "shipment": False, "customer": False, "account": False,
                               "check_first": False, "allocation_request": False, "return": True}


def test_attribute_types_equal_the_seed_json(acme_prod: DesiredState) -> None:
    for name, seed_json in SEED_ATTRIBUTE_JSON.items():
        attribute = _item(acme_prod, "attribute_types", name)
        assert isinstance(attribute, AttributeType)
        assert ams_config(attribute) == json.loads(seed_json), name
        assert list(ams_config(attribute)["elements"]) == list(json.loads(seed_json)["elements"])  # same order


def test_tax_group_and_rule(acme_prod: DesiredState) -> None:
    group = _item(acme_prod, "tax_groups", "GE Local VAT")
    assert isinstance(group, TaxGroup)
    assert group.status == "active" and group.default_in_stores == ["GlobalE Store"]
    (rule,) = group.rules
    assert (rule.name, rule.display_name, rule.code, rule.apply_per) == ("GE Local VAT", "GE Local VAT", "VAT",
                                                                         "ship_to_country")
    assert rule.rate == 20
    assert rule.countries.model_dump() == {"all_except": ["GB"]}  # ALL minus the merchant's operated markets
    assert rule.include_tax_in_prices and rule.apply_to_shipping and rule.apply_to_handling
    assert rule.include_shipping_in_order_total


def test_token_permissions_all_except(acme_prod: DesiredState) -> None:
    token = _item(acme_prod, "api_tokens", "Global-e integration")
    assert isinstance(token, ApiToken)
    cat = catalogue.permissions()
    assert token.store_types == "all" and token.stores == ["GlobalE Store"]
    assert isinstance(token.permissions.read, list) and isinstance(token.permissions.write, list)
    assert set(token.permissions.read) == set(cat.read) - {"CentraIP"}
    assert set(token.permissions.write) == set(cat.write) - {"Anonymize:write"}
    assert "admin" not in token.permissions.write


def test_data_platform_token_is_read_only(examples: Path) -> None:
    desired = resolve(load(examples / "merchants" / "dataline.yaml"), "prod")
    token = _item(desired, "api_tokens", "Data platform")
    assert isinstance(token, ApiToken)
    assert token.permissions.write == []
    assert {"Order:read", "Warehouse:read", "StockChange:read"} <= set(token.permissions.read)
    assert desired.spec.plugins is None and desired.spec.tax_groups is None  # not managed at all


def test_environments_differ(examples: Path) -> None:
    source = load(examples / "merchants" / "nordwind.yaml")
    staging, production = resolve(source, "staging"), resolve(source, "production")
    assert (staging.tier, production.tier) == ("qa", "prod")
    assert staging.webhook_url == ("https://centra-int.bglobale.com/webhooks/v1/Webhooks/WebhookIntegrationApi"
                                   "?merchantId=2231&domain=nordwind.centraqa.com")
    assert production.webhook_url == ("https://centra.global-e.com/webhooks/v1/Webhooks/WebhookIntegrationApi"
                                      "?merchantId=2231&domain=nordwind.centra.com")
    debug = {e.environment: _item(e, "plugins", "GE Order API").debug_logging  # type: ignore[attr-defined]
             for e in (staging, production)}
    assert debug == {"staging": True, "production": False}  # the production overlay wins
    assert staging.token_ref == "env:NORDWIND_STAGING_TOKEN"


def test_sandbox_is_implicit_for_every_merchant(examples: Path) -> None:
    for path in (examples / "merchants").glob("*.yaml"):
        desired = resolve(load(path), "sandbox")
        assert desired.is_sandbox and desired.tier == "qa" and desired.token_ref is None
        assert desired.centra_url.endswith(".sandbox.invalid")


def test_shipped_merchants_differ_in_vat_markets_and_environments(examples: Path) -> None:
    acme = resolve(load(examples / "merchants" / "acme.yaml"), "qa")
    nordwind = resolve(load(examples / "merchants" / "nordwind.yaml"), "staging")
    assert acme.spec.local_vat_rate != nordwind.spec.local_vat_rate
    assert acme.spec.operated_markets != nordwind.spec.operated_markets
    assert load(examples / "merchants" / "acme.yaml").environment_names() != \
        load(examples / "merchants" / "nordwind.yaml").environment_names()
