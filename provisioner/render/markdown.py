"""The pull-request comment for one merchant or a whole fleet.

It opens with the fleet summary (planned / changed / failed / skipped; changes by executor and risk),
lists critical, warning and delete items outside any fold, gives failed merchants with their reason,
and groups merchants whose change sets are the same apart from their own identifiers. It stays under
BUDGET characters (GitHub refuses comments over 65,536) whatever the fleet: past the budget it folds
detail step by step — diffs, then group headings, then table rows — and finally counts what is left,
saying where the full JSON plan is. A hidden marker lets a workflow update its comment in place."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.engine.plan.document import PlanDocument
from provisioner.engine.plan.model import Plan
from provisioner.escape import md_code, md_text, terminal
from provisioner.render.fleet_groups import Attention, Group, SharedFinding, attention, findings, groups, label
from provisioner.render.text import SYMBOLS, field_lines

BUDGET = 60_000
NAMES_IN_HEADING = 60  # merchants named in one group heading before "+N more"
NAMES_IN_ROW = 8
DIFF_LINES = 60  # per group once the budget is tight; the JSON plan has every line
REASON_CHARS = 300


def marker(environment: str) -> str:
    """The hidden line a workflow looks for to update this report's comment instead of adding one; nothing
    in an environment's name can end the comment early."""
    safe = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_.-]", "_", environment))
    return f"<!-- provision:plan environment={safe} -->"


def _cell(text: str) -> str:
    return md_code(text, in_table=True)


def _names(plans: list[Plan], environment: str, limit: int, quote: Callable[[str], str] = md_code) -> str:
    shown = ", ".join(quote(label(p, environment)) for p in plans[:limit])
    return shown + (f" and {len(plans) - limit} more" if len(plans) > limit else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _summary(document: PlanDocument) -> list[str]:
    changed = document.changed()
    merchants = len(document.merchants)
    out = [f"**{_plural(merchants, 'merchant')}:** {len(document.plans)} planned ({len(changed)} with changes) · "
           f"{len(document.errors)} failed · {len(document.skipped)} skipped", ""]
    by_executor: dict[str, dict[str, int]] = {}
    risks = {"critical": 0, "warning": 0, "info": 0}
    for plan in changed:
        for change in plan.pending:
            row = by_executor.setdefault(change.executor, {"create": 0, "update": 0, "delete": 0})
            row[change.action] += 1
            risks[change.risk] += 1
    if by_executor:
        out += ["| executor | create | update | delete |", "|---|---:|---:|---:|"]
        out += [f"| {executor} | {row['create']} | {row['update']} | {row['delete']} |"
                for executor, row in sorted(by_executor.items())]
        out += ["", f"Risk: **{risks['critical']} critical**, {risks['warning']} warning, {risks['info']} info.", ""]
    unknown = sum(len(p.unknown_sections) for p in document.plans)
    if unknown:
        out += [f"{_plural(unknown, 'section')} could not be read (unknown).", ""]
    return out


class _Section:
    """Lines kept while they fit the characters this section may use."""

    def __init__(self, allowance: int) -> None:
        self.allowance = allowance
        self.lines: list[str] = []
        self.size = 0

    def fits(self, lines: list[str], reserve: int = 0) -> bool:
        return self.size + sum(len(line) + 1 for line in lines) + reserve <= self.allowance

    def add(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        self.size += sum(len(line) + 1 for line in lines)


def _attention_lines(item: Attention, environment: str, names: int) -> list[str]:
    where = (f" in {_plural(len(item.plans), 'merchant')}: {_names(item.plans, environment, names)}"
             if len(item.plans) > 1 else "")
    if item.unknown_section:
        return [f"> {md_code(item.where)} is **unknown**{where}: {md_text(item.text)}; creates and "
                "deletes there are blocked.", ">"]
    if item.note:
        return [f"> {md_code(item.address)}: {md_text(item.text)}" if len(item.plans) == 1
                else f"> {md_text(item.text)}{where}", ">"]
    action, _, rest = item.text.partition(" ")
    return [f"> **{action}** {md_code(item.where)} {md_text(rest)}{where}", ">"]


def _attention(document: PlanDocument, allowance: int) -> list[str]:
    items = attention(document)
    if not items:
        return []
    section = _Section(allowance)
    section.add(["### Needs attention", ""])
    for level in ("caution", "warning"):
        chosen = [item for item in items if item.level == level]
        if not chosen:
            continue
        section.add([f"> [!{level.upper()}]"])
        for index, item in enumerate(chosen):
            lines = _attention_lines(item, document.environment, NAMES_IN_ROW * 2)
            if not section.fits(lines, reserve=200):
                lines = _attention_lines(item, document.environment, 3)
            if not section.fits(lines, reserve=200):
                left = chosen[index:]
                merchants = len({p.merchant for a in left for p in a.plans})
                section.add([f"> … and {_plural(len(left), 'more item')} in {_plural(merchants, 'merchant')} "
                             "(every item is in the JSON plan)", ">"])
                break
            section.add(lines)
        section.lines[-1:] = [""] if section.lines[-1] == ">" else [section.lines[-1], ""]
    return section.lines


def _finding_row(shared: SharedFinding, environment: str, names: int) -> list[str]:
    finding = shared.finding
    severity = (f"~~{finding.severity}~~ waived: {md_text(finding.waived)}" if finding.waived
                else f"**{finding.severity}**" if finding.severity == "critical" else finding.severity)
    return [f"| {severity} | {_cell(finding.rule)} | {md_text(finding.message)} | "
            f"{md_text(finding.fix)} | {_names(shared.plans, environment, names, _cell)} |"]


def _findings(document: PlanDocument, allowance: int) -> list[str]:
    """Policy findings, outside any fold: the same finding in several merchants is one row naming them."""
    rows = findings(document)
    if not rows:
        return []
    section = _Section(allowance)
    section.add(["### Policy findings", "", "| severity | rule | finding | fix | merchants |", "|---|---|---|---|---|"])
    for index, shared in enumerate(rows):
        row = _finding_row(shared, document.environment, NAMES_IN_ROW * 2)
        if not section.fits(row, reserve=200):
            row = _finding_row(shared, document.environment, 3)
        if not section.fits(row, reserve=200):
            section.add(["", f"… and {_plural(len(rows) - index, 'more finding')} (every finding is in the JSON "
                             "plan)"])
            break
        section.add(row)
    return [*section.lines, ""]


def _failed(document: PlanDocument, allowance: int) -> list[str]:
    if not document.errors:
        return []
    section = _Section(allowance)
    section.add([f"### Failed ({len(document.errors)})", "", "| merchant | environment | exit | reason |",
                 "|---|---|---:|---|"])
    for index, error in enumerate(document.errors):
        reason = "; ".join(line.strip() for line in error.reason.splitlines() if line.strip())
        reason = reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS] + "…"
        row = [f"| {_cell(error.merchant)} | {_cell(error.environment) if error.environment else '–'} | "
               f"{error.exit_code} | {md_text(reason)} |"]
        if not section.fits(row, reserve=300):
            left = document.errors[index:]
            section.add(["", f"… and {len(left)} more failed: {_names_of(sorted(e.merchant for e in left), 200)}"])
            break
        section.add(row)
    return [*section.lines, ""]


def _names_of(names: list[str], allowance: int) -> str:
    shown: list[str] = []
    for name in names:
        if sum(len(s) + 2 for s in shown) + len(name) + 4 > allowance:
            return ", ".join(shown) + f" and {len(names) - len(shown)} more"
        shown.append(md_code(name))
    return ", ".join(shown)


def _counts_text(group: Group) -> str:
    counts = group.counts()
    parts = [f"{n} to {action}" for action, n in counts.items() if n]
    unknown = len(group.first.unknown_sections)
    if unknown:
        parts.append(f"{_plural(unknown, 'section')} unknown")
    return ", ".join(parts)


def _heading(group: Group, environment: str, names: int, _: int = 0) -> list[str]:
    who = _names(group.plans, environment, names)
    many = f" ({len(group.plans)} merchants, identical change sets)" if len(group.plans) > 1 else ""
    return [f"#### {who}{many}", "", f"{_counts_text(group)}.", ""]


def _full(group: Group, environment: str, names: int, diff_lines: int) -> list[str]:
    diff: list[str] = []
    for change in group.first.pending:
        symbol = SYMBOLS[change.action].replace("~", "!")
        diff.append(f"{symbol} {change.kind} \"{terminal(change.name)}\" ({change.executor}, {change.risk})")
        diff.extend(f"{symbol}     {line}" for line in field_lines(change))
    if len(diff) > diff_lines:
        diff = [*diff[:diff_lines], f"  … {len(diff) - diff_lines} more lines in the JSON plan"]
    shown_for = (f" (as planned for <code>{html.escape(group.first.merchant)}</code>; the others differ only in "
                 "their own names, hosts and ids)" if len(group.plans) > 1 else "")
    return [*_heading(group, environment, names), f"<details><summary>Changes{shown_for}</summary>", "",
            # Every line starts with a symbol and names are escaped onto one line, so no line can close
            # the fence: the plain one is enough.
            "```diff", *diff, "```", "", "</details>", ""]


def _row(group: Group, environment: str) -> list[str]:
    return [f"| {_names(group.plans, environment, NAMES_IN_ROW, _cell)} | {len(group.plans)} | {_counts_text(group)} |"]


_TABLE = ["| merchants | count | changes |", "|---|---:|---|"]


def _changes(document: PlanDocument, allowance: int, where: str) -> list[str]:
    found = groups(document)
    if not found:
        return []
    changed = sum(len(g.plans) for g in found)
    section = _Section(allowance)
    section.add([f"### Changes: {_plural(changed, 'merchant')} in {_plural(len(found), 'group')}", ""])
    rows = [_row(g, document.environment) for g in found]
    row_sizes = [sum(len(line) + 1 for line in row) for row in rows]
    table_cost = sum(len(line) + 1 for line in _TABLE) + 2
    compact: list[int] = []
    compact_size = 0
    after = sum(row_sizes)  # rows of the groups not yet placed
    level = 0  # detail only ever decreases down the list, so the riskiest, largest groups keep the most
    for index, group in enumerate(found):
        after -= row_sizes[index]
        rest = after + compact_size + table_cost
        # step by step: the whole diff, a shorter one, fewer names, no diff, fewer names, then a table row
        every = len(group.plans)
        forms: list[tuple[Callable[[Group, str, int, int], list[str]], int, int]] = [
            (_full, every, 1_000_000), (_full, every, DIFF_LINES), (_full, NAMES_IN_HEADING, DIFF_LINES),
            (_heading, every, 0), (_heading, NAMES_IN_HEADING, 0)]
        while level < len(forms):
            render, names, diff_lines = forms[level]
            lines = render(group, document.environment, names, diff_lines)
            if section.fits(lines, reserve=rest):
                section.add(lines)
                break
            level += 1
        else:
            compact.append(index)
            compact_size += row_sizes[index]
    if compact:
        section.add(_TABLE)
        for position, index in enumerate(compact):
            if not section.fits(rows[index], reserve=200):
                left = [found[i] for i in compact[position:]]
                section.add(["", f"… and {_plural(sum(len(g.plans) for g in left), 'more merchant')} with changes in "
                                 f"{_plural(len(left), 'group')}: {where}."])
                break
            section.add(rows[index])
        section.add([""])
    return section.lines


def _listed(title: str, names: list[str], allowance: int) -> list[str]:
    if not names:
        return []
    return [f"### {title} ({len(names)})", "", _names_of(names, max(allowance - len(title) - 20, 40)), ""]


def _skipped(document: PlanDocument, allowance: int) -> list[str]:
    if not document.skipped:
        return []
    by_reason: dict[str, list[str]] = {}
    for item in document.skipped:
        # "no environment matches 'prod' (has: qa)": group by what is missing, list what they have
        by_reason.setdefault(item.reason.split(" (has:")[0], []).append(item.merchant)
    section = _Section(allowance)
    section.add([f"### Skipped ({len(document.skipped)})", ""])
    for reason, names in sorted(by_reason.items()):
        line = [f"- {md_text(reason)}: {_names_of(names, max(allowance // max(len(by_reason), 1) - 80, 40))}"]
        if not section.fits(line):
            section.add(["- … and more (every skipped merchant is in the JSON plan)"])
            break
        section.add(line)
    return [*section.lines, ""]


@dataclass(frozen=True)
class Shares:
    """How much of the budget each section may take at most; what one leaves goes to the next."""

    attention: float = 0.3
    findings: float = 0.2
    failed: float = 0.2
    unchanged: float = 0.05
    skipped: float = 0.05


SHARES = Shares()


def render(document: PlanDocument, *, plan_at: str | None = None) -> str:
    budget, shares = BUDGET, SHARES
    where = f"the full JSON plan is in {md_text(plan_at)}" if plan_at else "the full JSON plan has every change"
    title = md_code(document.environment) + (f" (shard {document.shard})" if document.shard else "")
    head = [marker(document.environment), f"## provision plan · {title}", "", *_summary(document)]
    foot = ["---", f"<sub>{where[0].upper()}{where[1:]}.</sub>", ""]
    left = budget - sum(len(line) + 1 for line in head + foot) - 64
    attention_lines = _attention(document, int(left * shares.attention))
    left -= sum(len(line) + 1 for line in attention_lines)
    finding_lines = _findings(document, int(left * shares.findings))
    left -= sum(len(line) + 1 for line in finding_lines)
    failed_lines = _failed(document, int(left * shares.failed))
    left -= sum(len(line) + 1 for line in failed_lines)
    unchanged = [label(p, document.environment) for p in document.plans if not p.has_changes()]
    unchanged_lines = _listed("No changes", unchanged, int(left * shares.unchanged))
    left -= sum(len(line) + 1 for line in unchanged_lines)
    skipped_lines = _skipped(document, int(left * shares.skipped))
    left -= sum(len(line) + 1 for line in skipped_lines)
    change_lines = _changes(document, left, where)
    if not document.plans and not document.errors:
        change_lines = ["No merchant was planned.", ""]
    body = [*head, *attention_lines, *finding_lines, *failed_lines, *change_lines, *unchanged_lines,
            *skipped_lines, *foot]
    return "\n".join(body)
