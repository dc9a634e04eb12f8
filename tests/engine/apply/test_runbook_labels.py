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
