"""The fake GitHub's in-memory state and how each object looks in GitHub's JSON. Tests reach it through
FakeGitHub (tests/fakes/github.py); everything here is read and changed under FakeGitHub.lock."""

from __future__ import annotations

import base64
import io
import itertools
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nacl.public import PrivateKey, SealedBox

HTML = "https://github.com"
_ids = itertools.count(1000)


def new_id() -> int:
    """Ids are unique across the whole fake, like GitHub's."""
    return next(_ids)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class User:
    login: str
    id: int
    type: str = "User"  # "User" or "Bot"

    def json(self) -> dict[str, Any]:
        return {"login": self.login, "id": self.id, "type": self.type, "site_admin": False,
                "node_id": f"U_{self.id}", "html_url": f"{HTML}/{self.login}"}


@dataclass
class Token:
    """A token's owner and the permissions it carries, GitHub-App style: {"issues": "write", ...}. A
    category missing means no access (403 "Resource not accessible by integration")."""

    user: User
    permissions: dict[str, str]
    installation: bool = False  # an installation token (GITHUB_TOKEN): GET /user answers 403

    def may(self, category: str, write: bool) -> bool:
        level = self.permissions.get(category)
        return level == "write" or (level == "read" and not write)


@dataclass
class Label:
    name: str
    color: str = "ededed"
    description: str | None = None
    id: int = field(default_factory=new_id)

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "node_id": f"LA_{self.id}", "name": self.name, "color": self.color,
                "description": self.description, "default": False}


@dataclass
class Pull:
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    merged: bool = False
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    merged_by: User | None = None
    draft: bool = False


@dataclass
class Event:
    event: str  # labeled, unlabeled, closed, reopened, merged
    actor: User
    created_at: datetime
    label: str | None = None
    id: int = field(default_factory=new_id)


@dataclass
class Issue:
    """An issue, or a pull request when `pull` is set (they share numbers, as on GitHub)."""

    number: int
    title: str
    body: str | None
    user: User
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)  # names, in the order added
    comments: list[int] = field(default_factory=list)  # comment ids
    events: list[Event] = field(default_factory=list)
    pull: Pull | None = None
    id: int = field(default_factory=new_id)


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    user: User
    created_at: datetime
    updated_at: datetime


@dataclass
class Secret:
    name: str
    sealed: bytes  # as PUT: sealed with the box's public key
    created_at: datetime
    updated_at: datetime


@dataclass
class SecretBox:
    """Secrets sealed with a real Curve25519 key pair the fake holds, so a test can open what was stored."""

    private_key: PrivateKey = field(default_factory=PrivateKey.generate)
    key_id: str = field(default_factory=lambda: str(secrets.randbelow(10 ** 18)))
    secrets: dict[str, Secret] = field(default_factory=dict)  # by upper-case name

    def public_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "key": base64.b64encode(bytes(self.private_key.public_key)).decode()}

    def open(self, name: str) -> str:
        return SealedBox(self.private_key).decrypt(self.secrets[name.upper()].sealed).decode("utf-8")

    def rotate(self) -> None:
        """A new key pair: values already stored stay readable, as sealed under the old key."""
        old = self.private_key
        opened = {name: SealedBox(old).decrypt(s.sealed) for name, s in self.secrets.items()}
        self.private_key, self.key_id = PrivateKey.generate(), str(secrets.randbelow(10 ** 18))
        for name, value in opened.items():
            self.secrets[name].sealed = SealedBox(self.private_key.public_key).encrypt(value)


@dataclass
class Environment:
    name: str
    created_at: datetime
    box: SecretBox = field(default_factory=SecretBox)
    id: int = field(default_factory=new_id)

    def json(self, repo: str) -> dict[str, Any]:
        return {"id": self.id, "node_id": f"EN_{self.id}", "name": self.name, "url": "",
                "html_url": f"{HTML}/{repo}/deployments/activity_log?environments_filter={self.name}",
                "created_at": stamp(self.created_at), "updated_at": stamp(self.created_at),
                "protection_rules": [], "deployment_branch_policy": None}


@dataclass
class Run:
    id: int
    head_sha: str
    head_branch: str
    event: str
    status: str
    conclusion: str | None
    created_at: datetime
    name: str = "apply"


@dataclass
class Artifact:
    id: int
    name: str
    run_id: int
    head_sha: str
    head_branch: str
    created_at: datetime
    files: dict[str, bytes]
    expired: bool = False
    download: str = field(default_factory=lambda: secrets.token_urlsafe(16))  # the unauthenticated URL's key

    def zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in sorted(self.files.items()):
                archive.writestr(name, content)
        return buffer.getvalue()


@dataclass
class Deployment:
    id: int
    ref: str
    sha: str
    environment: str
    task: str
    description: str | None
    payload: Any
    creator: User
    created_at: datetime
    statuses: list[dict[str, Any]] = field(default_factory=list)  # newest last


@dataclass
class Repo:
    full_name: str
    default_branch: str = "main"
    id: int = field(default_factory=new_id)
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # by lower-case name
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha
    commits: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sha -> parents
    runs: dict[int, Run] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    box: SecretBox = field(default_factory=SecretBox)
    environments: dict[str, Environment] = field(default_factory=dict)  # by lower-case name
    deployments: dict[int, Deployment] = field(default_factory=dict)

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1

    def label(self, name: str) -> Label:
        """The repository's label of that name (GitHub ignores case), created when missing."""
        return self.labels.setdefault(name.lower(), Label(name))

    def ancestors(self, sha: str) -> set[str]:
        seen: set[str] = set()
        todo = [sha]
        while todo and len(seen) <= len(self.commits):  # bounded by the commits known
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits.get(current, ()))
        return seen
