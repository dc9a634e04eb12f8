"""Schemas built from introspection are shared by content: hosts on one Centra version share one."""

from __future__ import annotations

import copy
import json

from graphql import get_introspection_query, graphql_sync

from provisioner.centra import operations
from provisioner.centra.introspection import TargetSchema


def _introspection() -> dict[str, object]:
    result = graphql_sync(operations.schema(), get_introspection_query(descriptions=False))
    assert result.errors is None and result.data is not None
    return json.loads(json.dumps(result.data))  # as it arrives over HTTP: a fresh, plain copy


def test_hosts_with_the_same_introspection_share_one_schema_and_one_copy_of_it() -> None:
    data = _introspection()
    one = TargetSchema("a.centra.example", "v1", 0.0, data)
    other = TargetSchema("b.centra.example", "v1", 0.0, copy.deepcopy(data))
    assert one.digest == other.digest
    assert one.schema is other.schema
    assert other.introspection is one.introspection  # the second host's copy is let go
    assert one.schema.query_type is not None and "stores" in one.schema.query_type.fields


def test_a_different_introspection_gets_its_own_schema() -> None:
    data = _introspection()
    changed = copy.deepcopy(data)
    schema_part = changed["__schema"]
    assert isinstance(schema_part, dict)
    query_type = next(t for t in schema_part["types"] if t["name"] == "Query")
    query_type["fields"] = [f for f in query_type["fields"] if f["name"] != "countries"]
    one = TargetSchema("a.centra.example", "v1", 0.0, data)
    other = TargetSchema("b.centra.example", "v2", 0.0, changed)
    assert one.digest != other.digest and one.schema is not other.schema
    assert other.schema.query_type is not None and "countries" not in other.schema.query_type.fields
    assert other.introspection is changed
