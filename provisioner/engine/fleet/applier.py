"""`apply PLAN.json` for a plan document: merchant by merchant, each with its own stale checks, guards
and convergence check; one that fails does not stop the others. Merchants the plan could not plan are
reported again here, so an apply job fails as loudly as the plan did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.engine.apply import merchant as applying
from provisioner.engine.apply import sinks
from provisioner.engine.plan import document as fleet_document
from provisioner.engine.plan.document import MerchantError, PlanDocument
from provisioner.errors import ProvisionerError


@dataclass
class Applied:
    merchant: str
    environment: str
    report: applying.Report | None = None
    error: MerchantError | None = None


@dataclass
class FleetApplied:
    document: PlanDocument
    results: list[Applied] = field(default_factory=list)
    index: str | None = None  # with an env sink: the variable listing the token variables written

    def exit_code(self) -> int:
        codes = [r.error.exit_code for r in self.results if r.error is not None]
        return fleet_document.most_severe(codes + [e.exit_code for e in self.document.errors])


def apply_document(document: PlanDocument, path: Path, options: applying.Options, *,
                   on_wait: Callable[[float, str], None] | None = None,
                   on_applied: Callable[[Applied], None] | None = None) -> FleetApplied:
    """Apply `document` (read from `path`, which messages name). Every token it creates, of every
    merchant, goes to a place of its own: tokens that would share one stop the run before any is created."""
    delivery = sinks.Delivery(options.secret_sink)
    document.sort()
    if options.runbook_out is not None and len(document.plans) > 1:
        raise ProvisionerError("--runbook-out names one file; a plan of several merchants writes each runbook to "
                               "its default place (out/MERCHANT.ENV.runbook.md)")
    delivery.check_distinct(token for plan in document.plans for token in applying.created_tokens(plan))
    outcome = FleetApplied(document)
    try:
        for plan in document.plans:
            applied = Applied(plan.merchant, plan.environment)
            try:
                applied.report = applying.apply(None, None, options, saved=path, saved_plan=plan, on_wait=on_wait,
                                                delivery=delivery)
            except ProvisionerError as exc:
                applied.error = MerchantError(merchant=plan.merchant, environment=plan.environment,
                                              exit_code=int(exc.exit_code), reason=str(exc))
            outcome.results.append(applied)
            if on_applied is not None:
                on_applied(applied)
    finally:
        outcome.index = delivery.finish()
    return outcome
