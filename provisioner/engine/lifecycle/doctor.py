"""`provision doctor`: can the provisioner's own token read every section a plan needs, and what can
the target write? Answers before the first plan does."""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioner.centra import capabilities as discovery
from provisioner.engine.lifecycle import lifetime
from provisioner.engine.plan import live, planning, target
from provisioner.policy.lifetime import Lifetime
from provisioner.resources import KINDS


@dataclass
class Diagnosis:
    app_version: str | None
    readable: dict[str, bool] = field(default_factory=dict)  # section -> readable
    missing: dict[str, str] = field(default_factory=dict)  # section -> permission
    unanswerable: dict[str, str] = field(default_factory=dict)  # section -> what the target's schema lacks
    managed: set[str] = field(default_factory=set)
    writes: dict[str, str | None] = field(default_factory=dict)
    quotas: list[str] = field(default_factory=list)
    token: Lifetime | None = None  # the provisioner's own token: days left

    @property
    def blocking(self) -> dict[str, str]:
        return {section: permission for section, permission in self.missing.items() if section in self.managed}


def diagnose(merchant: str, environment: str) -> Diagnosis:
    state = planning.desired(merchant, environment)
    with target.connect(state) as client:
        read, _ = live.read_current(client, list(KINDS), {kind.kind for kind in KINDS})
        caps = discovery.discover(client)  # from the schema just read with (cached: no request)
        limits = client.run("rate_limits").data["rateLimits"]
        window = state.spec.expiry_warning_days
        own = lifetime.own_token(client, target.own_token(state), window)
    result = Diagnosis(read.app_version, managed={k.section for k in KINDS if k.desired(state) is not None},
                       token=own)
    for kind in KINDS:
        unknown = read.unknown.get(kind.kind)
        result.readable[kind.section] = unknown is None
        if unknown is not None and unknown.permission:
            result.missing[kind.section] = unknown.permission
        elif unknown is not None:
            result.unanswerable[kind.section] = unknown.message
    result.writes = {"api tokens (create)": caps.create_token, "api tokens (update)": caps.update_token,
                     "api tokens (revoke)": caps.revoke_token,
                     "event listeners (set)": caps.set_event_listeners,
                     "event listeners (unset)": caps.unset_event_listeners}
    result.quotas = [f"{item['type']} {item['intervalSeconds']}: {item['remainingQuota']}/{item['quota']} left"
                     for item in limits]
    return result
