"""Read the live store: every managed section of one merchant in one request, plus one more per section
the token may not read (asked again without it). A denied section is unknown, never empty."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from provisioner.centra.client import CentraClient, CentraError, denial
from provisioner.engine.ledger import canonical
from provisioner.resources.base import Kind, Obj


@dataclass(frozen=True)
class Unknown:
    permission: str
    message: str


@dataclass
class LiveState:
    stores: dict[int, str]
    objects: dict[str, dict[str, Obj]] = field(default_factory=dict)  # kind -> name -> normalised object
    unknown: dict[str, Unknown] = field(default_factory=dict)  # kind -> why
    app_version: str | None = None

    def store_ids(self) -> dict[str, int]:
        return {name: store_id for store_id, name in self.stores.items()}


def fingerprint(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()


def read(client: CentraClient, kinds: list[Kind], managed: set[str]) -> LiveState:
    variables = {kind.variable: kind.kind in managed for kind in kinds}
    by_root = {kind.root_field: kind for kind in kinds}
    unknown: dict[str, Unknown] = {}
    # A denied non-null root field nulls the whole answer, and execution stops at the first one, so
    # each denied section costs one more request: two in all when every section is readable.
    while True:
        result = client.run("live_state", variables, allow_errors=True)
        if not result.errors:
            break
        for error in result.errors:
            path = error.get("path") or []
            category = (error.get("extensions") or {}).get("category")
            kind = by_root.get(str(path[0])) if path else None
            if category != "authorization" or kind is None or not variables.get(kind.variable):
                raise denial(error) if category == "authorization" else CentraError(
                    f"reading the live store: {error.get('message')}")
            unknown[kind.kind] = Unknown(denial(error).permission, str(error.get("message")))
            variables[kind.variable] = False
    stores = {s["id"]: s["name"] for s in result.data["stores"]}
    state = LiveState(stores, unknown=unknown, app_version=(result.extensions or {}).get("appVersion"))
    for kind in kinds:
        if kind.kind in managed and kind.kind not in unknown:
            state.objects[kind.kind] = kind.live(result.data, stores)
    return state
