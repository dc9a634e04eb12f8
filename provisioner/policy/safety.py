"""Environment safety (a production store never talks to QA hosts, nor the reverse; the webhook never
silently changes Global-e host) and least privilege (no token beyond what its preset needs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from provisioner.config import environments as envs
from provisioner.config import presets
from provisioner.config.models import ApiToken, CentraWebhookPlugin
from provisioner.policy.context import Context, granted
from provisioner.policy.findings import Hit, Rule
from provisioner.policy.lifetime import describe
from provisioner.reference import catalogue


def _tokens(ctx: Context) -> list[ApiToken]:
    section = ctx.state.spec.api_tokens
    return [t for t in (section.items if section else ()) if isinstance(t, ApiToken)]


def _webhooks(ctx: Context) -> list[CentraWebhookPlugin]:
    section = ctx.state.spec.plugins
    return [p for p in (section.items if section else ()) if isinstance(p, CentraWebhookPlugin)]


def hosts_check(ctx: Context) -> Iterator[Hit]:
    state = ctx.state
    domain = state.centra_domain
    if state.tier == "prod" and domain.endswith(envs.QA_CENTRA_SUFFIX):
        yield Hit(f"the production environment '{state.environment}' uses the QA Centra host {domain}")
    if state.tier == "qa" and domain.endswith(envs.PROD_CENTRA_SUFFIX):
        yield Hit(f"the QA environment '{state.environment}' uses the production Centra host {domain}")
    expected = "prod" if state.tier == "prod" else "qa-int"
    if state.global_e_environment is not None and state.global_e_environment != expected:
        yield Hit(f"the {state.tier} environment '{state.environment}' points at Global-e "
                  f"{envs.GLOBAL_E_HOSTS[state.global_e_environment]}")
    for hook in _webhooks(ctx):
        host = urlsplit(hook.url).hostname
        if host in envs.GLOBAL_E_HOSTS.values() and host != envs.GLOBAL_E_HOSTS[expected]:
            yield Hit(f"the {state.tier} environment's webhook '{hook.name}' sends to {host}")


def _with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=host).geturl()


def webhook_host_change_check(ctx: Context) -> Iterator[Hit]:
    """The ledger keeps only a hash of the attested URL; trying the URL under each other Global-e host
    tells whether the change moves the webhook between hosts, without storing the URL."""
    for hook in _webhooks(ctx):
        address = ctx.address("plugin_settings", hook.name)
        if ctx.matches(address, "url", hook.url) is not False:
            continue  # nothing attested, or the attested URL is this one
        new_host = urlsplit(hook.url).hostname
        for old_host in envs.GLOBAL_E_HOSTS.values():
            if old_host != new_host and ctx.matches(address, "url", _with_host(hook.url, old_host)):
                yield Hit(f"the webhook '{hook.name}' moves from {old_host} to {new_host}")


def _preset_tokens(name: str) -> dict[str, Any]:
    data = presets.data(name) or {}
    return {str(t["description"]): t for t in data.get("api_tokens") or [] if isinstance(t, dict)}


def _selection(value: Any, universe: tuple[str, ...]) -> set[str]:
    if isinstance(value, dict):
        return set(universe) - set(value.get("all_except") or [])
    return set(value or [])


def beyond_presets_check(ctx: Context) -> Iterator[Hit]:
    cat = catalogue.permissions()
    for token in _tokens(ctx):
        for preset in ctx.state.spec.presets:
            reference = _preset_tokens(preset).get(token.description)
            if reference is None:
                continue
            permissions = reference.get("permissions") or {}
            allowed = _selection(permissions.get("read"), cat.read) | _selection(permissions.get("write"), cat.write)
            extra = sorted(granted(token) - allowed)
            if extra:
                yield Hit(f"the token '{token.description}' holds {', '.join(extra)} beyond what the {preset} "
                          "preset needs")


def admin_check(ctx: Context) -> Iterator[Hit]:
    for token in _tokens(ctx):
        if "admin" in granted(token):
            yield Hit(f"the token '{token.description}' holds admin: it can create and read every token")


def widening_check(ctx: Context) -> Iterator[Hit]:
    for change in ctx.changes:
        if change.kind != "api_token" or change.action != "update":
            continue
        for field in change.fields:
            if field.path == "permissions" and field.added:
                added = ", ".join(str(p) for p in field.added)
                yield Hit(f"the token '{change.name}' gains {added}")


def expiry_check(ctx: Context) -> Iterator[Hit]:
    window = ctx.state.spec.expiry_warning_days
    live = ctx.live.get("api_token", {})
    for token in _tokens(ctx):
        expires = (live.get(token.description) or {}).get("_expires_at")
        if expires is None:
            continue
        found = describe(f"the token '{token.description}'", float(expires), window, ctx.now)
        yield Hit(found.message, found.severity)


def rotation_check(ctx: Context) -> Iterator[Hit]:
    live = ctx.live.get("api_token", {})
    for token in _tokens(ctx):
        newest = live.get(token.description) or {}
        older = newest.get("_also_valid") or []
        if older:
            ids = ", ".join(str(i) for i in older)
            yield Hit(f"the token '{token.description}' is valid {len(older) + 1} times: id {newest.get('_id')} and "
                      f"the older {ids}, a rotation half done — revoke the older once its consumer uses id "
                      f"{newest.get('_id')}")


RULES = (
    Rule("env.hosts", "critical", "Production never on QA hosts, QA never on production hosts",
         "Fix the environment's centra_url, tier or global_e.environment.", hosts_check),
    Rule("env.webhook-host-change", "critical", "A change of the webhook's Global-e host",
         "Check the environment: a webhook moving between Global-e QA and production sends real orders to the "
         "wrong place. Waive the rule for a deliberate move.", webhook_host_change_check),
    Rule("privilege.beyond-presets", "warning", "Token permissions beyond what the merchant's presets need",
         "Drop the extra permissions, or waive the rule with the reason the integration needs them.",
         beyond_presets_check),
    Rule("privilege.admin", "critical", "A managed token holding admin",
         "Only the provisioner's own token needs admin; remove it from integration tokens.", admin_check),
    Rule("privilege.widening", "warning", "A plan that widens a token's permissions",
         "Confirm the consumer needs them; narrow the selection otherwise.", widening_check),
    Rule("token.expiry", "critical", "Days left on each managed token; warning within the window, critical "
         "once expired", "Run `provision rotate MERCHANT --env ENV TOKEN`; set "
         "`policy.token_expiry_warning_days` to change the window.", expiry_check, blocks_apply=False),
    Rule("token.rotation-unfinished", "warning", "Several valid tokens with one description (a rotation half done)",
         "Revoke the older token(s) in System > API Tokens once the consumer uses the newest, as the rotation's "
         "runbook says (out/MERCHANT.ENV.rotate.runbook.md).", rotation_check, blocks_apply=False),
)
