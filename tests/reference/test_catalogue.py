"""The permission catalogue: current names, a source for each, deprecated names known but never "all"."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from provisioner.config.fields import Permission
from provisioner.reference import catalogue


def test_every_entry_has_a_source() -> None:
    cat = catalogue.permissions()
    assert set(cat.sources) == cat.known
    assert all(cat.sources.values())


def test_centras_renames_and_documented_permissions_are_current() -> None:
    cat = catalogue.permissions()
    for name in ("Translation:read", "StockChange:read", "StockChange:write", "Product.attributes:read",
                 "Product.internalComment:read", "PurchaseOrder.shippingAddress:read",
                 "PurchaseOrder.supplierAddress:read", "CentraIP"):
        assert name in cat.every, name
    assert cat.deprecated["Localization:read"] == "Translation:read"
    assert cat.deprecated["WarehouseDelivery:read"] == "StockChange:read"
    assert {"Purchaser:read", "Purchaser.totalOrders:read"} <= set(cat.deprecated)
    assert not set(cat.deprecated) & cat.every  # deprecated names never join "all"
    assert "CentraIPDetails:read" not in cat.known  # the AMS label of CentraIP, not a second permission


def test_a_merchant_file_naming_a_deprecated_permission_is_told_its_replacement() -> None:
    with pytest.raises(ValidationError, match="deprecated by Centra; use StockChange:read"):
        TypeAdapter(Permission).validate_python("WarehouseDelivery:read")
    assert TypeAdapter(Permission).validate_python("StockChange:read") == "StockChange:read"


def test_unknown_names_are_reported_in_order() -> None:
    cat = catalogue.permissions()
    assert cat.unknown(["Order:read", "Subscription:read", "Purchaser:read", "Affiliate:read"]) == [
        "Affiliate:read", "Subscription:read"]


def test_the_other_spelling_of_centraip_is_known_on_a_live_token_and_named_one_way_in_files() -> None:
    cat = catalogue.permissions()
    assert cat.unknown(["CentraIP:read", "CentraIP"]) == []  # no "catalogue may be out of date" warning
    assert "CentraIP:read" not in cat.every  # never a second CentraIP in "all"
    with pytest.raises(ValidationError, match="use CentraIP"):
        TypeAdapter(Permission).validate_python("CentraIP:read")
