"""A GitOps run's exit code: the most severe failure (by the documented precedence), and 130 for an
interrupted run whatever else."""

from __future__ import annotations

from provisioner.errors import ExitCode
from provisioner.gitops.outcomes import Outcome, Run


def test_the_most_severe_failure_decides_and_an_interrupt_outranks_it() -> None:
    outcomes = [Outcome("acme", "applied"), Outcome("bravo", "failed", "stale", exit_code=ExitCode.STALE_PLAN),
                Outcome("cargo", "failed", "refused", exit_code=ExitCode.AUTH), Outcome("delta", "waiting")]
    assert Run("qa", "reviewed", None, outcomes).exit_code() == ExitCode.AUTH  # documents.PRECEDENCE
    assert Run("qa", "reviewed", None, [Outcome("acme", "waiting")]).exit_code() == 0
    assert Run("qa", "reviewed", None, outcomes, interrupted=True).exit_code() == 130
    assert Run("qa", "reviewed", None, [], interrupted=True).exit_code() == 130
