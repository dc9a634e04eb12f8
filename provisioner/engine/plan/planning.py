"""`provision plan`: resolve, connect, discover, read, diff — one merchant in three requests at most."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from provisioner import config
from provisioner.centra import capabilities as discovery
from provisioner.centra.client import CentraClient
from provisioner.config import resolve
from provisioner.config.resolve import DesiredState
from provisioner.engine.plan import live, target
from provisioner.engine.plan.model import Change, Plan, build
from provisioner.engine.state import journal
from provisioner.engine.state import ledger as ledgers
from provisioner.policy import rules as policies
from provisioner.policy.context import Context
from provisioner.resources import KINDS


@dataclass
class Planned:
    state: DesiredState
    plan: Plan
    live: live.LiveState
    capabilities: discovery.Capabilities
    requests: int


def desired(merchant: str, environment: str) -> DesiredState:
    return resolve.resolve(resolve.load(config.merchant_path(merchant)), environment)


def plan_with(client: CentraClient, state: DesiredState, *, record: journal.Journal | None = None) -> Planned:
    """`record`: the apply journal whose unresolved creates become rotations (default: the merchant's, as
    on disk; apply's convergence read passes its own run's, whose creates that read itself settles)."""
    before = client.requests
    managed = {kind.kind for kind in KINDS if kind.desired(state) is not None}
    current, _ = live.read_current(client, list(KINDS), managed)
    caps = discovery.discover(client)  # from the schema just read with (cached: no request)
    ledger = ledgers.load(state.merchant, state.environment)
    plan = build(state, current, caps, ledger, target.reveal(state))
    if record is None:
        record = journal.open_journal(state.merchant, state.environment)
    plan.changes.extend(rotations(plan, current, caps, record))
    plan.findings = policies.evaluate(Context(
        state, current.objects, {kind: why.permission or f"a schema this Centra lacks ({why.message})"
                                  for kind, why in current.unknown.items()}, plan.changes,
        lambda address, setting, value: ledger.matches(address, setting, value, sensitive=False), time.time()))
    return Planned(state, plan, current, caps, client.requests - before)


ROTATION = "rotation: "
REPLACES = "rotate: replaces id "  # the journal detail of a rotation's create


def rotations(plan: Plan, current: live.LiveState, caps: discovery.Capabilities,
              record: journal.Journal) -> list[Change]:
    """Tokens an interrupted apply created whose value never reached a sink: found by reading the store
    (never created again); the plan, saved or not, proposes a new token to the sink and revokes the lost
    one, so `plan` says so and `apply PLAN.json` does exactly what was reviewed."""
    extra: list[Change] = []
    tokens = current.objects.get("api_token", {})
    pending_creates = {c.address for c in plan.pending if c.action == "create"}
    for address, entry in sorted(record.unresolved_creates().items()):
        if address in pending_creates or address.split("/")[2:3] != ["api_token"]:
            continue  # never made: this plan's create makes it
        name = address.rsplit("/", 1)[-1]
        lost = tokens.get(name)
        if lost is None or entry.get("detail") == f"{REPLACES}{lost['_id']}":
            continue  # a rotation's successor that was never made: the token it was to replace is still newest
        why = (f"{ROTATION}an interrupted run created token id {lost['_id']} ({entry['status']}) but its value "
               "never reached a sink")
        executor = "api" if caps.create_token else "manual"
        extra.append(Change(address=address, kind="api_token", name=name, action="create", executor=executor,
                            risk="warning", reasons=[why], after={"replaces_id": lost["_id"]}))
        revoker = "api" if caps.revoke_token else "manual"
        extra.append(Change(address=address, kind="api_token", name=name, action="delete", executor=revoker,
                            risk="warning", reasons=[why], before={"id": lost["_id"]}))
    return extra


def plan(merchant: str, environment: str, *, on_wait: Callable[[float, str], None] | None = None,
         route: target.Route | None = None) -> Planned:
    return plan_state(desired(merchant, environment), on_wait=on_wait, route=route)


def plan_state(state: DesiredState, *, on_wait: Callable[[float, str], None] | None = None,
               route: target.Route | None = None) -> Planned:
    with target.connect(state, on_wait=on_wait, route=route) as client:
        return plan_with(client, state)
