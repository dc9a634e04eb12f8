"""GitHub Actions secrets as a store: a repository's secrets, or one environment's.

The REST API (docs.github.com, "REST API endpoints for GitHub Actions secrets"): fetch the public key of
the repository (`GET /repos/{owner}/{repo}/actions/secrets/public-key`) or of the environment
(`GET /repos/{owner}/{repo}/environments/{environment}/secrets/public-key`), seal the value with it
(a libsodium sealed box: only GitHub, holding the private key, can open it), and `PUT` it with the key's
id at `.../secrets/{name}` (201 created, 204 updated).

The job's own GITHUB_TOKEN can never write secrets, so the token comes from PROVISION_SECRETS_TOKEN;
the repository from GITHUB_REPOSITORY and the API root from GITHUB_API_URL, as GitHub Actions sets them."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from nacl.exceptions import CryptoError
from nacl.public import PublicKey, SealedBox

from provisioner.errors import ProvisionerError
from provisioner.secretstores.base import SecretStore, checked_value, foreign
from provisioner.secretstores.github_api import WRITER, Clocks, GitHubApi, Operation

TOKEN_VARIABLE = "PROVISION_SECRETS_TOKEN"
DEFAULT_API = "https://api.github.com"
MAX_VALUE_BYTES = 48 * 1024  # GitHub: "Secrets are limited to 48 KB in size"
PROBE_NAME = "PROVISION_SINK_CHECK"  # written and deleted by check(); never a token's name
_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_NAME = re.compile(r"[A-Za-z0-9_]+")
_TOKEN = re.compile(r"[\x21-\x7e]{1,1024}")  # it travels in a header: printable ASCII, one word
_ENVIRONMENT_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def secret_name(name: str) -> str:
    """A secret's name as GitHub keeps it (upper-case; GitHub ignores case), or an error naming the rule
    it breaks (docs: "Naming your secrets")."""
    shown = foreign(name, 80)
    if not name:
        raise ProvisionerError("a GitHub secret needs a name; the name is empty")
    if not _NAME.fullmatch(name):
        raise ProvisionerError(f"GitHub secret name {shown!r}: only letters A-Z, digits and underscores are allowed")
    if name[0].isdigit():
        raise ProvisionerError(f"GitHub secret name {shown!r}: it may not start with a digit")
    if name.upper().startswith("GITHUB_"):
        raise ProvisionerError(f"GitHub secret name {shown!r}: names starting GITHUB_ are GitHub's own")
    if name.upper() == PROBE_NAME:
        raise ProvisionerError(f"GitHub secret name {shown!r}: reserved for the store's write check")
    return name.upper()


def _api_root(url: str) -> str:
    """The API root, refusing plain http anywhere but this machine: the token travels with every request."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and (host == "localhost" or _is_loopback(host)):
        return url.strip().rstrip("/")
    raise ProvisionerError(f"GITHUB_API_URL {foreign(url, 100)!r} must be an https:// URL (plain http only on this "
                           "machine, for tests)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    key: PublicKey


class GitHubSecrets(SecretStore):
    """The Actions secrets of `repository` (owner/name), or of its `environment` when one is given."""

    def __init__(self, repository: str, environment: str | None, api: GitHubApi) -> None:
        if not _REPOSITORY.fullmatch(repository):
            raise ProvisionerError(f"GITHUB_REPOSITORY {foreign(repository, 140)!r} is not owner/name")
        if environment is not None and (not environment or len(environment) > 255
                                        or _ENVIRONMENT_CONTROL.search(environment)):
            raise ProvisionerError(f"GitHub environment name {foreign(environment, 80)!r}: 1 to 255 characters, "
                                   "no control characters")
        self.repository = repository
        self.environment = environment
        self.api = api
        self._key: PublicKeyInfo | None = None
        base = f"/repos/{repository}"
        self._secrets = (f"{base}/environments/{quote(environment, safe='')}/secrets" if environment is not None
                         else f"{base}/actions/secrets")

    @classmethod
    def from_environment(cls, environment: str | None, environ: Mapping[str, str], *,
                         clocks: Clocks | None = None, deadline: float = 300.0) -> GitHubSecrets:
        token = environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise ProvisionerError(f"the github: secret sink needs a token that may write Actions secrets in "
                                   f"{TOKEN_VARIABLE}, passed from a secret: {WRITER} (the job's GITHUB_TOKEN "
                                   "cannot write secrets)")
        if not _TOKEN.fullmatch(token):
            raise ProvisionerError(f"{TOKEN_VARIABLE} holds characters no GitHub token has (spaces, line breaks or "
                                   "non-ASCII); pass the token alone (value not shown)")
        repository = environ.get("GITHUB_REPOSITORY", "").strip()
        if not repository:
            raise ProvisionerError("the github: secret sink needs GITHUB_REPOSITORY (owner/name), which GitHub "
                                   "Actions sets")
        api = GitHubApi(_api_root(environ.get("GITHUB_API_URL") or DEFAULT_API), token, TOKEN_VARIABLE,
                        deadline=deadline, clocks=clocks or Clocks())
        return cls(repository, environment, api)

    @property
    def label(self) -> str:
        if self.environment is None:
            return f"GitHub Actions repository secrets of {self.repository}"
        return f"GitHub Actions secrets of environment {foreign(self.environment, 80)} in {self.repository}"

    def where(self, name: str) -> str:
        if self.environment is None:
            return f"GitHub Actions repository secret {secret_name(name)} of {self.repository}"
        return (f"GitHub Actions secret {secret_name(name)} of environment {foreign(self.environment, 80)} in "
                f"{self.repository}")

    def check(self) -> str:
        """Fetch the public key (reachable, token accepted, repository and environment exist), then write a
        throw-away secret and delete it: the only proof that the token may write secrets here."""
        operation = self.api.operation(f"checking that the token may write {self.label}")
        self._key = self._public_key(operation)
        probe = secrets.token_urlsafe(24)
        self._put(operation, PROBE_NAME, probe.encode())
        operation.request("DELETE", f"{self._secrets}/{PROBE_NAME}", answers=(404,))
        return f"{self.label}: reachable, and the token in {self.api.token_source} may write there " \
               f"(wrote and deleted {PROBE_NAME})"

    def put(self, name: str, value: str) -> str:
        where = self.where(name)
        encoded = checked_value(value, limit_bytes=MAX_VALUE_BYTES, store=where)
        operation = self.api.operation(f"storing {where}")
        status = self._put(operation, secret_name(name), encoded)
        return f"{where} ({'created' if status == 201 else 'updated'})"

    def close(self) -> None:
        self.api.close()

    def _put(self, operation: Operation, name: str, encoded: bytes) -> int:
        """PUT the sealed value; on a 422 fetch the key again once (GitHub may have rotated it between the
        two requests) before explaining the refusal."""
        for attempt in (1, 2):
            if self._key is None or attempt == 2:
                self._key = self._public_key(operation)
            sealed = base64.b64encode(SealedBox(self._key.key).encrypt(encoded)).decode("ascii")
            reply = operation.request("PUT", f"{self._secrets}/{name}", answers=(422,),
                                      body={"encrypted_value": sealed, "key_id": self._key.key_id},
                                      missing=self._missing())
            if reply.status != 422:
                return reply.status
        said = reply.body.get("message") if isinstance(reply.body, dict) else None
        raise ProvisionerError(f"GitHub refused {name} as invalid (HTTP 422"
                               f"{': ' + foreign(said, 200) if isinstance(said, str) else ''}) while {operation.what},"
                               " twice, with a fresh public key: the name may break GitHub's rules, or the "
                               "repository may have reached its limit of secrets")

    def _public_key(self, operation: Operation) -> PublicKeyInfo:
        reply = operation.request("GET", f"{self._secrets}/public-key", missing=self._missing())
        return _key_of(reply.body, operation.what)

    def _missing(self) -> str:
        if self.environment is None:
            return f"the repository {self.repository}"
        return f"the environment {foreign(self.environment, 80)} of {self.repository} (create it under Settings → " \
               "Environments)"


def _key_of(body: Any, what: str) -> PublicKeyInfo:
    """GitHub's public-key answer, shape-checked: a key id and a 32-byte Curve25519 key in base64."""
    if isinstance(body, dict) and isinstance(body.get("key_id"), str) and isinstance(body.get("key"), str):
        try:
            raw = base64.b64decode(body["key"], validate=True)
            if body["key_id"] and len(raw) == PublicKey.SIZE:
                return PublicKeyInfo(body["key_id"], PublicKey(raw))
        except (binascii.Error, CryptoError, ValueError):
            pass
    raise ProvisionerError(f"GitHub's answer while {what} was not a public key (key_id and a base64 key of "
                           f"{PublicKey.SIZE} bytes); is GITHUB_API_URL GitHub's API?")
