"""Secret references (`env:NAME`, `file:PATH`) turned into values at the last moment. Values are never
logged or printed; errors name the reference only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from provisioner.errors import ProvisionerError


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
        try:
            value = Path(name).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretUnavailable(f"secret {ref} cannot be read: {exc.strerror}") from None
        if not value:
            raise SecretUnavailable(f"secret {ref} is an empty file")
        return value
    raise SecretUnavailable(f"not a secret reference: {scheme}:…")


def sandbox_value(merchant: str, ref: str) -> str:
    """What a secret is in the sandbox when its reference is not set: stable per merchant and reference,
    so the sandbox lifecycle runs on a machine without any secrets."""
    return "sandbox-" + hashlib.sha256(f"{merchant}\0{ref}".encode()).hexdigest()[:24]


def reveal_for(merchant: str, ref: str, *, sandbox: bool) -> str:
    try:
        return reveal(ref)
    except SecretUnavailable:
        if sandbox:
            return sandbox_value(merchant, ref)
        raise
