"""`apply PLAN.json` for a plan document: every merchant with its own lock, journal, stale checks, guards
and convergence check, as `apply MERCHANT` does; one that fails does not stop the others. Merchants the
plan could not plan are reported again here, so an apply job fails as loudly as the plan did.

Merchants are applied concurrently when nothing has to be asked (`--yes`, or no terminal: each then
refuses on its own, as alone), each on its own thread, under the same caps as a fleet plan: requests in
flight across the run, a cap and a pacer per Centra host, and one connection pool per host shared by
every merchant on it (`hosts`); a large fleet over one forked process per core, as a fleet plan
(`processes`), each process's tokens listed by the run's one `NAME__VARIABLES`. Inside a merchant
nothing changes: its changes run one after another, in the plan's order. Each merchant's outcome is
handed on in the document's order, as soon as it and every merchant before it are done, so what is
printed is the same whatever order they finish in.
With a question to ask on a terminal, merchants are applied one after another (each asks in turn).

On an interrupt (Ctrl-C: every process of the run has its own, from the terminal), no merchant starts
and none starts another change: each finishes the change it has in flight (so its journal says what
happened), and every merchant's outcome is still reported."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from provisioner.centra import introspection
from provisioner.config import environments as envs
from provisioner.engine import limits
from provisioner.engine.apply import merchant as applying
from provisioner.engine.apply import sinks
from provisioner.engine.fleet import hosts as fleet_http
from provisioner.engine.fleet import planner
from provisioner.engine.fleet import processes as fleet_processes
from provisioner.engine.fleet.hosts import PER_HOST_IN_FLIGHT, Gates, SharedPool
from provisioner.engine.plan import document as fleet_document
from provisioner.engine.plan.document import MerchantError, PlanDocument
from provisioner.engine.plan.model import Plan
from provisioner.errors import ExitCode, ProvisionerError

log = logging.getLogger(__name__)

DEFAULT_PARALLELISM = limits.DEFAULT_PARALLELISM  # requests in flight across the run
MERCHANTS_PER_SLOT = 2  # as planning: a merchant spends part of its time with no request out


@dataclass
class Applied:
    merchant: str
    environment: str
    report: applying.Report | None = None
    error: MerchantError | None = None
    # Applied at once with others: what it showed while it ran (its plan, each step as it completed),
    # held so that its block is printed whole (`replay`). Empty when applied alone: shown as it happened.
    shown: list[Plan | tuple[str, str]] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)  # the places its tokens went (for NAME__VARIABLES)
    interrupted: bool = False

    def replay(self, options: applying.Options) -> None:
        """Hand what this merchant showed while it ran to `options`' callbacks, in the order it happened."""
        for item in self.shown:
            if isinstance(item, Plan):
                if options.on_plan is not None:
                    options.on_plan(item)
            elif options.on_step is not None:
                options.on_step(*item)


@dataclass
class FleetApplied:
    document: PlanDocument
    results: list[Applied] = field(default_factory=list)
    index: str | None = None  # with an env sink: the variable listing the token variables written
    interrupted: bool = False
    index_error: str | None = None  # the list of token variables could not be written (the tokens were)

    def exit_code(self) -> int:
        codes = [r.error.exit_code for r in self.results if r.error is not None]
        if self.index_error is not None:
            codes.append(int(ExitCode.PARTIAL_APPLY))
        return fleet_document.most_severe(codes + [e.exit_code for e in self.document.errors])


def concurrent(options: applying.Options) -> bool:
    """Whether merchants are applied at once: only when none of them can stop to ask a question."""
    return options.auto_approve or options.confirm is None


def apply_document(document: PlanDocument, path: Path, options: applying.Options, *,
                   on_wait: Callable[[float, str], None] | None = None,
                   on_applied: Callable[[Applied], None] | None = None,
                   parallelism: int = DEFAULT_PARALLELISM, per_host: int = PER_HOST_IN_FLIGHT,
                   gates: Gates | None = None, stop: threading.Event | None = None) -> FleetApplied:
    """Apply `document` (read from `path`, which messages name). Every token it creates, of every
    merchant, goes to a place of its own: tokens that would share one stop the run before any is created.
    `gates`: the per-host gates to use (a caller that wants the request counts passes its own); `stop`:
    set it to stop the run between changes, as an interrupt does (in this process)."""
    delivery = sinks.Delivery(options.secret_sink)
    document.sort()
    if options.runbook_out is not None and len(document.plans) > 1:
        raise ProvisionerError("--runbook-out names one file; a plan of several merchants writes each runbook to "
                               "its default place (out/MERCHANT.ENV.runbook.md)")
    delivery.check_distinct(token for plan in document.plans for token in applying.created_tokens(plan))
    outcome = FleetApplied(document)
    ordered = _InOrder(outcome, on_applied, len(document.plans))
    items = list(enumerate(document.plans))
    caps = fleet_processes.Limits(parallelism, per_host)
    processes = fleet_processes.count(document.environment, len(items), caps) if concurrent(options) else 1
    if items and document.environment != envs.SANDBOX:
        fleet_http.prepare()
    part = partial(_apply_part, path, options, parallelism)
    log.debug("applying %d plan(s) in %d process(es)", len(items), processes)

    def received(item: tuple[int, Applied]) -> None:
        delivery.delivered.extend(item[1].delivered)  # for the list of variables, written here
        ordered.add(*item)

    def interrupted() -> None:
        outcome.interrupted = True
        log.debug("interrupted: waiting for the processes to finish the changes they have in flight")

    try:
        with planner.collecting_less():  # frozen before any fork, too
            if processes > 1:
                fleet_processes.plan(items, processes, caps, part, on_outcome=received, on_wait=on_wait or _ignore,
                                     gates=gates, on_interrupt=interrupted)
            else:
                part(items, lambda item: ordered.add(*item), on_wait or _ignore, gates or Gates(per_host, parallelism),
                     delivery=delivery, stop=stop)
    finally:
        try:
            outcome.index = delivery.finish()
        except ProvisionerError as exc:  # every merchant is still reported, each token by where it went
            outcome.index_error = f"{exc}; the tokens were stored, each where its merchant says"
    outcome.interrupted = outcome.interrupted or any(r.interrupted for r in outcome.results)
    return outcome


def _ignore(seconds: float, why: str) -> None:
    return None


class _InOrder:
    """Hands each merchant's outcome on in the document's order: as soon as it and every one before it are known."""

    def __init__(self, outcome: FleetApplied, on_applied: Callable[[Applied], None] | None, total: int) -> None:
        self.outcome, self.on_applied, self.total = outcome, on_applied, total
        self.waiting: dict[int, Applied] = {}

    def add(self, index: int, applied: Applied) -> None:
        self.waiting[index] = applied
        while len(self.outcome.results) in self.waiting:
            ready = self.waiting.pop(len(self.outcome.results))
            self.outcome.results.append(ready)
            if self.on_applied is not None:
                self.on_applied(ready)


def _apply_part(path: Path, options: applying.Options, parallelism: int, items: list[tuple[int, Plan]],
                on_outcome: Callable[[tuple[int, Applied]], None], on_wait: Callable[[float, str], None],
                gates: Gates, *, delivery: sinks.Delivery | None = None, stop: threading.Event | None = None) -> None:
    """Apply these plans in this process (its threads, or one after another when apply may ask), handing
    on each merchant's outcome as it is known. In a process of its own (a large fleet), the tokens go to a
    `Delivery` of this process, and each merchant's outcome names the places they went."""
    own_delivery = delivery or sinks.Delivery(options.secret_sink)
    stop = stop if stop is not None else threading.Event()
    slots = gates.cap if gates.cap is not None else parallelism
    workers = max(1, min(slots * MERCHANTS_PER_SLOT, len(items))) if concurrent(options) else 1
    pool = SharedPool(gates)

    def one(item: tuple[int, Plan]) -> tuple[int, Applied]:
        index, plan = item
        applied = Applied(plan.merchant, plan.environment)
        if stop.is_set():
            applied.interrupted = True
            applied.error = MerchantError(merchant=plan.merchant, environment=plan.environment,
                                          exit_code=int(ExitCode.ERROR),
                                          reason="interrupted before it changed anything; nothing was changed")
            return index, applied

        def held(role: str, text: str) -> None:
            if role != "working":  # what it waits for matters only while it waits
                applied.shown.append((role, text))

        own = options if workers == 1 else replace(options, on_plan=applied.shown.append, on_step=held)
        try:
            applied.report = applying.apply(None, None, own, saved=path, saved_plan=plan, on_wait=on_wait,
                                            delivery=own_delivery, route=pool.wrap, stop=stop)
        except ProvisionerError as exc:
            applied.error = MerchantError(merchant=plan.merchant, environment=plan.environment,
                                          exit_code=int(exc.exit_code), reason=str(exc))
        except applying.Interrupted as exc:
            stop.set()
            applied.interrupted = True
            applied.error = MerchantError(
                merchant=plan.merchant, environment=plan.environment, reason=f"interrupted\n{exc.story}",
                exit_code=int(ExitCode.PARTIAL_APPLY if exc.changed else ExitCode.ERROR))
        if delivery is None:
            places = {own_delivery.destination(*token) for token in applying.created_tokens(plan)}
            applied.delivered = [where for where in own_delivery.delivered if where in places]
        return index, applied

    try:
        with introspection.CACHE.store.batched():
            if workers == 1:
                _serially(items, one, on_outcome, stop)
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as executor:
                    _collect([executor.submit(one, item) for item in items], on_outcome, stop)
    finally:
        pool.close()
        if delivery is None:
            own_delivery.delivered.clear()  # listed by the run's own Delivery, from each outcome
            own_delivery.finish()  # closes a secret store; writes no list (nothing left to list)


Item = tuple[int, Plan]
Outcome = tuple[int, Applied]


def _serially(items: list[Item], one: Callable[[Item], Outcome], on_outcome: Callable[[Outcome], None],
              stop: threading.Event) -> None:
    """One merchant after another, in this thread (where a question is asked and Ctrl-C arrives)."""
    for item in items:
        try:
            result = one(item)
        except KeyboardInterrupt:  # outside the changes (planning, a question): nothing of it changed
            stop.set()
            result = one(item)  # reported as not started
        on_outcome(result)


def _collect(futures: list[Future[Outcome]], on_outcome: Callable[[Outcome], None], stop: threading.Event) -> None:
    """Each merchant's outcome as it is known. On an interrupt, merchants not started are not started; the
    ones under way stop after their change in flight, and all are still reported."""
    pending = set(futures)
    while pending:
        try:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:
            stop.set()  # Ctrl-C, delivered to this thread while it waited
            log.debug("interrupted: no merchant starts another change; those under way finish the one in flight")
            continue
        for future in sorted(done, key=futures.index):
            on_outcome(future.result())  # anything but a ProvisionerError is a bug: let it surface
