"""What `apply` did, change by change, so a run cut short is reported and continued, never repeated:
the next run re-reads the live store, so a token created before the failure is found, not created
again. A create whose outcome is unknown (the answer was lost, or the process died with the request
in flight) stays unresolved until a later run has read the store and either found the object (its value
never reached a sink: rotate it) or not (it was never made). Sandbox and real environments alike keep
it under `.provision/journal/`.

The file is the tool's own: written whole or not at all (a run killed mid-write leaves the previous
journal), never through a link, and read back only if it is a regular file of sane size and shape.
Anything else is reported as unreadable and the store is re-read instead."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import files

JOURNAL_DIR = Path(".provision/journal")
LIMIT = 8 * 1024 * 1024  # bytes; a journal holds one entry per change and status of one merchant
DEPTH = 4  # a list of entries of plain values (2), with room for an entry of another shape, left out

# started: sent, no answer yet; unknown: sent, the answer was lost; failed: refused, nothing changed;
# created: made, value not yet in its sink; done: made and delivered.
UNRESOLVED = ("started", "unknown", "created")
_FIELDS = ("address", "action", "status")


@dataclass
class Journal:
    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    # Written by this object already: its directory checked and the leftovers of killed writers removed.
    # The merchant's lock is held from before the first write to after the last, so no other writer of
    # this file can leave new ones in between.
    _written: bool = field(default=False, repr=False, compare=False)

    def previous_run(self) -> list[dict[str, Any]]:
        """What the last run left unfinished: each address whose last entry failed or is unresolved."""
        return [e for e in self.latest().values() if e["status"] in ("failed", *UNRESOLVED)]

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last entry of each address."""
        return {e["address"]: e for e in self.entries}

    def unresolved_creates(self) -> dict[str, dict[str, Any]]:
        return {a: e for a, e in self.latest().items() if e["action"] == "create" and e["status"] in UNRESOLVED}

    def record(self, address: str, action: str, status: str, detail: str = "") -> None:
        self.record_each([(address, action, status, detail)])

    def record_each(self, entries: list[tuple[str, str, str, str]]) -> None:
        """Entries (address, action, status, detail) added in one write: changes sent in one request."""
        now = int(time.time())
        self.entries += [{"address": address, "action": action, "status": status, "detail": detail, "at": now}
                         for address, action, status, detail in entries]
        if not self._written:
            files.ensure_dir(self.path.parent, owned=True)
        files.write_atomic(self.path, json.dumps(self.entries, indent=2) + "\n", clean=not self._written)
        self._written = True

    def finish(self) -> None:
        self.entries = []
        self.path.unlink(missing_ok=True)


def _well_formed(entry: object) -> bool:
    return isinstance(entry, dict) and all(isinstance(entry.get(name), str) for name in _FIELDS)


def open_journal(merchant: str, environment: str) -> Journal:
    """The journal of one merchant in one environment. An unreadable one (a link, not a file, too large,
    too deep, not a list) becomes one failed entry saying so, and entries of another shape are left out
    with one more: the run goes on from the live store, keeping every entry it can still resolve."""
    path = JOURNAL_DIR / f"{merchant}.{environment}.json"
    if not (path.exists() or path.is_symlink()):
        return Journal(path, [])
    try:
        entries = files.read_json(path, limit=LIMIT, depth=DEPTH, follow_links=False)
        if not isinstance(entries, list):
            raise files.FileError(path, "is not a list of journal entries")
    except files.FileError as exc:
        return Journal(path, [_unreadable(f"{exc}; the live store was re-read instead")])
    kept = [e for e in entries if _well_formed(e)]
    if len(kept) < len(entries):
        kept.append(_unreadable(f"{path}: {len(entries) - len(kept)} entry(ies) of another shape were left out"))
    return Journal(path, kept)


def _unreadable(detail: str) -> dict[str, Any]:
    return {"address": "(journal)", "action": "read", "status": "failed", "detail": detail}
