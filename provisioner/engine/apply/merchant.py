"""`provision apply`: under the merchant's lock, plan, guard, confirm, run the api changes in order,
write the runbook for the rest, then plan again to prove convergence (docs/architecture.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioner.centra.client import CentraClient
from provisioner.config.resolve import DesiredState
from provisioner.engine.apply import executors, locking, runbook, sinks
from provisioner.engine.apply.changes import (
    ApiChanges,
    Interrupted,
    Options,
    Report,
    Undelivered,
    Unstored,
    raise_found,
    recheck_after,
)
from provisioner.engine.plan import planning, policies, target
from provisioner.engine.plan.model import Change, Plan, differences
from provisioner.engine.state import journal
from provisioner.errors import (
    AuthError,
    NotConvergedError,
    PartialApplyError,
    PolicyBlockedError,
    ProvisionerError,
    StalePlanError,
)
from provisioner.resources import api_tokens

__all__ = ["Interrupted", "Options", "Report", "apply", "created_tokens", "resumed"]

def _stale(path: Path, saved: Plan, fresh: Plan) -> StalePlanError | None:
    """Any difference between the saved plan and the plan made now, whatever its cause."""
    found = differences(saved, fresh)
    if not found:
        return None
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    if any(f.startswith("fingerprints.") for f in found):
        why = "the live store changed since the plan"
    elif any(f.startswith(("binding.", "centra_url", "tier")) for f in found):
        why = "the plan was made for another target, store, merchant file or tool version"
    else:
        why = "the plan file was edited, or the merchant file now implies other changes"
    return StalePlanError(f"{path}: {why} ({shown}); nothing was changed — plan again")


def _guard(plan: Plan, options: Options) -> None:
    deletes = [c.address for c in plan.pending if c.action == "delete" and not _is_rotation(c)]
    if deletes and not options.allow_deletes:
        raise PolicyBlockedError("the plan deletes " + ", ".join(deletes) + "; pass --allow-deletes to allow it")
    api = [c for c in plan.pending if c.executor == "api"]
    critical = [c for c in plan.pending if c.risk == "critical"]
    if not (api or critical) or options.auto_approve:
        return
    if options.confirm is None:
        raise ProvisionerError("refusing to apply without a terminal to confirm on; review the plan and pass "
                               "--yes (nothing was changed)")
    question = f"Apply {len(api)} api change(s)" + (f", {len(critical)} critical" if critical else "") + "?"
    if not options.confirm(question):
        raise ProvisionerError("not confirmed; nothing was changed")


def _is_rotation(change: Change) -> bool:
    return any(reason.startswith(planning.ROTATION) for reason in change.reasons)


def _rotation_warnings(plan: Plan) -> list[str]:
    return [f"{c.address}: {c.reasons[0][len(planning.ROTATION):]}; a new token goes to the sink and token id "
            f"{c.after['replaces_id']} is revoked" for c in plan.changes
            if _is_rotation(c) and c.action == "create" and c.after is not None]


def created_tokens(plan: Plan) -> list[tuple[str, str, str]]:
    """The tokens applying `plan` creates (each has a value for the sink), as (merchant, env, description)."""
    return [(plan.merchant, plan.environment, c.name) for c in plan.pending
            if c.executor == "api" and c.kind == api_tokens.KIND.kind and c.action == "create"]


def apply(merchant: str | None, environment: str | None, options: Options, *, saved: Path | None = None,
          saved_plan: Plan | None = None, on_wait: Callable[[float, str], None] | None = None,
          delivery: sinks.Delivery | None = None, route: target.Route | None = None,
          stop: threading.Event | None = None) -> Report:
    """`saved_plan`: one plan of the plan document read from `saved` (`fleet_document.read`), applied
    exactly, or refused if stale; without it, MERCHANT in ENVIRONMENT is planned and applied.
    `delivery`: where the fleet's created tokens go, shared by its merchants (default: this run's own);
    `route`: the fleet's shared connections (`target.connect`); `stop`: set, no further change is started
    (`Interrupted`)."""
    run = _Run(options, saved, saved_plan, on_wait, route, stop)
    if delivery is not None:
        return run.apply(merchant, environment, delivery)
    own = sinks.Delivery(options.secret_sink)
    try:
        report = run.apply(merchant, environment, own)
    except ProvisionerError as exc:
        index = own.finish()
        if index is not None:  # tokens made before the failure: say where they are
            exc.args = (f"{exc}\n  {index}",)
        raise
    except Interrupted as exc:
        index = own.finish()
        if index is not None:
            raise Interrupted(f"{exc.story}\n  {index}", changed=exc.changed) from None
        raise
    except KeyboardInterrupt:
        own.finish()
        raise
    index = own.finish()
    if index is not None:
        report.step(options, "secret", index)
    return report


@dataclass
class _Run:
    options: Options
    saved: Path | None
    saved_plan: Plan | None
    on_wait: Callable[[float, str], None] | None
    route: target.Route | None
    stop: threading.Event | None

    def apply(self, merchant: str | None, environment: str | None, delivery: sinks.Delivery) -> Report:
        options, saved_plan = self.options, self.saved_plan
        recheck = recheck_after()  # a bad value stops the run before anything is read
        state = planning.desired(saved_plan.merchant if saved_plan else str(merchant),
                                 saved_plan.environment if saved_plan else str(environment))
        with locking.hold(state.merchant, state.environment, "apply", on_wait=self.on_wait), \
                target.connect(state, on_wait=self.on_wait, route=self.route) as client:
            # Planned under the lock: what this run creates is read after any other run has finished.
            if options.on_step is not None:
                options.on_step("working", f"reading {state.merchant}/{state.environment} from {state.centra_url}")
            planned = planning.plan_with(client, state)
            read_at = time.monotonic()
            if saved_plan is not None:
                stale = _stale(self.saved or Path("the saved plan"), saved_plan, planned.plan)
                if stale is not None:
                    raise stale
            sections = planned.plan.sections
            if sections and all(s.state == "unknown" for s in sections.values()):
                raise AuthError("the token can read none of the managed sections (" + ", ".join(
                    f"{name}: needs {s.permission}" for name, s in sections.items()) + "); nothing was changed")
            record = journal.open_journal(state.merchant, state.environment)
            report = Report(planned.plan)
            if options.on_plan is not None:
                options.on_plan(planned.plan)
            for line in resumed(record):
                report.step(options, "resumed", line)
            for line in _rotation_warnings(planned.plan):
                report.step(options, "warning", line)
            if not planned.plan.pending:
                record.finish()
                report.final = planned.plan
                return report
            policies.enforce_for_apply(planned.plan)
            delivery.check_distinct(created_tokens(planned.plan))
            manual = any(c.executor != "api" for c in planned.plan.pending)
            if manual:
                runbook.check_target(state, options.runbook_out)  # a runbook that cannot be written stops it here
            _guard(planned.plan, options)
            changes = ApiChanges(client, planned, delivery, report, record, options, self.stop, read_at + recheck)
            changes.run()
            if not changes.created:
                record.finish()
            report.final = self._converge(client, state, changes, manual)
            record.finish()
            left = [c.address for c in report.final.pending if c.executor == "api"]
            if left:
                raise NotConvergedError("apply did not converge; still planned through the API: " + ", ".join(left))
        return report

    def _converge(self, client: CentraClient, state: DesiredState, changes: ApiChanges, manual: bool) -> Plan:
        """The runbook, then the store read again: the plan that proves convergence, whose tokens also
        settle the ones this run created (one request for both)."""
        report, options = changes.report, self.options
        try:
            if manual:
                report.runbook, report.runbook_steps = runbook.write(state, changes.planned.plan, options.runbook_out)
            if options.on_step is not None:
                options.on_step("working", "reading the store again to check that it converged")
            # Read as the journal will be once this run's creates are settled by this very read: none is lost.
            final = planning.plan_with(client, state, record=journal.Journal(changes.record.path))
        except KeyboardInterrupt:
            left = [] if report.runbook is not None or not manual else ["the runbook"]
            story = changes.story_before_stopping([*left, "the check that the store converged"])
            raise Interrupted(story, changed=changes.changed()) from None
        except ProvisionerError as exc:
            extra = changes.settle_before_stopping()
            if extra:
                exc.args = (f"{exc}\n{extra}",)
            raise
        try:
            found = changes.settle(executors.valid_in(final.live))
        except Undelivered as exc:
            raise PartialApplyError(f"{exc}\n{report.story(changes.unsettled())}"
                                    "\n  run apply again to continue") from None
        except Unstored as exc:
            raise Interrupted(f"  {exc}\n{report.story(changes.unsettled())}", changed=True) from None
        if found is not None:
            raise_found(*found, report, changes.unsettled(), changed=changes.changed())
        return final.plan


def resumed(record: journal.Journal) -> list[str]:
    """What the run before this one left, when it was cut short: every change it finished (with where each
    token it created went) and every one it left unresolved, for this run to say before it continues."""
    if not record.entries:  # the last run finished (or none ran)
        return []
    return [f"{e['address']} ({e['status']}" + (f": {e['detail']}" if e["status"] == "done" and e.get("detail")
                                                else "") + ")"
            for e in record.latest().values() if e["status"] in ("done", "failed", *journal.UNRESOLVED)]
