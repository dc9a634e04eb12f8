"""The managed sections of a merchant file and their items: plugins, attribute types, tax groups,
Integration API tokens and event listeners (the merchant file itself: `models.py`).

A section is managed only when present; an empty list means "none". Items merge by identity across
presets, the merchant file and environment overlays. Nothing is deleted unless the section is
`mode: exclusive` or an item says `absent: true`.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

from provisioner.config.fields import (
    CountrySelection,
    Model,
    Name,
    PermissionSelection,
    SecretRef,
    Status,
    tombstone_tag,
)

Item = TypeVar("Item")


def _list_as_section(value: object) -> object:
    return {"items": value} if isinstance(value, list) else value


class Section(Model, Generic[Item]):
    """`[...]` is shorthand for `{mode: additive, items: [...]}`."""

    mode: Literal["additive", "exclusive"] = "additive"
    items: list[Item] = Field(default_factory=list)


# ---------------------------------------------------------------- plugins (their settings are attested)

class PluginBase(Model):
    name: Name
    store: Name
    status: Status = "active"


class OrderApiPlugin(PluginBase):
    """Order API plugin: every setting the Global-e checklist names (docs/global-e.md).
    None means "not managed"."""

    type: Literal["order_api"]
    uri: Name
    secret: SecretRef | None = None
    markets: Literal["all"] | list[Name] | None = None
    debug_logging: bool | None = None
    primary_warehouse: Name | None = None
    stock_updates: Literal["physical", "available"] | None = None
    limit_shipments_by_warehouse: bool | None = None
    order_statuses: Literal["all"] | list[Name] | None = None
    return_waiting_for_payment: bool | None = None
    return_on_hold: bool | None = None
    orders_starting_with: Literal["oldest", "newest"] | None = None
    orders_return_internal_comment: bool | None = None
    orders_return_other: bool | None = None
    products_return_cost_price: bool | None = None
    return_unconfirmed_allocations: bool | None = None
    products_tax_for_country: Literal["none", "ship_to_country", "market_country"] | None = None
    bundles_in_shipments: Literal["only_containing_items", "containing_items_in_bundles", "only_bundles",
                                  "bundles_and_containing_items"] | None = None
    bundles_in_orders: Literal["only_containing_items", "containing_items_in_bundles", "only_bundles",
                               "bundles_and_containing_items"] | None = None
    shipment_missing_items: Literal["keep_items_in_order", "remove_items_from_order"] | None = None
    endpoints: Literal["all"] | list[Name] | None = None


WebhookTrigger = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class CentraWebhookPlugin(PluginBase):
    type: Literal["centra_webhook"]
    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(:(80|443))?(/\S*)?$")]
    version: Literal["integration_api", "checkout_api", "storefront_api"] | None = None
    triggers: dict[WebhookTrigger, bool] | None = None
    endpoint_secret: SecretRef | None = None
    validate_ssl: bool | None = None


class CheckoutApiPlugin(PluginBase):
    type: Literal["checkout_api"]
    uri: Name
    shared_secret: SecretRef | None = None
    allowed_origins: list[Name] | None = None


class StorefrontApiPlugin(PluginBase):
    type: Literal["storefront_api"]
    uri: Name
    scope: Literal["session", "no_session"] | None = None
    shared_secret: SecretRef | None = None


Plugin = Annotated[OrderApiPlugin | CentraWebhookPlugin | CheckoutApiPlugin | StorefrontApiPlugin,
                   Field(discriminator="type")]


class PluginTombstone(Model):
    name: Name
    absent: Literal[True]


PluginItem = Annotated[Annotated[Plugin, Tag("present")] | Annotated[PluginTombstone, Tag("absent")],
                       Discriminator(tombstone_tag)]

# ---------------------------------------------------------------- attribute types (manual)

ElementType = Literal["input", "textarea", "readonly", "boolean", "select", "image", "file"]
AttributeGroup = Literal["product", "variation", "display", "order", "customer", "account", "sizechart",
                         "product_media", "voucher"]


class AttributeElement(Model):
    type: ElementType
    description: str
    options: dict[str, str] | None = None
    size: Annotated[str, Field(pattern=r"^\d+x\d+$")] | None = None

    @model_validator(mode="after")
    def _params_fit_type(self) -> AttributeElement:
        if self.type == "select" and not self.options:
            raise ValueError("a select element needs options")
        if self.size is not None and self.type != "image":
            raise ValueError("only an image element takes size")
        return self


class AttributeType(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    description: str
    group: AttributeGroup
    readonly: bool = False
    multi: bool = False
    elements: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")], AttributeElement]


class AttributeTypeTombstone(Model):
    name: Name
    absent: Literal[True]


AttributeTypeItem = Annotated[Annotated[AttributeType, Tag("present")]
                              | Annotated[AttributeTypeTombstone, Tag("absent")], Discriminator(tombstone_tag)]

# ---------------------------------------------------------------- tax groups (manual)

Rate = Annotated[float, Field(ge=0, le=100)]


class TaxRule(Model):
    name: Name
    display_name: Name
    code: Name
    rate: Rate
    apply_per: Literal["ship_to_country", "billing_country"] = "ship_to_country"
    countries: CountrySelection
    include_tax_in_prices: bool
    apply_to_shipping: bool = True
    apply_to_handling: bool = True
    include_shipping_in_order_total: bool


class TaxGroup(Model):
    name: Name
    status: Status = "active"
    default_in_stores: list[Name] = Field(default_factory=list)
    rules: list[TaxRule] = Field(default_factory=list)


class TaxGroupTombstone(Model):
    name: Name
    absent: Literal[True]


TaxGroupItem = Annotated[Annotated[TaxGroup, Tag("present")] | Annotated[TaxGroupTombstone, Tag("absent")],
                         Discriminator(tombstone_tag)]

# ---------------------------------------------------------------- Integration API tokens (api)

StoreType = Literal["DIRECT_TO_CONSUMER", "WHOLESALE"]


class TokenPermissions(Model):
    model_config = ConfigDict(defer_build=False)

    read: PermissionSelection = Field(default_factory=list)
    write: PermissionSelection = Field(default_factory=list)


class ApiToken(Model):
    description: Name  # Centra: AccessTokenCreateInput.name, "Description" in AMS; the token's identity
    organization: Name
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: str | None = None
    integration: Name
    store_types: Literal["all"] | list[StoreType] = "all"
    stores: list[Name] | None = None
    permissions: TokenPermissions
    ttl_days: Annotated[int, Field(ge=1, le=3650)] = 30


class ApiTokenTombstone(Model):
    description: Name
    absent: Literal[True]


ApiTokenItem = Annotated[Annotated[ApiToken, Tag("present")] | Annotated[ApiTokenTombstone, Tag("absent")],
                         Discriminator(tombstone_tag)]

# ---------------------------------------------------------------- event listeners (api)

EventObjectType = Literal[
    "Account", "AdminUser", "Affiliate", "AllocationRule", "Brand", "BrickAndMortar", "Bundle", "Buyer",
    "Campaign", "Category", "Collection", "Country", "Currency", "Customer", "DeliveryWindow", "Display",
    "EmailHistoryEntry", "Folder", "GiftCertificateGenerator", "Invoice", "Language", "LowestPrice",
    "MappedAttribute", "Market", "MeasurementChart", "NewsletterSubscription", "Order", "OrderHistoryEntry",
    "PaymentHistoryEntry", "PaymentTerms", "Price", "PriceAlteration", "Pricelist", "Product", "ProductMedia",
    "ProductSize", "ProductVariant", "PurchaseOrder", "PurchaseOrderDelivery", "Return", "SalesRepresentative",
    "Shipment", "ShippingOption", "ShippingTerms", "SizeChart", "StockChange", "Store", "StorePlugin",
    "Subscription", "SubscriptionContract", "SubscriptionPlan", "Supplier", "TaxRule", "Voucher", "Warehouse",
    "Wishlist",
]
EventChangeType = Literal["CREATED", "UPDATED", "DELETED", "COMPLETED", "DEPENDENT_DATA_CHANGED"]


class EventListener(Model):
    object_type: EventObjectType
    change_types: list[EventChangeType] | None = None  # None: every change type


class EventListenerTombstone(Model):
    object_type: EventObjectType
    absent: Literal[True]


EventListenerItem = Annotated[Annotated[EventListener, Tag("present")]
                              | Annotated[EventListenerTombstone, Tag("absent")], Discriminator(tombstone_tag)]

# ---------------------------------------------------------------- each section: a list, or {mode, items}

PluginSection = Annotated[Section[PluginItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[PluginItem] | Section[PluginItem] | None)]
AttributeTypeSection = Annotated[Section[AttributeTypeItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[AttributeTypeItem] | Section[AttributeTypeItem] | None)]
TaxGroupSection = Annotated[Section[TaxGroupItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[TaxGroupItem] | Section[TaxGroupItem] | None)]
ApiTokenSection = Annotated[Section[ApiTokenItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[ApiTokenItem] | Section[ApiTokenItem] | None)]
EventListenerSection = Annotated[Section[EventListenerItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[EventListenerItem] | Section[EventListenerItem] | None)]
