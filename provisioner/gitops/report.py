"""The words of a GitOps run: one status line per merchant (applied, unchanged, waiting for a person,
failed with its exit code and reason), first in the job summary and in each pull request's comment."""

from __future__ import annotations

import re

from provisioner.escape import md_code, md_text
from provisioner.gitops.outcomes import Outcome, Run

SYMBOL = {"applied": "✅", "unchanged": "➖", "waiting": "⏸️", "failed": "❌"}
ORDER = {"failed": 0, "waiting": 1, "applied": 2, "unchanged": 3}
REASON_CHARS = 600
INTERRUPTED_NOTE = ("**The run was interrupted** (cancelled, or Ctrl-C): each merchant below says what it did; "
               "merchants not listed were not started. The record did not move, so the next run applies what is left.")


def marker(environment: str) -> str:
    return f"<!-- provision:applied environment={re.sub(r'[^A-Za-z0-9_.-]', '_', environment)} -->"


def _reason(text: str) -> str:
    one = " ".join(text.split())
    if len(one) > REASON_CHARS:
        one = f"{one[:REASON_CHARS]}… ({len(one) - REASON_CHARS} more characters in the job log)"
    return md_text(one)


def status_line(outcome: Outcome) -> str:
    head = f"- {SYMBOL[outcome.status]} {md_code(outcome.merchant)} **{outcome.status}**"
    if outcome.status == "failed":
        head += f" (exit {outcome.exit_code})"
    if outcome.reason and outcome.status != "unchanged":
        head += f": {_reason(outcome.reason)}"
    return head


def _lines(outcomes: list[Outcome]) -> list[str]:
    lines: list[str] = []
    for outcome in sorted(outcomes, key=lambda o: (ORDER[o.status], o.merchant)):
        lines.append(status_line(outcome))
        lines += [f"  - {md_text(done)}" for done in outcome.done]
        lines += [f"  - {md_text(where)}" for where in outcome.secrets]
    return lines


def pull_comment(environment: str, outcomes: list[Outcome], run_url: str | None, *, interrupted: bool = False) -> str:
    waiting = [o for o in outcomes if o.status == "waiting"]
    lines = [marker(environment), f"## provision apply · {md_text(environment)}", ""]
    lines += [INTERRUPTED_NOTE, ""] if interrupted else []
    lines += _lines(outcomes)
    if waiting:
        lines += ["", "Waiting merchants were **not applied**: they are listed in the tracking issue of "
                      f"{md_text(environment)}, and the *reviewed apply* workflow applies them after a fresh "
                      "plan is approved."]
    if run_url:
        lines += ["", f"Run: {md_text(run_url)}"]
    return "\n".join(lines) + "\n"


def summary(run: Run) -> str:
    """The job summary: what happened to each merchant before anything else."""
    counts = {status: sum(1 for o in run.outcomes if o.status == status) for status in ORDER}
    shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no merchant changed"
    lines = [f"## provision apply · {md_text(run.environment)} · {run.head[:12]}", "", f"**{shown}**", ""]
    lines += [INTERRUPTED_NOTE, ""] if run.interrupted else []
    lines += [*_lines(run.outcomes), ""]
    lines += [f"- {md_text(note)}" for note in run.notes]
    return "\n".join(lines) + "\n"
