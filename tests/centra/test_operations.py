"""Every operation the client sends validates against schema.graphql; the SDL carries Centra's documented
names and fields; capabilities come from input types, not from names."""

from __future__ import annotations

import pytest
from graphql import GraphQLInputObjectType, GraphQLNonNull, GraphQLObjectType, build_schema, parse, print_ast, validate

from provisioner.centra import operations
from provisioner.centra.capabilities import from_schema
from tests.sandbox.conftest import CATALOG_QUERY


def test_every_operation_file_validates_against_the_sdl() -> None:
    assert "live_state" in operations.names() and "catalog_page" in operations.names()
    for name in operations.names():
        operations.load(name)


def test_the_seeds_catalog_query_validates_unchanged() -> None:
    assert validate(operations.schema(), parse(CATALOG_QUERY)) == []


def _object(name: str) -> GraphQLObjectType:
    found = operations.schema().type_map[name]
    assert isinstance(found, GraphQLObjectType)
    return found


def test_the_sdl_uses_centras_documented_names() -> None:
    schema = operations.schema()
    mutation = schema.mutation_type
    assert mutation is not None
    set_input = mutation.fields["setEventListeners"].args["input"].type
    unset_input = mutation.fields["unsetEventListeners"].args["input"].type
    assert "EventListenerSetInput" in str(set_input) and "EventListenerUnsetInput" in str(unset_input)
    assert str(mutation.fields["setEventListeners"].type) == "EventListenerSetPayload!"
    assert str(mutation.fields["unsetEventListeners"].type) == "EventListenerUnsetPayload!"
    assert "where" in _object("EventListenerUnsetPayload").fields["eventListeners"].args
    for gone in ("EventListenerInput", "EventListenersSetPayload", "EventListenersUnsetPayload"):
        assert gone not in schema.type_map
    create_input = schema.type_map["AccessTokenCreateInput"]
    assert isinstance(create_input, GraphQLInputObjectType)
    assert isinstance(create_input.fields["ttl"].type, GraphQLNonNull)


def test_the_sdl_keeps_every_documented_field_of_tax_rules_and_accesses() -> None:
    rule = _object("TaxRule").fields
    for name in ("applyFrom", "applyTo", "zipCode", "city", "orderPriceRestriction", "itemPriceRestriction",
                 "states", "taxClasses", "taxGroup", "countries", "applyTaxType"):
        assert name in rule, name
    assert "format" in rule["applyFrom"].args
    access = _object("GraphQLAccess").fields
    assert {"addedByAdminUser", "callStats", "user", "token", "isValid"} <= set(access)


def _sdl_with(*replacements: tuple[str, str]) -> str:
    text = operations.schema_text()
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_capabilities_are_found_by_input_type_not_by_name() -> None:
    schema = build_schema(_sdl_with(
        ("createAccessToken(input", "accessTokenCreate(input"),
        ("unsetEventListeners(input: [EventListenerUnsetInput!]!)", "unsetEventListeners(input: [String!]!)"),
        ("  setEventListeners(input", "  eventListenersSet(input"),
        ("\ntype Mutation {", "\ninput TaxGroupCreateInput { name: String }\ntype Mutation {\n"
                            "  createTaxGroup(input: TaxGroupCreateInput!): AccessTokenRevokePayload"),
        ("createPricelist(input", "pricelistCreate(input")))
    caps = from_schema(schema)
    assert caps.create_token == "accessTokenCreate" and caps.update_token == "updateAccessToken"
    assert caps.set_event_listeners == "eventListenersSet" and caps.unset_event_listeners is None
    assert caps.create_pricelist == "pricelistCreate"
    assert caps.unused_writes == ("tax groups",)
    assert caps.lacking == {"unset_event_listeners": "the target's schema has no mutation taking "
                                                     "EventListenerUnsetInput"}


def test_a_mutation_whose_payload_or_input_lacks_a_field_the_tool_uses_is_not_offered() -> None:
    caps = from_schema(build_schema(_sdl_with(
        ("type PricelistCreatePayload implements Payload {\n  pricelist: Pricelist",
         "type PricelistCreatePayload implements Payload {\n  priceList: Pricelist"),
        ("input MarketCreateInput {  # fields [confirmed]\n  name: String!\n  store: StoreInput!\n  comment: String\n",
         "input MarketCreateInput {\n  name: String!\n  store: StoreInput!\n"),
        ("createAccessToken(input: AccessTokenCreateInput!): AccessTokenCreatePayload!",
         "createAccessToken(input: AccessTokenCreateInput!): EventListenerSetPayload!"))))
    assert caps.create_pricelist is None and caps.create_market is None and caps.create_token is None
    assert caps.lacking["create_pricelist"].startswith(
        "createPricelist: Cannot query field 'pricelist' on type 'PricelistCreatePayload'")
    assert caps.lacking["create_market"] == "createMarket: the target's MarketCreateInput has no field comment"
    assert caps.lacking["create_token"].startswith("createAccessToken: Cannot query field")
    assert caps.update_pricelist == "updatePricelist"
    assert caps.why_not("create_pricelist") == caps.lacking["create_pricelist"]


def test_our_own_sdl_offers_every_write_the_tool_uses() -> None:
    caps = from_schema(operations.schema())
    assert (caps.create_token, caps.update_token) == ("createAccessToken", "updateAccessToken")
    assert (caps.set_event_listeners, caps.unset_event_listeners) == ("setEventListeners", "unsetEventListeners")


def test_no_mutations_means_no_api_capability() -> None:
    caps = from_schema(build_schema("type Query { ok: Boolean }"))
    assert caps.create_token is None and caps.set_event_listeners is None


def test_a_discovered_name_replaces_the_root_field_keeping_the_response_key() -> None:
    renamed = operations.with_root_field(operations.load("create_access_token"), "accessTokenCreate")
    text = print_ast(renamed)
    assert "createAccessToken: accessTokenCreate(input: $input)" in text


def test_mutations_sent_together_validate_keep_their_order_and_are_sent_once() -> None:
    parts = (("update_access_token", "updateAccessToken"), ("create_warehouse", "createWarehouse"))
    together = operations.together(parts)
    assert validate(operations.schema(), parse(together.text)) == []
    assert together.text.startswith("mutation UpdateAccessToken_CreateWarehouse($w0_id: Int!, $w0_input: ")
    assert [key for key, _, _ in together.shape] == ["updateAccessToken", "createWarehouse"]
    # an update alone may be sent twice; with a create beside it, never (the first field does not decide)
    assert operations.renamed("update_access_token", "updateAccessToken").idempotent
    assert not together.idempotent
    assert operations.together(parts) is together  # printed once


def test_mutations_sent_together_keep_the_answer_keys_of_a_renamed_field() -> None:
    together = operations.together((("create_access_token", "accessTokenCreate"),
                                    ("create_warehouse", "createWarehouse")))
    assert "createAccessToken: accessTokenCreate(input: $w0_input)" in together.text
    assert [key for key, _, _ in together.shape] == ["createAccessToken", "createWarehouse"]


def test_one_operation_twice_is_not_sent_together() -> None:
    with pytest.raises(ValueError, match="each operation once"):
        operations.together((("create_warehouse", "createWarehouse"), ("create_warehouse", "createWarehouse")))
