"""Reference data kept as YAML beside this module: ISO countries and the permission catalogue; and
how the merchant file's names map to Centra's (attribute groups, plugin kinds)."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    deprecated: dict[str, str] = field(default_factory=dict)  # name -> what replaces it
    sources: dict[str, str] = field(default_factory=dict)  # name -> where Centra documents it

    @cached_property  # asked once per permission a merchant file names
    def every(self) -> frozenset[str]:
        """The current names: what "all" draws from and what a merchant file may name."""
        return frozenset(self.read) | frozenset(self.write) | frozenset(self.special)

    @cached_property
    def known(self) -> frozenset[str]:
        """Every name Centra may report on a live token, deprecated ones included."""
        return self.every | frozenset(self.deprecated)

    def unknown(self, names: list[str] | tuple[str, ...]) -> list[str]:
        return sorted(set(names) - self.known)


@cache
def permissions() -> PermissionCatalogue:
    data = _load("permissions.yaml")
    sources: dict[str, str] = dict(data["sources"])
    entries = {side: [(str(e["name"]), str(e["source"])) for e in data[side]]
               for side in ("read", "write", "special", "deprecated")}
    for side, items in entries.items():
        for name, source in items:
            if source not in sources:
                raise ValueError(f"permissions.yaml: {side} entry {name} names an undefined source {source!r}")
    return PermissionCatalogue(
        tuple(n for n, _ in entries["read"]), tuple(n for n, _ in entries["write"]),
        tuple(n for n, _ in entries["special"]),
        deprecated={str(e["name"]): str(e["use"]) for e in data["deprecated"]},
        sources={name: sources[source] for items in entries.values() for name, source in items})


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
