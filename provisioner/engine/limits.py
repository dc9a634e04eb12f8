"""Numbers the command line shows in `--help` (defaults and bounds), kept apart from the modules that use
them: a command's help imports this, not the engine behind it."""

from __future__ import annotations

DEFAULT_PARALLELISM = 16  # merchants planned at once in a fleet run
CATALOG_PAGE_SIZE = 100
CATALOG_MAX_PAGE_SIZE = 200  # [inferred] Centra does not publish its largest `limit`
