"""What a merge applies: exactly the plans reviewers saw, and nothing else.

For an environment, the commits since its record (`record.py`) are accounted for together, so a run that
was cancelled, skipped or failed is caught up by the next. Each merchant whose file (or preset) changed in
them is applied from the reviewed plan of the last pull request that planned it:

- the plan still holds → applied exactly (the engine re-plans under the merchant's lock and refuses any
  difference);
- it no longer holds, but what is left to do is part of what was reviewed (a run that failed half-way, a
  change somebody already made by hand) → what is left is applied, nothing more;
- otherwise (the store or the file moved, no reviewed plan, the PR's plan is for an older head, a
  deletion without the opt-in label) → nothing is applied for it; it waits in the environment's tracking
  issue for the reviewed re-plan workflow, and its pull request is told.

Merchants are applied at once, as `apply PLAN.json --yes` applies a fleet: each with its own lock, journal
and checks, within the run's requests in flight and each Centra host's cap, over one connection pool per
host; the changes inside a merchant stay in order, and outcomes are handed on (printed, reported) in the
merchants' order, whatever order they finish in. Every created token goes to a place of its own, and
with an env sink the run lists them all once, at its end.

The record moves to the merged commit only when no merchant failed; a failure is retried by the next run.
An interrupt (Ctrl-C, or the runner's cancel, which sends SIGINT) stops the run between changes: no
merchant starts, each one under way finishes the change in flight and says what it did and where its
tokens went, the rest are not started, and the pull requests and the tracking issue are still told
before the run ends with exit 130; the record stays, so the next run finishes the job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioner.engine import limits
from provisioner.engine.apply import merchant as applying
from provisioner.engine.fleet import selection
from provisioner.engine.fleet.at_once import AtOnce, Stopped
from provisioner.engine.fleet.selection import git
from provisioner.engine.plan import planning
from provisioner.engine.plan.model import Change, Plan
from provisioner.errors import ExitCode, ProvisionerError, StalePlanError
from provisioner.gitops import github, record, report, reviewed, tracking
from provisioner.gitops.outcomes import Outcome, Run
from provisioner.gitops.rest import Repository, Session


@dataclass
class Request:
    environment: str  # a tier of the merchant files (qa, prod): the reviewed plans are per tier
    head: str
    workdir: Path
    secret_sink: str | None = None
    after: str | None = None  # an environment that must have applied `head` first (prod after qa)
    run_url: str | None = None
    artifact: str = ""  # the PR plan artifact's name; default plan-ENV
    parallelism: int = limits.DEFAULT_PARALLELISM  # Centra requests in flight across the run

    @property
    def artifact_name(self) -> str:
        return self.artifact or f"plan-{self.environment}"


def apply_merged(repository: Repository, request: Request,
                 on_outcome: Callable[[Outcome], None] | None = None) -> Run:
    with repository.session() as session:
        head = git("rev-parse", "--verify", f"{request.head}^{{commit}}").strip()
        before = record.read(session, request.environment)
        run = Run(request.environment, head, before)
        commits = record.commits_since(before, head)
        if not commits:
            run.record_after = before
            run.notes.append(f"nothing to apply: {request.environment} is at {head[:12]} already")
            return run
        held_back = held_back_by(session, request.environment, request.after, head)
        changed = sorted(p.stem for p in (selection.changed_since(before) if before else selection.every()))
        pulls = reviewed.merged_pulls(session, commits)
        listed = reviewed.artifacts(session, request.artifact_name) if pulls else []
        for pull in pulls:
            reviewed.fetch_plan(session, pull, listed, request.artifact_name, request.workdir)
        waiting = tracking.read(session, request.environment)

        def received(outcome: Outcome) -> None:
            run.outcomes.append(outcome)
            if outcome.status in ("applied", "unchanged"):
                waiting.pop(outcome.merchant, None)
            elif outcome.status == "waiting":
                waiting[outcome.merchant] = tracking.Waiting(outcome.merchant, outcome.reason, outcome.pull)
            if on_outcome is not None:
                on_outcome(outcome)

        shared: AtOnce[Outcome] = AtOnce(request.secret_sink, request.parallelism)
        try:
            not_started = shared.run(changed, lambda merchant: _one(session, request, merchant, pulls, held_back,
                                                                    shared), received)
        finally:
            index = shared.finish()
        run.interrupted = shared.stop.is_set()
        _not_started(run, not_started)
        if index is not None:
            run.notes.append(index)
        if not run.interrupted and not any(o.status == "failed" for o in run.outcomes):
            run.notes.append(record.advance(session, request.environment, head, current=before))
            run.record_after = head
        else:
            run.record_after = before
            run.notes.append(f"{record.ref_name(request.environment)} stays at "
                             f"{before[:12] if before else 'nothing'}: the failed merchants are retried next run")
        run.notes.append(tracking.update(repository, request.environment, waiting, run_url=request.run_url,
                                         session=session))
        for pull in pulls:
            told = [o for o in run.outcomes if o.pull == pull.number]
            if told:
                run.notes.append(github.upsert_comment(repository, pull.number,
                                                       _pull_comment(request, told, run.interrupted), session=session))
        return run


def _not_started(run: Run, merchants: list[str]) -> None:
    if merchants:
        run.notes.append(f"interrupted: not started, so left for the next run: {', '.join(merchants)}")


def held_back_by(session: Session, environment: str, after: str | None, head: str) -> dict[str, str]:
    """With `after` (prod after qa): `head` must be applied there first, and its waiting merchants wait here."""
    if after is None:
        return {}
    done = record.read(session, after)
    if done is None or git("merge-base", head, done).strip() != head:
        raise ProvisionerError(f"{after} has not applied {head[:12]} yet; {environment} "
                               f"applies a merge only after {after} (nothing was applied)")
    return {name: f"waiting in {after}: {w.reason}" for name, w in tracking.read(session, after).items()}


def _one(session: Session, request: Request, merchant: str, pulls: list[reviewed.Pull],
         held_back: dict[str, str], shared: AtOnce[Outcome]) -> Outcome:
    planned_by = [p for p in pulls if p.covers(merchant)]
    if merchant in held_back:
        return Outcome(merchant, "waiting", held_back[merchant], planned_by[-1].number if planned_by else None)
    if not planned_by:
        if _nothing_to_do(merchant, request.environment, shared):
            return Outcome(merchant, "unchanged", "nothing to apply (no plan was needed)")
        why = next((p.why_none for p in reversed(pulls) if p.why_none), "")
        return Outcome(merchant, "waiting", "no reviewed plan covers this change" + (f" ({why})" if why else ""),
                       pulls[-1].number if pulls else None)
    pull = planned_by[-1]
    assert pull.document is not None and pull.plan_path is not None
    failed = [e for e in pull.document.errors if e.merchant == merchant]
    if failed:
        return Outcome(merchant, "waiting", f"the reviewed plan could not plan it: {failed[0].reason}", pull.number)
    plans = [p for p in pull.document.plans if p.merchant == merchant]
    if not plans:
        return Outcome(merchant, "unchanged", "no environment of this tier", pull.number)
    labels = reviewed.labels_now(session, pull.number)
    options = applying.Options(auto_approve=True, allow_deletes=reviewed.DELETE_LABEL in labels,
                               secret_sink=request.secret_sink)
    outcome = Outcome(merchant, "unchanged", pull=pull.number)
    for plan in plans:
        _apply_one(plan, pull, options, outcome, shared)
        if outcome.status in ("waiting", "failed"):
            break
    return outcome


def _nothing_to_do(merchant: str, tier: str, shared: AtOnce[Outcome]) -> bool:
    """A changed file that asks nothing of any store of this tier (a comment, a new merchant without a
    store of the tier, a section the store already matches) needs no review to be left alone."""
    choice = selection.choose(selection.named([merchant])[0], tier)
    if choice.broken is not None:
        return False
    try:
        return all(not planning.plan(merchant, environment, route=shared.route).plan.pending
                   for environment in choice.environments)
    except ProvisionerError:
        return False


def _apply_one(plan: Plan, pull: reviewed.Pull, options: applying.Options, outcome: Outcome,
               shared: AtOnce[Outcome]) -> None:
    try:
        _attempt(plan, pull, options, outcome, shared)
    except applying.Interrupted as exc:
        changed = exc.changed or bool(outcome.done)  # this environment's changes, or an earlier one's
        outcome.status, outcome.reason = "failed", f"interrupted\n{exc.story}"
        outcome.exit_code = int(ExitCode.PARTIAL_APPLY if changed else ExitCode.ERROR)
        raise Stopped(outcome) from None


def _attempt(plan: Plan, pull: reviewed.Pull, options: applying.Options, outcome: Outcome,
             shared: AtOnce[Outcome]) -> None:
    path = pull.plan_path or Path("the reviewed plan")

    def applied(reviewed_plan: Plan) -> applying.Report:
        return applying.apply(None, None, options, saved=path, saved_plan=reviewed_plan, delivery=shared.delivery,
                              route=shared.route, stop=shared.stop)

    try:
        report = applied(plan)
    except StalePlanError as stale:
        remaining = _remaining_of(plan, shared)
        if remaining is None:
            outcome.status, outcome.reason = "waiting", f"the reviewed plan no longer holds: {stale}"
            return
        try:
            report = applied(remaining)
        except ProvisionerError as exc:
            _failed(outcome, exc)
            return
    except ProvisionerError as exc:
        if exc.exit_code == ExitCode.POLICY and any(c.action == "delete" for c in plan.pending):
            outcome.status = "waiting"
            outcome.reason = (f"the reviewed plan deletes objects; a maintainer adds the label "
                              f"{reviewed.DELETE_LABEL} to #{pull.number} to allow it ({exc})")
            return
        _failed(outcome, exc)
        return
    outcome.done += report.done
    outcome.secrets += report.secrets
    if report.plan.pending:
        outcome.status = "applied"


def _failed(outcome: Outcome, exc: ProvisionerError) -> None:
    outcome.status, outcome.reason, outcome.exit_code = "failed", str(exc), int(exc.exit_code)


def _key(change: Change) -> str:
    return change.model_dump_json()


def _remaining_of(reviewed_plan: Plan, shared: AtOnce[Outcome]) -> Plan | None:
    """A fresh plan whose every pending change was in the reviewed plan (nothing new to review), or None."""
    try:
        fresh = planning.plan(reviewed_plan.merchant, reviewed_plan.environment, route=shared.route).plan
    except ProvisionerError:
        return None
    if fresh.binding != reviewed_plan.binding:
        return None  # another file, target or tool version: a new review
    allowed = {_key(c) for c in reviewed_plan.pending}
    return fresh if all(_key(c) in allowed for c in fresh.pending) else None


def _pull_comment(request: Request, outcomes: list[Outcome], interrupted: bool) -> str:
    return report.pull_comment(request.environment, outcomes, request.run_url, interrupted=interrupted)
