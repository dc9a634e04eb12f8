"""Terraform-like text: `+` create, `~` update, `-` delete, `?` unknown.

Lines are tagged with a role (heading, create, update, delete, unknown) and painted by the caller's
`paint(text, role)`: the CLI's paints with colour on a terminal (provisioner/cli/terminal.py), the
default leaves text plain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from provisioner.engine.plan.model import Change, Plan
from provisioner.escape import terminal
from provisioner.policy.risk import word
from provisioner.render import findings

Paint = Callable[[str, str], str]
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "no-op": " "}
MAX_LISTED = 24  # the JSON plan has every item; the text stays readable


def plain(text: str, role: str) -> str:
    return text


_JSON = json.JSONEncoder(ensure_ascii=False)  # one for every value: json.dumps with options builds one per call


def value(item: Any) -> str:
    return item if isinstance(item, str) and item.startswith("(") else _JSON.encode(item)


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


def render(plan: Plan, *, paint: Paint = plain, verbose: bool = False) -> str:
    # Names and values from files and stores are escaped (shown, never interpreted), then painted.
    out = [paint(terminal(f"Plan for {plan.merchant} in {plan.environment} ({plan.centra_url})"), "heading")]
    for section, state in plan.unknown_sections.items():
        blocked = f"; {len(state.blocked)} object(s) not planned" if state.blocked else ""
        out.append(paint(terminal(f"  ? {section}: unknown — {state.reason}{blocked}"), "unknown"))
    for warning in plan.warnings:
        out.append(paint(terminal(f"  ! warning: {warning}"), "warning"))
    for change in plan.changes:
        if change.action == "no-op" and not verbose:
            continue
        risk = "" if change.risk == "info" else f"  [{word(change.risk)}: {'; '.join(change.reasons)}]"
        line = terminal(f"  {SYMBOLS[change.action]} {change.kind} \"{change.name}\"  ({change.executor}){risk}")
        out.append(paint(line, change.action) if change.action != "no-op" else line)
        for line in field_lines(change):
            out.append(f"      {line}")
    out.extend(findings.text_lines(plan.findings))
    counts = plan.counts()
    attest = plan.to_attest
    counts["create"] -= len(attest)
    by_executor: dict[str, int] = {}
    for change in plan.pending:
        if change not in attest:
            by_executor[change.executor] = by_executor.get(change.executor, 0) + 1
    to_attest = (f"{len(attest)} setting group(s) to confirm with `provision attest {plan.merchant} --env "
                 f"{plan.environment}`" + (" once the runbook is done" if plan.has_work() else ""))
    if not plan.has_changes():
        out.append(f"No changes: the live store matches ({counts['no-op']} object(s) verified).")
    elif not plan.has_work():
        out.append(terminal(f"Nothing to create, update or delete; {to_attest}; {counts['no-op']} unchanged."))
    else:
        executors = ", ".join(f"{n} {e}" for e, n in sorted(by_executor.items()))
        out.append(terminal(
            f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete"
            f" ({executors or 'none'})" + (f"; {to_attest}" if attest else "") + f"; {counts['no-op']} unchanged"
            + (f"; {len(plan.unknown_sections)} section(s) unknown" if plan.unknown_sections else "") + "."))
    return "\n".join(out) + "\n"
