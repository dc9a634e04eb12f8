"""schemas/: the JSON Schemas the tool publishes, for editors and CI: merchant files (from the
model, config/schema.py) and JSON plans (the plan document of engine/plan/document.py, whose plans are
engine/plan/model.py's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner import files
from provisioner.config.schema import merchant_schema
from provisioner.engine.plan.document import json_schema as plan_schema

SCHEMA_PATH = Path("schemas") / "merchant.schema.json"
PLAN_SCHEMA_PATH = Path("schemas") / "plan.schema.json"


def documents() -> dict[Path, str]:
    made: dict[Path, dict[str, Any]] = {SCHEMA_PATH: merchant_schema(), PLAN_SCHEMA_PATH: plan_schema()}
    return {path: json.dumps(schema, indent=2, sort_keys=True) + "\n" for path, schema in made.items()}


def write(root: Path) -> list[Path]:
    written = []
    for relative, text in documents().items():
        path = root / relative
        files.ensure_dir(path.parent)
        files.write_atomic(path, text)
        written.append(path)
    return written


def stale(root: Path) -> list[Path]:
    return [relative for relative, text in documents().items()
            if not (root / relative).is_file() or (root / relative).read_text(encoding="utf-8") != text]


def is_current(root: Path) -> bool:
    return not stale(root)
