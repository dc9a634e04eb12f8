"""What the target Centra can write, discovered from its own schema (introspection): a mutation is found
by the input type it takes, or the payload type it returns, not by its name alone, because Centra adds
write support "with every version" and names are the part of its docs least often shown verbatim.

Worked out once per schema and kept with its facts (schema_store.py) as plain JSON, so a plan whose
target's schema is cached reads them back without building the schema (or importing graphql-core)."""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any

from provisioner.centra import operations
from provisioner.centra.client import CentraClient
from provisioner.centra.introspection import CACHE

if TYPE_CHECKING:
    from graphql import GraphQLSchema

# Input types that would make a manual resource writable; none exists in Centra's public schema today.
WATCHED_INPUTS = {"attribute types": "AttributeType", "tax groups": "TaxGroup", "tax rules": "TaxRule",
                  "plugins": "StorePlugin"}


@dataclass(frozen=True)
class Write:
    """A mutation the tool sends: its operation file, found in the target by the input type it takes (or,
    taking only an id, by the payload type it returns), and the input fields the tool fills."""

    operation: str
    input_type: str | None = None
    payload_type: str | None = None
    input_fields: tuple[str, ...] = ()

    @property
    def wanted(self) -> str:
        return f"taking {self.input_type}" if self.input_type else f"returning {self.payload_type}"


_TOKEN_FIELDS = ("name", "organizationName", "integrationName", "email", "phoneNumber", "permissions",
                 "restrictions", "ttl")
WRITES: dict[str, Write] = {
    "create_token": Write("create_access_token", "AccessTokenCreateInput", input_fields=_TOKEN_FIELDS),
    "update_token": Write("update_access_token", "AccessTokenUpdateInput", input_fields=_TOKEN_FIELDS),
    "set_event_listeners": Write("set_event_listeners", "EventListenerSetInput", input_fields=("objectType",
                                                                                               "changeTypes")),
    "unset_event_listeners": Write("unset_event_listeners", "EventListenerUnsetInput",
                                   input_fields=("objectType", "changeTypes")),
    "revoke_token": Write("revoke_access_token", payload_type="AccessTokenRevokePayload"),
    "create_market": Write("create_market", "MarketCreateInput", input_fields=("name", "store", "comment",
                                                                               "addCountries")),
    "update_market": Write("update_market", "MarketUpdateInput", input_fields=("comment", "addCountries",
                                                                               "removeCountries")),
    "create_pricelist": Write("create_pricelist", "PricelistCreateInput", input_fields=(
        "name", "status", "store", "currencyIsoCode", "defaultShippingOption", "addCountries")),
    "update_pricelist": Write("update_pricelist", "PricelistUpdateInput", input_fields=(
        "status", "defaultShippingOption", "addCountries", "removeCountries")),
    "delete_pricelist": Write("delete_pricelist", payload_type="PricelistDeletePayload"),
    "create_warehouse": Write("create_warehouse", "WarehouseCreateInput", input_fields=("name",)),
}


@dataclass(frozen=True)
class Capabilities:
    create_token: str | None = None
    update_token: str | None = None
    set_event_listeners: str | None = None
    unset_event_listeners: str | None = None
    revoke_token: str | None = None
    create_market: str | None = None
    update_market: str | None = None
    create_pricelist: str | None = None
    update_pricelist: str | None = None
    delete_pricelist: str | None = None
    create_warehouse: str | None = None
    unused_writes: tuple[str, ...] = ()  # writable resources this tool still treats as manual
    # capability -> what the target lacks for it (a mutation, or a field of its input or payload)
    lacking: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def why_not(self, *names: str) -> str | None:
        """Why a write is not made through the API: the first of `names` the target lacks, in words."""
        for name in names:
            if getattr(self, name) is None:
                return self.lacking.get(name) or f"the target exposes no mutation for {name.replace('_', ' ')}"
        return None


def _confirmed(schema: GraphQLSchema, name: str, write: Write) -> str | None:
    """Why the target cannot take this write as the tool sends it, or None: the operation, under the
    target's name, validated against the target's schema, and every input field the tool fills."""
    from graphql import GraphQLInputObjectType, validate

    document = operations.with_root_field(operations.parsed(write.operation), name)
    errors = validate(schema, document)
    if errors:
        return f"{name}: {errors[0].message}"
    if write.input_type:
        input_type = schema.type_map.get(write.input_type)
        fields = input_type.fields if isinstance(input_type, GraphQLInputObjectType) else {}
        missing = [f for f in write.input_fields if f not in fields]
        if missing:
            return f"{name}: the target's {write.input_type} has no field {', '.join(missing)}"
    return None


_CACHE: weakref.WeakKeyDictionary[GraphQLSchema, Capabilities] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def from_schema(schema: GraphQLSchema) -> Capabilities:
    """What the target can write (worked out once per schema: a fleet on one Centra version shares it)."""
    with _LOCK:
        found = _CACHE.get(schema)
        if found is None:
            found = _CACHE[schema] = _from_schema(schema)
        return found


def _from_schema(schema: GraphQLSchema) -> Capabilities:
    from graphql import get_named_type

    mutations = schema.mutation_type.fields if schema.mutation_type else {}
    by_input: dict[str, list[str]] = {}
    by_payload: dict[str, list[str]] = {}
    for name, mutation in mutations.items():
        by_payload.setdefault(get_named_type(mutation.type).name, []).append(name)
        for argument in mutation.args.values():
            by_input.setdefault(get_named_type(argument.type).name, []).append(name)
    found: dict[str, str | None] = {}
    lacking: dict[str, str] = {}
    for key, write in WRITES.items():
        names = sorted(by_input.get(write.input_type, []) if write.input_type
                       else by_payload.get(write.payload_type or "", []))
        if not names:
            found[key] = None
            lacking[key] = f"the target's schema has no mutation {write.wanted}"
            continue
        # The first that takes the write as the tool sends it; else why the first does not.
        reasons = [(name, _confirmed(schema, name, write)) for name in names]
        confirmed = next((name for name, why in reasons if why is None), None)
        found[key] = confirmed
        if confirmed is None:
            lacking[key] = str(reasons[0][1])
    unused = tuple(resource for resource, stem in WATCHED_INPUTS.items()
                   if any(t.startswith(stem) and t.endswith("Input") and not t.endswith("FilterInput")
                          for t in by_input))
    return Capabilities(**found, unused_writes=unused, lacking=lacking)


@cache
def _facts_key() -> str:
    """What the capabilities are worked out from on the tool's side (the writes it sends, their operation
    files): facts kept by an older version of the tool are not taken for this one's."""
    sources = [repr(sorted(WRITES.items())), repr(sorted(WATCHED_INPUTS.items()))]
    sources += [operations.source(write.operation) for _, write in sorted(WRITES.items())]
    return "capabilities:" + hashlib.sha256("\0".join(sources).encode()).hexdigest()[:16]


def as_plain(caps: Capabilities) -> dict[str, Any]:
    return caps.as_dict()


def from_plain(value: Any) -> Capabilities:
    """Capabilities as `as_plain` gave them, read back from JSON; ValueError for anything else."""
    if not isinstance(value, dict) or set(value) != {f.name for f in fields(Capabilities)}:
        raise ValueError("not capabilities")
    names = {key: value[key] for key in WRITES}
    unused, lacking = value["unused_writes"], value["lacking"]
    if (not all(name is None or isinstance(name, str) for name in names.values())
            or not isinstance(unused, list) or not all(isinstance(u, str) for u in unused)
            or not isinstance(lacking, dict) or not all(isinstance(w, str) for w in lacking.values())):
        raise ValueError("not capabilities")
    return Capabilities(**names, unused_writes=tuple(unused), lacking=dict(lacking))


def discover(client: CentraClient) -> Capabilities:
    """From the target's schema facts when they are known; else from its schema, kept with the facts."""
    target = CACHE.get(client)
    facts = CACHE.facts(target)
    try:
        return from_plain(facts.get(_facts_key(), lambda: as_plain(from_schema(target.schema))))
    except ValueError:  # a facts file that says something else: worked out again, and kept
        facts.replace(_facts_key(), as_plain(from_schema(target.schema)))
        return from_plain(facts.get(_facts_key(), lambda: None))  # as read back, like any other run
