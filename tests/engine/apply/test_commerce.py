"""Markets, pricelists and warehouses through the real CLI against the sandbox: made with the mutations
of Centra's PIM and ERP guides where the target's own schema confirms them, and planned by hand (with
the name or field the target lacked, and a runbook step) where it does not."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from provisioner.engine.plan import planning
from provisioner.sandbox.wire import Request
from tests.engine.conftest import Outputs, box, converge, sandbox_call

COMMERCE = """
warehouses:
  - name: GE Main
markets:
  - name: Test EU
    store: GlobalE Store
    comment: served by Global-e
    countries: [AT, BE]
pricelists:
  - name: Test GBP
    store: GlobalE Store
    currency: GBP
    countries: [AT, BE]
    default_shipping_option: Standard
"""


def _declare(text: str = COMMERCE) -> None:
    """These commerce items added to the example merchant: into its own section of that name where it has
    one (its Global-e markets and pricelists stay, so its policies hold), else as a new section."""
    merchant = Path("merchants/acme.yaml")
    content = merchant.read_text()
    for block in re.split(r"\n(?=\S)", text.strip("\n")):
        key, _, body = block.partition("\n")
        if f"\n{key}\n" in content and body.startswith("  - "):
            content = content.replace(f"\n{key}\n", f"\n{key}\n{body}\n", 1)
        else:
            content += block + "\n"
    merchant.write_text(content)


def _store() -> dict[str, Any]:
    """The sandbox's markets, pricelists and warehouses, read with its admin token."""
    query = ("{ markets { name comment store { name } assignedToCountries { code } } "
             "pricelists { name status currency { code } assignedToCountries { code } defaultShippingOption { name } }"
             " warehouses { name } }")
    instance = box("acme")
    response = instance.app.handle(Request("POST", "/graphql", headers={
        **instance.admin_headers(), "content-type": "application/json"}, body=json.dumps({"query": query}).encode()))
    data: dict[str, Any] = response.payload()["data"]
    return data


def _mutations() -> int:
    return int(sandbox_call("acme", "GET", "/_sandbox/stats")["mutations"])


def test_apply_creates_markets_pricelists_and_warehouses_through_the_api(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare()
    plan = outputs.run("plan", "acme", "--env", "sandbox")
    assert '+ warehouse "GE Main"  (api)' in plan.output, plan.output
    assert '+ market "Test EU"  (api)' in plan.output
    assert '+ pricelist "Test GBP"  (api)' in plan.output
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "created market Test EU" in result.output and "created pricelist Test GBP" in result.output
    data = _store()
    market = next(m for m in data["markets"] if m["name"] == "Test EU")
    assert market["comment"] == "served by Global-e" and market["store"]["name"] == "GlobalE Store"
    assert [c["code"] for c in market["assignedToCountries"]] == ["AT", "BE"]
    pricelist = next(p for p in data["pricelists"] if p["name"] == "Test GBP")
    assert pricelist["currency"]["code"] == "GBP" and pricelist["defaultShippingOption"]["name"] == "Standard"
    assert "GE Main" in [w["name"] for w in data["warehouses"]]
    again = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_changes_are_updates_through_the_api_and_a_currency_change_is_by_hand(project: Path,
                                                                               outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare()
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text().replace("countries: [AT, BE]", "countries: [AT, CH]"))
    plan = outputs.run("plan", "acme", "--env", "sandbox")
    assert '~ market "Test EU"  (api)' in plan.output and "countries: +CH -BE" in plan.output, plan.output
    applied = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert applied.exit_code == 0, applied.output + applied.stderr
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0
    merchant.write_text(merchant.read_text().replace("currency: GBP", "currency: EUR"))
    planned = planning.plan("acme", "sandbox").plan
    [change] = [c for c in planned.pending if c.kind == "pricelist" and c.name == "Test GBP"]
    assert change.executor == "manual" and change.risk == "warning"
    assert "manual: no documented mutation changes a pricelist's currency" in change.reasons


def test_a_target_without_create_pricelist_plans_it_by_hand_and_never_sends_it(project: Path,
                                                                                outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare()
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"drop": ["Mutation.createPricelist"]})
    plan = outputs.run("plan", "acme", "--env", "sandbox", "--format", "json")
    [document] = json.loads(plan.stdout)["plans"]
    [change] = [c for c in document["changes"] if c["kind"] == "pricelist" and c["name"] == "Test GBP"]
    assert change["executor"] == "manual"
    assert "manual: the target's schema has no mutation taking PricelistCreateInput" in change["reasons"]
    assert document["capabilities"]["create_pricelist"] is None
    before = _mutations()
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert _mutations() - before == 2  # the warehouse and the market; never a createPricelist
    runbook = Path("out/acme.sandbox.runbook.md").read_text()
    assert "Create the pricelist Test GBP" in runbook and "PricelistCreateInput" in runbook
    assert "Test GBP" not in [p["name"] for p in _store()["pricelists"]]
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0


def test_a_payload_field_the_target_names_otherwise_is_said_and_planned_by_hand(project: Path,
                                                                                outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare()
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"rename": {"PricelistCreatePayload.pricelist": "priceList"}})
    planned = planning.plan("acme", "sandbox").plan
    [change] = [c for c in planned.pending if c.kind == "pricelist"]
    assert change.executor == "manual"
    assert any("createPricelist: Cannot query field 'pricelist' on type 'PricelistCreatePayload'" in r
               for r in change.reasons), change.reasons


def test_absent_deletes_a_pricelist_through_the_api_and_a_market_by_hand(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare("pricelists:\n  - {name: Default, absent: true}\nmarkets:\n  - {name: EU, absent: true}\n")
    plan = outputs.run("plan", "acme", "--env", "sandbox")
    assert '- pricelist "Default"  (api)' in plan.output and '- market "EU"  (manual)' in plan.output, plan.output
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert result.exit_code == 0, result.output
    assert "deleted pricelist Default" in result.output
    runbook = Path("out/acme.sandbox.runbook.md").read_text()
    assert "Remove the market EU" in runbook and "Centra documents no mutation that can delete a market" in runbook


def test_exclusive_plans_every_other_warehouse_for_removal(project: Path, outputs: Outputs) -> None:
    _declare("warehouses:\n  mode: exclusive\n  items:\n    - name: GE Main\n")
    planned = planning.plan("acme", "sandbox").plan
    assert sorted((c.action, c.name, c.executor) for c in planned.pending if c.kind == "warehouse") == [
        ("create", "GE Main", "api"), ("create", "Main", "api"), ("delete", "Outlet", "manual"),
        ("delete", "Retail", "manual")]


def test_a_rejected_mutation_is_an_error_and_changes_nothing(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare("markets:\n  - {name: B2B EU, store: Wholesale, countries: [DE]}\n")
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code != 0
    assert "Countries can only be added in a DTC (Retail) store." in result.output + result.stderr
    assert "B2B EU" not in [m["name"] for m in _store()["markets"]]


def test_a_bad_currency_is_a_clear_error_and_nothing_changes(project: Path, outputs: Outputs) -> None:
    before = _mutations()
    _declare("pricelists:\n  - {name: Bad, store: GlobalE Store, currency: euro}\n")
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.exit_code != 0
    assert re.search(r"acme\.yaml:\d+:\d+: pricelists\[Bad\]\.currency: 'euro' is not an ISO 4217 currency code, "
                     "three capital letters, e.g. EUR", result.stderr)
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text().replace("currency: euro", "currency: EUR"))
    assert _mutations() == before


def test_the_new_sections_are_read_in_the_one_read_of_a_plan(project: Path) -> None:
    _declare(COMMERCE + "shipping_options:\n  - {name: Standard, code: standard}\n")
    first, second = planning.plan("acme", "sandbox"), planning.plan("acme", "sandbox")
    assert (first.requests, second.requests) == (2, 1)  # introspection once, then one read per plan
    sections = second.plan.sections
    assert {sections[s].state for s in ("markets", "pricelists", "warehouses", "shipping_options")} == {"managed"}
    assert second.live.objects["shipping_option"]["Standard"]["code"] == "standard"


def test_shipping_options_are_made_by_hand_from_the_runbook(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    _declare("shipping_options:\n  - {name: GE Express, code: ge-express}\n")
    plan = outputs.run("plan", "acme", "--env", "sandbox")
    assert '+ shipping_option "GE Express"  (manual)' in plan.output, plan.output
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    runbook = Path("out/acme.sandbox.runbook.md").read_text()
    assert "Create the shipping option GE Express" in runbook and "ge-express" in runbook
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0


def test_a_token_without_pricelist_read_leaves_the_section_unknown(project: Path, outputs: Outputs) -> None:
    _declare()
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}",
                 {"permissions": [p for p in admin["permissions"] if p != "Pricelist:read"]})
    planned = planning.plan("acme", "sandbox").plan
    section = planned.sections["pricelists"]
    assert section.state == "unknown" and section.permission == "Pricelist:read"
    assert "Test GBP" in section.blocked
    assert planned.sections["markets"].state == "managed"


def test_a_country_geolocated_to_two_pricelists_of_a_store_is_refused(project: Path, outputs: Outputs) -> None:
    _declare("pricelists:\n  - {name: Second GBP, store: GlobalE Store, currency: GBP, countries: [AT, DE]}\n")
    result = outputs.run("validate")
    assert result.exit_code != 0
    # the later of the two is pointed at (_declare puts the new one first in the section)
    assert re.search(r"acme\.yaml:\d+:\d+: pricelists\[Global-e GBP\]\.countries: DE already geolocates to "
                     r"pricelist 'Second GBP' in store 'GlobalE Store'", result.output + result.stderr), result.output
    assert "AT already" not in result.output + result.stderr
