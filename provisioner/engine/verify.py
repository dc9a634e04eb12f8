"""`provision verify`: live probes beyond what a plan reads — plugins present and active, and the
Order API answering `status: ok` to the secret the merchant file references (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from provisioner.config.models import OrderApiPlugin
from provisioner.engine import planning, target
from provisioner.resources import plugins


@dataclass(frozen=True)
class Check:
    subject: str
    passed: bool
    detail: str


def probe_order_api(http: httpx.Client, uri: str, secret: str) -> tuple[bool, str]:
    try:
        response = http.get(f"/api/{uri}/orders", params={"limit": 1}, headers={"API-Authorization": secret})
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"no answer from /api/{uri} ({type(exc).__name__})"
    if body.get("status") == "ok":
        return True, f"/api/{uri} accepts the secret"
    return False, f"/api/{uri} answered status {body.get('status')!r}: {body.get('msg', '')}"


def verify(merchant: str, environment: str) -> list[Check]:
    planned = planning.plan(merchant, environment)
    state = planned.state
    live = planned.live.objects.get("plugin", {})
    reveal = target.reveal(state)
    checks = []
    with target.rest_client(state) as http:
        for name, plugin in plugins.KIND.plugins(state).items():
            found = live.get(name)
            if found is None:
                checks.append(Check(f"plugin {name}", False, "not in the store"))
                continue
            checks.append(Check(f"plugin {name}", found["status"] == plugin.status,
                                f"{found['status']} (wanted {plugin.status})"))
            if isinstance(plugin, OrderApiPlugin) and plugin.secret is not None:
                secret = reveal(plugin.secret)
                if secret is None:
                    checks.append(Check(f"plugin {name} secret", False, f"{plugin.secret} is not set here"))
                else:
                    passed, detail = probe_order_api(http, plugin.uri, secret)
                    checks.append(Check(f"plugin {name} secret", passed, detail))
    return checks
