"""Integration API event listeners of the provisioner token's integration: read with Event:read,
written with `setEventListeners` (additive) and `unsetEventListeners`."""

from __future__ import annotations

from typing import Any

from provisioner.centra.capabilities import Capabilities
from provisioner.config.models import EventListener
from provisioner.resources.base import KindBase, Obj

ALL_CHANGE_TYPES = ["CREATED", "UPDATED", "DELETED", "COMPLETED", "DEPENDENT_DATA_CHANGED"]


def _normalise(listener: EventListener) -> Obj:
    return {"change_types": sorted(listener.change_types or ALL_CHANGE_TYPES)}


class EventListeners(KindBase):
    kind = "event_listener"
    section = "event_listeners"
    identity = "object_type"
    object_type = "EventListener"
    root_field = "eventListeners"
    permission = "Event:read"
    set_fields = frozenset({"change_types"})

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        return {item["objectType"]: {"change_types": sorted(item["changeTypes"])}
                for item in data.get(self.root_field) or []}

    def executor(self, action: str, capabilities: Capabilities) -> str:
        needed = capabilities.unset_event_listeners if action == "delete" else capabilities.set_event_listeners
        if action == "update":
            needed = capabilities.set_event_listeners and capabilities.unset_event_listeners
        return "api" if needed else "manual"


KIND = EventListeners()
