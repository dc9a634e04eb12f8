"""The GraphQL side of the emulator: the schema built from `centra/schema.graphql`, resolvers bound
strictly, Centra's per-field permissions, complexity and the `extensions` block."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any, TypeGuard

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    default_field_resolver,
    execute,
    get_named_type,
    get_operation_ast,
    parse,
    validate,
    value_from_ast_untyped,
)

Resolver = Callable[..., Any]

# (type, field) -> the permission Centra requires. [confirmed] where the reference quotes a type page;
# the rest follow Centra's `<Type>:read` convention [inferred].
PERMISSIONS: dict[tuple[str, str], str] = {
    ("Query", "attributeTypes"): "Attribute:read",
    ("AttributeType", "elements"): "Attribute:read",
    ("Query", "stores"): "Store:read",
    ("Query", "markets"): "Market:read",
    ("Market", "store"): "Store:read",
    ("Market", "comment"): "Market.comment:read",
    ("Market", "assignedToCountries"): "Country:read",
    ("Query", "pricelists"): "Pricelist:read",
    ("Pricelist", "store"): "Store:read",
    ("Pricelist", "assignedToCountries"): "Country:read",
    ("Pricelist", "defaultShippingOption"): "ShippingOption:read",
    ("Query", "shippingOptions"): "ShippingOption:read",
    ("Query", "warehouses"): "Warehouse:read",
    ("Query", "countries"): "Country:read",
    ("Query", "products"): "Product:read",
    ("Counters", "products"): "Product:read",
    ("Product", "displays"): "Display:read",
    ("Display", "store"): "Store:read",
    ("DisplayItem", "productVariant"): "ProductVariant:read",
    ("ProductVariant", "productSizes"): "ProductSize:read",
    ("Query", "taxGroups"): "TaxRule:read",
    ("TaxGroup", "defaultInStores"): "Store:read",
    ("TaxGroup", "rules"): "TaxRule:read",
    ("Query", "storePlugins"): "StorePlugin:read",
    ("StorePlugin", "additionalStores"): "Store:read",
    ("StorePlugin", "store"): "Store:read",
    ("Query", "graphQLAccesses"): "admin",
    ("GraphQLAccess", "user"): "admin",
    ("Query", "eventListeners"): "Event:read",
    ("Mutation", "createAccessToken"): "admin",
    ("Mutation", "updateAccessToken"): "admin",
    ("Mutation", "revokeAccessToken"): "admin",
    ("Mutation", "createMarket"): "Market:write",
    ("Mutation", "updateMarket"): "Market:write",
    ("Mutation", "createPricelist"): "Pricelist:write",
    ("Mutation", "updatePricelist"): "Pricelist:write",
    ("Mutation", "deletePricelist"): "Pricelist:write",
    ("Mutation", "createWarehouse"): "Warehouse:write",
    ("Mutation", "setEventListeners"): "Event:write",
    ("Mutation", "unsetEventListeners"): "Event:write",
}


@dataclass
class Context:
    """One request: its transaction, the calling token, and what it used."""

    db: sqlite3.Connection
    token: Mapping[str, Any]
    granted: frozenset[str]
    now: float = field(default_factory=time.time)
    permissions_used: set[str] = field(default_factory=set)


@cache
def sdl() -> str:
    return resources.files("provisioner.centra").joinpath("schema.graphql").read_text(encoding="utf-8")


class BindingError(RuntimeError):
    """A resolver names a type or field the SDL does not have, or a root field has no resolver."""


def bind(schema: GraphQLSchema, resolvers: Mapping[str, Mapping[str, Resolver]],
         permissions: Mapping[tuple[str, str], str] = PERMISSIONS) -> GraphQLSchema:
    """Attach resolvers; refuse to start on any mismatch between them and the SDL."""
    problems = []
    for type_name, fields in resolvers.items():
        graphql_type = schema.type_map.get(type_name)
        if not isinstance(graphql_type, GraphQLObjectType):
            problems.append(f"resolvers for unknown type {type_name}")
            continue
        for field_name, resolver in fields.items():
            if field_name not in graphql_type.fields:
                problems.append(f"resolver for unknown field {type_name}.{field_name}")
            else:
                graphql_type.fields[field_name].resolve = resolver
    for root in (schema.query_type, schema.mutation_type):
        for field_name, root_field in (root.fields.items() if root else ()):
            if root_field.resolve is None:
                problems.append(f"no resolver for {root.name if root else ''}.{field_name}")
    for (type_name, field_name), permission in permissions.items():
        graphql_type = schema.type_map.get(type_name)
        if not isinstance(graphql_type, GraphQLObjectType) or field_name not in graphql_type.fields:
            problems.append(f"permission rule for unknown field {type_name}.{field_name}")
            continue
        guarded = graphql_type.fields[field_name]
        guarded.resolve = _guard(permission, guarded.resolve or default_field_resolver)
    if problems:
        raise BindingError("; ".join(problems))
    return schema


def build(resolvers: Mapping[str, Mapping[str, Resolver]]) -> GraphQLSchema:
    return bind(build_schema(sdl()), resolvers)


def _guard(permission: str, resolve: Resolver) -> Resolver:
    """Centra's per-field permission check, with its error shape. Bound only to guarded fields, so
    the other fields cost nothing."""
    def guarded(root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        context: Context = info.context
        context.permissions_used.add(permission)
        if permission not in context.granted:
            raise GraphQLError(f"You need {permission} permission to access {info.field_name}.",
                               extensions={"category": "authorization"})
        return resolve(root, info, **args)
    return guarded


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    errors: tuple[GraphQLError, ...]


@lru_cache(maxsize=256)
def _prepare(schema: GraphQLSchema, source: str) -> Prepared:
    try:
        document = parse(source)
    except GraphQLError as error:
        return Prepared(DocumentNode(definitions=()), (error,))
    return Prepared(document, tuple(validate(schema, document)))


# Parsing, validating and answering introspection are cached; under this lock, the first requests of a
# query, arriving together at a fleet of emulators, wait for one of them to do it instead of each doing it.
_CACHING = threading.RLock()


def prepare(schema: GraphQLSchema, source: str) -> Prepared:
    with _CACHING:
        return _prepare(schema, source)


def operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    return get_operation_ast(document, name)


# Centra's documented figures: `rateLimits` costs 10 (the rate-limit docs' example) and
# `stores { id name }` costs 121 (the PIM guide's example), i.e. 1 + 60 × 2: a list that takes `limit`
# and is given none is priced as 60 items [inferred from that one figure].
DEFAULT_LIST_SIZE = 60
FIXED_COSTS = {("Query", "rateLimits"): 10}


def query_cost(schema: GraphQLSchema, source: str, prepared: Prepared, op: OperationDefinitionNode,
               variables: Mapping[str, Any]) -> int:
    """`complexity`, kept per schema and query text when there are no variables to change it: an
    introspection query alone is ~2,000 fields to price, for every host of a fleet."""
    if variables:
        return complexity(prepared.document, op, variables, schema)
    with _CACHING:
        return _cost_without_variables(schema, source, op.name.value if op.name else None)


@lru_cache(maxsize=256)
def _cost_without_variables(schema: GraphQLSchema, source: str, operation_name: str | None) -> int:
    document = _prepare(schema, source).document
    op = operation(document, operation_name)
    return 0 if op is None else complexity(document, op, {}, schema)


def complexity(document: DocumentNode, op: OperationDefinitionNode, variables: Mapping[str, Any],
               schema: GraphQLSchema) -> int:
    """A cost model in Centra's spirit: every field costs 1; a list field that takes `limit` multiplies
    its children by that limit (nested lists are the most expensive)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def field_cost(selection: FieldNode, parent: GraphQLNamedType | None) -> int:
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        definition = fields.get(selection.name.value)
        fixed = FIXED_COSTS.get((parent.name if parent else "", selection.name.value))
        if fixed is not None:
            return fixed
        multiplier = 1
        if definition is not None and "limit" in definition.args:
            multiplier = DEFAULT_LIST_SIZE
            for argument in selection.arguments or ():
                if argument.name.value == "limit":
                    value = value_from_ast_untyped(argument.value, dict(variables))
                    multiplier = value if isinstance(value, int) and value > 0 else 1
        child = get_named_type(definition.type) if definition is not None else None
        return 1 + multiplier * cost(selection.selection_set, child)

    def cost(selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                total += cost(selection.selection_set, schema.get_type(condition.name.value) if condition else parent)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
                fragment = fragments[selection.name.value]
                total += cost(fragment.selection_set, schema.get_type(fragment.type_condition.name.value))
        return total

    root = schema.mutation_type if op.operation == OperationType.MUTATION else schema.query_type
    return cost(op.selection_set, root)


def run(schema: GraphQLSchema, document: DocumentNode, context: Context | None, variables: Mapping[str, Any] | None,
        operation_name: str | None) -> dict[str, Any]:
    result = execute(schema, document, variable_values=dict(variables or {}), operation_name=operation_name,
                     context_value=context, is_awaitable=_never_awaitable)
    if isinstance(result, ExecutionResult):
        formatted = dict(result.formatted)
        if formatted.get("data") is None and formatted.get("errors"):
            # Centra's denial (its authorization docs' example) has no `data` key at all; a denied
            # nullable field only nulls itself, and the allowed fields keep their data.
            formatted.pop("data", None)
        return formatted
    raise RuntimeError("the sandbox resolvers are synchronous")


# Root fields whose answer is the schema's alone: neither the store, the token nor the clock changes it.
SCHEMA_ONLY_FIELDS = frozenset({"__schema", "__type", "__typename"})


def introspects_only(op: OperationDefinitionNode) -> bool:
    return all(isinstance(selection, FieldNode) and selection.name.value in SCHEMA_ONLY_FIELDS
               for selection in op.selection_set.selections)


def run_introspection(schema: GraphQLSchema, source: str, operation_name: str | None) -> str:
    """An introspection-only operation without variables, answered once per schema and query text, and
    kept as JSON: a fleet of emulators on one process answers the same introspection (~16 ms to run,
    ~1 ms to serialise its ~80 kB) for every host. The caller adds `extensions` to the text."""
    with _CACHING:
        return _introspection(schema, source, operation_name)


@lru_cache(maxsize=32)
def _introspection(schema: GraphQLSchema, source: str, operation_name: str | None) -> str:
    # no resolver of ours runs
    return json.dumps(run(schema, _prepare(schema, source).document, None, None, operation_name))


def _never_awaitable(_: Any) -> TypeGuard[Awaitable[Any]]:
    return False  # every resolver here is synchronous; skip graphql-core's per-value check


def php_date(timestamp: float, fmt: str) -> str:
    """Centra's `format` argument takes PHP date() letters; the common ones are enough here."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    letters = {"Y": "%Y", "m": "%m", "d": "%d", "H": "%H", "i": "%M", "s": "%S", "y": "%y"}
    out, escaped = [], False
    for char in fmt:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in letters:
            out.append(moment.strftime(letters[char]))
        elif char == "P":
            out.append("+00:00")
        elif char == "U":
            out.append(str(int(timestamp)))
        else:
            out.append(char)
    return "".join(out)
