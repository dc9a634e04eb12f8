"""Leftovers of the check against Centra's docs (#22 item 4): values and names Centra documents that the
tool must show, not crash on or call unknown."""

from __future__ import annotations

from provisioner.centra.capabilities import Capabilities
from provisioner.engine.plan.model import unused_write_warnings
from provisioner.reference import catalogue
from provisioner.resources import tax_groups


def _group(apply_tax_type: str) -> dict[str, object]:
    return {"taxGroups": [{"name": "US", "status": "ACTIVE", "defaultInStores": [], "rules": [
        {"name": "Per state", "displayName": "Sales tax", "code": "ST", "rate": 7.25, "applyTaxType": apply_tax_type,
         "applyTaxToShipping": True, "applyTaxToHandling": False, "countries": [{"code": "US"}]}]}]}


def test_a_tax_rule_applied_per_a_value_the_tool_does_not_know_is_shown_not_a_crash() -> None:
    live = tax_groups.KIND.live(_group("SHIP_TO_STATE"), {})
    assert live["US"]["rules"]["Per state"]["apply_per"] == "SHIP_TO_STATE (unknown to this tool)"
    assert tax_groups.KIND.live(_group("BILLING_COUNTRY"), {})["US"]["rules"]["Per state"]["apply_per"] == (
        "billing_country")


def test_the_field_named_permissions_old_tokens_may_hold_are_known_as_deprecated() -> None:
    permissions = catalogue.permissions()
    old = ["Product.Attribute:read", "Product.InternalComment:read", "PurchaseOrder.Address:read",
           "Purchaser.Order:read"]
    assert permissions.unknown(old) == []
    assert all(name in permissions.deprecated and name not in permissions.every for name in old)
    assert permissions.deprecated["Product.Attribute:read"] == "Product.attributes:read"


def test_writes_the_tool_does_not_use_are_said_in_the_plan_warnings() -> None:
    assert unused_write_warnings(Capabilities()) == []
    [warning] = unused_write_warnings(Capabilities(unused_writes=("tax groups", "plugins")))
    assert warning.startswith("the target can write tax groups, plugins through its Integration API")
