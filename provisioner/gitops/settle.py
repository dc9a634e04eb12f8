"""The reviewed way forward for a waiting merchant: a fresh plan, shown to the environment's reviewers,
then applied exactly (never re-planned: the engine refuses it if the store moved again, exit 7). The
merchants it applied leave the tracking issue; the rest stay."""

from __future__ import annotations

from pathlib import Path

from provisioner.engine.apply import merchant as applying
from provisioner.engine.fleet import applier
from provisioner.engine.fleet.selection import git
from provisioner.engine.plan import document as documents
from provisioner.errors import ProvisionerError
from provisioner.gitops import tracking
from provisioner.gitops.merge import held_back_by
from provisioner.gitops.outcomes import Outcome, Run
from provisioner.gitops.rest import Repository, Session


def apply_reviewed(repository: Repository, path: Path, environment: str, *, secret_sink: str | None,
                   allow_deletes: bool, run_url: str | None, after: str | None = None, head: str = "HEAD") -> Run:
    """With `after` (prod after qa), as a merge: nothing is applied unless `after` has applied `head`
    (the commit the plan was made from) and none of the plan's merchants waits there."""
    document = documents.read(path)
    with repository.session() as session:  # one client for the check before and the issue after
        if after is not None:
            _refuse_while_waiting(session, document, environment, after, head)
        options = applying.Options(auto_approve=True, allow_deletes=allow_deletes, secret_sink=secret_sink)
        run = _run(environment, applier.apply_document(document, path, options), document)
        waiting = tracking.read(session, environment)
        failed = {o.merchant for o in run.outcomes if o.status == "failed"}
        for outcome in run.outcomes:
            if outcome.merchant not in failed:
                waiting.pop(outcome.merchant, None)
        run.notes.append(tracking.update(repository, environment, waiting, run_url=run_url, session=session))
    return run


def _refuse_while_waiting(session: Session, document: documents.PlanDocument, environment: str, after: str,
                          head: str) -> None:
    commit = git("rev-parse", "--verify", f"{head}^{{commit}}").strip()
    held = held_back_by(session, environment, after, commit)
    planned = sorted({p.merchant for p in document.plans} & held.keys())
    if planned:
        raise ProvisionerError(f"{', '.join(planned)}: {'; '.join(held[m] for m in planned)}. "
                               f"{environment} applies a merchant only after {after} has: bring it up to "
                               f"date in {after} first (nothing was applied)")


def _run(environment: str, result: applier.FleetApplied, document: documents.PlanDocument) -> Run:
    run = Run(environment, head="reviewed", record_before=None, interrupted=result.interrupted)
    for applied in result.results:
        if applied.error is not None:
            run.outcomes.append(Outcome(applied.merchant, "failed", applied.error.reason,
                                        exit_code=applied.error.exit_code))
        elif applied.report is not None:
            run.outcomes.append(Outcome(applied.merchant, "applied" if applied.report.plan.pending else "unchanged",
                                        done=list(applied.report.done), secrets=list(applied.report.secrets)))
    run.outcomes += [Outcome(e.merchant, "failed", e.reason, exit_code=e.exit_code) for e in document.errors]
    return run
