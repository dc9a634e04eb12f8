"""Plugins: presence, URI, status and store are readable (`storePlugins`); written by hand in AMS.
Their settings (secrets, markets, webhook URL, triggers) are invisible to the API: attested."""

from __future__ import annotations

from typing import Any

from provisioner.config.models import CentraWebhookPlugin, CheckoutApiPlugin, OrderApiPlugin, StorefrontApiPlugin
from provisioner.config.resolve import DesiredState
from provisioner.reference import catalogue
from provisioner.resources.base import KindBase, Obj, Reveal, Setting, section_of

AnyPlugin = OrderApiPlugin | CentraWebhookPlugin | CheckoutApiPlugin | StorefrontApiPlugin
READABLE = ("name", "type", "store", "status", "uri", "absent")
SECRET_FIELDS = ("secret", "endpoint_secret", "shared_secret")
_METHODS = {kind.method: name for name, kind in catalogue.PLUGIN_KINDS.items()}


def _normalise(plugin: AnyPlugin) -> Obj:
    return {"type": plugin.type, "store": plugin.store, "status": plugin.status, "uri": getattr(plugin, "uri", "")}


class Plugins(KindBase):
    kind = "plugin"
    section = "plugins"
    object_type = "StorePlugin"
    root_field = "storePlugins"
    permission = "StorePlugin:read"
    set_fields: frozenset[str] = frozenset()

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        # Only plugin methods this tool manages: a payment or feed plugin is never ours to delete.
        return {item["name"]: {"type": _METHODS[item["method"]], "store": item["store"]["name"],
                               "status": item["status"].lower(), "uri": item["uri"]}
                for item in data.get(self.root_field) or [] if item.get("method") in _METHODS}

    def settings(self, state: DesiredState, reveal: Reveal) -> dict[str, dict[str, Setting]]:
        section = section_of(state, self.section)
        result: dict[str, dict[str, Setting]] = {}
        for plugin in section.items if section else ():
            if getattr(plugin, "absent", False):
                continue
            values: dict[str, Setting] = {}
            for name, value in plugin.model_dump(mode="json", exclude_none=True).items():
                if name in READABLE:
                    continue
                if name in SECRET_FIELDS:
                    values[name] = Setting(reveal(value), sensitive=True, reference=value)
                else:
                    values[name] = Setting(value)
            if values:
                result[plugin.name] = values
        return result

    def plugins(self, state: DesiredState) -> dict[str, Any]:
        section = section_of(state, self.section)
        return {p.name: p for p in (section.items if section else ()) if not getattr(p, "absent", False)}


KIND = Plugins()
