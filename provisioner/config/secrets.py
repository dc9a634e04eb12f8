"""Secret references (`env:NAME`, `file:PATH`) turned into values at the last moment. Values are never
logged or printed; errors name the reference only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from provisioner.errors import ProvisionerError

MAX_FILE_BYTES = 16 * 1024


class SecretUnavailable(ProvisionerError):
    pass


def reveal(ref: str) -> str:
    scheme, _, name = ref.partition(":")
    if scheme == "env":
        value = os.environ.get(name)
        if not value:
            raise SecretUnavailable(f"secret {ref} is not set (environment variable {name} is empty or missing)")
        return value
    if scheme == "file":
        return _read_file(ref, Path(name).expanduser())
    raise SecretUnavailable(f"not a secret reference: {scheme}:…")


def _read_file(ref: str, path: Path) -> str:
    """A secret file: small, UTF-8 text without NUL; read at most one byte past the cap, so
    `file:/dev/zero` or a huge file is refused at once instead of filling memory."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SecretUnavailable(f"secret {ref} cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SecretUnavailable(f"secret {ref} is larger than {MAX_FILE_BYTES} bytes; a secret file holds one value")
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretUnavailable(f"secret {ref} is not UTF-8 text") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SecretUnavailable(f"secret {ref} is not text (it holds control characters or line breaks)")
    if not value:
        raise SecretUnavailable(f"secret {ref} is an empty file")
    return value


def sandbox_value(merchant: str, ref: str) -> str:
    """What a secret is in the sandbox: stable per merchant and reference, so the sandbox lifecycle runs
    on a machine without any secrets, and never holds a real one."""
    return "sandbox-" + hashlib.sha256(f"{merchant}\0{ref}".encode()).hexdigest()[:24]


def reveal_for(merchant: str, ref: str, *, sandbox: bool) -> str:
    """The value for a target. The sandbox always gets its stand-in, even when the reference is set:
    a real environment's secret never reaches a sandbox database, ledger or runbook."""
    if sandbox:
        return sandbox_value(merchant, ref)
    return reveal(ref)
