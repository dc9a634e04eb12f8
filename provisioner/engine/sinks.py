"""Where a token created by `apply` goes: a file only the user can read, or an environment variable
for later CI steps (via the file `$GITHUB_ENV` names). Outputs say where, never the value."""

from __future__ import annotations

import os
import re
from pathlib import Path

from provisioner.errors import ProvisionerError

SECRETS_DIR = Path(".provision/secrets")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def check(sink: str | None) -> None:
    if sink is None:
        return
    if not re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]*", sink):
        raise ProvisionerError(f"--secret-sink must be env:NAME, not {sink.split(':')[0]}:…")
    if not (os.environ.get("GITHUB_ENV") or os.environ.get("PROVISION_ENV_FILE")):
        raise ProvisionerError("--secret-sink env:NAME needs $GITHUB_ENV (or $PROVISION_ENV_FILE) to pass the "
                               "variable to later steps")


def store(value: str, *, merchant: str, environment: str, description: str, sink: str | None) -> str:
    """Keep the value; answer a description of where it went."""
    if sink is not None:
        check(sink)
        name = sink.removeprefix("env:")
        env_file = Path(os.environ.get("GITHUB_ENV") or os.environ["PROVISION_ENV_FILE"])
        with env_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{name}<<PROVISION_EOF\n{value}\nPROVISION_EOF\n")
        return f"environment variable {name} (via {env_file.name})"
    path = token_path(merchant, environment, description)
    write_private(path, value + "\n")
    return f"{path} (mode 0600)"


def token_path(merchant: str, environment: str, description: str) -> Path:
    return SECRETS_DIR / f"{merchant}.{environment}.{_slug(description)}.token"


def write_private(path: Path, text: str) -> None:
    """A file only the user can read, whatever mode an older file at that path had."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
