"""What the target Centra can write, discovered from its own schema (introspection): a mutation is found
by the input type it takes, or the payload type it returns, not by its name alone, because Centra adds
write support "with every version" and names are the part of its docs least often shown verbatim."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from graphql import GraphQLSchema, get_named_type

from provisioner.centra.client import CentraClient
from provisioner.centra.introspection import target_schema

# Input types that would make a manual resource writable; none exists in Centra's public schema today.
WATCHED_INPUTS = {"attribute types": "AttributeType", "tax groups": "TaxGroup", "tax rules": "TaxRule",
                  "plugins": "StorePlugin"}


@dataclass(frozen=True)
class Capabilities:
    create_token: str | None = None
    update_token: str | None = None
    set_event_listeners: str | None = None
    unset_event_listeners: str | None = None
    revoke_token: str | None = None
    unused_writes: tuple[str, ...] = ()  # writable resources this tool still treats as manual

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_schema(schema: GraphQLSchema) -> Capabilities:
    mutations = schema.mutation_type.fields if schema.mutation_type else {}
    by_input: dict[str, list[str]] = {}
    for name, mutation in mutations.items():
        for argument in mutation.args.values():
            by_input.setdefault(get_named_type(argument.type).name, []).append(name)
    # Revocation takes only an id: found by the payload type it returns.
    revoking = sorted(name for name, mutation in mutations.items()
                      if get_named_type(mutation.type).name == "AccessTokenRevokePayload")

    def taking(type_name: str) -> str | None:
        names = by_input.get(type_name, [])
        return sorted(names)[0] if names else None

    unused = tuple(resource for resource, stem in WATCHED_INPUTS.items()
                   if any(t.startswith(stem) and t.endswith("Input") and not t.endswith("FilterInput")
                          for t in by_input))
    return Capabilities(
        create_token=taking("AccessTokenCreateInput"), update_token=taking("AccessTokenUpdateInput"),
        set_event_listeners=taking("EventListenerSetInput"),
        unset_event_listeners=taking("EventListenerUnsetInput"),
        revoke_token=revoking[0] if revoking else None, unused_writes=unused)


def discover(client: CentraClient) -> Capabilities:
    return from_schema(target_schema(client).schema)
