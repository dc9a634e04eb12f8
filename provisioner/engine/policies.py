"""`plan --fail-on`: a plan blocked by its policy findings is exit 6, after it has been shown."""

from __future__ import annotations

from provisioner.engine.plan import Plan
from provisioner.errors import PolicyBlockedError
from provisioner.policy.rules import blocking


def enforce(plans: list[Plan], threshold: str) -> None:
    blocked = [(plan, finding) for plan in plans for finding in blocking(plan.findings, threshold)]
    if blocked:
        named = sorted({f"{plan.merchant}/{plan.environment}: {finding.rule}" for plan, finding in blocked})
        raise PolicyBlockedError(f"{len(blocked)} policy finding(s) at {threshold} or above ({'; '.join(named)}); "
                                 "fix them or waive the rule with a reason in the merchant file")
