"""Custom attribute types: read over the API, written by a human in AMS System → Configuration."""

from __future__ import annotations

import json
from typing import Any

from provisioner.config.models import AttributeType
from provisioner.config.resolve import DesiredState
from provisioner.reference import catalogue
from provisioner.resources.base import KindBase, Obj, section_of

_GROUPS = {object_type: group for group, object_type in catalogue.ATTRIBUTE_GROUP_OBJECT_TYPES.items()}


def ams_config(attribute_type: AttributeType) -> dict[str, Any]:
    """The JSON an operator pastes into System → Configuration (Centra's `ATTRIBUTE_TYPES` shape)."""
    config: dict[str, Any] = {"desc": attribute_type.description, "readonly": attribute_type.readonly,
                              "group": attribute_type.group}
    if attribute_type.multi:
        config["multi"] = True
    elements: dict[str, Any] = {}
    for key, element in attribute_type.elements.items():
        rendered: dict[str, Any] = {"type": element.type, "desc": element.description}
        if element.options is not None:
            rendered["options"] = dict(element.options)
        if element.size is not None:
            rendered["size"] = element.size
        elements[key] = rendered
    config["elements"] = elements
    return config


def _normalise(attribute_type: AttributeType) -> Obj:
    return {"description": attribute_type.description, "group": attribute_type.group,
            "readonly": attribute_type.readonly, "multi": attribute_type.multi,
            "elements": {key: {k: v for k, v in {"type": e.type, "description": e.description,
                                                   "options": e.options, "size": e.size}.items() if v is not None}
                         for key, e in attribute_type.elements.items()}}


class AttributeTypes(KindBase):
    kind = "attribute_type"
    section = "attribute_types"
    object_type = "AttributeType"
    root_field = "attributeTypes"
    permission = "Attribute:read"
    set_fields: frozenset[str] = frozenset()

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        result = {}
        for item in data.get(self.root_field) or []:
            elements = {}
            for element in item["elements"]:
                params = json.loads(element.get("paramsJSON") or "{}")
                elements[element["key"]] = {"type": element["kind"].lower(), "description": element["description"],
                                            **{k: params[k] for k in ("options", "size") if k in params}}
            result[item["name"]] = {"description": item["description"],
                                    "group": _GROUPS.get(item["objectType"], item["objectType"]),
                                    "readonly": item["isMapped"], "multi": item["isMulti"], "elements": elements}
        return result

    def config_of(self, state: DesiredState, name: str) -> dict[str, Any] | None:
        section = section_of(state, self.section)
        for item in section.items if section else ():
            if isinstance(item, AttributeType) and item.name == name:
                return ams_config(item)
        return None


KIND = AttributeTypes()
