"""Centra's behaviour over GraphQL: permissions, errors, extensions, lists, tokens, event listeners."""

from __future__ import annotations

import json

import pytest
from graphql import get_introspection_query, graphql_sync

from provisioner.sandbox.app import schema
from provisioner.sandbox.instance import Sandbox
from provisioner.sandbox.wire import Response
from tests.sandbox.conftest import CATALOG_QUERY, Call, Clock, new_token, sandbox_request


def _catalog_pages(call: Call, token: str | None = None) -> list[list[dict[str, object]]]:
    pages = []
    for page in range(1, 100):
        products = call(CATALOG_QUERY, {"status": ["ACTIVE"], "page": page}, token=token).payload()["data"]["products"]
        if not products:
            return pages
        pages.append(products)
    raise AssertionError("pagination never ended")


def test_seed_catalog_query_validates_unchanged_and_pages(call: Call, box: Sandbox) -> None:
    pages = _catalog_pages(call)
    active = [p for p in range(1, 96) if p % 11 != 0]
    assert [len(page) for page in pages] == [30, 30, 27]
    assert sorted(p["id"] for page in pages for p in page) == active
    products = [p for page in pages for p in page]
    assert any(p["countryOfOrigin"] is None for p in products)
    assert any(p["displays"] == [] for p in products)
    with_display = next(p for p in products if p["displays"])
    sizes = with_display["displays"][0]["displayItems"][0]["productVariant"]["productSizes"]
    assert sizes and {"id", "SKU"} == set(sizes[0])


def test_missing_permission_is_centras_authorization_error(call: Call, box: Sandbox) -> None:
    token = new_token(box, ["Store:read"])
    body = call(CATALOG_QUERY, {"status": ["ACTIVE"], "page": 1}, token=token).payload()
    error = body["errors"][0]
    assert error["message"] == "You need Product:read permission to access products."
    assert error["extensions"] == {"category": "authorization"}
    assert error["path"] == ["products"]
    assert body["extensions"]["permissionsUsed"] == ["Product:read"]


def test_nested_permission_is_checked_per_field(call: Call, box: Sandbox) -> None:
    token = new_token(box, ["TaxRule:read"])
    body = call("{ taxGroups { name defaultInStores { name } } }", token=token).payload()
    assert body["errors"][0]["message"] == "You need Store:read permission to access defaultInStores."


@pytest.mark.parametrize("case", ["unknown", "expired", "revoked", "missing"])
def test_unknown_expired_or_revoked_token_gets_403(call: Call, box: Sandbox, case: str) -> None:
    token = "not-a-token"
    if case == "expired":
        token = new_token(box, ["Store:read"], ttl=1)
        sandbox_request(box, "PATCH", "/_sandbox/tokens/2", {"expires_in": -10})
    elif case == "revoked":
        token = new_token(box, ["Store:read"])
        sandbox_request(box, "PATCH", "/_sandbox/tokens/2", {"revoked": True})
    headers = {"authorization": ""} if case == "missing" else None
    response = call("{ stores { id } }", token=token, headers=headers)
    assert response.status == 403


def test_cookie_authentication_works_like_centras(box: Sandbox) -> None:
    from provisioner.sandbox.wire import Request
    response = box.app.handle(Request("POST", "/graphql", headers={"cookie": f"graphql-access={box.admin_token}"},
                                      body=b'{"query": "{ stores { id } }"}'))
    assert response.status == 200


def test_invalid_query_is_400_with_errors(call: Call) -> None:
    response = call("{ stores { taxNumber } }")
    assert response.status == 400
    assert "taxNumber" in response.payload()["errors"][0]["message"]


def test_extensions_report_complexity_permissions_and_version(call: Call) -> None:
    extensions = call("{ stores { id } warehouses { name } }").payload()["extensions"]
    assert extensions["permissionsUsed"] == ["Store:read", "Warehouse:read"]
    assert extensions["complexity"] == 122  # two lists priced as 60 items each: 2 × (1 + 60 × 1)
    assert extensions["appVersion"].startswith("v")


def test_an_introspection_answer_is_kept_as_json_and_still_carries_its_extensions(call: Call) -> None:
    query = get_introspection_query(descriptions=False)
    first, again = call(query), call(query)
    assert first.body == again.body  # one serialised answer, with this request's extensions added
    answer = first.payload()
    assert list(answer) == ["data", "extensions"] and answer["extensions"]["appVersion"].startswith("v")
    expected = graphql_sync(schema(), query)
    assert expected.errors is None and answer["data"] == json.loads(json.dumps(expected.data))


@pytest.mark.parametrize(("serialised", "more", "joined"), [
    ('{"data": {"a": 1}}', {"extensions": {"b": 2}}, {"data": {"a": 1}, "extensions": {"b": 2}}),
    ("{}", {"extensions": {}}, {"extensions": {}}),
    ('{"data": null}', {}, {"data": None})])
def test_a_serialised_answer_takes_more_keys_as_valid_json(serialised: str, more: dict[str, object],
                                                           joined: dict[str, object]) -> None:
    assert json.loads(Response.json_with(200, serialised, more).body) == joined
    with pytest.raises(ValueError):
        Response.json_with(200, "[1]", more)


def test_the_cost_of_a_query_without_variables_is_priced_once(call: Call) -> None:
    from provisioner.sandbox import graphql_api

    query = "query Twice { stores { id } warehouses { name } }"
    first = call(query).payload()["extensions"]["complexity"]
    hits = graphql_api._cost_without_variables.cache_info().hits
    assert call(query).payload()["extensions"]["complexity"] == first == 122
    assert graphql_api._cost_without_variables.cache_info().hits == hits + 1


def test_where_sort_limit_page(call: Call) -> None:
    data = call('{ a: storePlugins(where: {name: {contains: "y"}}, sort: [id_DESC]) { name } '
                'b: storePlugins(where: {type: [FEED], negate: ["type"]}, limit: 1, page: 2) { name } '
                'c: warehouses(where: {name: {equals: "Retail"}}) { id } '
                'd: stores(where: {search: "global"}) { name } }').payload()["data"]
    assert [p["name"] for p in data["a"]] == ["Klaviyo", "Adyen Drop-In"]
    assert [p["name"] for p in data["b"]] == ["Klaviyo"]
    assert data["c"] == [{"id": 1}]
    assert data["d"] == [{"name": "GlobalE Store"}]


def test_string_match_takes_exactly_one_field(call: Call) -> None:
    body = call('{ stores(where: {name: {equals: "a", contains: "b"}}) { id } }').payload()
    assert "Exactly one input field" in body["errors"][0]["message"]


def test_attribute_types_read_as_centra_renders_the_configuration(call: Call) -> None:
    types = call('{ attributeTypes(where: {name: {equals: "sh_swatch"}}) { name description isMapped isMulti '
                 'objectType elements { key description kind isMulti paramsJSON } } }').payload()["data"]
    assert types["attributeTypes"] == [{
        "name": "sh_swatch", "description": "Showroom Color Swatch", "isMapped": True, "isMulti": False,
        "objectType": "ProductVariant",
        "elements": [{"key": "color", "description": "Image", "kind": "IMAGE", "isMulti": False,
                      "paramsJSON": '{"size": "60x60"}'},
                     {"key": "color_text", "description": "Color", "kind": "TEXTAREA", "isMulti": False,
                      "paramsJSON": "{}"}]}]


TOKEN_INPUT = ('{name: "ERP", organizationName: "Acme", integrationName: "erp", email: "erp@acme.example", '
               'permissions: ["Order:read", "Shipment:write"], restrictions: {storeId: [1]}, ttl: 3600}')


def test_token_value_is_shown_once_in_the_create_payload(call: Call) -> None:
    created = call(f"mutation {{ createAccessToken(input: {TOKEN_INPUT}) {{ accessToken {{ id token isValid "
                   "user { name permissions restrictions { storeId } } } userErrors { message path } } }")
    payload = created.payload()["data"]["createAccessToken"]
    value = payload["accessToken"]["token"]
    assert len(value) == 40 and payload["userErrors"] == []
    assert payload["accessToken"]["user"] == {"name": "ERP", "permissions": ["Order:read", "Shipment:write"],
                                              "restrictions": {"storeId": [1]}}
    assert value not in call("{ graphQLAccesses { id token } }").body.decode()
    token_ids = [t["id"] for t in call("{ graphQLAccesses { id } }").payload()["data"]["graphQLAccesses"]]
    assert payload["accessToken"]["id"] in token_ids
    # the new token works, within its permissions
    assert call("{ stores { id } }", token=value).payload()["errors"][0]["extensions"]["category"] == "authorization"


def test_bad_token_input_is_user_errors_and_changes_nothing(call: Call) -> None:
    before = call("{ graphQLAccesses { id } }").payload()["data"]["graphQLAccesses"]
    body = call('mutation { createAccessToken(input: {name: "x", organizationName: "o", integrationName: "i", '
                'email: "nope", permissions: ["Order:read", "drop table"], restrictions: {storeId: [99]}, ttl: 60}) '
                '{ accessToken { id } userErrors { message path } } }').payload()
    assert body["data"]["createAccessToken"]["accessToken"] is None
    paths = [e["path"] for e in body["data"]["createAccessToken"]["userErrors"]]
    assert paths == [["input", "email"], ["input", "permissions", "1"], ["input", "restrictions", "storeId", "0"]]
    assert call("{ graphQLAccesses { id } }").payload()["data"]["graphQLAccesses"] == before


def test_update_token_changes_fields_and_ttl(call: Call, clock: Clock) -> None:
    created = call(f"mutation {{ createAccessToken(input: {TOKEN_INPUT}) {{ accessToken {{ id }} }} }}").payload()
    token_id = created["data"]["createAccessToken"]["accessToken"]["id"]
    body = call("mutation($id: Int!) { updateAccessToken(id: $id, input: {permissions: [\"Order:read\"], "
                "ttl: 7200}) { accessToken { token expiresAt(format: \"U\") user { permissions } } "
                "userErrors { message } } }", {"id": token_id}).payload()["data"]["updateAccessToken"]
    assert body["userErrors"] == []
    assert body["accessToken"]["user"]["permissions"] == ["Order:read"]
    assert body["accessToken"]["token"].endswith("…")
    assert int(body["accessToken"]["expiresAt"]) == int(clock.now + 7200)
    missing = call('mutation { updateAccessToken(id: 999, input: {name: "x"}) { userErrors { path } } }').payload()
    assert missing["data"]["updateAccessToken"]["userErrors"] == [{"path": ["id"]}]


def test_event_listeners_are_additive_and_unset_removes(call: Call) -> None:
    set_ = ("mutation($input: [EventListenerSetInput!]!) { setEventListeners(input: $input) "
            "{ eventListeners { objectType changeTypes } userErrors { message } } }")
    call(set_, {"input": [{"objectType": "Order", "changeTypes": ["CREATED"]}]})
    body = call(set_, {"input": [{"objectType": "Order", "changeTypes": ["UPDATED"]}, {"objectType": "Return"}]})
    listeners = body.payload()["data"]["setEventListeners"]["eventListeners"]
    assert listeners == [{"objectType": "Order", "changeTypes": ["CREATED", "UPDATED"]},
                         {"objectType": "Return", "changeTypes": ["CREATED", "UPDATED", "DELETED", "COMPLETED",
                                                                  "DEPENDENT_DATA_CHANGED"]}]
    unset = call("mutation { unsetEventListeners(input: [{objectType: Order, changeTypes: [CREATED]}, "
                 "{objectType: Return}]) { eventListeners { objectType changeTypes } } }").payload()
    assert unset["data"]["unsetEventListeners"]["eventListeners"] == [{"objectType": "Order",
                                                                        "changeTypes": ["UPDATED"]}]
    read = call("{ eventListeners { integrationName objectType } }").payload()["data"]["eventListeners"]
    assert read == [{"integrationName": "provisioner", "objectType": "Order"}]


def test_the_unset_payload_filters_its_listeners(call: Call) -> None:
    call("mutation { setEventListeners(input: [{objectType: Order}, {objectType: Return}]) "
         "{ userErrors { message } } }")
    body = call("mutation { unsetEventListeners(input: [{objectType: Order, changeTypes: [CREATED]}]) "
                "{ eventListeners(where: {objectType: [Return]}) { objectType } } }").payload()
    assert body["data"]["unsetEventListeners"]["eventListeners"] == [{"objectType": "Return"}]


def test_a_denied_field_keeps_the_allowed_data_where_the_schema_lets_it_be_null() -> None:
    from graphql import build_schema, parse

    from provisioner.sandbox import graphql_api

    schema = graphql_api.bind(build_schema("type Query { open: String  guarded: String  required: String! }"),
                              {"Query": {"open": lambda *_: "visible", "guarded": lambda *_: "hidden",
                                         "required": lambda *_: "hidden"}},
                              {("Query", "guarded"): "Secret:read", ("Query", "required"): "Secret:read"})

    def run(query: str) -> dict[str, object]:
        context = graphql_api.Context(None, {}, frozenset())  # type: ignore[arg-type]
        return graphql_api.run(schema, parse(query), context, {}, None)

    partial = run("{ open guarded }")
    assert partial["data"] == {"open": "visible", "guarded": None}
    assert partial["errors"][0]["extensions"] == {"category": "authorization"}  # type: ignore[index]
    whole = run("{ open required }")  # a non-null denial nulls the answer: no data key, as Centra shows it
    assert "data" not in whole and whole["errors"][0]["path"] == ["required"]  # type: ignore[index]


def test_a_denied_root_field_answers_without_a_data_key(call: Call, box: Sandbox) -> None:
    token = new_token(box, ["Store:read"])
    body = call("{ stores { id } taxGroups { id } }", token=token).payload()
    assert "data" not in body
    assert body["errors"][0]["message"] == "You need TaxRule:read permission to access taxGroups."
    assert body["errors"][0]["extensions"] == {"category": "authorization"} and body["errors"][0]["path"]


@pytest.mark.parametrize("sort", [["id_ASC"], ["updatedAt_DESC"], None])
def test_catalogue_pages_sort_on_an_index_not_in_a_temporary_tree(box: Sandbox, sort: list[str] | None) -> None:
    from provisioner.sandbox.resolvers import product_page_sql

    sql, params = product_page_sql({"status": ["ACTIVE"]}, sort, 200, 500)
    with box.store.transaction() as db:
        plan = " | ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan
