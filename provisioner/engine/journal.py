"""What `apply` did, change by change, so a run cut short is reported and continued, never repeated:
the next run re-reads the live store, so a token created before the failure is found, not created
again. Sandbox and real environments alike keep it under `.provision/journal/`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_DIR = Path(".provision/journal")


@dataclass
class Journal:
    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)

    def previous_run(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if e.get("status") in ("started", "failed")]

    def record(self, address: str, action: str, status: str, detail: str = "") -> None:
        self.entries.append({"address": address, "action": action, "status": status, "detail": detail,
                             "at": int(time.time())})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=2) + "\n", encoding="utf-8")

    def finish(self) -> None:
        self.entries = []
        self.path.unlink(missing_ok=True)


def open_journal(merchant: str, environment: str) -> Journal:
    path = JOURNAL_DIR / f"{merchant}.{environment}.json"
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    return Journal(path, entries)
