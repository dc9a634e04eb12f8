"""One module per resource kind; KINDS in the order changes are applied."""

from __future__ import annotations

from provisioner.resources import (
    api_tokens,
    attribute_types,
    event_listeners,
    markets,
    plugins,
    pricelists,
    shipping_options,
    tax_groups,
    warehouses,
)
from provisioner.resources.base import Kind

# Warehouses and shipping options before the markets and pricelists that may name them; all after the
# token and listeners Global-e's integration needs first.
KINDS: tuple[Kind, ...] = (attribute_types.KIND, tax_groups.KIND, plugins.KIND, api_tokens.KIND, event_listeners.KIND,
                           warehouses.KIND, shipping_options.KIND, markets.KIND, pricelists.KIND)
BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
