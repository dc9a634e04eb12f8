"""What the target Centra can write, discovered by introspection (docs/centra.md): a mutation is found by
the input type it takes, not by its name alone, because Centra adds write support "with every version"."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from provisioner.centra.client import CentraClient

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


def _named_type(ref: dict[str, Any] | None) -> str | None:
    while ref is not None:
        if ref.get("name"):
            return str(ref["name"])
        ref = ref.get("ofType")
    return None


def from_introspection(data: dict[str, Any]) -> Capabilities:
    fields = ((data.get("__schema") or {}).get("mutationType") or {}).get("fields") or []
    by_input: dict[str, list[str]] = {}
    for mutation in fields:
        for argument in mutation.get("args") or []:
            type_name = _named_type(argument.get("type"))
            if type_name:
                by_input.setdefault(type_name, []).append(mutation["name"])

    # Revocation takes only an id: found by the payload type it returns.
    revoking = [m["name"] for m in fields if _named_type(m.get("type")) == "AccessTokenRevokePayload"]

    def taking(type_name: str, prefix: str = "") -> str | None:
        names = [n for n in by_input.get(type_name, []) if n.startswith(prefix)]
        return names[0] if names else None

    unused = tuple(resource for resource, stem in WATCHED_INPUTS.items()
                   if any(t.startswith(stem) and t.endswith("Input") and not t.endswith("FilterInput")
                          for t in by_input))
    return Capabilities(
        create_token=taking("AccessTokenCreateInput"), update_token=taking("AccessTokenUpdateInput"),
        # set and unset take the same input type; their verb tells them apart
        set_event_listeners=taking("EventListenerInput", "set"),
        unset_event_listeners=taking("EventListenerInput", "unset"),
        revoke_token=revoking[0] if revoking else None, unused_writes=unused)


def discover(client: CentraClient) -> Capabilities:
    return from_introspection(client.run("capabilities").data)
