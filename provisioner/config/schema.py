"""The JSON Schema for merchant files (editor completion and a coarse CI gate).

Generated from the same pydantic models `provision validate` uses. Items may be partial in a
merchant file (presets fill the rest), so `required` is kept only where a file must say it itself;
completeness is checked by `provision validate` on the merged result. (provisioner/render/schemas.py writes
it to schemas/, with the plan's.)"""

from __future__ import annotations

from typing import Any

from provisioner.config.models import MerchantFile

_IDENTITY_FIELDS = {"name", "description", "object_type", "absent", "merchant"}


def _relax(node: Any) -> Any:
    """`oneOf` -> `anyOf`: a partial override item (no `type`) may fit several plugin kinds at once."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _relax(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_relax(v) for v in node]
    return node


def merchant_schema() -> dict[str, Any]:
    schema = MerchantFile.model_json_schema()
    for definition in schema.get("$defs", {}).values():
        required = [f for f in definition.get("required", []) if f in _IDENTITY_FIELDS]
        if required:
            definition["required"] = required
        else:
            definition.pop("required", None)
    schema = _relax(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://provisioner.invalid/schemas/merchant.schema.json",
            "title": "Centra provisioner merchant file", **schema}
