"""One merchant's plan in a pull-request comment — or one group of merchants whose plans are the same
apart from their own names: the heading that names them, the counts of their changes, the diff in a fold,
each item that needs attention and each policy-finding row. The fleet comment (`render/markdown.py`)
composes these under its budget and chooses how much of each to show.

Every name and message is foreign (a merchant file, a live store, a saved plan document) and is escaped
here as it is placed: `md_text` in text, `md_code` in code spans, `code_text` on the diff's lines."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from provisioner.engine.plan.model import Plan
from provisioner.escape import LINE_LIMIT, code_text, cut, md_code, md_text
from provisioner.policy.risk import word
from provisioner.render.fleet_groups import Attention, Group, SharedFinding, label
from provisioner.render.text import SYMBOLS, field_lines

NAMES_IN_ROW = 8
DIFF_LINES = 60  # per group once the budget is tight; the JSON plan has every line
TABLE = ["| merchants | count | changes |", "|---|---:|---|"]


_URL = re.compile(r"https?://[^\s'\"`<>|]*[^\s'\"`<>|.,;:)\]]")


def prose(text: str, *, in_table: bool = False) -> str:
    """A message for a person: text escaped as text, each URL in it a code span, shown exactly (`md_text`
    writes `&` as `&amp;`, which GitHub's auto-link would keep in the address a person copies)."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        out += [md_text(text[position:match.start()]), md_code(match.group(0), in_table=in_table)]
        position = match.end()
    return "".join([*out, md_text(text[position:])])


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def cell(text: str) -> str:
    return md_code(text, in_table=True)


def names(plans: list[Plan], environment: str, limit: int, quote: Callable[[str], str] = md_code) -> str:
    shown = ", ".join(quote(label(p, environment)) for p in plans[:limit])
    return shown + (f" and {len(plans) - limit} more" if len(plans) > limit else "")


def names_of(listed: list[str], allowance: int) -> str:
    """Names as code spans, as many as fit `allowance` characters; the rest counted."""
    shown: list[str] = []
    for name in listed:
        if sum(len(s) + 2 for s in shown) + len(name) + 4 > allowance:
            return ", ".join(shown) + f" and {len(listed) - len(shown)} more"
        shown.append(md_code(name))
    return ", ".join(shown)


def attention_lines(item: Attention, environment: str, limit: int) -> list[str]:
    """One item that needs a reviewer's eyes, as a line of a GitHub alert, naming up to `limit` merchants."""
    where = (f" in {plural(len(item.plans), 'merchant')}: {names(item.plans, environment, limit)}"
             if len(item.plans) > 1 else "")
    if item.unknown_section:
        return [f"> {md_code(item.where)} is **unknown**{where}: {md_text(item.text)}; creates and "
                "deletes there are blocked.", ">"]
    if item.note:
        return [f"> {md_code(item.address)}: {prose(item.text)}" if len(item.plans) == 1
                else f"> {prose(item.text)}{where}", ">"]
    action, _, rest = item.text.partition(" ")
    return [f"> **{md_text(action)}** {md_code(item.where)} {prose(rest)}{where}", ">"]


def finding_row(shared: SharedFinding, environment: str, limit: int) -> list[str]:
    finding = shared.finding
    severity = (f"~~{finding.severity}~~ waived: {md_text(finding.waived)}" if finding.waived
                else f"**{finding.severity}**" if finding.severity == "critical" else finding.severity)
    return [f"| {severity} | {cell(finding.rule)} | {prose(finding.message, in_table=True)} | "
            f"{prose(finding.fix, in_table=True)} | {names(shared.plans, environment, limit, cell)} |"]


def counts_text(group: Group) -> str:
    counts = group.counts()
    parts = [f"{n} to {action}" for action, n in counts.items() if n]
    unknown = len(group.first.unknown_sections)
    if unknown:
        parts.append(f"{plural(unknown, 'section')} unknown")
    return ", ".join(parts)


def heading(group: Group, environment: str, limit: int, _: int = 0) -> list[str]:
    """The group's heading and counts, without its diff (a form the fleet comment falls back to)."""
    who = names(group.plans, environment, limit)
    many = f" ({len(group.plans)} merchants, identical change sets)" if len(group.plans) > 1 else ""
    return [f"#### {who}{many}", "", f"{counts_text(group)}.", ""]


def full(group: Group, environment: str, limit: int, diff_lines: int) -> list[str]:
    """The heading, then the first plan's changes as a diff in a fold (at most `diff_lines` lines)."""
    diff: list[str] = []
    for change in group.first.pending:
        symbol = SYMBOLS[change.action].replace("~", "!")
        diff.append(code_text(cut(f"{symbol} {change.kind} \"{change.name}\" ({change.executor}, {word(change.risk)})",
                                  LINE_LIMIT)))
        # field_lines are cut and escaped for a terminal already; in a comment, `<!--` is broken too
        diff.extend(code_text(f"{symbol}     {line}") for line in field_lines(change))
    if len(diff) > diff_lines:
        diff = [*diff[:diff_lines], f"  … {len(diff) - diff_lines} more lines in the JSON plan"]
    # A plan's merchant name is a plain identifier (the plan model's pattern); escaped all the same.
    shown_for = (f" (as planned for <code>{html.escape(group.first.merchant)}</code>; the others differ only in "
                 "their own names, hosts and ids)" if len(group.plans) > 1 else "")
    return [*heading(group, environment, limit), f"<details><summary>Changes{shown_for}</summary>", "",
            # Every line starts with a symbol and is escaped onto one line, so no line can close the
            # fence: the plain one is enough.
            "```diff", *diff, "```", "", "</details>", ""]


def row(group: Group, environment: str) -> list[str]:
    """The group as one row of the compact table, when even its heading no longer fits."""
    return [f"| {names(group.plans, environment, NAMES_IN_ROW, cell)} | {len(group.plans)} | {counts_text(group)} |"]
