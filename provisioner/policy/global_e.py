"""What a live Global-e integration depends on, checked over the resolved merchant and the plan. The
reference values are the global-e preset's (the checklist as data), so a merchant that overrides one
of them is told which and why it matters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from provisioner.config import presets
from provisioner.config.fields import AllCountriesExcept
from provisioner.config.models import (
    CHECKOUT_PLUGIN_TYPES,
    ApiToken,
    AttributeType,
    CentraWebhookPlugin,
    OrderApiPlugin,
    TaxGroup,
)
from provisioner.config.resolve import DesiredState
from provisioner.policy.context import Context, granted
from provisioner.policy.findings import Hit, Rule
from provisioner.reference import catalogue

LOCAL_VAT = "GE Local VAT"
# What the order lifecycle's Integration API stages (confirm, cancel) use.
STAGE_PERMISSIONS = ("Order:read", "Order:write")


def reference() -> dict[str, Any]:
    """The global-e preset as plain data (placeholders left as text)."""
    found: dict[str, Any] = presets.data("global-e")
    return found


def _reference_item(section: str, key: str, value: str) -> dict[str, Any]:
    return next(item for item in reference()[section] if item.get(key) == value)


def _is_global_e(ctx: Context) -> bool:
    return ctx.state.spec.global_e is not None


def _items(ctx: Context, section: str) -> list[Any]:
    value = getattr(ctx.state.spec, section)
    return [item for item in (value.items if value else ()) if not getattr(item, "absent", False)]


def global_e_token(ctx: Context) -> ApiToken | None:
    return global_e_token_of(ctx.state)


def global_e_token_of(state: DesiredState) -> ApiToken | None:
    """The token Global-e is given: the preset's, by description, or one for the global-e integration."""
    description = _reference_item("api_tokens", "integration", "global-e")["description"]
    section = state.spec.api_tokens
    tokens = [t for t in (section.items if section else ()) if isinstance(t, ApiToken)]
    return next((t for t in tokens if t.description == description), None) or next(
        (t for t in tokens if t.integration.lower() in ("global-e", "globale")), None)


def order_api_check(ctx: Context) -> Iterator[Hit]:
    if not _is_global_e(ctx):
        return
    plugins = [p for p in _items(ctx, "plugins") if isinstance(p, OrderApiPlugin)]
    if not plugins:
        yield Hit("no Order API plugin: Global-e creates and captures orders through one")
    for plugin in plugins:
        if plugin.status != "active":
            yield Hit(f"the Order API plugin '{plugin.name}' is {plugin.status}: Global-e cannot create orders")
        if plugin.secret is None:
            yield Hit(f"the Order API plugin '{plugin.name}' has no secret: Global-e authenticates with it")


def order_api_settings_check(ctx: Context) -> Iterator[Hit]:
    if not _is_global_e(ctx):
        return
    wanted = _reference_item("plugins", "type", "order_api")
    for plugin in (p for p in _items(ctx, "plugins") if isinstance(p, OrderApiPlugin)):
        have = plugin.model_dump(mode="json")
        for key, value in wanted.items():
            if key in ("name", "type", "store", "status", "uri", "secret") or "${" in str(value):
                continue
            if have.get(key) is not None and have.get(key) != value:
                yield Hit(f"'{plugin.name}'.{key} is {have.get(key)!r}; Global-e expects {value!r}")


def webhook_check(ctx: Context) -> Iterator[Hit]:
    if not _is_global_e(ctx):
        return
    wanted = _reference_item("plugins", "type", "centra_webhook")
    hooks = [p for p in _items(ctx, "plugins") if isinstance(p, CentraWebhookPlugin)]
    matching = [p for p in hooks if p.url == ctx.state.webhook_url]
    if not matching:
        yield Hit(f"no Centra Webhook plugin sends to {ctx.state.webhook_url or 'the derived Global-e URL'}")
    for hook in matching:
        if hook.status != "active":
            yield Hit(f"the webhook plugin '{hook.name}' is {hook.status}")
        if hook.version is not None and hook.version != wanted["version"]:
            yield Hit(f"the webhook plugin '{hook.name}' uses version {hook.version}; Global-e reads "
                      f"{wanted['version']}")
        for trigger, on in wanted["triggers"].items():
            if on and hook.triggers is not None and not hook.triggers.get(trigger, False):
                yield Hit(f"the webhook plugin '{hook.name}' does not trigger on {trigger}")
        extra = sorted(t for t, on in (hook.triggers or {}).items() if on and t not in wanted["triggers"])
        if extra:
            yield Hit(f"the webhook plugin '{hook.name}' triggers on {', '.join(extra)}, beyond Global-e's seven "
                      f"({', '.join(wanted['triggers'])}): Global-e's endpoint does not expect those events",
                      "warning")


def token_check(ctx: Context) -> Iterator[Hit]:
    if not _is_global_e(ctx):
        return
    token = global_e_token(ctx)
    if token is None:
        yield Hit("no Integration API token for Global-e: it confirms and cancels orders with one")
        return
    held = granted(token)
    missing = [p for p in STAGE_PERMISSIONS if p not in held]
    if missing:
        yield Hit(f"the token '{token.description}' lacks {', '.join(missing)}: Global-e cannot confirm or "
                  "cancel orders", "critical")
    cat = catalogue.permissions()
    wanted = _reference_item("api_tokens", "integration", "global-e")["permissions"]
    selection = set(cat.read) - set(wanted["read"]["all_except"]) | set(cat.write) - set(
        wanted["write"]["all_except"])
    others = sorted(selection - held - set(STAGE_PERMISSIONS))
    if others:
        shown = ", ".join(others[:8]) + (f" and {len(others) - 8} more" if len(others) > 8 else "")
        yield Hit(f"the token '{token.description}' lacks permissions the checklist selects: {shown}", "warning")


def attribute_types_check(ctx: Context) -> Iterator[Hit]:
    if not _is_global_e(ctx):
        return
    have = {a.name: a for a in _items(ctx, "attribute_types") if isinstance(a, AttributeType)}
    for wanted in reference()["attribute_types"]:
        found = have.get(wanted["name"])
        if found is None:
            yield Hit(f"the attribute type {wanted['name']} is missing (group {wanted['group']})")
            continue
        if found.group != wanted["group"]:
            yield Hit(f"the attribute type {wanted['name']} is in group {found.group}; Global-e writes it to "
                      f"{wanted['group']}")
        for key, element in wanted["elements"].items():
            got = found.elements.get(key)
            if got is None:
                yield Hit(f"the attribute type {wanted['name']} lacks the element {key}")
            elif got.type != element["type"]:
                yield Hit(f"{wanted['name']}.{key} is of type {got.type}; Global-e expects {element['type']}")


def local_vat_check(ctx: Context) -> Iterator[Hit]:
    if not _is_global_e(ctx):
        return
    group = next((g for g in _items(ctx, "tax_groups") if isinstance(g, TaxGroup) and g.name == LOCAL_VAT), None)
    if group is None:
        yield Hit(f"no tax group '{LOCAL_VAT}': Global-e orders would carry no local VAT")
        return
    if group.status != "active":
        yield Hit(f"the tax group '{LOCAL_VAT}' is {group.status}")
    operated = set(ctx.state.spec.operated_markets or ())
    everything = set(catalogue.countries())
    rules = [r for r in group.rules if r.name == LOCAL_VAT] or list(group.rules)
    if not rules:
        yield Hit(f"the tax group '{LOCAL_VAT}' has no rule")
    for rule in rules:
        countries = (everything - set(rule.countries.all_except) if isinstance(rule.countries, AllCountriesExcept)
                     else set(rule.countries))
        if countries & operated:
            yield Hit(f"the rule '{rule.name}' covers operated markets {', '.join(sorted(countries & operated))}")
        left_out = sorted(everything - operated - countries)
        if left_out:
            shown = ", ".join(left_out[:10]) + (" …" if len(left_out) > 10 else "")
            yield Hit(f"the rule '{rule.name}' leaves out {len(left_out)} countries Global-e serves: {shown}")
        rate = ctx.state.spec.local_vat_rate
        if rate is not None and rule.rate != rate:
            yield Hit(f"the rule '{rule.name}' charges {rule.rate:g}%; the merchant's local VAT is {rate:g}%")


def checkout_plugin_check(ctx: Context) -> Iterator[Hit]:
    global_e = ctx.state.spec.global_e
    if global_e is None:
        return
    name = global_e.checkout_plugin
    if name is None:
        yield Hit("no checkout plugin named: Global-e cannot read the cart")
        return
    if "plugin" in ctx.unknown:
        yield Hit(f"cannot check the checkout plugin '{name}': reading plugins needs {ctx.unknown['plugin']}",
                  "warning")
        return
    desired = next((p for p in _items(ctx, "plugins") if p.name == name), None)
    if desired is not None:  # the plan makes it as declared; validate checked its type
        if desired.status != "active":
            yield Hit(f"the checkout plugin '{name}' is declared {desired.status}")
        return
    if "plugin" not in ctx.live:
        return  # the store was not read (offline)
    live = ctx.live["plugin"].get(name)
    if live is None:
        yield Hit(f"the checkout plugin '{name}' does not exist in the store")
        return
    if live.get("type") not in CHECKOUT_PLUGIN_TYPES:
        yield Hit(f"the plugin '{name}' is of type {live.get('type')}, not a Checkout API or DTC/Storefront API")
    if live.get("status") != "active":
        yield Hit(f"the checkout plugin '{name}' is {live.get('status')}: Global-e cannot read the cart")


RULES = (
    Rule("global-e.order-api", "critical", "An active Order API plugin with a secret",
         "Keep the preset's Order API plugin active and set `secrets.order_api_secret` "
         "(`provision secret new`).", order_api_check),
    Rule("global-e.order-api-settings", "warning", "Order API settings as Global-e needs them",
         "Remove the override from the merchant file, or waive the rule with Global-e's agreement.",
         order_api_settings_check),
    Rule("global-e.webhook", "critical", "Webhook to Global-e: derived URL, Integration API version, "
         "Order and Return triggers", "Use `url: ${webhook_url}`, `version: integration_api` and the preset's "
         "triggers.", webhook_check),
    Rule("global-e.token-permissions", "critical", "Global-e's Integration API token and its permissions",
         "Give the Global-e token Order:read and Order:write and the checklist's selection (all read except "
         "CentraIP, all write except Anonymize).", token_check),
    Rule("global-e.attribute-types", "critical", "The three Global-e attribute types and their elements",
         "Keep ge_order_details, ge_customer_coupon and ge_voucher_details as the preset defines them.",
         attribute_types_check),
    Rule("global-e.local-vat", "critical", "GE Local VAT covers every country except the operated markets",
         "Set `operated_markets` and `local_vat_rate`; keep the rule's countries `{all_except: "
         "${operated_markets}}`.", local_vat_check),
    Rule("global-e.checkout-plugin", "critical", "The checkout plugin exists, is active and reads carts",
         "Name an active Checkout API or DTC/Storefront API plugin in `global_e.checkout_plugin`, or declare "
         "it under `plugins`.", checkout_plugin_check),
)
