"""A plan document on a terminal: each plan as `render.text` shows it, then the merchants that failed or
were skipped, and a one-line fleet summary when there is more than one merchant. Failures go to stderr
(`error_line`), where a terminal and a CI log both show them."""

from __future__ import annotations

from provisioner.engine.plan.document import MerchantError, PlanDocument
from provisioner.errors import ExitCode
from provisioner.escape import TEXT_LIMIT, cut, terminal, terminal_lines
from provisioner.render import text


def error_line(error: MerchantError) -> str:
    """A failed merchant for the terminal: the reason may quote the merchant file, so it is escaped."""
    where = terminal(f"{error.merchant}/{error.environment}" if error.environment else error.merchant)
    lines = terminal_lines(error.reason).split("\n")
    rest = "".join(f"\n    {line}" for line in lines[1:])
    return f"{where}: {lines[0]}{rest} (exit {error.exit_code})"


def alone(error: MerchantError) -> str:
    """The failure of a run of one merchant, worded as any other command's error (diagnostics, then their
    count, for an invalid file)."""
    if error.exit_code == ExitCode.INVALID_CONFIG:
        # one diagnostic a line; a saved document's reason may hold any number, so it is cut as a whole
        count = error.reason.count("\n") + 1
        lines = cut(error.reason, TEXT_LIMIT).split("\n")
        return "\n".join(terminal(line) for line in lines) + f"\n{count} problem(s) found"
    return f"error: {terminal_lines(error.reason)}"


def summary(document: PlanDocument) -> str:
    changed = len(document.changed())
    return (f"Fleet {terminal(document.environment)}{f' shard {terminal(document.shard)}' if document.shard else ''}: "
            f"{len(document.plans)} planned ({changed} with changes), {len(document.errors)} failed, "
            f"{len(document.skipped)} skipped.")


def render(document: PlanDocument, *, paint: text.Paint = text.plain, verbose: bool = False) -> str:
    out = [text.render(plan, paint=paint, verbose=verbose) for plan in document.plans]
    out += [f"skipped {terminal(item.merchant)}: {terminal(item.reason)}\n" for item in document.skipped]
    if len(document.merchants) > 1 or document.errors or document.skipped:
        out.append(summary(document) + "\n")
    return "".join(out)
