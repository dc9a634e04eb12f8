"""A sandbox served on 127.0.0.1 that holds chosen requests until a test lets them through: two runs, or a
run and a kill, are interleaved exactly by events, never by timing. And checkouts of the example
merchants whose environment `served` targets it, for runs in processes of their own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.sandbox.app import SandboxApp
from provisioner.sandbox.instance import Sandbox, for_merchant
from provisioner.sandbox.server import make_server
from provisioner.sandbox.wire import DropConnection, Request, Response
from tests.conftest import REPO
from tests.engine.conftest import PLANTED

BOUND = 60.0  # seconds: a bound on a wait for an event, so a gate never opened fails a test instead of hanging it
TOKEN = "Global-e integration"
_OPERATION = re.compile(r"\b(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)")

Rule = Callable[["GatedApp", int], bool]  # (the app, the request's number among those of its operation)


class GatedApp(SandboxApp):
    """The emulator, with `before[operation]`: a condition a request must meet before it is handled, and
    `after[operation]`: what to do once it is handled, before it is answered."""

    def __init__(self, box: Sandbox) -> None:
        super().__init__(box.store)
        self._condition = threading.Condition()
        self.arrived: list[str] = []
        self.answered: Counter[str] = Counter()
        self.before: dict[str, Rule] = {}
        self.after: dict[str, Callable[[GatedApp], None]] = {}
        self.drop: Counter[str] = Counter()  # how many more requests of an operation to drop, unhandled
        self.dropped: Counter[str] = Counter()
        self.stuck: list[str] = []
        self.rewrite: dict[str, Callable[[Response], Response]] = {}  # the answer of an operation, changed

    def handle(self, request: Request) -> Response:
        full = operation(request)
        # Changes sent together (`CreateAccessToken_CreateWarehouse`): the request is one of each of its
        # operations, so a rule for `CreateAccessToken` holds, drops or hooks the request that carries it.
        names = [full, *parts(full)] if "_" in full else [full]
        with self._condition:
            self.arrived.append(full)
            self._condition.notify_all()
            for name in names:
                number = self.count(name)
                rule = self.before.get(name)
                if rule is not None and not self._condition.wait_for(
                        lambda rule=rule, number=number: rule(self, number), timeout=BOUND):
                    self.stuck.append(f"{name} #{number}")
            for name in names:
                if self.drop[name] > 0:
                    self.drop[name] -= 1
                    self.dropped[name] += 1
                    self._condition.notify_all()
                    raise DropConnection
        response = super().handle(request)
        for name in names:
            hook = self.after.get(name)
            if hook is not None:
                hook(self)
            change = self.rewrite.get(name)
            if change is not None:
                response = change(response)
        with self._condition:
            for name in names:
                self.answered[name] += 1
            self._condition.notify_all()
        return response

    def wait_until(self, condition: Callable[[GatedApp], bool]) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: condition(self), timeout=BOUND)

    def notify(self) -> None:
        with self._condition:
            self._condition.notify_all()

    def count(self, name: str) -> int:
        """Requests that carried the operation `name` (alone, or with others)."""
        return sum(name == arrived or name in parts(arrived) for arrived in self.arrived)


def parts(name: str) -> list[str]:
    """The operations a request carries: one, or each of those sent together (joined by `_`)."""
    return name.split("_") if "_" in name and all(part[:1].isupper() for part in name.split("_")) else [name]


def operation(request: Request) -> str:
    """The GraphQL operation's name (`LiveState`, `CreateAccessToken` …), or the path for anything else."""
    if request.path.rstrip("/") != "/graphql":
        return request.path
    try:
        found = _OPERATION.search(str(request.json().get("query", "")))
    except (ValueError, AttributeError):
        return "(unreadable)"
    return found.group(1) if found else "(anonymous)"


@dataclass
class Served:
    url: str
    box: Sandbox
    app: GatedApp

    def tokens(self) -> list[tuple[int, str, bool]]:
        """(id, value, revoked) of every token named TOKEN, oldest first."""
        with self.box.store.transaction() as db:
            rows = db.execute("SELECT id, value, revoked FROM tokens WHERE name = ? ORDER BY id", (TOKEN,))
            return [(int(r["id"]), str(r["value"]), bool(r["revoked"])) for r in rows]

    def valid(self) -> list[tuple[int, str]]:
        return [(token_id, value) for token_id, value, revoked in self.tokens() if not revoked]


@contextmanager
def served_acme(database: Path) -> Iterator[Served]:
    """acme's sandbox (made from merchants/acme.yaml of the current directory) served behind a gate."""
    box = for_merchant("acme", database)
    app = GatedApp(box)
    server = make_server(app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield Served(f"http://{host!s}:{port}", box, app)
    finally:
        app.before.clear()
        app.notify()
        server.shutdown()
        server.server_close()


@contextmanager
def served_here(database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """`served_acme`, and acme's environment `served` in the checkout of the current directory targeting it,
    its admin token in SERVED_ADMIN_TOKEN (for the test's duration)."""
    with served_acme(database) as served:
        _add_served(Path("merchants/acme.yaml"), served.url)
        monkeypatch.setenv("SERVED_ADMIN_TOKEN", served.box.admin_token)
        yield served


def _add_served(acme: Path, url: str) -> None:
    acme.write_text(acme.read_text(encoding="utf-8") + f"  served:\n    centra_url: {url}\n"
                    "    token: env:SERVED_ADMIN_TOKEN\n    tier: qa\n", encoding="utf-8")


def checkout(root: Path, url: str) -> Path:
    """A checkout of the example merchants at `root`, acme with an environment `served` targeting `url`."""
    (root / "merchants").mkdir(parents=True)
    for source in (REPO / "merchants").glob("*.yaml"):
        shutil.copyfile(source, root / "merchants" / source.name)
    _add_served(root / "merchants" / "acme.yaml", url)
    return root


def environment(served: Served, **extra: str) -> dict[str, str]:
    """What a `provision` process needs: this worktree's code, the planted secrets, the served token."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROVISION_", "GITHUB_"))}
    env.update(PLANTED, SERVED_ADMIN_TOKEN=served.box.admin_token,
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def provision(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`provision ARGS` started in `cwd`, in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "provisioner.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
