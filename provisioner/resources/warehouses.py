"""Warehouses: read (`warehouses`, Warehouse:read) and created through the API (`createWarehouse`, the ERP
guide) where the target has it; Centra documents no update or delete, so a removal is done by hand."""

from __future__ import annotations

from typing import Any, ClassVar

from provisioner.resources.base import ApiKind, Obj


class Warehouses(ApiKind):
    kind = "warehouse"
    section = "warehouses"
    object_type = "Warehouse"
    root_field = "warehouses"
    permission = "Warehouse:read"
    set_fields: frozenset[str] = frozenset()
    writes: ClassVar[dict[str, str]] = {"create": "create_warehouse"}
    what = "warehouse"

    def normalise(self, item: Any) -> Obj:
        return {}

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        return {item["name"]: {"_id": item["id"]} for item in data.get(self.root_field) or []}


KIND = Warehouses()
