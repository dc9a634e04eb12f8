"""Reference data kept as YAML beside this module: ISO countries and the permission catalogue; and
how the merchant file's names map to Centra's (attribute groups, plugin kinds)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import yaml

# Every scalar as a string: reference data has no booleans or numbers (and Norway stays `NO`).
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _load(name: str) -> Any:
    text = resources.files("provisioner.reference").joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LOADER)


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> short name."""
    return {str(code): str(name) for code, name in _load("countries.yaml").items()}


@dataclass(frozen=True)
class PermissionCatalogue:
    read: tuple[str, ...]
    write: tuple[str, ...]
    special: tuple[str, ...]

    @cached_property  # asked once per permission a merchant file names
    def every(self) -> frozenset[str]:
        return frozenset(self.read) | frozenset(self.write) | frozenset(self.special)


@cache
def permissions() -> PermissionCatalogue:
    data = _load("permissions.yaml")
    return PermissionCatalogue(tuple(data["read"]), tuple(data["write"]), tuple(data["special"]))


# AMS configuration `group` of an attribute type -> `AttributeType.objectType` in the Integration API.
# [inferred] from the names; the reference notes ask to check it against a live instance.
ATTRIBUTE_GROUP_OBJECT_TYPES = {
    "product": "Product", "variation": "ProductVariant", "display": "Display", "order": "Order",
    "customer": "Customer", "account": "Account", "sizechart": "SizeChart", "product_media": "ProductMedia",
    "voucher": "Voucher",
}


@dataclass(frozen=True)
class PluginKind:
    """How a plugin of the merchant file appears as a `StorePlugin`: its method and type."""

    method: str
    type: str


# [inferred] method names; the StorePluginType values are confirmed.
PLUGIN_KINDS = {
    "order_api": PluginKind("order-api", "API"),
    "checkout_api": PluginKind("checkout-api", "API"),
    "storefront_api": PluginKind("storefront-api", "API"),
    "centra_webhook": PluginKind("centra-webhook", "WEBHOOKS"),
}
