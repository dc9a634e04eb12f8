"""Policy findings in each renderer's form. Messages quote names from merchant files and live stores,
so they are escaped for the terminal or for markdown (with the helpers every renderer uses)."""

from __future__ import annotations

from provisioner.escape import terminal
from provisioner.policy.findings import Finding

ICONS = {"info": "i", "warning": "!", "critical": "!!"}


def text_lines(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    lines = ["Policy findings:"]
    for finding in findings:
        waived = f"  (waived: {terminal(finding.waived)})" if finding.waived else ""
        lines.append(f"  {ICONS[finding.severity]:<2} [{finding.severity}] {terminal(finding.rule)}: "
                     f"{terminal(finding.message)}{waived}")
        if finding.severity != "info" and not finding.waived:
            lines.append(f"       fix: {terminal(finding.fix)}")
    return lines
