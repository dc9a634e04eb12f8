"""Where a secret goes: a file only the user can read, or an environment variable for later CI steps
(via the file `$GITHUB_ENV` names). Outputs say where, never the value.

Every token one run of `apply` or `rotate` creates has a place of its own (`Delivery`): its own 0600
file, or with `--secret-sink env:NAME` its own variable `NAME__MERCHANT__ENV__TOKEN`, listed with the
others in `NAME__VARIABLES`. Tokens that would share a place are refused before any is created."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from provisioner import files
from provisioner.errors import ProvisionerError
from provisioner.secretstores.base import SecretStore
from provisioner.secretstores.spec import is_store_spec, open_store

SECRETS_DIR = Path(".provision/secrets")
SEPARATOR = "__"
PART_LENGTH = 40
_VALUE = re.compile(r"[^\x00-\x1f\x7f]{1,65536}")  # one line: nothing that could end the block early


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ci_variables_available() -> bool:
    """Whether an `env:NAME` sink has somewhere to go: the file of later CI steps' variables."""
    return bool(os.environ.get("GITHUB_ENV") or os.environ.get("PROVISION_ENV_FILE"))


STORE_NAME = "PROVISION_TOKEN"  # the first part of a token's name in a secret store


def check(sink: str | None) -> None:
    if sink is None or is_store_spec(sink):
        return
    if not re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]{0,127}", sink):
        raise ProvisionerError(f"--secret-sink must be env:NAME, not {sink.split(':')[0][:20]!r}:…")
    if sink.removeprefix("env:").upper().startswith(("GITHUB_", "RUNNER_")) or sink in ("env:PATH", "env:NODE_OPTIONS"):
        raise ProvisionerError(f"--secret-sink {sink}: that variable belongs to the CI runner; choose another name")
    if not ci_variables_available():
        raise ProvisionerError("--secret-sink env:NAME needs $GITHUB_ENV (or $PROVISION_ENV_FILE) to pass the "
                               "variable to later steps")


def _to_env_file(name: str, value: str, *, secret: bool = True, masked: bool = False) -> str:
    """`secret=False` for a value anyone may see (the list of variable names): masking it would hide
    those names wherever the log shows them; `masked`: registered already (`Delivery.mask`)."""
    if secret and not _VALUE.fullmatch(value):
        raise ProvisionerError("the value is not a single line of text; it was not written to the environment file")
    env_file = _env_file()
    if secret and not masked:
        _mask(value)
    # A fresh delimiter per value: nothing in the value can end the block early (GitHub's multiline syntax).
    delimiter = f"PROVISION_EOF_{secrets.token_hex(8)}"
    # One write at the end: the runner's file keeps its mode (0644 stays 0644), a new one is 0600.
    files.append_text(env_file, f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return f"environment variable {name} (via {env_file.name})"


def _mask(value: str) -> None:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Registered before it is written anywhere, so no later step's log can show it. On stderr: the
        # runner reads commands there too, and stdout is what a workflow keeps (`| tee apply.txt` goes
        # into the job summary), where the command line itself would carry the value.
        sys.stderr.write(f"::add-mask::{value}\n")
        sys.stderr.flush()


def _env_file() -> Path:
    return Path(os.environ.get("GITHUB_ENV") or os.environ["PROVISION_ENV_FILE"])


def _part(text: str) -> str:
    """One part of a token's variable name: A-Z, 0-9 and single underscores, at most PART_LENGTH long.

    Accents are dropped (é -> E); a part with nothing left is X and a hash of the text; a longer part
    keeps its start and ends in a hash of the whole part, so two parts that differ stay different."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    part = re.sub(r"[^A-Z0-9]+", "_", ascii_text.upper()).strip("_")
    if not part:
        return "X" + _digest(text)
    if len(part) > PART_LENGTH:
        return part[:PART_LENGTH - 9].rstrip("_") + "_" + _digest(part)
    return part


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8].upper()


def token_variable(sink: str, merchant: str, environment: str, description: str) -> str:
    """`NAME__MERCHANT__ENV__TOKEN`: the same rule for one token or many. The parts are joined by two
    underscores, which no part contains, so different parts never run together into one name."""
    return SEPARATOR.join([sink.removeprefix("env:"), _part(merchant), _part(environment), _part(description)])


def index_variable(sink: str) -> str:
    """The variable listing a run's token variables (no token's name: those have three separators)."""
    return f"{sink.removeprefix('env:')}{SEPARATOR}VARIABLES"


class Delivery:
    """Where the tokens one run of `apply` or `rotate` creates go: each to a place of its own."""

    def __init__(self, sink: str | None) -> None:
        check(sink)
        self.sink = sink
        self.delivered: list[str] = []  # variable names (env sink) or file paths, in the order written
        # A secret store (GitHub Actions secrets, AWS Secrets Manager): checked once, before any create.
        self._store: SecretStore | None = open_store(sink) if sink is not None and is_store_spec(sink) else None
        self._store_checked = False
        self._masked: set[str] = set()  # digests of the values registered by `mask`
        self._lock = threading.RLock()  # a fleet's merchants deliver from threads of their own

    def destination(self, merchant: str, environment: str, description: str) -> str:
        if self.sink is None:
            return str(token_path(merchant, environment, description))
        if self._store is not None:
            return self._store.where(token_variable(STORE_NAME, merchant, environment, description))
        return token_variable(self.sink, merchant, environment, description)

    def check_distinct(self, tokens: Iterable[tuple[str, str, str]]) -> None:
        """Refuse tokens (merchant, environment, description) that would share a place, with one another
        or with a token this run already delivered; called before any of them is created."""
        with self._lock:
            seen = {where: "a token this run already stored" for where in self.delivered}
            tokens = list(tokens)
            if tokens and self._store is not None and not self._store_checked:
                self._store.check()  # unreachable, or no right to write: refused before anything is created
                self._store_checked = True
        for merchant, environment, description in tokens:
            where = self.destination(merchant, environment, description)
            token = f"{merchant}/{environment} token '{description}'"
            if where in seen:
                raise ProvisionerError(f"{seen[where]} and {token} would both be stored in {where} (names that "
                                       "differ only in case, accents or punctuation share one); rename one of "
                                       "them so they differ in a letter or digit; nothing was changed")
            seen[where] = token
        for merchant, environment, description in tokens:
            self._check_place(merchant, environment, description)

    def _check_place(self, merchant: str, environment: str, description: str) -> None:
        """A place the value can be written to safely (no link, FIFO or directory in its way), checked
        before the token exists: a value that cannot be stored is one to rotate."""
        try:
            if self.sink is None:
                path = token_path(merchant, environment, description)
                files.check_dir(path.parent)
                files.writable(path)
            else:
                files.writable(_env_file())
        except files.FileError as exc:
            raise ProvisionerError(f"cannot store a created token in {exc}; nothing was changed") from None

    def mask(self, value: str) -> None:
        """With an env sink under GitHub Actions, register a created token's value with the log's masking the
        moment it exists, before anything else is printed (apply stores it only once the store is read again)."""
        if self.sink is None or self._store is not None:
            return
        with self._lock:
            _mask(value)
            self._masked.add(hashlib.sha256(value.encode()).hexdigest())

    def deliver(self, value: str, merchant: str, environment: str, description: str) -> str:
        """Keep a created token's value; answer where it went (never the value)."""
        with self._lock:
            return self._deliver(value, merchant, environment, description)

    def _deliver(self, value: str, merchant: str, environment: str, description: str) -> str:
        where = self.destination(merchant, environment, description)
        try:
            if self.sink is None:
                answer = store(value, merchant=merchant, environment=environment, description=description,
                               sink=None)
            elif self._store is not None:
                answer = self._store.put(token_variable(STORE_NAME, merchant, environment, description), value)
            else:
                answer = _to_env_file(where, value, masked=hashlib.sha256(value.encode()).hexdigest() in self._masked)
        except ProvisionerError as exc:
            raise ProvisionerError(f"{exc}; the token '{description}' was created but its value reached no sink: "
                                   "the next apply rotates it") from None
        self.delivered.append(where)
        return answer

    def finish(self) -> str | None:
        """With an env sink, list the variables written in NAME__VARIABLES (space-separated, sorted; once, at the
        end of the run, so a large fleet appends it once); answer a line saying so."""
        if self._store is not None:
            self._store.close()
            return None
        if self.sink is None or not self.delivered:
            return None
        index = index_variable(self.sink)
        written = " ".join(sorted(self.delivered))  # by name: a fleet's merchants finish in any order
        _to_env_file(index, written, secret=False)
        return f"{index} lists the token variable(s) written: {written}"


def store(value: str, *, merchant: str, environment: str, description: str, sink: str | None) -> str:
    """Keep the value under exactly the name the sink says; answer a description of where it went."""
    if sink is not None:
        check(sink)
        return _to_env_file(sink.removeprefix("env:"), value)
    path = token_path(merchant, environment, description)
    write_private(path, value + "\n")
    return f"{path} (mode 0600)"


def token_path(merchant: str, environment: str, description: str) -> Path:
    return SECRETS_DIR / f"{merchant}.{environment}.{_slug(description)}.token"


def write_private(path: Path, text: str) -> None:
    """A file only the user can read (0600 from its first byte, whatever mode an older file had), written
    whole or not at all, never through a link. `.provision/secrets` is the tool's own: 0700, and no link
    in its way; the folder of a path the user named (a `file:` secret) is theirs, made 0700 if new."""
    try:
        files.ensure_dir(path.parent, owned=path.parent == SECRETS_DIR, private=True)
        files.write_atomic(path, text, private=True)
    except files.FileError as exc:
        raise ProvisionerError(f"cannot write the secret to {exc.path}: {exc.reason}") from None

