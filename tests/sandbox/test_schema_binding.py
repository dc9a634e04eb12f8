"""The emulator and the SDL are one: resolvers are bound strictly and every rule names a real field."""

from __future__ import annotations

import pytest
from graphql import build_schema

from provisioner.sandbox import graphql_api
from provisioner.sandbox.app import schema
from provisioner.sandbox.mutations import MUTATION
from provisioner.sandbox.resolvers import QUERY


def test_every_root_field_has_a_resolver_and_every_resolver_a_field() -> None:
    built = schema()
    assert built.query_type is not None and built.mutation_type is not None
    for root in (built.query_type, built.mutation_type):
        assert all(f.resolve is not None for f in root.fields.values())


def test_a_resolver_for_a_field_not_in_the_sdl_fails_at_start_up() -> None:
    resolvers = {**QUERY, **MUTATION, "Store": {"taxNumber": lambda *_: None}}
    with pytest.raises(graphql_api.BindingError, match=r"unknown field Store\.taxNumber"):
        graphql_api.bind(build_schema(graphql_api.sdl()), resolvers)


def test_a_resolver_for_a_type_not_in_the_sdl_fails_at_start_up() -> None:
    with pytest.raises(graphql_api.BindingError, match="unknown type AttributeTypeCreatePayload"):
        graphql_api.bind(build_schema(graphql_api.sdl()), {**QUERY, **MUTATION, "AttributeTypeCreatePayload": {}})


def test_a_root_field_without_resolver_fails_at_start_up() -> None:
    query = {**QUERY, "Query": {k: v for k, v in QUERY["Query"].items() if k != "taxGroups"}}
    with pytest.raises(graphql_api.BindingError, match=r"no resolver for Query\.taxGroups"):
        graphql_api.bind(build_schema(graphql_api.sdl()), {**query, **MUTATION})


def test_capabilities_are_exactly_centras_no_writes_for_attribute_types_tax_or_plugins() -> None:
    mutation = schema().mutation_type
    assert mutation is not None
    assert set(mutation.fields) == {"createAccessToken", "updateAccessToken", "setEventListeners",
                                    "unsetEventListeners", "revokeAccessToken", "createMarket", "updateMarket",
                                    "createPricelist", "updatePricelist", "deletePricelist", "createWarehouse"}


def test_php_date_formats_centras_default() -> None:
    assert graphql_api.php_date(0, "Y-m-d\\TH:i:sP") == "1970-01-01T00:00:00+00:00"


def test_the_schema_is_one_object_however_it_is_asked_for() -> None:
    """Requests name their variant; the app and a fleet's warm-up ask without one: the same cached schema
    (once two keys of one cache, so every served emulator built it again on its first requests)."""
    from concurrent.futures import ThreadPoolExecutor

    from provisioner.sandbox.app import SDL_AS_IS
    from provisioner.sandbox.variants import Variant

    with ThreadPoolExecutor(max_workers=4) as pool:
        asked = list(pool.map(lambda variant: schema(variant), [Variant(), SDL_AS_IS, Variant(), SDL_AS_IS]))
    assert all(built is schema() for built in asked)
