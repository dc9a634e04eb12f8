"""The attestation ledger `state/<merchant>.<env>.json`: per attested setting, a keyed hash of the
value an operator confirmed — never the value (DESIGN §3). The sandbox keeps its ledgers under
`.provision/state/`."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.config.environments import SANDBOX
from provisioner.errors import ProvisionerError

FORMAT_VERSION = 1
STATE_DIR = Path("state")
SANDBOX_STATE_DIR = Path(".provision/state")


def ledger_path(merchant: str, environment: str) -> Path:
    folder = SANDBOX_STATE_DIR if environment == SANDBOX else STATE_DIR
    return folder / f"{merchant}.{environment}.json"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Ledger:
    path: Path
    merchant: str
    environment: str
    key: str = ""
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> {field: {hash, at, by}}

    def digest(self, value: Any) -> str | None:
        """Keyed, so a ledger in git does not give away a low-entropy value by lookup."""
        if not self.key:
            return None
        return hmac.new(self.key.encode(), canonical(value).encode(), hashlib.sha256).hexdigest()[:32]

    def attested(self, address: str, setting: str) -> str | None:
        entry = self.items.get(address, {}).get(setting)
        return None if entry is None else str(entry["hash"])

    def record(self, address: str, setting: str, value: Any, by: str) -> None:
        if not self.key:
            self.key = secrets.token_hex(16)
        self.items.setdefault(address, {})[setting] = {"hash": self.digest(value), "at": int(time.time()), "by": by}

    def save(self) -> Path:
        document = {"format_version": FORMAT_VERSION, "merchant": self.merchant, "environment": self.environment,
                    "key": self.key, "items": {a: dict(sorted(s.items())) for a, s in sorted(self.items.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, self.path)
        return self.path


def load(merchant: str, environment: str, path: Path | None = None) -> Ledger:
    path = path or ledger_path(merchant, environment)
    if not path.exists():
        return Ledger(path, merchant, environment)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProvisionerError(f"{path}: not a readable ledger ({exc})") from None
    if document.get("format_version") != FORMAT_VERSION:
        raise ProvisionerError(f"{path}: ledger format {document.get('format_version')} is not supported")
    return Ledger(path, merchant, environment, document.get("key", ""), document.get("items", {}))
