"""A plan document on a terminal: each plan as `render.text` shows it, then the merchants that failed or
were skipped, and a one-line fleet summary when there is more than one merchant. Failures go to stderr
(`error_line`), where a terminal and a CI log both show them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from provisioner.engine.plan.document import AnyDocument, MerchantError, SpooledDocument
from provisioner.engine.plan.model import Plan
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


def summary(document: AnyDocument) -> str:
    changed = document.changed_count()
    return (f"Fleet {terminal(document.environment)}{f' shard {terminal(document.shard)}' if document.shard else ''}: "
            f"{len(document.plans)} planned ({changed} with changes), {len(document.errors)} failed, "
            f"{len(document.skipped)} skipped.")


def shower(*, paint: text.Paint = text.plain, verbose: bool = False) -> Callable[[Plan], str]:
    """How `pieces` shows each plan, to make where the plan is made (a fleet's planning processes)."""
    return partial(text.render, paint=paint, verbose=verbose)


def render(document: AnyDocument, *, paint: text.Paint = text.plain, verbose: bool = False) -> str:
    return "".join(pieces(document, paint=paint, verbose=verbose))


def pieces(document: AnyDocument, *, paint: text.Paint = text.plain, verbose: bool = False) -> Iterator[str]:
    """`render`, a plan at a time: a spooled document's plans are read one by one, never all at once, and
    each as shown where it was planned when it was (`shower`: the same paint and verbosity)."""
    if isinstance(document, SpooledDocument) and document.shows:
        yield from document.shown()
    else:
        for plan in document.plans:
            yield text.render(plan, paint=paint, verbose=verbose)
    for item in document.skipped:
        yield f"skipped {terminal(item.merchant)}: {terminal(item.reason)}\n"
    if len(document.merchants) > 1 or document.errors or document.skipped:
        yield summary(document) + "\n"
