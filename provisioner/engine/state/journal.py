"""What `apply` did, change by change, so a run cut short is reported and continued, never repeated:
the next run re-reads the live store, so a token created before the failure is found, not created
again. A create whose outcome is unknown (the answer was lost, or the process died with the request
in flight) stays unresolved until a later run has read the store and either found the object (its value
never reached a sink: rotate it) or not (it was never made). Sandbox and real environments alike keep
it under `.provision/journal/`."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_DIR = Path(".provision/journal")

# started: sent, no answer yet; unknown: sent, the answer was lost; failed: refused, nothing changed;
# created: made, value not yet in its sink; done: made and delivered.
UNRESOLVED = ("started", "unknown", "created")


@dataclass
class Journal:
    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)

    def previous_run(self) -> list[dict[str, Any]]:
        return [e for e in self.latest().values() if e.get("status") in ("failed", *UNRESOLVED)]

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last entry of each address."""
        return {e["address"]: e for e in self.entries if isinstance(e, dict) and "address" in e}

    def unresolved_creates(self) -> dict[str, dict[str, Any]]:
        return {a: e for a, e in self.latest().items() if e.get("action") == "create" and e.get("status") in UNRESOLVED}

    def record(self, address: str, action: str, status: str, detail: str = "") -> None:
        self.entries.append({"address": address, "action": action, "status": status, "detail": detail,
                             "at": int(time.time())})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Atomic, so a run killed mid-write leaves the previous journal, not half a file.
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.entries, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def finish(self) -> None:
        self.entries = []
        self.path.unlink(missing_ok=True)


def open_journal(merchant: str, environment: str) -> Journal:
    path = JOURNAL_DIR / f"{merchant}.{environment}.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    except (OSError, ValueError):
        entries = [{"address": "(journal)", "action": "read", "status": "failed",
                    "detail": f"{path} was unreadable; the live store was re-read instead"}]
    return Journal(path, entries if isinstance(entries, list) else [])
