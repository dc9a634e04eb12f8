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
from provisioner.engine import ledger as ledgers
from provisioner.engine import live, target
from provisioner.engine.plan import Plan, build
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


def plan_with(client: CentraClient, state: DesiredState) -> Planned:
    before = client.requests
    managed = {kind.kind for kind in KINDS if kind.desired(state) is not None}
    current, _ = live.read_current(client, list(KINDS), managed)
    caps = discovery.discover(client)  # from the schema just read with (cached: no request)
    ledger = ledgers.load(state.merchant, state.environment)
    plan = build(state, current, caps, ledger, target.reveal(state))
    plan.findings = policies.evaluate(Context(
        state, current.objects, {kind: why.permission or f"a schema this Centra lacks ({why.message})"
                                  for kind, why in current.unknown.items()}, plan.changes,
        lambda address, setting, value: ledger.matches(address, setting, value, sensitive=False), time.time()))
    return Planned(state, plan, current, caps, client.requests - before)


def plan(merchant: str, environment: str, *, on_wait: Callable[[float, str], None] | None = None) -> Planned:
    return plan_state(desired(merchant, environment), on_wait=on_wait)


def plan_state(state: DesiredState, *, on_wait: Callable[[float, str], None] | None = None,
               route: target.Route | None = None) -> Planned:
    with target.connect(state, on_wait=on_wait, route=route) as client:
        return plan_with(client, state)
