"""`provision apply`: under the merchant's lock, plan, guard, confirm, run the api changes in order,
write the runbook for the rest, then plan again to prove convergence (docs/architecture.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from provisioner.centra.client import CentraClient, MutationRejected
from provisioner.engine.apply import executors, locking, runbook, sinks
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
from provisioner.resources import KINDS, api_tokens

ORDER = {kind.kind: index for index, kind in enumerate(KINDS)}


@dataclass
class Options:
    auto_approve: bool = False
    allow_deletes: bool = False
    runbook_out: Path | None = None
    secret_sink: str | None = None
    confirm: Callable[[str], bool] | None = None  # None: no terminal to ask on
    on_plan: Callable[[Plan], None] | None = None  # shown the plan before anything is asked or changed
    # told each step as it happens (`Report.step`): ("done", what), ("secret", where a token went), ...
    on_step: Callable[[str, str], None] | None = None


@dataclass
class Report:
    plan: Plan
    done: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # where each created token went, never a value
    runbook: Path | None = None
    runbook_steps: int = 0
    resumed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    final: Plan | None = None

    def story(self, not_done: list[str], *, extra: str = "") -> str:
        """What this run did, where each token it created went (never a value), and what it did not do."""
        lines = [f"  done: {', '.join([*self.done, *([extra] if extra else [])]) or 'nothing'}"]
        lines += [f"  {line}" for line in self.secrets]
        lines.append(f"  not done: {', '.join(not_done) or 'nothing'}")
        return "\n".join(lines)

    def step(self, options: Options, role: str, text: str) -> None:
        """Record a step and tell `options.on_step` at once. Roles: "resumed" (what the run before left),
        "warning", "done" (a change made), "secret" (where a created token went), and "working" (what the
        run now waits for: a request to the store; not recorded)."""
        kept = {"resumed": self.resumed, "done": self.done, "secret": self.secrets, "warning": self.warnings}
        if role in kept:
            kept[role].append(text)
        if options.on_step is not None:
            options.on_step(role, text)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or a fleet's stop) while changes were being made: `story` says what was done, where each
    created token went and what was not done. Still an interrupt: the command ends with exit 130."""

    def __init__(self, story: str, *, changed: bool) -> None:
        super().__init__(story)
        self.story = story
        self.changed = changed


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


def _run_api(client: CentraClient, planned: planning.Planned, delivery: sinks.Delivery, report: Report,
             record: journal.Journal, options: Options, stop: threading.Event | None) -> None:
    state = planned.state
    api: list[Change] = sorted((c for c in planned.plan.pending if c.executor == "api"),
                               key=lambda c: (ORDER[c.kind], c.address))
    for index, change in enumerate(api):
        not_done = [c.address for c in api[index:]]
        if stop is not None and stop.is_set():
            raise Interrupted(report.story(not_done), changed=bool(report.done))
        record.record(change.address, change.action, "started")
        report.step(options, "working", f"{change.action} {change.address}")
        try:
            outcome = executors.execute(client, planned.capabilities, state, planned.live, change)
        except executors.FoundExisting as exc:
            # Another run made it: nothing of this run's is left to resolve, so the next run plans afresh
            # (and must not rotate that run's token as if its value were lost).
            record.record(change.address, change.action, "failed", str(exc))
            _raise_found(change, exc, report, not_done)
        except ProvisionerError as exc:
            # Refused means nothing changed; anything else on a create may have committed.
            known = isinstance(exc, MutationRejected) or change.action != "create"
            record.record(change.address, change.action, "failed" if known else "unknown", str(exc))
            raise PartialApplyError(f"{change.address}: {exc}\n{report.story(not_done)}\n"
                                    "  run apply again to continue") from None
        except KeyboardInterrupt:
            # Sent, answer not read: the journal keeps it "started", and the next run reads the store.
            raise Interrupted(f"  in flight when interrupted: {change.address} (the next apply reads the store "
                              f"to learn whether it was made)\n{report.story(not_done[1:])}", changed=True) from None
        if outcome.secret is not None:
            # Journalled before delivery: if the sink fails or the run dies here, the next run finds the
            # token "created" and rotates it, since nobody has its value.
            record.record(change.address, change.action, "created", outcome.summary)
            try:
                where = delivery.deliver(outcome.secret, state.merchant, state.environment, change.name)
            except ProvisionerError as exc:
                raise PartialApplyError(f"{change.address}: {exc}\n{report.story(not_done[1:], extra=outcome.summary)}"
                                        "\n  run apply again to continue") from None
            except KeyboardInterrupt:
                raise Interrupted(f"  {outcome.summary}, but interrupted before its value was stored: the next "
                                  f"apply rotates it\n{report.story(not_done[1:])}", changed=True) from None
            record.record(change.address, change.action, "done", f"{outcome.summary}; token value stored in {where}")
            report.step(options, "done", outcome.summary)
            report.step(options, "secret", f"{change.name}: token value stored in {where}")
        else:
            record.record(change.address, change.action, "done", outcome.summary)
            report.step(options, "done", outcome.summary)
        if outcome.warning is not None:
            report.step(options, "warning", f"{change.address}: {outcome.warning}")
    record.finish()


def _raise_found(change: Change, exc: executors.FoundExisting, report: Report, not_done: list[str]) -> NoReturn:
    """The store moved under this run: its plan no longer holds (exit 7), or, when it had changed
    something already, the apply is partial (exit 5)."""
    if not report.done:
        raise StalePlanError(f"{change.address}: {exc}; nothing was changed — plan again") from None
    raise PartialApplyError(f"{change.address}: {exc}\n{report.story(not_done)}\n  plan again to continue") from None


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
        state = planning.desired(saved_plan.merchant if saved_plan else str(merchant),
                                 saved_plan.environment if saved_plan else str(environment))
        with locking.hold(state.merchant, state.environment, "apply", on_wait=self.on_wait), \
                target.connect(state, on_wait=self.on_wait, route=self.route) as client:
            # Planned under the lock: what this run creates is read after any other run has finished.
            if options.on_step is not None:
                options.on_step("working", f"reading {state.merchant}/{state.environment} from {state.centra_url}")
            planned = planning.plan_with(client, state)
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
            _run_api(client, planned, delivery, report, record, options, self.stop)
            try:
                if manual:
                    report.runbook, report.runbook_steps = runbook.write(state, planned.plan, options.runbook_out)
                if options.on_step is not None:
                    options.on_step("working", "reading the store again to check that it converged")
                final = planning.plan_with(client, state).plan
            except KeyboardInterrupt:
                left = [] if report.runbook is not None or not manual else ["the runbook"]
                raise Interrupted(report.story([*left, "the check that the store converged"]),
                                  changed=bool(report.done)) from None
            report.final = final
            left = [c.address for c in final.pending if c.executor == "api"]
            if left:
                raise NotConvergedError("apply did not converge; still planned through the API: " + ", ".join(left))
        return report


def resumed(record: journal.Journal) -> list[str]:
    """What the run before this one left, when it was cut short: every change it finished (with where each
    token it created went) and every one it left unresolved, for this run to say before it continues."""
    if not record.entries:  # the last run finished (or none ran)
        return []
    return [f"{e['address']} ({e['status']}" + (f": {e['detail']}" if e["status"] == "done" and e.get("detail")
                                                else "") + ")"
            for e in record.latest().values() if e["status"] in ("done", "failed", *journal.UNRESOLVED)]
