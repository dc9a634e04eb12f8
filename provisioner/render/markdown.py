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
from dataclasses import dataclass

from provisioner.engine.plan.document import MerchantError, PlanDocument
from provisioner.escape import cut, md_code, md_text
from provisioner.policy.findings import SEVERITIES
from provisioner.policy.risk import COUNT_WORDS, RISKS
from provisioner.policy.rules import blocking
from provisioner.render.fleet_groups import Attention, attention, findings, groups, label
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
# The failed merchants the closing "… and N more failed: …" line names, in characters: a few to start
# from (the JSON plan has every one); any value of this order does, so no test pins it.
MORE_FAILED_NAMES = 200  # pragma: no mutate
MORE_SKIPPED = ["- … and more (every skipped merchant is in the JSON plan)"]


def marker(environment: str) -> str:
    """The hidden line a workflow looks for to update this report's comment instead of adding one; nothing
    in an environment's name can end the comment early."""
    safe = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_.-]", "_", environment))
    return f"<!-- provision:plan environment={safe} -->"


def size(lines: list[str]) -> int:
    """The characters `lines` take in the comment, each with its line break."""
    return sum(len(line) + 1 for line in lines)


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
    """Lines kept while they fit the characters this section may use. A section cut short ends with a
    line counting what it left out, so each line is kept only if there is room after it for that line or
    for everything still to come, whichever is shorter."""

    def __init__(self, allowance: int) -> None:
        self.allowance = allowance
        self.lines: list[str] = []
        self.size = 0

    def fits(self, lines: list[str], rest: int = 0, more: list[str] | None = None) -> bool:
        """Whether `lines` fit with room left for `rest` characters to come, or for `more` instead."""
        room = min(rest, size(more)) if more is not None else rest
        return self.size + size(lines) + room <= self.allowance

    def add(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        self.size += size(lines)


def _more_items(left: list[Attention]) -> list[str]:
    merchants = len({p.merchant for a in left for p in a.plans})
    return [f"> … and {plural(len(left), 'more item')} in {plural(merchants, 'merchant')} "
            "(every item is in the JSON plan)"]


def _attention(document: PlanDocument, allowance: int) -> list[str]:
    """Items that need a reviewer's eyes, cautions first, each kind in its alert box: a blockquote that
    opens with the alert, separates its items by a `>` line and ends at a blank one."""
    items = attention(document)
    ordered = [item for level in ALERTS for item in items if item.level == level]
    if not ordered:
        return []
    before = [[">"] if index and ordered[index - 1].level == item.level
              else [*([""] if index else []), f"> [!{ALERTS[item.level]}]"] for index, item in enumerate(ordered)]
    lines_of = [[*before[index], *attention_lines(item, document.environment, NAMES_IN_ROW * 2)[:-1]]
                for index, item in enumerate(ordered)]
    after = _after_each([size(lines) for lines in lines_of])
    section = _Section(allowance)
    section.add(["### Needs attention", ""])
    for index, item in enumerate(ordered):
        more = [">", *_more_items(ordered[index + 1:]), ""]  # a cut goes on in the box it is in
        lines = lines_of[index]
        if not section.fits(lines, after[index] + 1, more):
            lines = [*before[index], *attention_lines(item, document.environment, 3)[:-1]]
        if not section.fits(lines, after[index] + 1, more):
            section.add([*([">"] if index else []), *_more_items(ordered[index:])])
            break
        section.add(lines)
    section.add([""])
    return section.lines


def _after_each(sizes: list[int]) -> list[int]:
    """For each item, the sum of the items after it."""
    total, after = sum(sizes), []
    for one in sizes:
        total -= one
        after.append(total)
    return after


def _more_findings(count: int) -> list[str]:
    return ["", f"… and {plural(count, 'more finding')} (every finding is in the JSON plan)"]


def _findings(document: PlanDocument, allowance: int) -> list[str]:
    """Policy findings, outside any fold: the same finding in several merchants is one row naming them."""
    rows = findings(document)
    if not rows:
        return []
    lines_of = [finding_row(shared, document.environment, NAMES_IN_ROW * 2) for shared in rows]
    after = _after_each([size(lines) for lines in lines_of])
    section = _Section(allowance)
    section.add(["### Policy findings", "", "| severity | rule | finding | fix | merchants |", "|---|---|---|---|---|"])
    for index, shared in enumerate(rows):
        more = [*_more_findings(len(rows) - index - 1), ""]
        line = lines_of[index]
        if not section.fits(line, after[index] + 1, more):
            line = finding_row(shared, document.environment, 3)
        if not section.fits(line, after[index] + 1, more):
            section.add(_more_findings(len(rows) - index))
            break
        section.add(line)
    section.add([""])
    return section.lines


def _more_failed(left: list[MerchantError]) -> list[str]:
    return ["", f"… and {len(left)} more failed: {names_of(sorted(e.merchant for e in left), MORE_FAILED_NAMES)}"]


def _failed(document: PlanDocument, allowance: int) -> list[str]:
    errors = document.errors
    if not errors:
        return []
    rows = [[f"| {cell(error.merchant)} | {cell(error.environment) if error.environment else '–'} | "
             f"{error.exit_code} | {md_text(_reason(error))} |"] for error in errors]
    after = _after_each([size(lines) for lines in rows])
    section = _Section(allowance)
    section.add([f"### Failed ({len(errors)})", "", "| merchant | environment | exit | reason |", "|---|---|---:|---|"])
    for index, line in enumerate(rows):
        if not section.fits(line, after[index] + 1, [*_more_failed(errors[index + 1:]), ""]):
            section.add(_more_failed(errors[index:]))
            break
        section.add(line)
    section.add([""])
    return section.lines


def _reason(error: MerchantError) -> str:
    return cut("; ".join(line.strip() for line in error.reason.splitlines() if line.strip()), REASON_CHARS)


def _more_changes(merchants: int, count: int, where: str) -> list[str]:
    return ["", f"… and {plural(merchants, 'more merchant')} with changes in {plural(count, 'group')}: {where}."]


def _changes(document: PlanDocument, allowance: int, where: str) -> list[str]:
    found = groups(document)
    if not found:
        return []
    changed = sum(len(g.plans) for g in found)
    section = _Section(allowance)
    section.add([f"### Changes: {plural(changed, 'merchant')} in {plural(len(found), 'group')}", ""])
    rows = [row(g, document.environment) for g in found]
    after = _after_each([size(lines) for lines in rows])  # rows of the groups not yet placed
    compact: list[int] = []
    level = 0  # detail only ever decreases down the list, so the riskiest, largest groups keep the most
    for index, group in enumerate(found):
        # room for every group still to come as a row of the table, and the blank line after it (once one
        # group is a row, every later one is: this is only asked while none is)
        rest = size(TABLE) + after[index] + 1 if after[index] else 0
        # step by step: the whole diff, a shorter one, fewer names, no diff, fewer names, then a table row
        every = len(group.plans)
        forms = [(every, 1_000_000), (every, DIFF_LINES), (NAMES_IN_HEADING, DIFF_LINES), (every, 0),
                 (NAMES_IN_HEADING, 0)]
        while level < len(forms):
            named, diff_lines = forms[level]
            lines = (full if diff_lines else heading)(group, document.environment, named, diff_lines)
            if section.fits(lines, rest):
                section.add(lines)
                break
            level += 1
        else:
            compact.append(index)
    if compact:
        rows_after = _after_each([size(rows[index]) for index in compact])
        merchants_after = _after_each([len(found[index].plans) for index in compact])
        for position, index in enumerate(compact):
            groups_after = len(compact) - position - 1
            more = [*_more_changes(merchants_after[position], groups_after, where), ""]
            line = [*(TABLE if position == 0 else []), *rows[index]]  # the table starts with its first row
            if not section.fits(line, rows_after[position] + 1, more):
                section.add(_more_changes(merchants_after[position] + len(found[index].plans), groups_after + 1,
                                          where))
                break
            section.add(line)
        section.add([""])
    return section.lines


def _names_within(names: list[str], chars: int) -> str:
    """Names as code spans in at most `chars` characters: every one, or as many as fit with the rest
    counted ("and N more")."""
    every = ", ".join(md_code(name) for name in names)
    if len(every) <= chars:
        return every
    # names_of keeps its names within the allowance it is given and counts the rest after them
    return names_of(names, chars - len(f" and {len(names)} more") + 2)


def _listed(title: str, names: list[str], allowance: int) -> list[str]:
    if not names:
        return []
    head = [f"### {title} ({len(names)})", ""]
    return [*head, _names_within(names, allowance - size([*head, ""]) - 1), ""]


def _skipped(document: PlanDocument, allowance: int) -> list[str]:
    """Skipped merchants by reason, each reason's line sharing what is left with those still to come."""
    if not document.skipped:
        return []
    by_reason: dict[str, list[str]] = {}
    for item in document.skipped:
        # "no environment matches 'prod' (has: qa)": group by what is missing, list what they have
        by_reason.setdefault(item.reason.split(" (has:")[0], []).append(item.merchant)
    reasons = sorted(by_reason.items())
    section = _Section(allowance)
    section.add([f"### Skipped ({len(document.skipped)})", ""])
    for index, (reason, names) in enumerate(reasons):
        more = size(MORE_SKIPPED) if index + 1 < len(reasons) else 0
        share = (allowance - section.size - more - 1) // (len(reasons) - index)
        prefix = f"- {md_text(reason)}: "
        line = [prefix + _names_within(names, share - len(prefix) - 1)]
        if not section.fits(line, more + 1):
            section.add(MORE_SKIPPED)
            break
        section.add(line)
    section.add([""])
    return section.lines


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


def render(document: PlanDocument, *, plan_at: str | None = None, fail_on: str | None = None,
           budget: int = BUDGET) -> str:
    """The comment, at most `budget` characters long (for any budget that holds its head, its foot and
    each section's heading): each section in turn may take its share of what the ones before it left, and
    the changes take the rest."""
    shares = SHARES
    where = f"the full JSON plan is in {md_text(plan_at)}" if plan_at else "the full JSON plan has every change"
    title = md_code(cut(document.environment, NAME_CHARS)) + (
        f" (shard {md_text(cut(document.shard, NAME_CHARS))})" if document.shard else "")
    head = [marker(document.environment), f"## provision plan · {title}", "", *_check_fails(document, fail_on),
            *_summary(document)]
    foot = ["---", f"<sub>{where[0].upper()}{where[1:]}.</sub>", ""]
    left = budget + 1 - size(head + foot)  # the comment's last line has no line break
    attention_part = _attention(document, int(left * shares.attention))
    left -= size(attention_part)
    finding_lines = _findings(document, int(left * shares.findings))
    left -= size(finding_lines)
    failed_lines = _failed(document, int(left * shares.failed))
    left -= size(failed_lines)
    unchanged = [label(p, document.environment) for p in document.plans if not p.has_changes()]
    unchanged_lines = _listed("No changes", unchanged, int(left * shares.unchanged))
    left -= size(unchanged_lines)
    skipped_lines = _skipped(document, int(left * shares.skipped))
    left -= size(skipped_lines)
    change_lines = _changes(document, left, where)
    if not document.plans and not document.errors:
        change_lines = ["No merchant was planned.", ""]
    body = [*head, *attention_part, *finding_lines, *failed_lines, *change_lines, *unchanged_lines,
            *skipped_lines, *foot]
    return "\n".join(body)
