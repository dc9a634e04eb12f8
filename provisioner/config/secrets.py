"""Secret references (`env:NAME`, `file:PATH`) turned into values at the last moment. Values are never
logged or printed; errors name the reference only.

`env:NAME` is read from the environment, or else from `PROVISION_TOKENS`: one variable holding
`NAME=value` lines (how CI keeps every token in one secret). Those lines are parsed as data, never run
as shell, so nothing a secret holds can execute or set any other variable.

From every source a secret is one line of printable text: surrounding whitespace (the newline `echo`
leaves) is dropped, and a value holding a control character, a line break or an invisible character
is refused by its reference. Such a value could never be sent as an HTTP header: httpx refuses it with
an error that quotes the header, token and all."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from provisioner.errors import ProvisionerError

MAX_FILE_BYTES = 16 * 1024
TOKEN_LIST = "PROVISION_TOKENS"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SecretUnavailable(ProvisionerError):
    pass


def source_of(reference: str) -> str:
    """Where a person finds a secret's value, for the runbook (the reference, never the value)."""
    scheme, _, target = reference.partition(":")
    if scheme == "file":
        return f"the file {target}"
    return f"the environment variable {target}"


def _one_line(value: str) -> bool:
    """Printable text only: no control character (tab, ESC, DEL, line breaks, C1), no line or paragraph
    separator, no invisible format character."""
    return value.isprintable()


def reveal(ref: str) -> str:
    scheme, _, name = ref.partition(":")
    if scheme == "env":
        value = (os.environ.get(name) or "").strip() or token_list().get(name)
        if not value:
            raise SecretUnavailable(f"secret {ref} is not set (environment variable {name} is empty or missing, "
                                    f"and {TOKEN_LIST} has no line {name}=...)")
        if not _one_line(value):
            raise SecretUnavailable(f"secret {ref} is not one line of text (environment variable {name} holds a "
                                    "control character, a line break or an invisible character; value not shown)")
        return value
    if scheme == "file":
        return _read_file(ref, Path(name).expanduser())
    raise SecretUnavailable(f"not a secret reference: {scheme}:…")


def token_list() -> dict[str, str]:
    """The `NAME=value` lines of `PROVISION_TOKENS`; blank lines and `#` comments are skipped, an
    `export ` prefix and one pair of quotes around the value are allowed. A malformed line is named by
    its number, never shown (it may hold a secret)."""
    found: dict[str, str] = {}
    # Lines end at \n (and \r\n) only: str.splitlines would also split a value at \x1c or U+2028 and
    # read what follows as another NAME=value line.
    for number, raw in enumerate(os.environ.get(TOKEN_LIST, "").split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if not equals or not _NAME.fullmatch(name) or not _one_line(value):
            raise SecretUnavailable(f"{TOKEN_LIST} line {number} is not NAME=value (a name of letters, digits "
                                    "and _, a value on one line)")
        found[name] = value
    return found


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
    if not _one_line(value):
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
