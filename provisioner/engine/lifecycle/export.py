"""`provision export`: the live store as a merchant file — every section the Integration API can read,
written so that it validates and plans to no changes there. What the API cannot read (plugin settings,
webhook URLs, whether prices include tax) is left out or marked with a comment; secrets are references
to fill in. This is how a merchant already running on Centra is brought under the tool."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provisioner.config import resolve
from provisioner.config.yamlnodes import StrictLoader
from provisioner.engine.plan import live, planning, target
from provisioner.escape import terminal
from provisioner.reference import catalogue
from provisioner.resources import KINDS, plugins
from provisioner.resources.tax_groups import APPLY_TAX_TYPES

APPLY_PER = frozenset(APPLY_TAX_TYPES)

_ELEMENT_TYPES = {"input", "textarea", "readonly", "boolean", "select", "image", "file"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONNECTION_KEYS = ("centra_url", "token", "tier")
# What the API cannot read but the merchant file already says: kept as the file has it, so an export over a
# curated file keeps its presets (and every Global-e policy with `global_e`), its secret references and the
# values its presets' placeholders take.
KEPT_KEYS = ("presets", "global_e", "local_vat_rate", "operated_markets", "primary_warehouse", "secrets", "policy")


@dataclass
class Exported:
    sections: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # section -> comments

    def note(self, section: str, text: str) -> None:
        # names from the store: one comment line each, whatever they contain
        self.notes.setdefault(section, []).append(terminal(text))


def _env_name(*parts: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")


def _plugins(merchant: str, objects: dict[str, dict[str, Any]], out: Exported,
             references: dict[str, str] | None = None) -> None:
    items = []
    for name, plugin in sorted(objects.items()):
        if plugin["type"] == "centra_webhook":
            out.note("plugins", f"'{name}' (Centra Webhook) left out: its URL is not readable through the API; "
                     "declare it by hand")
            continue
        item: dict[str, Any] = {"name": name, "type": plugin["type"], "store": plugin["store"],
                                "status": plugin["status"], "uri": plugin["uri"]}
        if plugin["type"] == "order_api":
            # the reference the merchant file already uses for it, else one to fill in
            known = (references or {}).get(name)
            item["secret"] = known or f"env:{_env_name(merchant, name, 'secret')}"
            out.note("plugins", f"'{name}': " + ("its secret reference is the merchant file's" if known else
                                                 "fill in the secret reference")
                     + "; its other settings are not readable through the API")
        items.append(item)
    out.sections["plugins"] = items


def _attribute_types(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    items = []
    for name, attribute in sorted(objects.items()):
        bad = [k for k, e in attribute["elements"].items() if e["type"] not in _ELEMENT_TYPES]
        if attribute["group"] not in catalogue.ATTRIBUTE_GROUP_OBJECT_TYPES or bad:
            out.note("attribute_types", f"'{name}' left out: a group or element type this tool does not know")
            continue
        items.append({"name": name, "description": attribute["description"], "group": attribute["group"],
                      "readonly": attribute["readonly"], "multi": attribute["multi"],
                      "elements": {key: dict(element) for key, element in attribute["elements"].items()}})
    out.sections["attribute_types"] = items


def _countries(codes: list[str]) -> Any:
    every = set(catalogue.countries())
    if len(codes) > len(every) / 2:
        return {"all_except": sorted(every - set(codes))}
    return sorted(codes)


def _tax_groups(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    items = []
    for name, group in sorted(objects.items()):
        odd = sorted({r["apply_per"] for r in group["rules"].values() if r["apply_per"] not in APPLY_PER})
        if odd:
            out.note("tax_groups", f"'{name}' left out: rules applied per {', '.join(odd)}, which this tool "
                     "cannot describe")
            continue
        rules = [{"name": rule_name, "display_name": rule["display_name"], "code": rule["code"],
                  "rate": rule["rate"], "apply_per": rule["apply_per"], "countries": _countries(rule["countries"]),
                  "include_tax_in_prices": True, "apply_to_shipping": rule["apply_to_shipping"],
                  "apply_to_handling": rule["apply_to_handling"], "include_shipping_in_order_total": True}
                 for rule_name, rule in sorted(group["rules"].items())]
        items.append({"name": name, "status": group["status"], "default_in_stores": group["default_in_stores"],
                      "rules": rules})
        if rules:
            out.note("tax_groups", f"'{name}': include_tax_in_prices and include_shipping_in_order_total are not "
                     "readable through the API; the values written are assumptions — check them in AMS")
    out.sections["tax_groups"] = items


def _tokens(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    cat = catalogue.permissions()
    items = []
    for name, token in sorted(objects.items()):
        permissions = set(token["permissions"])
        unknown = sorted(permissions - cat.every)
        if "admin" in permissions or not token["valid"] or unknown or not _EMAIL.match(token["email"] or "") \
                or not token["organization"] or not token["integration"]:
            why = ("holds admin (the provisioner's own or an administrator's)" if "admin" in permissions
                   else "is not valid" if not token["valid"]
                   else f"holds permissions this tool does not know ({', '.join(unknown)})" if unknown
                   else "lacks an organization, integration or valid email")
            out.note("api_tokens", f"'{name}' left out: it {why}")
            continue
        item: dict[str, Any] = {"description": name, "organization": token["organization"],
                                "integration": token["integration"], "email": token["email"]}
        if token["phone"]:
            item["phone"] = token["phone"]
        item["store_types"] = token["store_types"]
        if token["stores"] is not None:
            item["stores"] = token["stores"]
        item["permissions"] = {"read": sorted(p for p in permissions if not p.endswith(":write")),
                               "write": sorted(p for p in permissions if p.endswith(":write"))}
        items.append(item)
    if items:
        out.note("api_tokens", "a token's value is never readable; its lifetime is set when it is next created")
    out.sections["api_tokens"] = items


def _listeners(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    out.note("event_listeners", "the listeners of the integration whose token this tool uses; other "
             "integrations' listeners are not readable with it")
    out.sections["event_listeners"] = [{"object_type": name, "change_types": listener["change_types"]}
                                       for name, listener in sorted(objects.items())]


_CODE = re.compile(r"^[A-Za-z0-9_.-]+$")


def _warehouses(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    out.sections["warehouses"] = [{"name": name} for name in sorted(objects)]


def _shipping_options(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    items = []
    for name, option in sorted(objects.items()):
        if not _CODE.match(str(option["code"])):
            out.note("shipping_options", f"'{name}' left out: its URI is not a shipping code this tool can name")
            continue
        items.append({"name": name, "code": option["code"]})
    out.sections["shipping_options"] = items


def _markets(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    items = []
    for name, market in sorted(objects.items()):
        item: dict[str, Any] = {"name": name, "store": market["store"]}
        if market.get("comment") is not None:
            item["comment"] = market["comment"]
        item["countries"] = market["countries"]
        items.append(item)
    out.sections["markets"] = items


def _pricelists(objects: dict[str, dict[str, Any]], out: Exported) -> None:
    items = []
    for name, pricelist in sorted(objects.items()):
        item: dict[str, Any] = {"name": name, "store": pricelist["store"], "status": pricelist["status"],
                                "currency": pricelist["currency"], "countries": pricelist["countries"]}
        if pricelist.get("default_shipping_option") is not None:
            item["default_shipping_option"] = pricelist["default_shipping_option"]
        items.append(item)
    out.sections["pricelists"] = items


WRITERS = {"attribute_type": _attribute_types, "tax_group": _tax_groups, "api_token": _tokens,
           "event_listener": _listeners, "warehouse": _warehouses, "shipping_option": _shipping_options,
           "market": _markets, "pricelist": _pricelists}


def export(merchant: str, environment: str) -> str:
    state = planning.desired(merchant, environment)
    # Connection details come from the merchant file; everything else from the store.
    raw = yaml.load(Path(state.source).read_text(encoding="utf-8"), Loader=StrictLoader) or {}
    with target.connect(state) as client:
        current, _ = live.read_current(client, list(KINDS), {kind.kind for kind in KINDS})
    out = Exported()
    for kind in KINDS:
        if kind.kind in current.unknown:
            why = current.unknown[kind.kind]
            out.note(kind.section, f"not readable with this token (needs {why.permission}): left out" if why.permission
                     else f"not readable here ({why.message}): left out")
            continue
        objects = current.objects.get(kind.kind, {})
        if kind.kind == "plugin":
            references = {name: p.secret for name, p in plugins.KIND.plugins(state).items()
                          if isinstance(getattr(p, "secret", None), str)}
            _plugins(merchant, objects, out, references)
        else:
            WRITERS[kind.kind](objects, out)
    environments = {name: {k: v for k, v in (spec or {}).items() if k in CONNECTION_KEYS}
                    for name, spec in (raw.get("environments") or {}).items()}
    kept = {key: raw[key] for key in KEPT_KEYS if raw.get(key) is not None}
    text = render(merchant, environment, state.centra_url, raw.get("store"), out, environments, kept)
    problems = _problems(merchant, text)
    if problems and kept.get("presets"):
        # A preset declares objects the store does not have yet, which the file completed (a token's email):
        # without them it cannot be matched. Left out and said so; `global_e` keeps the Global-e policies on.
        out.note("presets", f"presets {', '.join(map(str, kept.pop('presets')))} left out: the store lacks what they "
                 f"declare and the export would not validate with them ({problems[0]}); add them back once it "
                 "has converged")
        text = render(merchant, environment, state.centra_url, raw.get("store"), out, environments, kept)
    return text


def _problems(merchant: str, text: str) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{merchant}.yaml"
        path.write_text(text, encoding="utf-8")
        return [d.message for d in resolve.validate_file(path)]


def render(merchant: str, environment: str, centra_url: str, store: str | None, out: Exported,
           environments: dict[str, Any], kept: dict[str, Any] | None = None) -> str:
    lines = [f"# Exported by `provision export` from {centra_url} ({environment}).",
             "# Every section the Integration API can read is here as the store has it; what it cannot read is",
             "# left out or marked below. Nothing is deleted: sections are additive.",
             "", yaml.safe_dump({"merchant": merchant}, sort_keys=False).rstrip()]
    if store:
        lines.append(yaml.safe_dump({"store": store}, sort_keys=False).rstrip())
    lines.extend(f"# {note}" for note in out.notes.get("presets", []))
    if kept:
        lines += ["# Kept from the merchant file: the API cannot read these.",
                  yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=120).rstrip()]
    for section in (kind.section for kind in KINDS):
        lines.append("")
        lines.extend(f"# {note}" for note in out.notes.get(section, []))
        if section in out.sections:
            lines.append(yaml.safe_dump({section: out.sections[section]}, sort_keys=False, allow_unicode=True,
                                        width=120).rstrip())
    if environments:
        lines += ["", yaml.safe_dump({"environments": environments}, sort_keys=False).rstrip()]
    return "\n".join(lines) + "\n"
