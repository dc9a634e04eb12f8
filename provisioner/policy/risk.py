"""Risk of a planned change: low, medium or high. High-risk changes need a confirmation (or
`--auto-approve`) and are called out in a pull-request comment.

Risk is not policy. A policy finding's severity (info, warning, critical) is what `--fail-on` acts on;
a change's risk says how carefully to read it. So the two never share a word where a person reads them:
the plan document stores risk as `info` / `warning` / `critical` (its schema), and every renderer shows it
as `low risk` / `medium risk` / `high risk` (`WORDS`).

A token's write permissions are a risk only beyond what its presets declare for it: the Global-e token's
"all write except Anonymize" is the checklist, flagged on every new merchant it would say nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from provisioner.config import presets as preset_files
from provisioner.reference import catalogue

RISKS = ("info", "warning", "critical")
WORDS = {"info": "low risk", "warning": "medium risk", "critical": "high risk"}
COUNT_WORDS = {"info": "low", "warning": "medium", "critical": "high"}


def word(risk: str) -> str:
    """How a risk is shown to a person: never a policy severity's word."""
    return WORDS.get(risk, risk)


def _selected(selection: Any, universe: Iterable[str]) -> set[str]:
    if isinstance(selection, dict):
        return set(universe) - set(selection.get("all_except") or [])
    return {p for p in selection or [] if isinstance(p, str)}


def preset_permissions(presets: Iterable[str], description: str) -> frozenset[str]:
    """The permissions the named presets declare for the token `description` (none if no preset has it)."""
    cat = catalogue.permissions()
    found: set[str] = set()
    for name in presets:
        data = preset_files.data(name) if name in preset_files.available() else None
        tokens = data.get("api_tokens") if isinstance(data, dict) else None
        items = tokens.get("items") if isinstance(tokens, dict) else tokens
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("description") == description:
                permissions = item.get("permissions") or {}
                found |= _selected(permissions.get("read"), cat.read) | _selected(permissions.get("write"), cat.write)
    return frozenset(found)


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def assess(kind: str, action: str, fields: list[dict[str, Any]],
           expected: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """The change's risk and why. `expected`: permissions a preset declares for this token."""
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
            beyond = [p for p in added if p not in expected]
            writes = sorted(p for p in beyond if p.endswith(":write"))
            if "admin" in beyond:
                raise_to("critical", "grants the admin permission")
            elif writes:
                preset = " beyond its preset" if expected else ""
                raise_to("warning", f"grants write permissions{preset}: {_listed(writes)}")
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
