"""Merchants worked on at once by a caller that keeps its own outcomes (a GitOps apply: gitops/merge.py),
as `applier` applies a plan document: each merchant on a thread of its own, within the run's requests in
flight and each Centra host's cap (`hosts`), over one connection pool per host, every created token to
the run's one delivery. Outcomes are handed on in the merchants' order, whatever order they finish in;
an interrupt stops the run between changes (the engine's `stop`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

from provisioner.engine.apply import sinks
from provisioner.engine.fleet.hosts import PER_HOST_IN_FLIGHT, Gates, SharedPool

Outcome = TypeVar("Outcome")


class Stopped(Exception, Generic[Outcome]):
    """An interrupt while a merchant's changes were made, with the merchant's outcome: what it did."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("interrupted")
        self.outcome = outcome


class AtOnce(Generic[Outcome]):
    """What the merchants of one run share: the stop an interrupt sets (no change starts after it), the
    connections and caps per Centra host, and where created tokens go."""

    def __init__(self, secret_sink: str | None, parallelism: int, per_host: int = PER_HOST_IN_FLIGHT) -> None:
        self.stop = threading.Event()
        self.pool = SharedPool(Gates(per_host, parallelism))
        self.route = self.pool.wrap  # `applying.apply(route=)`: each merchant's client over the shared pools
        self.delivery = sinks.Delivery(secret_sink)
        self.workers = max(1, 2 * parallelism)  # a merchant spends part of its time with no request out

    def run(self, merchants: list[str], one: Callable[[str], Outcome], told: Callable[[Outcome], None]) -> list[str]:
        """Apply each merchant with `one`, at once; hand each outcome to `told` in the merchants' order.
        Answer the merchants not started because the run was interrupted first."""

        def started(merchant: str) -> Outcome | None:
            if self.stop.is_set():
                return None
            try:
                return one(merchant)
            except Stopped as stopped:
                self.stop.set()  # an interrupt seen by this merchant's changes: none other starts one
                outcome: Outcome = stopped.outcome
                return outcome

        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(merchants))),
                                thread_name_prefix="gitops-apply") as executor:
            futures: list[Future[Outcome | None]] = []
            try:
                for merchant in merchants:
                    futures.append(executor.submit(started, merchant))
            except KeyboardInterrupt:  # before all were handed to the threads: the rest never start
                self.stop.set()
            outcomes = self._in_order(futures, told)
        return [merchants[i] for i, outcome in enumerate(outcomes) if outcome is None] + merchants[len(futures):]

    def _in_order(self, futures: list[Future[Outcome | None]], told: Callable[[Outcome], None]) -> list[Outcome | None]:
        """The outcomes, handed on as soon as each one and every one before it are known. Ctrl-C reaches
        this thread, not the merchants': it sets the stop, and the merchants under way wind down."""
        outcomes: list[Outcome | None] = []
        pending: set[Future[Outcome | None]] = set(futures)
        while len(outcomes) < len(futures):
            try:
                if pending:
                    _, pending = wait(pending, return_when=FIRST_COMPLETED)
                while len(outcomes) < len(futures) and futures[len(outcomes)].done():
                    outcome = futures[len(outcomes)].result()  # anything but a ProvisionerError is a bug
                    outcomes.append(outcome)
                    if outcome is not None:
                        told(outcome)
            except KeyboardInterrupt:
                self.stop.set()
        return outcomes

    def finish(self) -> str | None:
        """Close the run's connections and its token delivery; with an env sink, the line listing the
        variables every merchant's tokens were written to (once, for the whole run)."""
        self.pool.close()
        return self.delivery.finish()
