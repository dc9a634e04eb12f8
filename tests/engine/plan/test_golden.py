"""Golden plans: the JSON (less `generated_at`) and the text of every example merchant, on a fresh
sandbox and on a drifted one, byte for byte. They pin the plan output across refactors of the diff
and the renderers.

A change that is meant to alter plan output regenerates them with
`PROVISION_UPDATE_GOLDEN=1 .venv/bin/pytest tests/engine/plan/test_golden.py` (review the diff of
tests/engine/plan/golden/ before committing it)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest

from tests.engine.conftest import Outputs, converge, sandbox_call

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PROVISION_UPDATE_GOLDEN") == "1"


def _plans(outputs: Outputs, merchant: str) -> tuple[str, str]:
    text = outputs.run("plan", merchant, "--env", "sandbox", "--verbose")
    document = outputs.run("plan", merchant, "--env", "sandbox", "--format", "json")
    assert text.exit_code == 0 and document.exit_code == 0, text.output + document.output
    [plan] = json.loads(document.stdout)["plans"]  # the plan document of one merchant holds its one plan
    assert plan.pop("generated_at")
    return text.output, json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


_EXPIRY = re.compile(r"(expires in (\d+) days?, on )(\d{4}-\d{2}-\d{2})")


def _undated(text: str) -> str:
    """A token's expiry date moves with the day the tests run (the sandbox's tokens last 30 days from
    their making): the golden keeps its distance from today, checked here, not the date."""
    def distance(match: re.Match[str]) -> str:
        days, date = int(match.group(2)), dt.date.fromisoformat(match.group(3))
        assert abs((date - dt.datetime.now(dt.UTC).date()).days - days) <= 1, match.group(0)
        return f"{match.group(1)}<today + {days} days>"
    return _EXPIRY.sub(distance, text)


def _check(name: str, text: str, document: str) -> None:
    for suffix, actual in ((".txt", _undated(text)), (".json", _undated(document))):
        path = GOLDEN / f"{name}{suffix}"
        if UPDATE:
            path.parent.mkdir(exist_ok=True)
            path.write_text(actual, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == actual, f"{path.name} differs from the golden plan"


@pytest.mark.parametrize("merchant", ["acme", "nordwind", "dataline"])
def test_a_fresh_sandbox_plans_as_before(project: Path, outputs: Outputs, merchant: str) -> None:
    _check(f"fresh-{merchant}", *_plans(outputs, merchant))


def test_a_drifted_acme_plans_as_before(project: Path, outputs: Outputs) -> None:
    """Updates of scalars, nested mappings and set fields (both directions), a field only the live
    object has, and a delete."""
    converge(outputs, "acme")
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text() + "attribute_types:\n  - {name: sh_swatch, absent: true}\n")
    state = sandbox_call("acme", "GET", "/_sandbox/state")
    vat = next(g for g in state["tax_groups"] if g["name"] == "GE Local VAT")
    rule = vat["rules"][0]
    rule["rate"] = 19
    rule["countries"] = sorted({*rule["countries"], "GB"} - {"AD", "FR"})
    vat["default_in_stores"] = []
    sandbox_call("acme", "PUT", "/_sandbox/tax-groups", vat)
    voucher = state["attribute_types"]["ge_voucher_details"]
    voucher["elements"]["ge_successful_usages"]["desc"] = "Edited in AMS"
    voucher["elements"]["extra_note"] = {"desc": "Added in AMS", "type": "input"}
    swatch = {"desc": "Swatch", "group": "product", "elements": {"hex": {"desc": "Hex", "type": "input"}}}
    sandbox_call("acme", "PUT", "/_sandbox/attribute-types",
                 {"ATTRIBUTE_TYPES": {"ge_voucher_details": voucher, "sh_swatch": swatch}})
    plugin = next(p for p in state["plugins"] if p["name"] == "GE Order API")
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": plugin["store"], "name": plugin["name"],
                                                      "type": "order_api", "uri": "moved", "status": "inactive"})
    token = next(t for t in state["tokens"] if t["name"] == "Global-e integration")
    permissions = sorted({*token["permissions"], "CentraIP:read"} - {"Order:read", "Product:write"})
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{token['id']}", {"permissions": permissions})
    _check("drifted-acme", *_plans(outputs, "acme"))


def test_a_drifted_nordwind_plans_as_before(project: Path, outputs: Outputs) -> None:
    converge(outputs, "nordwind")
    admin = sandbox_call("nordwind", "GET", "/_sandbox/state")["tokens"][0]  # listeners are its integration's
    sandbox_call("nordwind", "PUT", "/_sandbox/event-listeners", {"integration": admin["integration"], "listeners": [
        {"objectType": "Order", "changeTypes": ["CREATED", "DELETED"]}, {"objectType": "Product",
                                                                        "changeTypes": ["UPDATED"]}]})
    _check("drifted-nordwind", *_plans(outputs, "nordwind"))
