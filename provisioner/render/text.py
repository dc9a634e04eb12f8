"""Terraform-like text: `+` create, `~` update, `-` delete, `?` unknown; colour only on a terminal."""

from __future__ import annotations

import json
from typing import Any

from provisioner.engine.plan import Change, Plan
from provisioner.render import findings
from provisioner.render.escape import terminal

SYMBOLS = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red"), "no-op": (" ", None)}
MAX_LISTED = 24  # the JSON plan has every item; the text stays readable
_COLOURS = {"green": "32", "yellow": "33", "red": "31", "cyan": "36", "bold": "1", "dim": "2"}


def _paint(text: str, colour: str | None, enabled: bool) -> str:
    text = terminal(text)  # names and values from files and stores: shown, never interpreted
    if not enabled or colour is None:
        return text
    return f"\033[{_COLOURS[colour]}m{text}\033[0m"


def value(item: Any) -> str:
    return item if isinstance(item, str) and item.startswith("(") else json.dumps(item, ensure_ascii=False)


def field_lines(change: Change) -> list[str]:
    lines = []
    for field in change.fields:
        if field.added is not None or field.removed is not None:
            parts = [f"+{v}" for v in field.added or []] + [f"-{v}" for v in field.removed or []]
            shown = parts if len(parts) <= MAX_LISTED else [*parts[:MAX_LISTED], f"… ({len(parts) - MAX_LISTED} more)"]
            lines.append(f"{field.path}: {' '.join(shown)}")
        elif change.action == "create":
            lines.append(f"{field.path} = {value(field.after)}")
        elif change.action == "delete":
            lines.append(f"{field.path} = {value(field.before)}")
        else:
            lines.append(f"{field.path}: {value(field.before)} → {value(field.after)}")
    return [terminal(line) for line in lines]


def render(plan: Plan, *, colour: bool = False, verbose: bool = False) -> str:
    out = [_paint(f"Plan for {plan.merchant} in {plan.environment} ({plan.centra_url})", "bold", colour)]
    for section, state in plan.unknown_sections.items():
        blocked = f"; {len(state.blocked)} object(s) not planned" if state.blocked else ""
        out.append(_paint(f"  ? {section}: unknown — the token lacks {state.permission}{blocked}", "red", colour))
    for change in plan.changes:
        if change.action == "no-op" and not verbose:
            continue
        symbol, tint = SYMBOLS[change.action]
        risk = "" if change.risk == "info" else f"  [{change.risk}: {'; '.join(change.reasons)}]"
        out.append(_paint(f"  {symbol} {change.kind} \"{change.name}\"  ({change.executor}){risk}", tint, colour))
        for line in field_lines(change):
            out.append(f"      {line}")
    out.extend(findings.text_lines(plan.findings))
    counts = plan.counts()
    by_executor: dict[str, int] = {}
    for change in plan.pending:
        by_executor[change.executor] = by_executor.get(change.executor, 0) + 1
    if not plan.has_changes():
        out.append(f"No changes: the live store matches ({counts['no-op']} object(s) verified).")
    else:
        executors = ", ".join(f"{n} {e}" for e, n in sorted(by_executor.items()))
        out.append(f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete"
                   f" ({executors or 'none'}); {counts['no-op']} unchanged"
                   + (f"; {len(plan.unknown_sections)} section(s) unknown" if plan.unknown_sections else "") + ".")
    return "\n".join(out) + "\n"
