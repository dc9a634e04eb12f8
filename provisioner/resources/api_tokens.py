"""Integration API tokens: read with `admin`; created, updated and revoked through the API where the
target exposes the mutations (found by introspection), by hand in AMS otherwise."""

from __future__ import annotations

from typing import Any

from provisioner.centra.capabilities import Capabilities
from provisioner.config.models import ApiToken
from provisioner.config.resolve import DesiredState
from provisioner.resources.base import KindBase, Obj, section_of


def _normalise(token: ApiToken) -> Obj:
    permissions = token.permissions
    return {"organization": token.organization, "integration": token.integration, "email": token.email,
            "phone": token.phone, "permissions": sorted(set(permissions.read) | set(permissions.write)),
            "stores": sorted(token.stores) if token.stores is not None else None,
            "store_types": token.store_types if token.store_types == "all" else sorted(token.store_types),
            "valid": True}


def _epoch(value: Any) -> float | None:
    """`expiresAt(format: "U")`: seconds since the epoch, as a string."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class ApiTokens(KindBase):
    kind = "api_token"
    section = "api_tokens"
    identity = "description"
    object_type = "GraphQLAccess"
    root_field = "graphQLAccesses"
    permission = "admin"
    set_fields = frozenset({"permissions", "stores"})

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        result: dict[str, Obj] = {}
        valid_ids: dict[str, list[Any]] = {}
        # Several tokens may share a description; the valid, newest one is the one the file describes. The
        # others still valid are kept by id (`_also_valid`): two valid at once is a rotation half done.
        for access in sorted(data.get(self.root_field) or [], key=lambda a: (a["isValid"], a["id"])):
            user = access["user"]
            if access["isValid"]:
                valid_ids.setdefault(user["name"], []).append(access["id"])
            restrictions = user["restrictions"] or {}
            store_ids = restrictions.get("storeId")
            store_types = restrictions.get("storeType")
            result[user["name"]] = {
                "organization": user["organizationName"], "integration": user["integrationName"],
                "email": user["email"], "phone": user["phoneNumber"], "permissions": sorted(user["permissions"]),
                "stores": sorted(stores.get(i, f"#{i}") for i in store_ids) if store_ids else None,
                "store_types": sorted(store_types) if store_types else "all", "valid": access["isValid"],
                "_id": access["id"], "_expires_at": _epoch(access.get("expiresAt")),
                "_also_valid": [i for i in valid_ids.get(user["name"], []) if i != access["id"]]}
        return result

    def executor(self, action: str, capabilities: Capabilities) -> str:
        if action == "create" and capabilities.create_token:
            return "api"
        if action == "update" and capabilities.update_token:
            return "api"
        if action == "delete" and capabilities.revoke_token:
            return "api"
        return "manual"

    def token(self, state: DesiredState, description: str) -> ApiToken | None:
        section = section_of(state, self.section)
        for item in section.items if section else ():
            if isinstance(item, ApiToken) and item.description == description:
                return item
        return None

    def mutation_input(self, state: DesiredState, description: str, stores: dict[str, int]) -> dict[str, Any]:
        token = self.token(state, description)
        assert token is not None
        normalised = _normalise(token)
        restrictions: dict[str, Any] = {}
        if token.stores is not None:
            restrictions["storeId"] = [stores[name] for name in token.stores if name in stores]
        if token.store_types != "all":
            restrictions["storeType"] = list(token.store_types)
        return {"name": token.description, "organizationName": token.organization,
                "integrationName": token.integration, "email": token.email, "phoneNumber": token.phone,
                "permissions": normalised["permissions"], "restrictions": restrictions or None,
                "ttl": token.ttl_days * 86400}


KIND = ApiTokens()
