"""`provision handover`: what Global-e needs to connect to one environment of a merchant — the
checkout plugin, the Order API URL, the webhook URL and the GEM tags as a document (markdown and JSON),
and the two secrets (the Order API secret, the Integration API token) delivered only to a secret sink.
The document names where the secrets are; it never holds them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import files
from provisioner.config import environments as envs
from provisioner.config import secrets
from provisioner.config.models import OrderApiPlugin
from provisioner.config.resolve import DesiredState
from provisioner.engine.apply import sinks
from provisioner.engine.plan import planning
from provisioner.errors import ProvisionerError
from provisioner.escape import md_code, md_fence
from provisioner.escape import md_text as markdown_text
from provisioner.policy import global_e
from provisioner.resources import plugins
from provisioner.secretstores.spec import SPECS, is_store_spec, open_store

SECRET_NAMES = {"order_api_secret": "GE_ORDER_API_SECRET", "integration_api_token": "GE_INTEGRATION_API_TOKEN"}


@dataclass(frozen=True)
class Handover:
    markdown: Path
    json: Path
    secrets_at: str


def gem_tags(global_e_environment: str, merchant_id: int) -> dict[str, str]:
    host = envs.GEM_HOSTS[global_e_environment]
    return {"script": f'<script id="globaleScript">(function () {{ var s = document.createElement(\'script\'); '
                      f's.type = \'text/javascript\'; s.async = true; s.src = \'//{host}/includes/js/{merchant_id}\'; '
                      f'document.getElementsByTagName(\'head\')[0].appendChild(s); }})();</script>',
            "css": f'<link id="GEPIStyles" rel="stylesheet" href="//{host}/includes/css/{merchant_id}" />'}


def _token_value(state: DesiredState, description: str, token_from: str | None) -> str:
    """The Integration API token: Centra shows it once, so it comes from where `apply` or `rotate` put it."""
    reference = token_from or f"file:{sinks.token_path(state.merchant, state.environment, description)}"
    try:
        return secrets.reveal(reference)
    except secrets.SecretUnavailable as exc:
        raise ProvisionerError(f"the value of the token '{description}' is not here ({exc}); pass --token-from "
                               "env:NAME or file:PATH; nothing was written") from None


def document(state: DesiredState, checkout: dict[str, Any], order_api: OrderApiPlugin,
             secrets_at: dict[str, str]) -> dict[str, Any]:
    assert state.spec.global_e is not None and state.global_e_environment is not None
    merchant_id = state.spec.global_e.merchant_id or 0
    return {
        "merchant": state.merchant, "environment": state.environment, "centra_url": state.centra_url,
        "global_e": {"merchant_id": merchant_id, "environment": state.global_e_environment},
        "checkout_plugin": checkout,
        "order_api": {"plugin": order_api.name, "url": f"{state.centra_url}/api/{order_api.uri}"},
        "webhook_url": state.webhook_url,
        "gem": gem_tags(state.global_e_environment, merchant_id),
        "secrets": secrets_at,
    }


def render(doc: dict[str, Any]) -> str:
    """The document a person reads and copies from: every value Global-e enters (ids, URLs, names) is a
    code span, shown exactly as it is (a URL's `&` stays `&`, and no link is made of it)."""
    def cell(value: Any) -> str:
        return md_code(str(value), in_table=True)

    checkout, gem = doc["checkout_plugin"], doc["gem"]
    lines = [f"# Global-e handover: {markdown_text(doc['merchant'])} ({markdown_text(doc['environment'])})", "",
             f"Centra {md_code(doc['centra_url'])}.", "",
             "| What | Value |", "|---|---|",
             f"| Global-e merchant id | {cell(doc['global_e']['merchant_id'])} |",
             f"| Global-e environment | {cell(doc['global_e']['environment'])} |",
             f"| Checkout plugin | {cell(checkout['name'])} |",
             f"| Checkout plugin type | {cell(checkout['type'])} |",
             f"| Checkout plugin URI | {cell(checkout['uri'])} |",
             f"| Order API URL | {cell(doc['order_api']['url'])} |",
             f"| Order API plugin | {cell(doc['order_api']['plugin'])} |",
             f"| Webhook URL | {cell(doc['webhook_url'])} |", "",
             "## Secrets", "", "Delivered separately, never in this document:", ""]
    lines += [f"- {md_code(name)}: {markdown_text(where)}" for name, where in doc["secrets"].items()]
    lines += ["", "## Global-e module (GEM) tags for the storefront", "",
              md_fence("\n".join([gem["script"], gem["css"]]), "html"), ""]
    return "\n".join(lines)


def _deliver(state: DesiredState, values: dict[str, str], sink: str | None) -> tuple[dict[str, str], str]:
    if sink == "env":
        where = {}
        for name, value in values.items():
            variable = SECRET_NAMES[name]
            where[name] = sinks.store(value, merchant=state.merchant, environment=state.environment,
                                      description=name, sink=f"env:{variable}")
        return where, "environment variables " + ", ".join(SECRET_NAMES[n] for n in values)
    if sink is not None and is_store_spec(sink):
        # A secret store the team (and Global-e's onboarding) reads from: each value under its own name.
        with open_store(sink) as store:
            store.check()
            where = {name: store.put(sinks.token_variable(SECRET_NAMES[name], state.merchant, state.environment,
                                                          "handover"), value) for name, value in values.items()}
        return where, store.label
    if sink is not None:
        raise ProvisionerError(f"--secret-sink for a handover is `env` (variables {', '.join(SECRET_NAMES.values())}),"
                               f" a secret store ({SPECS}) or omitted (a 0600 bundle)")
    bundle = sinks.SECRETS_DIR / f"{state.merchant}.{state.environment}.global-e-handover.json"
    sinks.write_private(bundle, json.dumps(values, indent=2) + "\n")
    return {name: f"{bundle} (mode 0600), key {name}" for name in values}, f"{bundle} (mode 0600)"


def handover(merchant: str, environment: str, *, out: Path | None, sink: str | None,
             token_from: str | None) -> Handover:
    if sink == "env" and not sinks.ci_variables_available():
        raise ProvisionerError("--secret-sink env needs $GITHUB_ENV (or $PROVISION_ENV_FILE)")
    planned = planning.plan(merchant, environment)
    state = planned.state
    if state.spec.global_e is None or state.spec.global_e.merchant_id is None:
        raise ProvisionerError(f"{merchant} is not a Global-e merchant (no global_e.merchant_id)")
    name = state.spec.global_e.checkout_plugin or ""
    checkout = planned.live.objects.get("plugin", {}).get(name)
    if checkout is None:
        raise ProvisionerError(f"the checkout plugin '{name}' is not in the store; apply and run the runbook first")
    order_api = next((p for p in plugins.KIND.plugins(state).values() if isinstance(p, OrderApiPlugin)), None)
    token = global_e.global_e_token_of(state)
    if order_api is None or order_api.secret is None or token is None:
        raise ProvisionerError("a handover needs the Order API plugin with its secret and the Global-e token")
    secret = secrets.reveal_for(state.merchant, order_api.secret, sandbox=state.is_sandbox)
    values = {"order_api_secret": secret, "integration_api_token": _token_value(state, token.description, token_from)}
    where, summary = _deliver(state, values, sink)
    doc = document(state, {"name": name, "type": checkout["type"], "uri": checkout["uri"]}, order_api, where)
    folder = out or Path("out")
    files.ensure_dir(folder, owned=out is None)
    stem = f"{state.merchant}.{state.environment}.global-e-handover"
    markdown, data = folder / f"{stem}.md", folder / f"{stem}.json"
    files.write_atomic(markdown, render(doc))
    files.write_atomic(data, json.dumps(doc, indent=2) + "\n")
    return Handover(markdown, data, summary)
