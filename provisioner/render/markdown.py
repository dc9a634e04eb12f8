"""The pull-request comment for a plan document: one merchant or a whole fleet.

It opens with the fleet summary (planned / changed / failed / skipped; changes by executor and risk),
lists critical, warning and delete items outside any fold, gives failed merchants with their reason,
and groups merchants whose change sets are the same apart from their own identifiers. It stays under
BUDGET characters (GitHub refuses comments over 65,536) whatever the fleet: past the budget it folds
detail step by step — diffs, then group headings, then table rows — and finally counts what is left,
saying where the full JSON plan is. A hidden marker lets a workflow update its comment in place; it is
the only `<!--` in the body (every foreign name is escaped so it cannot forge one). How one merchant, or
one group of identical merchants, is shown is `render/plan_markdown.py`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.engine.plan.document import PlanDocument
from provisioner.escape import cut, md_code, md_text
from provisioner.policy.findings import SEVERITIES
from provisioner.policy.risk import COUNT_WORDS, RISKS
from provisioner.policy.rules import blocking
from provisioner.render.fleet_groups import Group, attention, findings, groups, label
from provisioner.render.plan_markdown import (
    DIFF_LINES,
    NAMES_IN_ROW,
    TABLE,
    attention_lines,
    cell,
    finding_row,
    full,
    heading,
    names_of,
    plural,
    row,
)

BUDGET = 60_000
# GitHub's alert boxes: a delete or a high-risk change is a caution; the rest is "important", not a
# "warning", which is a policy severity's word (what `--fail-on` acts on).
ALERTS = {"caution": "CAUTION", "warning": "IMPORTANT"}
NAMES_IN_HEADING = 60  # merchants named in one group heading before "+N more"
REASON_CHARS = 300
NAME_CHARS = 100  # of the environment and shard a document names (a saved one says what it likes)


def marker(environment: str) -> str:
    """The hidden line a workflow looks for to update this report's comment instead of adding one; nothing
    in an environment's name can end the comment early."""
    safe = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_.-]", "_", environment))
    return f"<!-- provision:plan environment={safe} -->"


def _summary(document: PlanDocument) -> list[str]:
    changed = document.changed()
    merchants = len(document.merchants)
    out = [f"**{plural(merchants, 'merchant')}:** {len(document.plans)} planned ({len(changed)} with changes) · "
           f"{len(document.errors)} failed · {len(document.skipped)} skipped", ""]
    by_executor: dict[str, dict[str, int]] = {}
    risks = dict.fromkeys(reversed(RISKS), 0)
    for plan in changed:
        for change in plan.pending:
            counts = by_executor.setdefault(change.executor, {"create": 0, "update": 0, "delete": 0})
            counts[change.action] += 1
            risks[change.risk] += 1
    if by_executor:
        out += ["| executor | create | update | delete |", "|---|---:|---:|---:|"]
        out += [f"| {executor} | {counts['create']} | {counts['update']} | {counts['delete']} |"
                for executor, counts in sorted(by_executor.items())]
        counted = ", ".join(f"{n} {COUNT_WORDS[risk]}" for risk, n in risks.items())
        out += ["", f"Change risk (how carefully to read a change; not what the check acts on): {counted}.", ""]
    unknown = sum(len(p.unknown_sections) for p in document.plans)
    if unknown:
        out += [f"{plural(unknown, 'section')} could not be read (unknown).", ""]
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
        section.add([f"> [!{ALERTS[level]}]"])
        for index, item in enumerate(chosen):
            lines = attention_lines(item, document.environment, NAMES_IN_ROW * 2)
            if not section.fits(lines, reserve=200):
                lines = attention_lines(item, document.environment, 3)
            if not section.fits(lines, reserve=200):
                left = chosen[index:]
                merchants = len({p.merchant for a in left for p in a.plans})
                section.add([f"> … and {plural(len(left), 'more item')} in {plural(merchants, 'merchant')} "
                             "(every item is in the JSON plan)", ">"])
                break
            section.add(lines)
        section.lines[-1:] = [""] if section.lines[-1] == ">" else [section.lines[-1], ""]
    return section.lines


def _findings(document: PlanDocument, allowance: int) -> list[str]:
    """Policy findings, outside any fold: the same finding in several merchants is one row naming them."""
    rows = findings(document)
    if not rows:
        return []
    section = _Section(allowance)
    section.add(["### Policy findings", "", "| severity | rule | finding | fix | merchants |", "|---|---|---|---|---|"])
    for index, shared in enumerate(rows):
        line = finding_row(shared, document.environment, NAMES_IN_ROW * 2)
        if not section.fits(line, reserve=200):
            line = finding_row(shared, document.environment, 3)
        if not section.fits(line, reserve=200):
            section.add(["", f"… and {plural(len(rows) - index, 'more finding')} (every finding is in the JSON "
                             "plan)"])
            break
        section.add(line)
    return [*section.lines, ""]


def _failed(document: PlanDocument, allowance: int) -> list[str]:
    if not document.errors:
        return []
    section = _Section(allowance)
    section.add([f"### Failed ({len(document.errors)})", "", "| merchant | environment | exit | reason |",
                 "|---|---|---:|---|"])
    for index, error in enumerate(document.errors):
        reason = cut("; ".join(line.strip() for line in error.reason.splitlines() if line.strip()), REASON_CHARS)
        line = [f"| {cell(error.merchant)} | {cell(error.environment) if error.environment else '–'} | "
                f"{error.exit_code} | {md_text(reason)} |"]
        if not section.fits(line, reserve=300):
            left = document.errors[index:]
            section.add(["", f"… and {len(left)} more failed: {names_of(sorted(e.merchant for e in left), 200)}"])
            break
        section.add(line)
    return [*section.lines, ""]


def _changes(document: PlanDocument, allowance: int, where: str) -> list[str]:
    found = groups(document)
    if not found:
        return []
    changed = sum(len(g.plans) for g in found)
    section = _Section(allowance)
    section.add([f"### Changes: {plural(changed, 'merchant')} in {plural(len(found), 'group')}", ""])
    rows = [row(g, document.environment) for g in found]
    row_sizes = [sum(len(line) + 1 for line in lines) for lines in rows]
    table_cost = sum(len(line) + 1 for line in TABLE) + 2
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
            (full, every, 1_000_000), (full, every, DIFF_LINES), (full, NAMES_IN_HEADING, DIFF_LINES),
            (heading, every, 0), (heading, NAMES_IN_HEADING, 0)]
        while level < len(forms):
            form, named, diff_lines = forms[level]
            lines = form(group, document.environment, named, diff_lines)
            if section.fits(lines, reserve=rest):
                section.add(lines)
                break
            level += 1
        else:
            compact.append(index)
            compact_size += row_sizes[index]
    if compact:
        section.add(TABLE)
        for position, index in enumerate(compact):
            if not section.fits(rows[index], reserve=200):
                left = [found[i] for i in compact[position:]]
                section.add(["", f"… and {plural(sum(len(g.plans) for g in left), 'more merchant')} with changes in "
                                 f"{plural(len(left), 'group')}: {where}."])
                break
            section.add(rows[index])
        section.add([""])
    return section.lines


def _listed(title: str, names: list[str], allowance: int) -> list[str]:
    if not names:
        return []
    return [f"### {title} ({len(names)})", "", names_of(names, max(allowance - len(title) - 20, 40)), ""]


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
        line = [f"- {md_text(reason)}: {names_of(names, max(allowance // max(len(by_reason), 1) - 80, 40))}"]
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


def _policy_counts(document: PlanDocument) -> str:
    """Policy findings by severity (waived ones apart): the words `--fail-on` acts on."""
    counts = dict.fromkeys(reversed(SEVERITIES), 0)
    waived = 0
    for plan in document.plans:
        for finding in plan.findings:
            if finding.waived:
                waived += 1
            else:
                counts[finding.severity] += 1
    shown = ", ".join(f"**{n} {severity}**" if severity == "critical" and n else f"{n} {severity}"
                      for severity, n in counts.items())
    return f"Policy findings: {shown}" + (f" ({waived} waived)" if waived else "") + "."


def _check_fails(document: PlanDocument, fail_on: str | None) -> list[str]:
    """What fails the pull request's check (`--fail-on`), first: the rules, each merchant named; or that
    it passes, and the policy findings counted in the words `--fail-on` uses."""
    counts = _policy_counts(document)
    if fail_on is None:
        return [counts, ""]
    blocked = sorted({(f.rule, label(p, document.environment)) for p in document.plans
                      for f in blocking(p.findings, fail_on)})
    if not blocked:
        return [f"This check passes at {md_code(f'--fail-on {fail_on}')}. {counts}", ""]
    rules: dict[str, list[str]] = {}
    for rule, merchant in blocked:
        rules.setdefault(rule, []).append(merchant)
    lines = [f"> [!CAUTION]\n> **This check fails**: {len(blocked)} policy finding(s) at {md_text(fail_on)} or "
             f"above ({md_code(f'--fail-on {fail_on}')}). Fix them, or waive the rule with a reason in the merchant "
             f"file.\n> {counts}"]
    for rule, merchants in rules.items():
        shown = ", ".join(md_code(cut(m, NAME_CHARS)) for m in merchants[:NAMES_IN_ROW])
        more = f" and {len(merchants) - NAMES_IN_ROW} more" if len(merchants) > NAMES_IN_ROW else ""
        lines.append(f"> - {md_code(rule)}: {shown}{more}")
    return [*lines, ""]


def render(document: PlanDocument, *, plan_at: str | None = None, fail_on: str | None = None) -> str:
    budget, shares = BUDGET, SHARES
    where = f"the full JSON plan is in {md_text(plan_at)}" if plan_at else "the full JSON plan has every change"
    title = md_code(cut(document.environment, NAME_CHARS)) + (
        f" (shard {md_text(cut(document.shard, NAME_CHARS))})" if document.shard else "")
    head = [marker(document.environment), f"## provision plan · {title}", "", *_check_fails(document, fail_on),
            *_summary(document)]
    foot = ["---", f"<sub>{where[0].upper()}{where[1:]}.</sub>", ""]
    left = budget - sum(len(line) + 1 for line in head + foot) - 64
    attention_part = _attention(document, int(left * shares.attention))
    left -= sum(len(line) + 1 for line in attention_part)
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
    body = [*head, *attention_part, *finding_lines, *failed_lines, *change_lines, *unchanged_lines,
            *skipped_lines, *foot]
    return "\n".join(body)
