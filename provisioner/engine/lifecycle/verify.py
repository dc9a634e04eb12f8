"""`provision verify`: live probes beyond what a plan reads — plugins present and active, the Order API
answering `status: ok` to the secret the merchant file references — and, for a Global-e merchant, the
readiness of each stage of the order lifecycle, each with the checks that stage depends on."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from provisioner.config.models import CHECKOUT_PLUGIN_TYPES, OrderApiPlugin
from provisioner.config.resolve import DesiredState
from provisioner.engine.plan import planning, target
from provisioner.engine.plan.live import LiveState
from provisioner.policy import global_e
from provisioner.policy.lifetime import describe
from provisioner.resources import plugins


# What Global-e's Integration API calls use: confirming and cancelling an order.
@dataclass(frozen=True)
class Check:
    subject: str
    passed: bool
    detail: str


@dataclass
class Stage:
    number: int
    name: str
    api: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and all(s.ready for s in self.stages)


def probe_order_api(http: httpx.Client, uri: str, secret: str) -> tuple[bool, str]:
    try:
        response = http.get(f"/api/{uri}/orders", params={"limit": 1}, headers={"API-Authorization": secret})
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"no answer from {http.base_url.join(f'/api/{uri}/orders')} ({type(exc).__name__})"
    if body.get("status") == "ok":
        return True, f"/api/{uri} accepts the secret"
    return False, f"/api/{uri} answered status {body.get('status')!r}: {body.get('msg', '')}"


def _plugin_checks(state: DesiredState, live: LiveState, http: httpx.Client) -> tuple[list[Check], dict[str, Check]]:
    found_live = live.objects.get("plugin", {})
    reveal = target.reveal(state)
    checks, probes = [], {}
    for name, plugin in plugins.KIND.plugins(state).items():
        found = found_live.get(name)
        if found is None:
            checks.append(Check(f"plugin {name}", False, "not in the store"))
            continue
        checks.append(Check(f"plugin {name}", found["status"] == plugin.status,
                            f"{found['status']} (wanted {plugin.status})"))
        if isinstance(plugin, OrderApiPlugin) and plugin.secret is not None:
            secret = reveal(plugin.secret)
            if secret is None:
                probe = Check(f"plugin {name} secret", False, f"{plugin.secret} is not set here")
            else:
                passed, detail = probe_order_api(http, plugin.uri, secret)
                probe = Check(f"plugin {name} secret", passed, detail)
            checks.append(probe)
            probes[name] = probe
    return checks, probes


def _cart_read(state: DesiredState, live: LiveState) -> list[Check]:
    name = state.spec.global_e.checkout_plugin if state.spec.global_e else None
    if name is None:
        return [Check("checkout plugin", False, "global_e.checkout_plugin names none")]
    if "plugin" in live.unknown:
        return [Check(f"checkout plugin '{name}'", False, f"plugins unreadable: {live.unknown['plugin'].reason}")]
    found = live.objects.get("plugin", {}).get(name)
    if found is None:
        return [Check(f"checkout plugin '{name}'", False, "not in the store")]
    return [Check(f"checkout plugin '{name}' type", found["type"] in CHECKOUT_PLUGIN_TYPES, found["type"]),
            Check(f"checkout plugin '{name}' status", found["status"] == "active", found["status"])]


def _order_api(state: DesiredState, live: LiveState, probes: dict[str, Check]) -> list[Check]:
    names = [n for n, p in plugins.KIND.plugins(state).items() if isinstance(p, OrderApiPlugin)]
    if not names:
        return [Check("Order API plugin", False, "the merchant file declares none")]
    checks = []
    for name in names:
        found = live.objects.get("plugin", {}).get(name)
        checks.append(Check(f"Order API plugin '{name}'", found is not None and found["status"] == "active",
                            found["status"] if found else "not in the store"))
        checks.append(probes.get(name) or Check(f"Order API '{name}' secret", False, "the plugin has no secret"))
    return checks


def _integration_api(state: DesiredState, live: LiveState, now: float) -> list[Check]:
    token = global_e.global_e_token_of(state)
    if token is None:
        return [Check("Global-e token", False, "the merchant file declares none")]
    subject = f"token '{token.description}'"
    if "api_token" in live.unknown:
        return [Check(subject, False, f"tokens unreadable: {live.unknown['api_token'].reason}")]
    found = live.objects.get("api_token", {}).get(token.description)
    if found is None:
        return [Check(subject, False, "not in the store")]
    missing = [p for p in global_e.STAGE_PERMISSIONS if p not in found["permissions"]]
    checks = [Check(f"{subject} valid", bool(found["valid"]), "valid" if found["valid"] else "revoked or expired"),
              Check(f"{subject} permissions", not missing,
                    f"lacks {', '.join(missing)}" if missing else f"holds {', '.join(global_e.STAGE_PERMISSIONS)}")]
    if found.get("_expires_at") is not None:
        window = state.spec.expiry_warning_days
        lifetime = describe("it", float(found["_expires_at"]), window, now)
        checks.append(Check(f"{subject} lifetime", lifetime.severity == "info", lifetime.message))
    return checks


def verify(merchant: str, environment: str) -> Verification:
    planned = planning.plan(merchant, environment)
    state, live = planned.state, planned.live
    with target.rest_client(state) as http:
        checks, probes = _plugin_checks(state, live, http)
    result = Verification(checks)
    if state.spec.global_e is not None:
        order_api = _order_api(state, live, probes)
        integration = _integration_api(state, live, time.time())
        result.stages = [Stage(1, "cart read", "Checkout API/DTC API", _cart_read(state, live)),
                         Stage(2, "order create", "Order API", order_api),
                         Stage(3, "payment capture", "Order API", order_api),
                         Stage(4, "order confirm", "Integration API", integration),
                         Stage(5, "order cancel", "Integration API", integration)]
    return result
