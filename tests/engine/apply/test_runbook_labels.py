"""The runbook shows every value as AMS labels it (ams_labels.yaml)."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import Outputs


def test_the_runbook_shows_the_values_as_ams_labels_them(project: Path, outputs: Outputs) -> None:
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    runbook = Path("out/acme.sandbox.runbook.md").read_text(encoding="utf-8")
    for row in ("| Status | Active |", "| Update stock updates | Physical |", "| Get orders starting with | Oldest |",
                "| Get products returns tax for the country | None |",
                "| Bundles in shipments | Only containing items |", "| Bundles in orders | Only containing items |",
                "| Updating shipment with missing items | Keep items in order |",
                "| Get Orders with Status | Select ALL |", "| Allow access to the following endpoints | Select ALL |",
                "| Markets | Select all |", "| Version | Integration API |",
                "| Rule GE Local VAT: Apply tax per | Ship-to country |"):
        label, value = row.strip("| ").split(" | ")
        assert f"| {label} | `{value}` |" in runbook, row
    shown = "\n".join(line for line in runbook.splitlines() if not line.startswith("<!--"))  # not the payloads
    assert "only_containing_items" not in shown and "keep items in order" not in shown


def test_in_prod_the_runbook_asks_centra_to_deploy_attribute_types(project: Path) -> None:
    """Global-e's guide §1.4.2: Centra's developers deploy attribute types to production; QA is done in AMS."""
    from provisioner.config.resolve import load, resolve
    from provisioner.engine.apply import runbook
    from provisioner.engine.plan.model import Change

    steps = {}
    for environment in ("qa", "prod"):
        state = resolve(load(Path("merchants/acme.yaml")), environment)
        change = Change(address=f"acme/{environment}/attribute_type/ge_order_details", kind="attribute_type",
                        name="ge_order_details", action="create", executor="manual")
        steps[environment] = runbook._attribute_step(state, change)
    assert steps["qa"].title == "Create the attribute type ge_order_details"
    assert steps["qa"].navigation.startswith("System > Configurations")
    prod = steps["prod"]
    assert prod.title == "Ask Centra to deploy the attribute type ge_order_details to production"
    assert "Centra" in prod.navigation and "AMS" not in prod.navigation
    assert prod.snippet == steps["qa"].snippet and '"ge_order_id"' in (prod.snippet or "")
    assert any("§1.4.2" in str(value) for _, value in prod.fields)
