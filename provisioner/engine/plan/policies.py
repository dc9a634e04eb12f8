"""Policy findings that stop a run, exit 6 after the plan has been shown: `plan --fail-on`, and `apply`
on any critical finding the merchant file does not waive."""

from __future__ import annotations

from collections.abc import Iterable

from provisioner.engine.plan.model import Plan
from provisioner.errors import PolicyBlockedError
from provisioner.policy.rules import BY_ID, blocking


def enforce(plans: Iterable[Plan], threshold: str) -> None:
    blocked = [(plan, finding) for plan in plans for finding in blocking(plan.findings, threshold)]
    if blocked:
        named = sorted({f"{plan.merchant}/{plan.environment}: {finding.rule}" for plan, finding in blocked})
        raise PolicyBlockedError(f"{len(blocked)} policy finding(s) at {threshold} or above ({'; '.join(named)}); "
                                 "fix them or waive the rule with a reason in the merchant file")


def enforce_for_apply(plan: Plan) -> None:
    """Apply makes the store what the file says: a critical finding about that (a webhook moving between
    Global-e hosts, PROD on a QA host, a token holding admin) is refused before anything changes."""
    blocked = [f for f in blocking(plan.findings, "critical") if f.rule not in BY_ID or BY_ID[f.rule].blocks_apply]
    if blocked:
        rules = ", ".join(sorted({f.rule for f in blocked}))
        raise PolicyBlockedError(f"{len(blocked)} critical policy finding(s) ({rules}); "
                                 "nothing was changed — fix them, or waive the rule with a reason in the merchant file")
