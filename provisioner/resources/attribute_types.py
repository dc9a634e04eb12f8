"""Custom attribute types: read over the API, written by a human in AMS System → Configuration."""

from __future__ import annotations

from typing import Any

from provisioner.config.models import AttributeType


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
