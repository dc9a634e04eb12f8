"""The merchant file: desired state of one merchant's Centra configuration (docs/architecture.md): what
a file and an environment's overlay may both say, the environments, Global-e and policy settings. The
managed sections and their items (plugins, tax groups, tokens, ...) are in `section_items.py`, and are
named here too, where the rest of the tool has always found them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from provisioner.config.commerce_items import (
    CommerceTombstone,
    CurrencyCode,
    Market,
    MarketSection,
    Pricelist,
    PricelistSection,
    ShippingOption,
    ShippingOptionSection,
    Warehouse,
    WarehouseSection,
)
from provisioner.config.fields import CountryCode, Model, Name, SecretRef
from provisioner.config.section_items import (
    ApiToken,
    ApiTokenSection,
    ApiTokenTombstone,
    AttributeElement,
    AttributeType,
    AttributeTypeSection,
    AttributeTypeTombstone,
    CentraWebhookPlugin,
    CheckoutApiPlugin,
    EventListener,
    EventListenerSection,
    EventListenerTombstone,
    OrderApiPlugin,
    PluginBase,
    PluginSection,
    PluginTombstone,
    Rate,
    Section,
    StorefrontApiPlugin,
    TaxGroup,
    TaxGroupSection,
    TaxGroupTombstone,
    TaxRule,
    TokenPermissions,
)

GlobalEEnvironment = Literal["qa-int", "prod"]


CHECKOUT_PLUGIN_TYPES = ("checkout_api", "storefront_api")  # Centra's DTC API is the Storefront API


class GlobalE(Model):
    merchant_id: Annotated[int, Field(gt=0)] | None = None
    environment: GlobalEEnvironment | None = None
    # The Checkout API or DTC/Storefront API plugin Global-e reads the shopper's cart through (the first
    # stage of the order lifecycle); Global-e must be told which one when a store has several.
    checkout_plugin: Name | None = None
    # Calculating Prices: every pricelist of a Global-e market is in the base currency; a fixed-price
    # country's pricelist is in the currency Global-e configured for it and geolocates that country.
    base_currency: CurrencyCode | None = None
    markets: list[Name] | None = None  # the `markets` items Global-e serves
    fixed_prices: dict[CountryCode, CurrencyCode] | None = None
    # §1.5: the shipping codes Global-e's Solutions Engineer names; each is a shipping option's code.
    shipping_codes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] | None = None


class Waiver(Model):
    rule: Name
    reason: Annotated[str, Field(min_length=10)]


class Policy(Model):
    """How the plan's policy rules apply to this merchant: the token-expiry window and waived rules."""

    model_config = ConfigDict(defer_build=False)

    token_expiry_warning_days: Annotated[int, Field(ge=1, le=365)] = 14
    waivers: list[Waiver] = Field(default_factory=list)


class Sections(Model):
    """What a merchant file and an environment overlay may both say."""

    store: Name | None = None
    global_e: GlobalE | None = None
    policy: Policy | None = None
    local_vat_rate: Rate | None = None
    operated_markets: list[CountryCode] | None = None
    primary_warehouse: Name | None = None
    secrets: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], SecretRef] | None = None
    plugins: PluginSection = None
    attribute_types: AttributeTypeSection = None
    tax_groups: TaxGroupSection = None
    api_tokens: ApiTokenSection = None
    event_listeners: EventListenerSection = None
    warehouses: WarehouseSection = None
    shipping_options: ShippingOptionSection = None
    markets: MarketSection = None
    pricelists: PricelistSection = None

    @property
    def expiry_warning_days(self) -> int:
        """`policy.token_expiry_warning_days`, or its default when the file sets no policy."""
        return (self.policy or Policy()).token_expiry_warning_days


SECTION_NAMES = ("plugins", "attribute_types", "tax_groups", "api_tokens", "event_listeners", "warehouses",
                 "shipping_options", "markets", "pricelists")


class Environment(Sections):
    centra_url: Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.-]+(:\d+)?/?$")] | None = None
    token: SecretRef | None = None
    tier: Literal["qa", "prod"] | None = None  # default: from the name (prod/production -> prod)
    # The name in Centra of the token above: never planned for revocation (Centra cannot say which it is).
    token_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class MerchantFile(Sections):
    model_config = ConfigDict(defer_build=False)

    merchant: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    presets: list[Name] = Field(default_factory=list)
    environments: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")], Environment] = Field(
        default_factory=dict)


__all__ = [
    "CHECKOUT_PLUGIN_TYPES",
    "SECTION_NAMES",
    "ApiToken",
    "ApiTokenTombstone",
    "AttributeElement",
    "AttributeType",
    "AttributeTypeTombstone",
    "CentraWebhookPlugin",
    "CheckoutApiPlugin",
    "CommerceTombstone",
    "CountryCode",
    "CurrencyCode",
    "Environment",
    "EventListener",
    "EventListenerTombstone",
    "GlobalE",
    "Market",
    "MerchantFile",
    "OrderApiPlugin",
    "PluginBase",
    "PluginTombstone",
    "Policy",
    "Pricelist",
    "Section",
    "Sections",
    "ShippingOption",
    "StorefrontApiPlugin",
    "TaxGroup",
    "TaxGroupTombstone",
    "TaxRule",
    "TokenPermissions",
    "Waiver",
    "Warehouse",
]
