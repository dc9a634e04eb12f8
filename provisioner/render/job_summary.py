"""The GitHub job summary of an apply: what it printed (folded) and each runbook's steps, for whoever
does them in AMS."""

from __future__ import annotations

import re
from pathlib import Path

from provisioner.escape import md_code, md_fence, md_plain, md_text

_STEP = re.compile(r"^## (\d+)\. (.+)$", re.M)
_TITLE = re.compile(r"^# (.+)$", re.M)


def render(paths: list[Path], applied: str | None = None) -> str:
    out = ["## provision apply", ""]
    if applied is not None:
        # A workflow command in the log (`::add-mask::VALUE`) carries its value: never into the summary.
        applied = "\n".join(line for line in applied.split("\n") if not line.lstrip().startswith("::"))
        out += ["<details><summary>apply output</summary>", "", *md_fence(applied.rstrip("\n"), "text").split("\n"), "",
                "</details>", ""]
    if not paths:
        out.append("No runbook: nothing to do by hand.")
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
