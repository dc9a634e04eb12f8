"""The commerce sections of a merchant file: markets, pricelists, warehouses (written through the
Integration API where the target has the mutations) and shipping options (read and checked; made by
hand in AMS). Items merge by name and follow `mode` and `absent` like every section (section_items.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from provisioner.config.fields import CountryCode, Model, Name, Status, tombstone_tag
from provisioner.config.section_items import Section, _list_as_section

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="an ISO 4217 currency code, e.g. EUR")]


class Market(Model):
    name: Name  # unique within its store (Centra)
    store: Name
    comment: str | None = None  # None: not managed
    countries: list[CountryCode] = Field(default_factory=list)


class Pricelist(Model):
    name: Name
    store: Name
    status: Status = "active"
    currency: CurrencyCode
    # Geolocation: the countries whose shoppers get this pricelist by default.
    countries: list[CountryCode] = Field(default_factory=list)
    default_shipping_option: Name | None = None  # None: not managed


class Warehouse(Model):
    name: Name


class ShippingOption(Model):
    name: Name
    # The shipping code Global-e's Solutions Engineer names; Centra shows it as the option's URI.
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]


class CommerceTombstone(Model):
    name: Name
    absent: Literal[True]


MarketItem = Annotated[Annotated[Market, Tag("present")] | Annotated[CommerceTombstone, Tag("absent")],
                       Discriminator(tombstone_tag)]
PricelistItem = Annotated[Annotated[Pricelist, Tag("present")] | Annotated[CommerceTombstone, Tag("absent")],
                          Discriminator(tombstone_tag)]
WarehouseItem = Annotated[Annotated[Warehouse, Tag("present")] | Annotated[CommerceTombstone, Tag("absent")],
                          Discriminator(tombstone_tag)]
ShippingOptionItem = Annotated[Annotated[ShippingOption, Tag("present")]
                               | Annotated[CommerceTombstone, Tag("absent")], Discriminator(tombstone_tag)]

MarketSection = Annotated[Section[MarketItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[MarketItem] | Section[MarketItem] | None)]
PricelistSection = Annotated[Section[PricelistItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[PricelistItem] | Section[PricelistItem] | None)]
WarehouseSection = Annotated[Section[WarehouseItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[WarehouseItem] | Section[WarehouseItem] | None)]
ShippingOptionSection = Annotated[Section[ShippingOptionItem] | None, BeforeValidator(
    _list_as_section, json_schema_input_type=list[ShippingOptionItem] | Section[ShippingOptionItem] | None)]
