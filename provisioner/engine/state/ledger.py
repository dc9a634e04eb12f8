"""The attestation ledger `state/<merchant>.<env>.json`: per attested setting, a hash of the value an
operator confirmed — never the value. The sandbox keeps its ledgers under `.provision/state/`.

The ledger is committed to git, so it must not let anyone holding the repository test a guess of a
secret cheaply. A sensitive value is hashed with scrypt (memory-hard) and a salt of its own, so every
guess costs ~16 MiB and tens of milliseconds, per entry. With `PROVISION_LEDGER_KEY` set (a secret kept
outside the repository, e.g. in CI's secret store), the value is keyed before scrypt, and a guess cannot
be checked at all without that key. No key is ever written to the ledger. A value that is not sensitive
is in the merchant file anyway and gets a plain SHA-256.

Format 1 kept an HMAC key next to the hashes. It is still read: an entry whose value is known again
(attest re-reads every value) is re-hashed, and the next save writes format 2 without the key; an
entry that cannot be re-verified is dropped and reported, to be attested again."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import files
from provisioner.config.environments import SANDBOX
from provisioner.errors import ProvisionerError

FORMAT_VERSION = 2
LEGACY_FORMAT = 1
STATE_DIR = Path("state")
SANDBOX_STATE_DIR = Path(".provision/state")
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}  # 16 MiB per evaluation (128 * r * n bytes)
KEY_ENV = "PROVISION_LEDGER_KEY"
LIMIT = 16 * 1024 * 1024  # bytes; a ledger holds a few hashes per attested setting of one merchant
DEPTH = 4  # document -> items -> address -> setting -> entry


def ledger_key() -> str:
    return os.environ.get(KEY_ENV, "")


def ledger_path(merchant: str, environment: str) -> Path:
    folder = SANDBOX_STATE_DIR if environment == SANDBOX else STATE_DIR
    return folder / f"{merchant}.{environment}.json"


# One encoder for every call: json.dumps with options builds a new one each time (~0.6 µs, paid per
# object and field of a fleet's plans). Its output is json.dumps's with the same options.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def _scrypt(value: Any, salt: bytes, n: int, r: int, p: int, key: str = "") -> str:
    material = canonical(value).encode()
    if key:
        material = hmac.new(key.encode(), material, hashlib.sha256).digest()
    return hashlib.scrypt(material, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024,
                          dklen=32).hex()


def hashed(value: Any, *, sensitive: bool, key: str = "") -> dict[str, Any]:
    if not sensitive:
        return {"scheme": "sha256", "hash": hashlib.sha256(canonical(value).encode()).hexdigest()}
    salt = secrets.token_bytes(16)
    return {"scheme": "scrypt", **SCRYPT, "keyed": bool(key), "salt": salt.hex(),
            "hash": _scrypt(value, salt, **SCRYPT, key=key)}


def _matches(entry: dict[str, Any], value: Any, legacy_key: str, key: str) -> bool:
    scheme = entry.get("scheme")
    try:
        if scheme == "scrypt":
            computed = _scrypt(value, bytes.fromhex(entry["salt"]), int(entry["n"]), int(entry["r"]), int(entry["p"]),
                               key=key if entry.get("keyed") else "")
        elif scheme == "sha256":
            computed = hashlib.sha256(canonical(value).encode()).hexdigest()
        elif scheme is None and legacy_key:
            computed = hmac.new(legacy_key.encode(), canonical(value).encode(), hashlib.sha256).hexdigest()[:32]
        else:
            return False
    except (KeyError, TypeError, ValueError):
        return False  # a malformed entry never matches: the setting is shown as to be attested again
    return hmac.compare_digest(computed, str(entry.get("hash", "")))


@dataclass
class Ledger:
    path: Path
    merchant: str
    environment: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> {setting: entry}
    legacy_key: str = ""  # format 1 only; never written again
    key: str = field(default_factory=ledger_key)
    migrated: list[str] = field(default_factory=list)

    def attested(self, address: str, setting: str) -> bool:
        return setting in self.items.get(address, {})

    def matches(self, address: str, setting: str, value: Any, *, sensitive: bool) -> bool | None:
        """Whether the recorded hash is of `value`; None when nothing is recorded or it was keyed and the key
        is not set. A legacy entry that matches is re-hashed in the current scheme on the spot (saved by the
        next `attest`)."""
        entry = self.items.get(address, {}).get(setting)
        if entry is None or (entry.get("keyed") and not self.key):
            return None
        found = _matches(entry, value, self.legacy_key, self.key)
        if found and entry.get("scheme") is None:
            self.items[address][setting] = {**hashed(value, sensitive=sensitive, key=self.key),
                                            "at": entry.get("at"), "by": entry.get("by")}
            self.migrated.append(f"{address}: {setting}")
        return found

    def record(self, address: str, setting: str, value: Any, by: str, *, sensitive: bool) -> None:
        self.items.setdefault(address, {})[setting] = {**hashed(value, sensitive=sensitive, key=self.key),
                                                       "at": int(time.time()), "by": by}

    def save(self) -> list[str]:
        """Write format 2; answer the legacy entries dropped because their value could not be re-verified."""
        dropped = [f"{a}: {s}" for a, entries in self.items.items() for s, e in entries.items() if "scheme" not in e]
        items = {a: {s: e for s, e in sorted(entries.items()) if "scheme" in e} for a, entries in self.items.items()}
        document = {"format_version": FORMAT_VERSION, "merchant": self.merchant, "environment": self.environment,
                    "items": {a: entries for a, entries in sorted(items.items()) if entries}}
        # Whole or not at all, never through a link: the ledger is committed, and a checkout may carry links.
        files.ensure_dir(self.path.parent, owned=True)
        files.write_atomic(self.path, json.dumps(document, indent=2) + "\n")
        self.items, self.legacy_key = items, ""
        return dropped


def load(merchant: str, environment: str, path: Path | None = None) -> Ledger:
    path = path or ledger_path(merchant, environment)
    if not (path.exists() or path.is_symlink()):
        return Ledger(path, merchant, environment)
    try:
        document = files.read_json(path, limit=LIMIT, depth=DEPTH, follow_links=False)
    except files.FileError as exc:
        raise ProvisionerError(f"{path}: not a readable ledger ({exc.reason})") from None
    version = document.get("format_version") if isinstance(document, dict) else None
    if version not in (FORMAT_VERSION, LEGACY_FORMAT) or not isinstance(document.get("items"), dict):
        raise ProvisionerError(f"{path}: ledger format {files.one_line(repr(version), 40)} is not supported")
    if not all(isinstance(entries, dict) and all(isinstance(e, dict) for e in entries.values())
               for entries in document["items"].values()):
        raise ProvisionerError(f"{path}: not a readable ledger (its items are not settings and their hashes)")
    legacy_key = str(document.get("key", "")) if version == LEGACY_FORMAT else ""
    return Ledger(path, merchant, environment, document["items"], legacy_key=legacy_key)
