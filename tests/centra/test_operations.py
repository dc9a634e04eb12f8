"""Every operation the client sends validates against schema.graphql; capabilities come from input types."""

from __future__ import annotations

from graphql import print_ast

from provisioner.centra import operations
from provisioner.centra.capabilities import from_introspection


def test_every_operation_file_validates_against_the_sdl() -> None:
    assert "live_state" in operations.names() and "catalog_page" in operations.names()
    for name in operations.names():
        operations.load(name)


def _field(name: str, input_type: str) -> dict[str, object]:
    return {"name": name, "args": [{"name": "input", "type": {"kind": "NON_NULL", "name": None, "ofType": {
        "kind": "INPUT_OBJECT", "name": input_type, "ofType": None}}}]}


def test_capabilities_are_found_by_input_type_not_by_name() -> None:
    data = {"__schema": {"mutationType": {"fields": [
        _field("accessTokenCreate", "AccessTokenCreateInput"), _field("updateAccessToken", "AccessTokenUpdateInput"),
        {"name": "setEventListeners", "args": [{"name": "input", "type": {"kind": "NON_NULL", "name": None,
         "ofType": {"kind": "LIST", "name": None, "ofType": {"kind": "NON_NULL", "name": None, "ofType": {
             "kind": "INPUT_OBJECT", "name": "EventListenerInput"}}}}}]},
        _field("createTaxGroup", "TaxGroupCreateInput")]}}}
    caps = from_introspection(data)
    assert caps.create_token == "accessTokenCreate" and caps.update_token == "updateAccessToken"
    assert caps.set_event_listeners == "setEventListeners" and caps.unset_event_listeners is None
    assert caps.unused_writes == ("tax groups",)


def test_no_mutations_means_no_api_capability() -> None:
    caps = from_introspection({"__schema": {"mutationType": None}})
    assert caps.create_token is None and caps.set_event_listeners is None


def test_a_discovered_name_replaces_the_root_field_keeping_the_response_key() -> None:
    renamed = operations.with_root_field(operations.load("create_access_token"), "accessTokenCreate")
    text = print_ast(renamed)
    assert "createAccessToken: accessTokenCreate(input: $input)" in text
