"""`provision apply`: plan, guard, confirm, run the api changes in order, write the runbook for the
rest, then plan again to prove convergence (DESIGN §3, §7, §8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.centra.client import CentraClient
from provisioner.engine import executors, journal, planning, runbook, sinks, target
from provisioner.engine.plan import Change, Plan, read_plan
from provisioner.errors import (
    NotConvergedError,
    PartialApplyError,
    PolicyBlockedError,
    ProvisionerError,
    StalePlanError,
)
from provisioner.resources import KINDS

ORDER = {kind.kind: index for index, kind in enumerate(KINDS)}


@dataclass
class Options:
    auto_approve: bool = False
    allow_deletes: bool = False
    runbook_out: Path | None = None
    secret_sink: str | None = None
    confirm: Callable[[str], bool] | None = None  # None: no terminal to ask on


@dataclass
class Report:
    plan: Plan
    done: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    runbook: Path | None = None
    runbook_steps: int = 0
    resumed: list[str] = field(default_factory=list)
    final: Plan | None = None


def _signature(plan: Plan) -> list[tuple[str, str, str]]:
    return sorted((c.address, c.action, repr([f.model_dump() for f in c.fields])) for c in plan.pending)


def _stale(saved: Plan, fresh: Plan) -> list[str]:
    changed = [key for key, value in saved.fingerprints.items() if fresh.fingerprints.get(key) != value]
    changed += [key for key in fresh.fingerprints if key not in saved.fingerprints]
    if not changed and _signature(saved) != _signature(fresh):
        changed.append("the merchant file (the changes it implies differ from the saved plan)")
    return changed


def _guard(plan: Plan, options: Options) -> None:
    deletes = [c.address for c in plan.pending if c.action == "delete"]
    if deletes and not options.allow_deletes:
        raise PolicyBlockedError("the plan deletes " + ", ".join(deletes) + "; pass --allow-deletes to allow it")
    api = [c for c in plan.pending if c.executor == "api"]
    critical = [c for c in plan.pending if c.risk == "critical"]
    if not (api or critical) or options.auto_approve:
        return
    if options.confirm is None:
        raise ProvisionerError("refusing to apply without a terminal to confirm on; review the plan and pass "
                               "--auto-approve (nothing was changed)")
    question = f"Apply {len(api)} api change(s)" + (f", {len(critical)} critical" if critical else "") + "?"
    if not options.confirm(question):
        raise ProvisionerError("not confirmed; nothing was changed")


def _run_api(client: CentraClient, planned: planning.Planned, options: Options, report: Report) -> None:
    state = planned.state
    record = journal.open_journal(state.merchant, state.environment)
    report.resumed = [f"{e['address']} ({e['status']})" for e in record.previous_run()]
    api: list[Change] = sorted((c for c in planned.plan.pending if c.executor == "api"),
                               key=lambda c: (ORDER[c.kind], c.address))
    for index, change in enumerate(api):
        record.record(change.address, change.action, "started")
        try:
            outcome = executors.execute(client, planned.capabilities, state, planned.live, change)
        except ProvisionerError as exc:
            record.record(change.address, change.action, "failed", str(exc))
            not_done = [c.address for c in api[index:]]
            raise PartialApplyError(
                f"{change.address}: {exc}\n  done: {', '.join(report.done) or 'nothing'}\n"
                f"  not done: {', '.join(not_done)}\n  run apply again to continue") from None
        if outcome.secret is not None:
            where = sinks.store(outcome.secret, merchant=state.merchant, environment=state.environment,
                                description=change.name, sink=options.secret_sink)
            report.secrets.append(f"{change.name}: token value stored in {where}")
        record.record(change.address, change.action, "done", outcome.summary)
        report.done.append(outcome.summary)
    record.finish()


def apply(merchant: str | None, environment: str | None, options: Options, *, saved: Path | None = None,
          on_wait: Callable[[float, str], None] | None = None) -> Report:
    sinks.check(options.secret_sink)
    saved_plan = read_plan(saved) if saved else None
    state = planning.desired(saved_plan.merchant if saved_plan else str(merchant),
                             saved_plan.environment if saved_plan else str(environment))
    with target.connect(state, on_wait=on_wait) as client:
        planned = planning.plan_with(client, state)
        if saved_plan is not None:
            stale = _stale(saved_plan, planned.plan)
            if stale:
                raise StalePlanError(f"{saved}: the live store changed since the plan ({', '.join(stale)}); "
                                     "nothing was changed — plan again")
        report = Report(planned.plan)
        if not planned.plan.pending:
            report.final = planned.plan
            return report
        _guard(planned.plan, options)
        _run_api(client, planned, options, report)
        if any(c.executor != "api" for c in planned.plan.pending):
            report.runbook, report.runbook_steps = runbook.write(state, planned.plan, options.runbook_out)
        final = planning.plan_with(client, state).plan
        report.final = final
        left = [c.address for c in final.pending if c.executor == "api"]
        if left:
            raise NotConvergedError("apply did not converge; still planned through the API: " + ", ".join(left))
    return report
