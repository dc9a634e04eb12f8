"""A pull-request comment: counts first, a callout for deletes and critical risks, details folded."""

from __future__ import annotations

from provisioner.engine.plan import Plan
from provisioner.escape import md_code, md_text, terminal
from provisioner.render import findings
from provisioner.render.text import SYMBOLS, field_lines


def render(plans: list[Plan]) -> str:
    out = ["## provision plan", ""]
    for plan in plans:
        counts = plan.counts()
        critical = [c for c in plan.pending if c.risk == "critical"]
        deletes = [c for c in plan.pending if c.action == "delete"]
        out.append(f"### {md_code(plan.merchant)} → {md_code(plan.environment)}")
        out.append("")
        out.append("| create | update | delete | unchanged | unknown sections |")
        out.append("|---:|---:|---:|---:|---:|")
        out.append(f"| {counts['create']} | {counts['update']} | {counts['delete']} | {counts['no-op']} "
                   f"| {len(plan.unknown_sections)} |")
        out.append("")
        if deletes or critical:
            out.append("> [!CAUTION]")
            for change in {c.address: c for c in deletes + critical}.values():
                out.append(f"> **{change.action}** {md_code(change.address)} ({change.executor}): "
                           f"{md_text('; '.join(change.reasons))}")
            out.append("")
        for section, state in plan.unknown_sections.items():
            out.append(f"> [!WARNING]\n> `{section}` is **unknown**: the token lacks {md_code(state.permission)}; "
                       "creates and deletes there are blocked.\n")
        out.extend(findings.markdown_lines(plan.findings))
        if not plan.has_changes():
            out.append("No changes.")
            out.append("")
            continue
        out.append("<details><summary>Changes</summary>")
        out.append("")
        out.append("```diff")
        for change in plan.pending:
            symbol = SYMBOLS[change.action][0].replace("~", "!")
            out.append(f"{symbol} {change.kind} \"{terminal(change.name)}\" ({change.executor}, {change.risk})")
            out.extend(f"{symbol}     {line}" for line in field_lines(change))
        out.append("```")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out)
