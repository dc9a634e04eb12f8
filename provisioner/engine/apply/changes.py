"""The api changes of one merchant's apply: one after another in the plan's order, each journalled, and
what the run reports as it goes (`Report`, `Options`, `Interrupted`). Consecutive changes that are each
one mutation no earlier change's result decides go in one request (docs/apply.md, "Changes sent
together"): each journalled before it goes, each answering on its own.

A token this run creates is checked against other runs' on the next read of the store, not by a
listing of its own: the read that proves convergence when every change went through (one request for
both), else one listing of the tokens before a run that stops early says what it did (`settle`). Its
value goes to its sink only then, so a token given way to another run's is stored nowhere. Right
before a create, the tokens are listed again only when the read under the lock is old (a question was
asked, earlier changes took long): `PROVISION_TOKEN_RECHECK_AFTER` seconds, 2 unless set; 0 lists
before every create."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from provisioner.centra.client import CentraClient, MutationRejected
from provisioner.engine.apply import executors, sinks
from provisioner.engine.plan import planning
from provisioner.engine.plan.model import Change, Plan
from provisioner.engine.state import journal
from provisioner.environ import seconds_from_env
from provisioner.errors import PartialApplyError, ProvisionerError, StalePlanError
from provisioner.resources import KINDS

ORDER = {kind.kind: index for index, kind in enumerate(KINDS)}
RECHECK_ENV = "PROVISION_TOKEN_RECHECK_AFTER"
RECHECK_AFTER = 2.0  # seconds: a read under the lock younger than this is what a listing would say
MAX_TOGETHER = 8  # changes in one request at most


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


def recheck_after() -> float:
    """How old the read under the lock may be before a create lists the store's tokens again."""
    try:
        return seconds_from_env(RECHECK_ENV, RECHECK_AFTER, zero=True)
    except ProvisionerError as refused:  # read before the first change: say so
        raise ProvisionerError(f"{refused}; nothing was changed") from None


def raise_found(change: Change, exc: executors.FoundExisting, report: Report, not_done: list[str], *,
                changed: bool, extra: str = "") -> NoReturn:
    """The store moved under this run: its plan no longer holds (exit 7), or, when it had changed
    something already (`changed`), the apply is partial (exit 5). `extra`: what settling its other tokens
    added."""
    if not changed:
        raise StalePlanError(f"{change.address}: {exc}; nothing was changed — plan again{extra}") from None
    raise PartialApplyError(f"{change.address}: {exc}\n{report.story(not_done)}{extra}\n  plan again to continue") \
        from None


class Unstored(KeyboardInterrupt):
    """Ctrl-C while a kept token's value was being stored: the journal keeps it "created"."""

    def __init__(self, created: executors.Created) -> None:
        super().__init__(f"{created.summary}, but interrupted before its value was stored: the next apply rotates it")
        self.created = created


class Undelivered(ProvisionerError):
    """A kept token whose value its sink refused: the journal keeps it "created", the next apply rotates it."""

    def __init__(self, created: executors.Created, exc: ProvisionerError) -> None:
        super().__init__(f"{created.change.address}: {exc}")
        self.created = created


@dataclass
class ApiChanges:
    client: CentraClient
    planned: planning.Planned
    delivery: sinks.Delivery
    report: Report
    record: journal.Journal
    options: Options
    stop: threading.Event | None
    recheck_at: float  # time.monotonic() past which the read under the lock is old
    created: list[executors.Created] = field(default_factory=list)  # not settled yet
    # done, but no change: found made by another run, or a token created and revoked at once for another's
    given_way: list[str] = field(default_factory=list)

    def changed(self) -> bool:
        """Whether this run changed the store (what it found made, or made and undid at once, does not count)."""
        return any(done not in self.given_way for done in self.report.done)

    def run(self) -> None:
        """Every api change, in the plan's order. Tokens created are left to `settle` on the next read.
        Consecutive changes each made by one mutation that no earlier change's result decides go in one
        request (`executors.send_together`), journalled and reported change by change."""
        api: list[Change] = sorted((c for c in self.planned.plan.pending if c.executor == "api"),
                                   key=lambda c: (ORDER[c.kind], c.address))
        index = 0
        while index < len(api):
            not_done = [c.address for c in api[index:]]
            if self.stop is not None and self.stop.is_set():
                story = self.story_before_stopping(not_done)
                raise Interrupted(story, changed=self.changed())
            together = self._together(api[index:])
            if len(together) > 1:
                self._send_together(together, not_done[len(together):])
                index += len(together)
            else:
                self._one(api[index], not_done)
                index += 1

    def _together(self, api: list[Change]) -> list[executors.Mutation]:
        """The changes at the head of `api` that go in one request (fewer than two: none do)."""
        planned, found = self.planned, list[executors.Mutation]()
        recheck = time.monotonic() > self.recheck_at
        for change in api[:MAX_TOGETHER]:
            try:
                mutation = executors.mutation_for(self.client, planned.capabilities, planned.state, planned.live,
                                                  change, recheck=recheck)
            except ProvisionerError:  # made alone, where the same error is reported as that change's
                mutation = None
            if mutation is None or any(m.operation == mutation.operation for m in found):  # each once a request
                break
            found.append(mutation)
        return found

    def _one(self, change: Change, not_done: list[str]) -> None:
        report, options, record = self.report, self.options, self.record
        record.record(change.address, change.action, "started")
        report.step(options, "working", f"{change.action} {change.address}")
        try:
            outcome = executors.execute(self.client, self.planned.capabilities, self.planned.state,
                                        self.planned.live, change, recheck=time.monotonic() > self.recheck_at)
        except executors.FoundExisting as exc:
            # Another run made it: nothing of this run's is left to resolve, so the next run plans afresh
            # (and must not rotate that run's token as if its value were lost).
            record.record(change.address, change.action, "failed", str(exc))
            extra = self.settle_before_stopping()
            raise_found(change, exc, report, [*self.unsettled(), *not_done], changed=self.changed(),
                        extra=f"\n{extra}" if extra else "")
        except ProvisionerError as exc:
            self._failed(change, exc)
            story = self.story_before_stopping(not_done)
            raise PartialApplyError(f"{change.address}: {exc}\n{story}\n  run apply again to continue") from None
        except KeyboardInterrupt:
            # Sent, answer not read: the journal keeps it "started", and the next run reads the store.
            story = self.story_before_stopping(not_done[1:])
            raise Interrupted(f"  in flight when interrupted: {change.address} (the next apply reads the store "
                              f"to learn whether it was made)\n{story}", changed=True) from None
        self._made(change, outcome)

    def _send_together(self, together: list[executors.Mutation], after: list[str]) -> None:
        """Several changes in one request: each journalled "started" before it is sent, then each one's own
        outcome or error, in order. A request refused or lost as a whole is every change's error (a create
        whose answer was lost is "unknown": the next run reads the store)."""
        report, options, record = self.report, self.options, self.record
        changes = [m.change for m in together]
        addresses = [c.address for c in changes]
        record.record_each([(c.address, c.action, "started", "") for c in changes])
        report.step(options, "working", ", ".join(f"{c.action} {c.address}" for c in changes))
        try:
            answers = executors.send_together(self.client, together)
        except ProvisionerError as exc:
            for change in changes:
                self._failed(change, exc)
            story = self.story_before_stopping([*addresses, *after])
            raise PartialApplyError(f"{', '.join(addresses)}: {exc}\n{story}\n  run apply again to continue") \
                from None
        except KeyboardInterrupt:
            story = self.story_before_stopping(after)
            raise Interrupted(f"  in flight when interrupted: {', '.join(addresses)} (the next apply reads the store "
                              f"to learn whether they were made)\n{story}", changed=True) from None
        failed: list[tuple[Change, ProvisionerError]] = []
        for change, answer in zip(changes, answers, strict=True):
            if isinstance(answer, ProvisionerError):
                self._failed(change, answer)
                failed.append((change, answer))
            else:
                self._made(change, answer)
        if failed:
            story = self.story_before_stopping([*(c.address for c, _ in failed), *after])
            errors = "\n  ".join(f"{c.address}: {e}" for c, e in failed)
            raise PartialApplyError(f"{errors}\n{story}\n  run apply again to continue")

    def _failed(self, change: Change, exc: ProvisionerError) -> None:
        # Refused means nothing changed; anything else on a create may have committed.
        known = isinstance(exc, MutationRejected) or change.action != "create"
        self.record.record(change.address, change.action, "failed" if known else "unknown", str(exc))

    def _made(self, change: Change, outcome: executors.Outcome | executors.Created) -> None:
        report, options, record = self.report, self.options, self.record
        if isinstance(outcome, executors.Created):
            # Journalled at once: if the run dies before its value is stored, the next run rotates it.
            record.record(change.address, change.action, "created", outcome.summary)
            self.delivery.mask(outcome.value)
            report.step(options, "done", outcome.summary)
            self.created.append(outcome)
            return
        record.record(change.address, change.action, "done", outcome.summary)
        if not outcome.changed:
            self.given_way.append(outcome.summary)
        report.step(options, "done", outcome.summary)
        if outcome.warning is not None:
            report.step(options, "warning", f"{change.address}: {outcome.warning}")

    def settle(self, valid: dict[str, list[int]] | None) -> tuple[Change, executors.FoundExisting] | None:
        """Keep each created token (its value to its sink) or give way to another run's, by `valid`: the
        valid token ids by description, read after the creates (None: list them now, one request). Answers
        the first token found made by another run at the same moment, this run's revoked (`raise_found`).
        Raises `Undelivered` when a sink refuses a value, `Unstored` on Ctrl-C while storing one."""
        if not self.created:
            return None
        if valid is None:
            valid = executors.listed_valid(self.client)
        found: tuple[Change, executors.FoundExisting] | None = None
        while self.created:
            created = self.created.pop(0)
            change = created.change
            try:
                outcome = executors.settle(self.client, self.planned.capabilities, created,
                                           valid.get(change.name, []))
            except executors.FoundExisting as exc:
                self.record.record(change.address, change.action, "failed", str(exc))
                self.given_way.append(created.summary)
                found = found or (change, exc)
                continue
            self._deliver(created, outcome)
        return found

    def _deliver(self, created: executors.Created, outcome: executors.Outcome) -> None:
        report, options, state, change = self.report, self.options, self.planned.state, created.change
        assert outcome.secret is not None
        try:
            where = self.delivery.deliver(outcome.secret, state.merchant, state.environment, change.name)
        except ProvisionerError as exc:
            raise Undelivered(created, exc) from None
        except KeyboardInterrupt:
            raise Unstored(created) from None
        self.record.record(change.address, change.action, "done", f"{outcome.summary}; token value stored in {where}")
        report.step(options, "secret", f"{change.name}: token value stored in {where}")
        if outcome.warning is not None:
            report.step(options, "warning", f"{change.address}: {outcome.warning}")

    def unsettled(self) -> list[str]:
        """The tokens created whose value is stored nowhere yet, for the story's "not done"."""
        return [f"storing the value of {c.summary} (the next apply rotates it)" for c in self.created]

    def settle_before_stopping(self) -> str:
        """Before a run that stops early says what it did: every created token settled with one listing of
        the store's tokens. Answers what to add to the story: a token another run made at the same moment,
        or why a token's value was not stored (the journal keeps it "created": the next apply rotates it)."""
        try:
            found = self.settle(None)
        except Undelivered as exc:
            return f"  {exc.created.summary}, but {exc}; the next apply rotates it"
        except Unstored as exc:
            return f"  {exc}"
        except (ProvisionerError, KeyboardInterrupt) as exc:
            return f"  the tokens created could not be checked against other runs' ({exc or 'interrupted'})"
        return f"  {found[0].address}: {found[1]}" if found else ""

    def story_before_stopping(self, not_done: list[str]) -> str:
        extra = self.settle_before_stopping()
        story = self.report.story([*self.unsettled(), *not_done])
        return f"{story}\n{extra}" if extra else story
