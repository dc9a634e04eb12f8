"""One module per resource kind; KINDS in the order changes are applied."""

from __future__ import annotations

from provisioner.resources import api_tokens, attribute_types, event_listeners, plugins, tax_groups
from provisioner.resources.base import Kind

KINDS: tuple[Kind, ...] = (attribute_types.KIND, tax_groups.KIND, plugins.KIND, api_tokens.KIND,
                           event_listeners.KIND)
BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
