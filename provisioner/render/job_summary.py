"""The GitHub job summary of an apply: first one status line per merchant (applied, failed with its exit
code and reason, waiting for a person), then what it printed (folded) and each runbook's steps, for
whoever does them in AMS.

What happened is read from what the run left: the apply's output with its errors (`2>&1 | tee`), its exit
code, the plan it applied (which merchants it was for) and the runbooks it wrote. An error line is the one
`provision apply` prints for a merchant (`error: MERCHANT/ENV: reason (exit N)`); a failure no line names
a merchant for still leads the summary, never "nothing to do"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provisioner.escape import cut, md_code, md_fence, md_plain, md_text

_STEP = re.compile(r"^## (\d+)\. (.+)$", re.M)
_TITLE = re.compile(r"^# (.+)$", re.M)
_ERROR = re.compile(r"^error: (?:not planned, so not applied: )?([^\s/:]+)/([^\s/:]+): (.*) \(exit (\d+)\)$", re.S)
_RUNBOOK = re.compile(r"^(?P<merchant>[^.]+)\.(?P<environment>[^.]+)\.runbook$")
REASON_CHARS = 300
SYMBOL = {"failed": "❌", "waiting": "⏸️", "applied": "✅"}


@dataclass(frozen=True)
class Status:
    merchant: str  # MERCHANT/ENV, or "" for a failure no line names a merchant for
    status: str  # failed | waiting | applied
    detail: str = ""
    exit_code: int | None = None

    def line(self) -> str:
        who = f" {md_code(self.merchant)}" if self.merchant else ""
        state = {"waiting": "waiting for a person"}.get(self.status, self.status)
        code = f" (exit {self.exit_code})" if self.exit_code is not None else ""
        detail = f": {md_text(cut(' '.join(self.detail.split()), REASON_CHARS))}" if self.detail else ""
        return f"- {SYMBOL[self.status]}{who} **{state}**{code}{detail}"


def _log_lines(log: str) -> list[str]:
    """The log's lines, an error's continuation lines (indented by four) joined to it."""
    lines: list[str] = []
    for line in log.split("\n"):
        if line.startswith("    ") and lines and lines[-1].startswith("error: "):
            lines[-1] += "\n" + line
        else:
            lines.append(line)
    return lines


def _steps(path: Path) -> int:
    return len(_STEP.findall(path.read_text(encoding="utf-8")))


def statuses(paths: list[Path], log: str | None, exit_code: int | None, merchants: list[str]) -> list[Status]:
    """Each merchant's status, failures first: from the apply's output, its runbooks and the plan's merchants."""
    failed: dict[str, Status] = {}
    unnamed: list[str] = []
    for line in _log_lines(log or ""):
        match = _ERROR.match(line)
        if match:
            who = f"{match.group(1)}/{match.group(2)}"
            failed.setdefault(who, Status(who, "failed", match.group(3), int(match.group(4))))
        elif line.startswith("error: "):
            unnamed.append(line.removeprefix("error: "))
    result = list(failed.values())
    if exit_code and not failed:
        result.append(Status("", "failed", unnamed[-1] if unnamed else "see the job log", exit_code))
    waiting: set[str] = set()
    for path in sorted(paths):
        named = _RUNBOOK.match(path.name.removesuffix(".md"))
        who = f"{named['merchant']}/{named['environment']}" if named else path.name
        steps = _steps(path)
        if steps and who not in failed:
            waiting.add(who)
            result.append(Status(who, "waiting", f"{steps} step(s) in AMS, in the runbook {path.name}"))
    # Applied: the plan's other merchants, once the exit code says the rest went through (0), or the
    # failures were each named; a failure naming no merchant leaves the others unknown, never "applied".
    if exit_code == 0 or (exit_code and failed):
        result += [Status(who, "applied") for who in merchants if who not in failed and who not in waiting]
    return result


def render(paths: list[Path], applied: str | None = None, *, exit_code: int | None = None,
           merchants: list[str] | None = None) -> str:
    """The summary. `applied`: what apply printed; `exit_code`: its exit code (unknown when None, then no
    merchant is called applied); `merchants`: MERCHANT/ENV of the plan it applied."""
    found = statuses(paths, applied, exit_code, merchants or [])
    out = ["## provision apply", ""]
    if exit_code is not None:
        out += [f"**{'failed' if exit_code else 'succeeded'}**" + (f" (exit {exit_code})" if exit_code else ""), ""]
    out += [status.line() for status in found]
    if found:
        out.append("")
    if applied is not None:
        # A workflow command in the log (`::add-mask::VALUE`) carries its value: never into the summary.
        applied = "\n".join(line for line in applied.split("\n") if not line.lstrip().startswith("::"))
        out += ["<details><summary>apply output</summary>", "", *md_fence(applied.rstrip("\n"), "text").split("\n"), "",
                "</details>", ""]
    if not paths:
        out.append("No runbook was written: nothing to do by hand for what was applied."
                   if exit_code == 0 else "No runbook was written.")
    for path in sorted(paths):
        text = path.read_text(encoding="utf-8")
        title = _TITLE.search(text)
        steps = _STEP.findall(text)
        # The runbook's headings are markdown already: read back to their text, then escaped once here.
        heading = md_plain(title.group(1)) if title else path.stem
        out += [f"### {md_text(heading)} ({len(steps)} step(s), {md_code(path.name)})", ""]
        out += [f"{number}. {md_text(md_plain(step))}" for number, step in steps]
        out.append("")
    return "\n".join(out) + "\n"
