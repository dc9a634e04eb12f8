"""What every secret store offers, and the rules they share for values and for text they show."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

from provisioner.errors import ProvisionerError
from provisioner.escape import terminal


class SecretStore(ABC):
    """A place that keeps secret values under names. Every answer is safe to print: it names the place,
    never the value. A store may hold a connection: close it (or use it as a context manager)."""

    @property
    @abstractmethod
    def label(self) -> str:
        """The store as a whole, in words (`GitHub Actions secrets of environment qa in octo/repo`)."""

    @abstractmethod
    def where(self, name: str) -> str:
        """Where `put(name, ...)` would keep the value, in words. Two names with the same answer share one
        place (a store that ignores case answers the same for both). Raises ProvisionerError, naming the
        rule, when the store cannot take this name; touches nothing remote."""

    @abstractmethod
    def check(self) -> str:
        """Before anything is created: prove the store is reachable and the credentials can write there.
        Answers what was verified; raises AuthError (credentials) or ProvisionerError otherwise."""

    @abstractmethod
    def put(self, name: str, value: str) -> str:
        """Keep `value` under `name`, replacing an older value; answer `where(name)` and what happened."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's connections."""

    def __enter__(self) -> SecretStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def checked_value(value: object, *, limit_bytes: int, store: str) -> bytes:
    """The value as UTF-8, refused (without showing it) when it cannot be a token: not text, empty, or
    larger than the store keeps."""
    if not isinstance(value, str):
        raise ProvisionerError(f"the value for {store} is not text; nothing was stored")
    encoded = value.encode("utf-8")
    if not encoded:
        raise ProvisionerError(f"the value for {store} is empty; nothing was stored")
    if len(encoded) > limit_bytes:
        raise ProvisionerError(f"the value for {store} is {len(encoded)} bytes, more than the {limit_bytes} it "
                               "keeps; nothing was stored")
    return encoded


def foreign(text: object, limit: int = 300) -> str:
    """Text from a server or an environment variable, shown in an error: one line, control characters
    shown as escapes, cut at `limit`, and unable to be a CI workflow command, as an error may reach a CI
    log: the runner reads `::name::` at the start of a line and `##[name]` anywhere in one (escape.terminal
    neutralises both, the one place that does). A `::` further in (every ARN has some) is left as it is."""
    return terminal(text, limit=limit)
