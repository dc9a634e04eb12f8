"""Where a token created by `apply` goes: a file only the user can read, or an environment variable
for later CI steps (via the file `$GITHUB_ENV` names). Outputs say where, never the value."""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

from provisioner.errors import ProvisionerError

SECRETS_DIR = Path(".provision/secrets")
_VALUE = re.compile(r"[^\x00-\x1f\x7f]{1,65536}")  # one line: nothing that could end the block early


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ci_variables_available() -> bool:
    """Whether an `env:NAME` sink has somewhere to go: the file of later CI steps' variables."""
    return bool(os.environ.get("GITHUB_ENV") or os.environ.get("PROVISION_ENV_FILE"))


def check(sink: str | None) -> None:
    if sink is None:
        return
    if not re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]{0,127}", sink):
        raise ProvisionerError(f"--secret-sink must be env:NAME, not {sink.split(':')[0][:20]!r}:…")
    if sink.removeprefix("env:").upper().startswith(("GITHUB_", "RUNNER_")) or sink in ("env:PATH", "env:NODE_OPTIONS"):
        raise ProvisionerError(f"--secret-sink {sink}: that variable belongs to the CI runner; choose another name")
    if not ci_variables_available():
        raise ProvisionerError("--secret-sink env:NAME needs $GITHUB_ENV (or $PROVISION_ENV_FILE) to pass the "
                               "variable to later steps")


def _open_private(path: Path, flags: int) -> int:
    """A file only the user can read; an older file keeps its mode through O_CREAT, so set it again."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ProvisionerError(f"cannot write the token to {path}: {exc.strerror}; the next apply rotates it") from None
    if os.fstat(fd).st_size == 0 or flags & os.O_TRUNC:
        os.fchmod(fd, 0o600)
    return fd


def _to_env_file(name: str, value: str) -> str:
    if not _VALUE.fullmatch(value):
        raise ProvisionerError("the value is not a single line of text; it was not written to the environment file")
    env_file = Path(os.environ.get("GITHUB_ENV") or os.environ["PROVISION_ENV_FILE"])
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Registered before it is written anywhere, so no later step's log can show it. On stderr: the
        # runner reads commands there too, and stdout is what a workflow keeps (`| tee apply.txt` goes
        # into the job summary), where the command line itself would carry the value.
        sys.stderr.write(f"::add-mask::{value}\n")
        sys.stderr.flush()
    # A fresh delimiter per value: nothing in the value can end the block early (GitHub's multiline syntax).
    delimiter = f"PROVISION_EOF_{secrets.token_hex(8)}"
    fd = _open_private(env_file, os.O_WRONLY | os.O_APPEND)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return f"environment variable {name} (via {env_file.name})"


def store(value: str, *, merchant: str, environment: str, description: str, sink: str | None) -> str:
    """Keep the value; answer a description of where it went."""
    if sink is not None:
        check(sink)
        return _to_env_file(sink.removeprefix("env:"), value)
    path = token_path(merchant, environment, description)
    write_private(path, value + "\n")
    return f"{path} (mode 0600)"


def token_path(merchant: str, environment: str, description: str) -> Path:
    return SECRETS_DIR / f"{merchant}.{environment}.{_slug(description)}.token"


def write_private(path: Path, text: str) -> None:
    """A file only the user can read, whatever mode an older file at that path had."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = _open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
