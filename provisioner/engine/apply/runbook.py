"""The runbook: what a person does in AMS for the changes the API cannot make. Numbered
steps with the navigation path, every field and value (secrets by reference only), the attribute-type
JSON to paste, and how the next plan verifies the step. Each step also carries a machine-readable
line for `provision sandbox operator` (see `runbook_format`); it holds references, never secret values.
Every name and value is escaped for markdown here, in `render`, and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import files, runbook_format
from provisioner.config.models import TaxGroup
from provisioner.config.resolve import DesiredState
from provisioner.engine.plan.model import Change, Plan
from provisioner.escape import md_code, md_fence, md_text
from provisioner.resources import attribute_types, plugins, tax_groups
from provisioner.resources.labels import ams_label
from provisioner.resources.tax_groups import countries_of

LABELS = {
    "status": "Status", "uri": "URI", "secret": "Secret API key", "markets": "Markets",
    "debug_logging": "Debug logging",
    "primary_warehouse": "Primary warehouse", "stock_updates": "Update stock updates",
    "limit_shipments_by_warehouse": "Limit shipments by warehouse", "order_statuses": "Get Orders with Status",
    "return_waiting_for_payment": 'Return "waiting for payment"', "return_on_hold": 'Return "on hold" orders',
    "orders_starting_with": "Get orders starting with",
    "orders_return_internal_comment": "Get orders and shipments returns internal comment",
    "orders_return_other": "Get orders and shipments returns Other",
    "products_return_cost_price": "Get products returns cost price",
    "return_unconfirmed_allocations": "Return unconfirmed allocations",
    "products_tax_for_country": "Get products returns tax for the country",
    "bundles_in_shipments": "Bundles in shipments",
    "bundles_in_orders": "Bundles in orders", "shipment_missing_items": "Updating shipment with missing items",
    "endpoints": "Allow access to the following endpoints", "url": "Webhook URL", "version": "Version",
    "triggers": "Event triggers", "endpoint_secret": "Endpoint secret", "validate_ssl": "Validate SSL certificate",
    "shared_secret": "Shared secret", "allowed_origins": "Allowed origins", "scope": "Scope",
}
PLUGIN_NAMES = {"order_api": "Order API", "centra_webhook": "Centra Webhook", "checkout_api": "Checkout API",
                "storefront_api": "Storefront API"}


def shown(value: Any, field: str | None = None) -> str:
    """A value as AMS shows it (ams_labels.yaml), so the operator finds the same words on screen."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    label = ams_label(field, value) if isinstance(value, str) else None
    if label is not None:
        return label
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ').capitalize()}: {shown(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value).replace("_", " ") if isinstance(value, str) and "_" in value and " " not in value else str(value)


_RULE_SETTINGS = {"include_tax_in_prices": ("Include tax", "In prices displayed before and in the checkout",
                                            "Not in displayed prices"),
                  "include_shipping_in_order_total": ("Include shipping cost to order total", "Yes", "No")}


def setting_words(path: str, value: Any) -> tuple[str, str]:
    """An attested setting as the runbook and AMS word it: its label and its shown value. `path` is the
    plan's (`url`, `rules.GE Local VAT.include_tax_in_prices`); a sensitive value is never passed here."""
    if path.startswith("rules.") and path.count(".") >= 2:
        rule, _, key = path.removeprefix("rules.").rpartition(".")
        label, yes, no = _RULE_SETTINGS.get(key, (key.replace("_", " ").capitalize(), "Yes", "No"))
        return f"Rule {rule}: {label}", (yes if value else no) if isinstance(value, bool) else shown(value, key)
    return LABELS.get(path, path.replace("_", " ").capitalize()), shown(value, path)


@dataclass(frozen=True)
class SecretMention:
    """A field whose value is a secret: the runbook names its reference, never the value."""

    ref: str


@dataclass(frozen=True)
class Note:
    """A field whose cell is an instruction to read ("paste the JSON below"), not a value to type or copy."""

    text: str


Cell = str | SecretMention | Note


@dataclass
class Step:
    title: str
    navigation: str
    executor: str
    addresses: list[str]
    fields: Sequence[tuple[str, Cell]] = field(default_factory=list)
    snippet: str | None = None
    verify: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def _plugin_step(state: DesiredState, name: str, changes: list[Change]) -> Step:
    plugin = plugins.KIND.plugins(state).get(name)
    addresses = [c.address for c in changes]
    executor = "attested" if all(c.executor == "attested" for c in changes) else "manual"
    if plugin is None or any(c.action == "delete" for c in changes):
        store = (changes[0].before or {}).get("store", "")
        return Step(f"Remove the plugin {name}", f"Stores management > Stores > {store} > Plugins", executor,
                    addresses, [("Plugin", name), ("Action", Note("Delete"))],
                    verify="The next `provision plan` no longer finds the plugin in `storePlugins`.",
                    payload={"op": "plugin_delete", "store": store, "name": name})
    data = plugin.model_dump(mode="json", exclude_none=True)
    fields: list[tuple[str, Cell]] = [("Plugin", PLUGIN_NAMES[plugin.type]), ("Plugin name", name),
                                                     ("Status", shown(plugin.status, "status"))]
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("name", "type", "store", "status"):
            continue
        if key in plugins.SECRET_FIELDS:
            fields.append((LABELS.get(key, key), SecretMention(str(value))))
            settings[key] = {"ref": value}
        else:
            fields.append((LABELS.get(key, key), shown(value, key)))
            if key != "uri":
                settings[key] = value
    creating = any(c.action == "create" and c.kind == "plugin" for c in changes)
    return Step(f"{'Add' if creating else 'Edit'} the plugin {name}",
                f"Stores management > Stores > {plugin.store} > Plugins > "
                f"{'Add plugin method' if creating else name}", executor, addresses, fields,
                verify="The next `provision plan` reads the plugin's presence, URI and status from `storePlugins`; "
                       "its settings are invisible to the API, so confirm them with "
                       f"`provision attest {state.merchant} --env {state.environment}`.",
                payload={"op": "plugin", "store": plugin.store, "name": name, "type": plugin.type,
                         "uri": getattr(plugin, "uri", ""), "status": plugin.status, "settings": settings})


def _attribute_step(state: DesiredState, change: Change) -> Step:
    config = attribute_types.KIND.config_of(state, change.name)
    if config is None:
        return Step(f"Remove the attribute type {change.name}", "System > Configurations", "manual",
                    [change.address], [("Attribute type", change.name), ("Action", Note("Delete"))],
                    verify="The next `provision plan` no longer finds it in `attributeTypes`.",
                    payload={"op": "attribute_type_delete", "name": change.name})
    verb = "Create" if change.action == "create" else "Update"
    if state.tier == "prod":
        # Global-e's guide §1.4.2: in production, attribute types are deployed by Centra's developers.
        return Step(f"Ask Centra to deploy the attribute type {change.name} to production",
                    "A request to Centra (support), who deploy attribute types to production", "manual",
                    [change.address], [("Attribute type", change.name),
                                       ("Request", f"{verb.lower()} it in production exactly as configured in QA: "
                                                   "the JSON below"),
                                       ("Why", "in production, custom attributes are deployed by Centra's "
                                               "developers (Global-e's Centra guide, §1.4.2)")],
                    snippet=json.dumps(config, indent=2),
                    verify="Once Centra confirms the deployment, the next `provision plan` reads `attributeTypes` "
                           "and shows no change for it.",
                    payload={"op": "attribute_type", "name": change.name, "config": config})
    return Step(f"{verb} the attribute type {change.name}", "System > Configurations > "
                + ("Create attribute type" if change.action == "create" else change.name), "manual",
                [change.address],
                [("Name", change.name), ("Type", "Text"), ("Configuration", Note("paste the JSON below"))],
                snippet=json.dumps(config, indent=2),
                verify="The next `provision plan` reads `attributeTypes` and shows no change for it.",
                payload={"op": "attribute_type", "name": change.name, "config": config})


def _rule_payload(group: TaxGroup) -> list[dict[str, Any]]:
    return [{"name": r.name, "display_name": r.display_name, "code": r.code, "rate": r.rate,
             "apply_tax_type": tax_groups.APPLY_TAX_TYPES[r.apply_per], "apply_to_shipping": r.apply_to_shipping,
             "apply_to_handling": r.apply_to_handling, "countries": countries_of(r),
             "include_tax_in_prices": r.include_tax_in_prices,
             "include_shipping_in_order_total": r.include_shipping_in_order_total} for r in group.rules]


def _tax_step(state: DesiredState, name: str, changes: list[Change]) -> Step:
    group = tax_groups.KIND.groups(state).get(name)
    addresses = [c.address for c in changes]
    executor = "attested" if all(c.executor == "attested" for c in changes) else "manual"
    if group is None:
        return Step(f"Remove the tax group {name}", "System > Tax Groups", executor, addresses,
                    [("Tax group", name), ("Action", Note("Delete"))],
                    verify="The next `provision plan` no longer finds it.",
                    payload={"op": "tax_group_delete", "name": name})
    fields: list[tuple[str, Cell]] = [("Status", shown(group.status, "status")), ("Name", name),
              ("Default in stores", shown(group.default_in_stores))]
    for rule in group.rules:
        countries = rule.countries
        geolocation: Cell = (Note(f"Select ALL and unselect {', '.join(countries.all_except)}")
                             if hasattr(countries, "all_except") else ", ".join(countries_of(rule)))
        fields += [(f"Rule {rule.name}: Name", rule.name), (f"Rule {rule.name}: Tax display name", rule.display_name),
                   (f"Rule {rule.name}: Tax code", rule.code),
                   (f"Rule {rule.name}: Apply tax per", shown(rule.apply_per, "apply_per")),
                   (f"Rule {rule.name}: Geolocation", geolocation),
                   (f"Rule {rule.name}: Include tax",
                    Note("In prices displayed before and in the checkout" if rule.include_tax_in_prices
                         else "Not in displayed prices")),
                   (f"Rule {rule.name}: Apply tax to shipping fees", shown(rule.apply_to_shipping)),
                   (f"Rule {rule.name}: Apply tax to handling fees", shown(rule.apply_to_handling)),
                   (f"Rule {rule.name}: Tax rate", f"{rule.rate:g}%"),
                   (f"Rule {rule.name}: Include shipping cost to order total",
                    shown(rule.include_shipping_in_order_total))]
    creating = any(c.action == "create" and c.kind == "tax_group" for c in changes)
    return Step(f"{'Create' if creating else 'Edit'} the tax group {name}",
                "System > Tax Groups > " + ("Create tax group" if creating else name), executor, addresses, fields,
                verify="The next `provision plan` reads the group and its rules from `taxGroups`; whether tax is "
                       "included in prices and shipping in the order total is confirmed with `provision attest`.",
                payload={"op": "tax_group", "group": {"name": name, "status": group.status,
                                                       "default_in_stores": group.default_in_stores,
                                                       "rules": _rule_payload(group)}})


def _other_step(change: Change) -> Step:
    what = change.kind.replace("_", " ")
    if change.kind == "api_token" and change.action == "delete":
        token_id = (change.before or {}).get("id")
        which: list[tuple[str, Cell]] = [("Token", change.name)]
        if isinstance(token_id, int):
            which.append(("Token id", str(token_id)))
        return Step(f"Revoke the API token {change.name}", "System > API Tokens", "manual", [change.address],
                    [*which, ("Action", Note("X Revoke")), *(("Why", Note(reason)) for reason in change.reasons)],
                    verify="The next `provision plan` shows it invalid or gone.",
                    payload={"op": "token_revoke", "name": change.name,
                             **({"id": token_id} if isinstance(token_id, int) else {})})
    fields: list[tuple[str, Cell]] = [(f.path, json.dumps(f.after if f.added is None else f.added))
                                      for f in change.fields]
    return Step(f"{change.action.capitalize()} the {what} {change.name}",
                "System > API Tokens" if change.kind == "api_token" else "System > Integration API", "manual",
                [change.address], fields, verify="The next `provision plan` shows no change for it.",
                payload={"op": "unsupported", "address": change.address})


COMMERCE = {"market": ("Setup > Markets", "Market"), "pricelist": ("Setup > Pricelists", "Pricelist"),
            "warehouse": ("Setup > Warehouses", "Warehouse"),
            "shipping_option": ("Setup > Shipping", "Shipping option")}
COMMERCE_LABELS = {"store": "Store", "comment": "Comment", "countries": "Countries", "status": "Status",
                   "currency": "Currency", "default_shipping_option": "Default shipping option", "code": "URI (code)"}


def _commerce_step(change: Change) -> Step:
    """A market, pricelist, warehouse or shipping option by hand: the target cannot take the mutation (each
    reason in the plan says which name or field it lacks), or Centra documents none."""
    where, noun = COMMERCE[change.kind]
    obj = change.after if change.action != "delete" else {}
    verb = {"create": "Create", "update": "Edit", "delete": "Remove"}[change.action]
    fields: list[tuple[str, str | SecretMention]] = [(noun, change.name)]
    fields += [(COMMERCE_LABELS.get(k, k), shown(v, k)) for k, v in sorted((obj or {}).items())]
    fields += [("Why by hand", reason.removeprefix("manual: ")) for reason in change.reasons
               if reason.startswith("manual: ")]
    return Step(f"{verb} the {noun.lower()} {change.name}", where if change.action == "create" else
                f"{where} > {change.name}", "manual", [change.address], fields,
                verify="The next `provision plan` reads it and shows no change for it.",
                payload={"op": "commerce", "kind": change.kind, "action": change.action, "name": change.name,
                         "object": dict(obj or {})})


def steps(state: DesiredState, plan: Plan) -> list[Step]:
    result: list[Step] = []
    grouped: dict[tuple[str, str], list[Change]] = {}
    for change in plan.pending:
        if change.executor == "api":
            continue
        base = change.kind.removesuffix("_settings")
        grouped.setdefault((base, change.name), []).append(change)
    for (base, name), changes in grouped.items():
        if base == "plugin":
            result.append(_plugin_step(state, name, changes))
        elif base == "tax_group":
            result.append(_tax_step(state, name, changes))
        elif base == "attribute_type":
            result.append(_attribute_step(state, changes[0]))
        elif base in COMMERCE:
            result.extend(_commerce_step(c) for c in changes)
        else:
            result.extend(_other_step(c) for c in changes)
    return result


def secret_where(ref: str) -> str:
    """Where the person in AMS finds a secret's value: a file they can read, or the secret the team keeps
    (CI reads it as an environment variable, which a person at AMS cannot)."""
    scheme, _, target = ref.partition(":")
    if scheme == "file":
        return f"the contents of the file {md_code(target, in_table=True)} (never written here)"
    return (f"the value of the secret {md_code(target, in_table=True)} from where your team keeps it (CI reads it "
            f"as the environment variable {md_code(target, in_table=True)}; never written here)")


def _cell(value: Cell) -> str:
    """A value a person types or copies is a code span, shown exactly (`&`, `<`, `_` as they are, no link
    made of a URL); an instruction is text."""
    if isinstance(value, SecretMention):
        return secret_where(value.ref)
    if isinstance(value, Note):
        return md_text(value.text)
    return md_code(value, in_table=True)


def render(state: DesiredState, generated_at: str, items: list[Step]) -> str:
    # Merchant and environment names are identifiers (the model's pattern); everything else is escaped.
    merchant, environment = state.merchant, state.environment
    out = [f"# Runbook: {merchant} in {environment}", "",
           runbook_format.header_line(state.merchant, state.environment, [s.payload for s in items]), "",
           f"Centra: {md_code(state.centra_url)} — generated {md_text(generated_at)} by `provision apply`.", "",
           "Steps the Integration API cannot perform. Do them in order in Centra's AMS, then run "
           f"`provision attest {merchant} --env {environment}` for the settings the API cannot read, "
           f"and `provision plan {merchant} --env {environment}` to verify.", ""]
    if not items:
        out.append("Nothing to do by hand.")
    for number, step in enumerate(items, start=1):
        out += [f"## {number}. {md_text(step.title)}", "", f"- **Where:** {md_text(step.navigation)}",
                f"- **Kind:** {md_text(step.executor)}",
                f"- **Addresses:** {', '.join(md_code(a) for a in step.addresses)}", ""]
        out += ["| Field | Value |", "|---|---|"]
        out += [f"| {md_text(label)} | {_cell(value)} |" for label, value in step.fields]
        out.append("")
        if step.snippet:
            out += [md_fence(step.snippet, "json"), ""]
        out += [f"**Verified by:** {step.verify}", "",  # our text; names in it are identifiers
                runbook_format.step_line(step.payload), ""]
    return "\n".join(out)


def default_path(state: DesiredState) -> Path:
    return Path("out") / f"{state.merchant}.{state.environment}.runbook.md"


def check_target(state: DesiredState, path: Path | None = None) -> Path:
    """The runbook's file, refused before anything changes if it could not be written safely (a link, a
    FIFO or a directory in its place, a link for out/)."""
    target = path or default_path(state)
    files.ensure_dir(target.parent, owned=path is None)
    files.writable(target)
    return target


def write(state: DesiredState, plan: Plan, path: Path | None = None) -> tuple[Path, int]:
    items = steps(state, plan)
    target = path or default_path(state)
    # Whole or not at all, never through a link; out/ is the tool's own, a --runbook-out the user's.
    files.ensure_dir(target.parent, owned=path is None)
    files.write_atomic(target, render(state, plan.generated_at, items))
    return target, len(items)
