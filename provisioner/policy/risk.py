"""Risk of a planned change: info, warning or critical. Critical changes need a confirmation (or
`--auto-approve`) and are called out in a pull-request comment."""

from __future__ import annotations

from typing import Any

RISKS = ("info", "warning", "critical")


def assess(kind: str, action: str, fields: list[dict[str, Any]]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    risk = "info"

    def raise_to(level: str, reason: str) -> None:
        nonlocal risk
        reasons.append(reason)
        if RISKS.index(level) > RISKS.index(risk):
            risk = level

    if action == "delete":
        raise_to("critical", "deletes a live object")
    for change in fields:
        path = change["path"]
        added = change.get("added") or []
        if kind == "api_token" and path == "permissions":
            if "admin" in added:
                raise_to("critical", "grants the admin permission")
            elif any(p.endswith(":write") for p in added):
                raise_to("warning", "grants write permissions")
        if kind == "tax_group" and path.endswith(".rate") and action == "update":
            raise_to("warning", f"changes a tax rate ({path})")
        if path == "status" and change.get("after") == "inactive":
            raise_to("critical", "deactivates a live object")
        if change.get("sensitive") and action == "update":
            raise_to("warning", f"changes a secret ({path})")
        if kind == "pricelist" and path == "currency" and action == "update":
            raise_to("warning", "changes a pricelist's currency (every price in it)")
        if kind in ("market", "pricelist") and path == "countries" and change.get("removed"):
            raise_to("warning", f"takes countries off the {kind} ({', '.join(map(str, change['removed']))})")
        if path == "url" and action == "update":
            raise_to("warning", "changes the webhook URL")
    return risk, reasons
