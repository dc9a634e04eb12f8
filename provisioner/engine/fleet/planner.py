"""Plan a fleet: many merchants at once, each on its own (one that fails is reported with its reason and
exit code; the others are still planned), concurrently but within each Centra host's limits, into one
plan document."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from provisioner.centra import introspection
from provisioner.config import environments as envs
from provisioner.config import resolve
from provisioner.config.resolve import DesiredState
from provisioner.engine import limits
from provisioner.engine.fleet import hosts as fleet_http
from provisioner.engine.fleet import processes as fleet_processes
from provisioner.engine.fleet import selection as fleet_select
from provisioner.engine.fleet.hosts import PER_HOST_IN_FLIGHT, Gates, SharedPool
from provisioner.engine.fleet.selection import Choice, Shard
from provisioner.engine.plan import planning
from provisioner.engine.plan.document import MerchantError, PlanDocument, SpooledDocument, as_written
from provisioner.engine.plan.model import Plan
from provisioner.errors import ProvisionerError

log = logging.getLogger(__name__)

# Requests in flight across the run; per host, PER_HOST_IN_FLIGHT caps them further.
DEFAULT_PARALLELISM = limits.DEFAULT_PARALLELISM
# Merchants in progress per request slot. A merchant spends part of its time loading, resolving and
# planning, with no request out; with one merchant per slot those slots would stand empty meanwhile.
# Twice as many merchants as slots keep the slots busy while the run-wide cap keeps what Centra sees
# at `parallelism`.
MERCHANTS_PER_SLOT = 2


@dataclass
class FleetRequest:
    environment: str
    names: list[str] = field(default_factory=list)
    every: bool = False
    changed_since: str | None = None
    shard: Shard | None = None
    parallelism: int = DEFAULT_PARALLELISM
    per_host: int = PER_HOST_IN_FLIGHT


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    merchant: str
    environment: str
    outcome: str  # "planned" | "changes" | "failed" | "skipped"


OnProgress = Callable[[Progress], None]
Shower = Callable[[Plan], str]
OnWait = Callable[[float, str], None]


def merchant_files(request: FleetRequest) -> list[Path]:
    chosen = sum((bool(request.names), request.every, request.changed_since is not None))
    if chosen != 1:
        raise ProvisionerError("name merchants, or use --all or --changed-since REF (one of them)")
    if request.names:
        return fleet_select.named(request.names)
    if request.every:
        return fleet_select.every()
    return fleet_select.changed_since(str(request.changed_since))


def identifiers(state: DesiredState) -> dict[str, str]:
    """What is this merchant's own in its plan, by role: grouping ignores these when comparing change sets."""
    found = {"merchant": state.merchant, "environment": state.environment, "centra_url": state.centra_url,
             "centra_domain": state.centra_domain}
    if state.spec.global_e is not None and state.spec.global_e.merchant_id is not None:
        found["global_e_merchant_id"] = str(state.spec.global_e.merchant_id)
    return {role: value for role, value in found.items() if value}


@dataclass(frozen=True)
class _Written:
    """A plan in the form the document writes it (`as_written`), with what the run needs to know of it:
    what a planning process sends, and what the run keeps (in its spool, not in memory)."""

    merchant: str
    environment: str
    text: str
    changes: bool
    own: dict[str, str]
    shown: str | None = None  # as the run's report shows it, when the run said how (`Shower`)
    work: bool = True  # anything to create, update or delete (`Plan.has_work`): not only settings to attest


@dataclass
class _Outcome:
    """One merchant file: its choice of environments, and a plan or an error for each."""

    choice: Choice
    plans: list[tuple[Plan, dict[str, str]]] = field(default_factory=list)
    errors: list[MerchantError] = field(default_factory=list)

    def portable(self, show: Shower | None = None) -> _Portable:
        """Without the loaded merchant file (its YAML nodes), each plan as the document writes it (and as
        the report shows it): all the run needs of it, cheap to send (strings, not thousands of objects to
        pickle and rebuild), and made here, in the planning processes, not in the one that writes them."""
        return _Portable(replace(self.choice, source=None, broken=None),
                         [_Written(plan.merchant, plan.environment, as_written(plan), plan.has_changes(), own,
                                   show(plan) if show is not None else None, plan.has_work())
                          for plan, own in self.plans], self.errors)


@dataclass
class _Portable:
    choice: Choice
    plans: list[_Written]
    errors: list[MerchantError]


def _plan_merchant(path: Path, environment: str, pool: SharedPool, on_wait: OnWait) -> _Outcome:
    """Load (in the pool too, so parsing overlaps other merchants' requests), choose, plan."""
    choice = fleet_select.choose(path, environment)
    outcome = _Outcome(choice)
    if choice.broken is not None:
        outcome.errors.append(MerchantError(merchant=choice.merchant, exit_code=int(choice.broken.exit_code),
                                            reason=str(choice.broken)))
    for name in choice.environments:
        assert choice.source is not None

        def waiting(seconds: float, label: str, where: str = f"{choice.merchant}/{name}") -> None:
            on_wait(seconds, f"{where}: {label}")

        try:
            state = resolve.resolve(choice.source, name)
            outcome.plans.append((planning.plan_state(state, on_wait=waiting, route=pool.wrap).plan,
                                  identifiers(state)))
        except ProvisionerError as exc:
            outcome.errors.append(MerchantError(merchant=choice.merchant, environment=name,
                                                exit_code=int(exc.exit_code), reason=str(exc)))
    return outcome


def _prepare(environment: str) -> None:
    """Build what every merchant's plan shares (the HTTP stack's imports; the sandbox's schema) once,
    before the workers start: built lazily, every worker would build its own at once. (The live read is
    put together once per schema under a lock: engine/plan/live.py.)"""
    if environment != envs.SANDBOX:
        fleet_http.prepare()
    else:
        from provisioner.sandbox import app

        app.schema()


@contextmanager
def collecting_less() -> Iterator[None]:
    """A fleet plan allocates a great many short-lived objects (JSON answers, YAML nodes, models). At the
    collector's default pace that is hundreds of collections, each walking the run's long-lived objects
    (schemas, modules): about a fifth of the run's CPU. Objects that exist when the run starts are
    frozen out of its collections, and the youngest generation is collected 30x less often."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def plan_fleet(request: FleetRequest, *, on_progress: OnProgress | None = None, on_wait: OnWait | None = None,
               gates: Gates | None = None) -> PlanDocument:
    """`gates`: the per-host gates to use (a caller that wants the request counts passes its own)."""
    spooled = plan_fleet_spooled(request, on_progress=on_progress, on_wait=on_wait, gates=gates)
    try:
        return spooled.materialize()
    finally:
        spooled.close()


def plan_fleet_spooled(request: FleetRequest, *, on_progress: OnProgress | None = None,
                       on_wait: OnWait | None = None, gates: Gates | None = None,
                       show: Shower | None = None) -> SpooledDocument:
    """The fleet's plan document with its plans in a spool, not in memory: to write and show a plan at a
    time (the caller closes it). `show`: how the report will show each plan, to do where it is planned."""
    paths = fleet_select.in_shard(merchant_files(request), request.shard)
    if paths:
        _prepare(request.environment)
    document = SpooledDocument(request.environment, str(request.shard) if request.shard else None)
    choices: list[Choice] = []

    def finished(outcome: _Portable) -> None:
        choices.append(outcome.choice)
        _record(document, outcome)
        if on_progress is not None:
            on_progress(Progress(len(choices), len(paths), outcome.choice.merchant, request.environment,
                                 _label(outcome)))

    def waiting(seconds: float, label: str) -> None:
        if on_wait is not None:
            on_wait(seconds, label)

    limits = fleet_processes.Limits(request.parallelism, request.per_host)
    processes = fleet_processes.count(request.environment, len(paths), limits)
    log.debug("planning %d merchant file(s) in %d process(es)", len(paths), processes)
    plan_part = partial(_plan_paths, request.environment, request.parallelism, show=show)
    try:
        with collecting_less():  # frozen before any fork, too: children then share those pages untouched
            if processes > 1:
                fleet_processes.plan(paths, processes, limits, plan_part, on_outcome=finished, on_wait=waiting,
                                     gates=gates)
            else:
                plan_part(paths, finished, waiting, gates or Gates(request.per_host, request.parallelism))
        fleet_select.check_environment(request.environment, choices)
    except BaseException:
        document.close()
        raise
    return document.sort()


def _plan_paths(environment: str, parallelism: int, paths: list[Path], on_outcome: Callable[[_Portable], None],
                on_wait: OnWait, gates: Gates, *, show: Shower | None = None) -> None:
    """Plan these merchants in this process's threads (as many merchants in progress as the requests in
    flight allow, times MERCHANTS_PER_SLOT), handing each merchant's outcome on as it is known."""
    slots = gates.cap if gates.cap is not None else parallelism
    pool = SharedPool(gates)
    try:
        # The cache's index of hosts is written once, when the batch ends, not once per host.
        with introspection.CACHE.store.batched(), ThreadPoolExecutor(
                max_workers=max(1, min(slots * MERCHANTS_PER_SLOT, len(paths))), thread_name_prefix="plan") as executor:
            pending: set[Future[_Outcome]] = {
                executor.submit(_plan_merchant, path, environment, pool, on_wait) for path in paths}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    # anything but a ProvisionerError is a bug: let it surface
                    on_outcome(future.result().portable(show))
    finally:
        pool.close()


def _record(document: SpooledDocument, outcome: _Portable) -> None:
    document.errors.extend(outcome.errors)
    if outcome.choice.skipped is not None:
        document.skipped.append(outcome.choice.skipped)
    for plan in outcome.plans:
        document.add(plan.merchant, plan.environment, plan.text, changes=plan.changes, shown=plan.shown,
                     work=plan.work)
        document.identifiers[f"{plan.merchant}/{plan.environment}"] = plan.own


def _label(outcome: _Portable) -> str:
    if outcome.errors:
        return "failed"
    if outcome.choice.skipped is not None:
        return "skipped"
    return "changes" if any(plan.changes for plan in outcome.plans) else "planned"
