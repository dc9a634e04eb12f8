"""The JSON Schema for merchant files (editor completion and a coarse CI gate).

Generated from the same pydantic models `provision validate` uses. Items may be partial in a
merchant file (presets fill the rest), so `required` is kept only where a file must say it itself;
completeness is checked by `provision validate` on the merged result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.config.models import MerchantFile

SCHEMA_PATH = Path("schemas") / "merchant.schema.json"
PLAN_SCHEMA_PATH = Path("schemas") / "plan.schema.json"
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


def plan_schema() -> dict[str, Any]:
    from provisioner.engine.plan import json_schema

    return {"$id": "https://provisioner.invalid/schemas/plan.schema.json", **json_schema()}


def documents() -> dict[Path, str]:
    return {path: json.dumps(make(), indent=2, sort_keys=True) + "\n"
            for path, make in ((SCHEMA_PATH, merchant_schema), (PLAN_SCHEMA_PATH, plan_schema))}


def render() -> str:
    return documents()[SCHEMA_PATH]


def write(root: Path) -> list[Path]:
    written = []
    for relative, text in documents().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(root: Path) -> list[Path]:
    return [relative for relative, text in documents().items()
            if not (root / relative).is_file() or (root / relative).read_text(encoding="utf-8") != text]


def is_current(root: Path) -> bool:
    return not stale(root)
