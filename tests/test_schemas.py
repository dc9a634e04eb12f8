"""schemas/: written from the merchant model and the plan model, and kept current."""

from __future__ import annotations

import json
from pathlib import Path

from provisioner.render import schemas
from tests.conftest import REPO


def test_committed_schemas_are_current() -> None:
    assert schemas.is_current(REPO), "schemas/ is stale: run `provision schema`"


def test_write_and_check(tmp_path: Path) -> None:
    assert not schemas.is_current(tmp_path)
    assert schemas.stale(tmp_path) == [schemas.SCHEMA_PATH, schemas.PLAN_SCHEMA_PATH]
    schemas.write(tmp_path)
    assert schemas.is_current(tmp_path)
    plan = json.loads((tmp_path / schemas.PLAN_SCHEMA_PATH).read_text())
    assert plan["$id"].endswith("/plan.schema.json") and plan["title"] == "provision plan"
