"""Checks a schema cannot express: environment safety (a PROD store must never point at QA hosts,
and the reverse), derived-value consistency, unique plugin URIs, permissions on the right side.

They read the raw merged document, not the validated model, so they still run (and report) when
the model rejected something else in the same file: one run shows every problem."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from provisioner.config import environments as envs
from provisioner.config.fields import AllPermissionsExcept
from provisioner.config.models import CHECKOUT_PLUGIN_TYPES, MerchantFile
from provisioner.config.nodetree import locate, position
from provisioner.config.section_items import ApiToken, TokenPermissions
from provisioner.errors import Diagnostic
from provisioner.reference import catalogue

Path_ = list[str | int]


@dataclass(frozen=True)
class Context:
    data: dict[str, Any]
    environment: str
    tier: str
    centra_domain: str
    webhook_url: str | None
    problem: Callable[[Path_, str], Diagnostic]


def check(data: Any, document: yaml.Node, filename: str, environment: str, tier: str,
          centra_url: str | None, webhook_url: str | None) -> list[Diagnostic]:
    if not isinstance(data, dict):
        return []

    def problem(path: Path_, message: str) -> Diagnostic:
        return position(filename, locate(document, path), message)

    ctx = Context(data, environment, tier, envs.domain_of(centra_url or ""), webhook_url, problem)
    found = [*_environment(ctx), *_webhooks(ctx), *_unique_uris(ctx), *_permission_sides(ctx),
             *_checkout_plugin(ctx), *_one_pricelist_per_country(ctx)]
    return found


def _items(data: dict[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = data.get(section)
    items = value.get("items") if isinstance(value, dict) else value
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("absent") is not True:
            yield index, item


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _environment(ctx: Context) -> Iterator[Diagnostic]:
    env = ctx.environment
    spec_path: Path_ = ["environments", env]
    spec = ctx.data.get("environments", {}).get(env) or {}
    if env != envs.SANDBOX:
        for key in ("centra_url", "token"):
            if key not in spec:
                yield ctx.problem(spec_path, f"environments.{env}: missing required key '{key}'")
    url = spec.get("centra_url")
    if isinstance(url, str) and url.strip().lower().startswith("http://") and not _loopback(envs.domain_of(url)):
        yield ctx.problem([*spec_path, "centra_url"], f"environments.{env}.centra_url: plain http is only for a "
                          "sandbox on this machine (127.0.0.1, localhost); the token would cross the network "
                          "in clear — use https")
    if ctx.tier == "prod" and ctx.centra_domain.endswith(envs.QA_CENTRA_SUFFIX):
        yield ctx.problem([*spec_path, "centra_url"], f"environments.{env}.centra_url: a production environment "
                          f"must not use a QA Centra host (*{envs.QA_CENTRA_SUFFIX})")
    if ctx.tier == "qa" and ctx.centra_domain.endswith(envs.PROD_CENTRA_SUFFIX):
        yield ctx.problem([*spec_path, "centra_url"], f"environments.{env}.centra_url: a QA environment must not "
                          f"use a production Centra host (*{envs.PROD_CENTRA_SUFFIX}); set tier: prod if it is one")
    global_e = ctx.data.get("global_e")
    declared = global_e.get("environment") if isinstance(global_e, dict) else None
    expected = "prod" if ctx.tier == "prod" else "qa-int"
    if isinstance(declared, str) and declared in envs.GLOBAL_E_HOSTS and declared != expected:
        yield ctx.problem(["global_e", "environment"], f"global_e.environment: '{declared}' points the {ctx.tier} "
                          f"environment '{env}' at Global-e {envs.GLOBAL_E_HOSTS[declared]} (expected '{expected}')")


def _webhooks(ctx: Context) -> Iterator[Diagnostic]:
    wrong_host = envs.GLOBAL_E_HOSTS["qa-int" if ctx.tier == "prod" else "prod"]
    for index, plugin in _items(ctx.data, "plugins"):
        url = plugin.get("url")
        if plugin.get("type") != "centra_webhook" or not isinstance(url, str) or url == ctx.webhook_url:
            continue  # the derived URL is right by construction, or wrong only through global_e (reported)
        path: Path_ = ["plugins", index, "url"]
        parts = urlsplit(url)
        if parts.hostname == wrong_host:
            yield ctx.problem(path, f"plugins[{plugin.get('name')}].url: the {ctx.tier} environment "
                              f"'{ctx.environment}' must not send webhooks to {wrong_host}")
        domains = parse_qs(parts.query).get("domain", [])
        if parts.hostname in envs.GLOBAL_E_HOSTS.values() and domains and domains[0] != ctx.centra_domain:
            yield ctx.problem(path, f"plugins[{plugin.get('name')}].url: domain={domains[0]} but this "
                              f"environment's Centra domain is {ctx.centra_domain}")


def _checkout_plugin(ctx: Context) -> Iterator[Diagnostic]:
    """Global-e reads the cart through a Checkout API or DTC/Storefront API plugin: it must be named."""
    global_e = ctx.data.get("global_e")
    if not isinstance(global_e, dict):
        return
    name = global_e.get("checkout_plugin")
    if name is None:
        yield ctx.problem(["global_e"], "global_e.checkout_plugin: a Global-e merchant must name the Checkout API "
                          "or DTC/Storefront API plugin Global-e reads the cart through "
                          "(e.g. `global_e: {checkout_plugin: Checkout API}`)")
        return
    for _, plugin in _items(ctx.data, "plugins"):
        if plugin.get("name") == name and plugin.get("type") not in CHECKOUT_PLUGIN_TYPES:
            yield ctx.problem(["global_e", "checkout_plugin"], f"global_e.checkout_plugin: '{name}' is of type "
                              f"{plugin.get('type')}; Global-e reads the cart through a plugin of type "
                              f"{' or '.join(CHECKOUT_PLUGIN_TYPES)}")


def _unique_uris(ctx: Context) -> Iterator[Diagnostic]:
    seen: dict[tuple[Any, Any], Any] = {}
    for index, plugin in _items(ctx.data, "plugins"):
        key = (plugin.get("store"), plugin.get("uri"))
        if key[1] is None or any(isinstance(part, list | dict) for part in key):
            continue  # a list or mapping where a name belongs: the model reports it, it names no URI
        if key in seen:
            yield ctx.problem(["plugins", index, "uri"], f"plugins[{plugin.get('name')}].uri: '{key[1]}' is "
                              f"already used by plugin '{seen[key]}' in store '{key[0]}'")
        seen.setdefault(key, plugin.get("name"))


def _one_pricelist_per_country(ctx: Context) -> Iterator[Diagnostic]:
    """A country geolocates to one pricelist of a store: two declared would take it from each other on every
    apply, and the store would never converge."""
    seen: dict[tuple[Any, Any], Any] = {}
    for index, pricelist in _items(ctx.data, "pricelists"):
        countries = pricelist.get("countries")
        for offset, country in enumerate(countries if isinstance(countries, list) else []):
            key = (pricelist.get("store"), country)
            if any(isinstance(part, list | dict) for part in key):
                continue
            if key in seen and seen[key] != pricelist.get("name"):
                yield ctx.problem(["pricelists", index, "countries", offset],
                                  f"pricelists[{pricelist.get('name')}].countries: {country} already geolocates to "
                                  f"pricelist '{seen[key]}' in store '{key[0]}' (a country has one pricelist)")
            seen.setdefault(key, pricelist.get("name"))


def _permission_sides(ctx: Context) -> Iterator[Diagnostic]:
    cat = catalogue.permissions()
    sides = {"read": set(cat.read) | set(cat.special), "write": set(cat.write) | set(cat.special)}
    for index, token in _items(ctx.data, "api_tokens"):
        permissions = token.get("permissions")
        for side, allowed in sides.items():
            chosen = permissions.get(side) if isinstance(permissions, dict) else None
            names = chosen.get("all_except") if isinstance(chosen, dict) else chosen
            for offset, name in enumerate(names if isinstance(names, list) else []):
                other = "write" if side == "read" else "read"
                if isinstance(name, str) and name not in allowed and name in sides[other]:
                    yield ctx.problem(["api_tokens", index, "permissions", side, offset],
                                      f"api_tokens[{token.get('description')}].permissions.{side}: '{name}' is "
                                      f"a {other} permission; list it under {other}")


def expand_permissions(spec: MerchantFile) -> MerchantFile:
    """`{all_except: [...]}` becomes the explicit, sorted list the catalogue implies."""
    section = spec.api_tokens
    if section is None:
        return spec
    cat = catalogue.permissions()
    items = []
    for token in section.items:
        if isinstance(token, ApiToken):
            token = token.model_copy(update={"permissions": TokenPermissions(
                read=_expand(token.permissions.read, cat.read), write=_expand(token.permissions.write, cat.write))})
        items.append(token)
    return spec.model_copy(update={"api_tokens": section.model_copy(update={"items": items})})


def _expand(selection: list[str] | AllPermissionsExcept, universe: tuple[str, ...]) -> list[str]:
    if isinstance(selection, AllPermissionsExcept):
        return sorted(set(universe) - set(selection.all_except))
    return sorted(set(selection))
