"""Policy findings in each renderer's form. Messages quote names from merchant files and live stores,
so they are escaped for the terminal or for markdown."""

from __future__ import annotations

import re

from provisioner.policy.findings import Finding

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")  # a message is one line
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
ICONS = {"info": "i", "warning": "!", "critical": "!!"}


def terminal(text: str) -> str:
    """No escape sequence or control character from a file or a store reaches the terminal."""
    return _CONTROL.sub("?", text)


def markdown_text(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", terminal(text))


def text_lines(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    lines = ["Policy findings:"]
    for finding in findings:
        waived = f"  (waived: {terminal(finding.waived)})" if finding.waived else ""
        lines.append(f"  {ICONS[finding.severity]:<2} [{finding.severity}] {finding.rule}: "
                     f"{terminal(finding.message)}{waived}")
        if finding.severity != "info" and not finding.waived:
            lines.append(f"       fix: {terminal(finding.fix)}")
    return lines


def markdown_lines(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    out = ["| severity | rule | finding | fix |", "|---|---|---|---|"]
    for finding in findings:
        severity = f"~~{finding.severity}~~ waived: {markdown_text(finding.waived)}" if finding.waived else (
            f"**{finding.severity}**" if finding.severity == "critical" else finding.severity)
        out.append(f"| {severity} | `{finding.rule}` | {markdown_text(finding.message)} | "
                   f"{markdown_text(finding.fix)} |")
    return [*out, ""]
