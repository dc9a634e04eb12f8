"""A repository on GitHub, for end-to-end tests of the GitOps flow: an origin git repository of
merchant files, Centra stores served on 127.0.0.1 (one emulator per merchant), the fake GitHub REST API,
and the workflow runner wired to all three. A test opens pull requests, merges them, edits stores, and
runs the shipped workflows through `world.run(...)`."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from provisioner.sandbox.fixture import ADMIN_TOKEN_NAME, FixtureSpec
from provisioner.sandbox.instance import Sandbox, open_sandbox
from provisioner.sandbox.server import make_server
from tests.engine.apply.gate import GatedApp
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Issue
from tests.gitops.actions import Artifacts, Run, Runner

REPOSITORY = "shop/fleet"
ORDER_SECRET = "planted-order-api-secret-5a0e"


@dataclass
class Store:
    """One merchant's Centra store, served."""

    name: str
    url: str
    box: Sandbox
    app: GatedApp  # holds chosen requests until a test lets them through (`before`), as gate.py describes

    def ams(self, method: str, path: str, body: object | None = None) -> Any:
        """What a person does in AMS (or a test behind the tool's back): /_sandbox/ with the admin token."""
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {self.box.admin_token}"})
        assert response.status_code < 300, response.text
        return response.json()

    def tokens(self) -> list[dict[str, Any]]:
        state = self.ams("GET", "state")
        return [t for t in state["tokens"] if not t.get("revoked")]


def merchant_file(name: str, url: str, tokens: list[str], *, exclusive: bool = False, prod: bool = False) -> str:
    """A merchant whose store is `url`, managing read-only Integration API tokens by description (`prod`:
    a prod environment too, on the same store)."""
    items = "".join(f"\n  - description: {t}\n    organization: {name}\n    integration: {name}-reader"
                    f"\n    store_types: all\n    email: integrations@{name}.example"
                    f"\n    permissions: {{read: [Order:read], write: []}}" for t in tokens)
    section = f"\n  mode: exclusive\n  items:{items.replace(chr(10), chr(10) + '  ')}" if exclusive else items
    return (f"merchant: {name}\nstore: GlobalE Store\napi_tokens:{section or ' []'}\n"
            f"environments:\n  qa:\n    centra_url: {url}\n    token: env:{name.upper()}_TOKEN\n"
            f"    token_name: {ADMIN_TOKEN_NAME}\n"
            + (f"  prod:\n    centra_url: {url}\n    token: env:{name.upper()}_TOKEN\n"
               f"    token_name: {ADMIN_TOKEN_NAME}\n" if prod else ""))


@dataclass
class World:
    root: Path
    github: FakeGitHub
    stores: dict[str, Store]
    runner: Runner
    origin: Path
    work: Path
    next_pull: int = 1
    pulls: dict[int, dict[str, str]] = field(default_factory=dict)

    # --- git -----------------------------------------------------------------------------------------
    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.work), *args], capture_output=True, text=True, check=False,
                              timeout=60)
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
        return done.stdout.strip()

    def commit(self, message: str, files: dict[str, str]) -> str:
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push_main(self, message: str, files: dict[str, str]) -> str:
        """A commit straight onto main (no pull request): the first push of a new repository."""
        if (self.work / ".git" / "refs" / "heads" / "main").exists():
            self.git("checkout", "--quiet", "main")
        sha = self.commit(message, files)
        self.git("push", "--quiet", "origin", "main")
        self.github.add_commits_from_git(self.work)
        self.github.set_ref("refs/heads/main", sha)
        return sha

    def merchant(self, name: str, tokens: list[str], *, exclusive: bool = False, prod: bool = False
                 ) -> dict[str, str]:
        store = self.stores[name]
        return {f"merchants/{name}.yaml": merchant_file(name, store.url, tokens, exclusive=exclusive, prod=prod)}

    # --- pull requests -------------------------------------------------------------------------------
    def open_pull(self, files: dict[str, str], title: str = "change") -> int:
        self.next_pull += 1
        branch = f"change-{self.next_pull}"
        self.git("checkout", "--quiet", "-B", branch, "main")
        head = self.commit(title, files)
        self.git("push", "--quiet", "--force", "origin", branch)
        number = self.github.add_pull(head_sha=head, head_ref=branch, base_ref="main",
                                      base_sha=self.git("rev-parse", "main"), title=title)
        self.pulls[number] = {"branch": branch, "head": head}
        return number

    def plan(self, number: int) -> Run:
        """plan.yml on the pull request's merge with main, as GitHub runs it (refs/pull/N/merge)."""
        head = self.pulls[number]["head"]
        self.git("checkout", "--quiet", "--detach", "main")
        self.git("merge", "--quiet", "--no-ff", "-m", f"Merge {head} into main", head)
        merge = self.git("rev-parse", "HEAD")
        self.git("push", "--quiet", "--force", "origin", f"{merge}:refs/pull/{number}/merge")
        self.github.add_commits_from_git(self.work)
        event = {"pull_request": {"number": number, "head": {"sha": head, "ref": self.pulls[number]["branch"]},
                                  "base": {"sha": self.git("rev-parse", "main"), "ref": "main"}}}
        return self.runner.run("plan.yml", "pull_request", event, merge, ref=f"refs/pull/{number}/merge")

    def merge(self, number: int) -> str:
        """Squash-merge the pull request into main, as GitHub does; answers the commit on main."""
        self.git("checkout", "--quiet", "main")
        self.git("merge", "--quiet", "--squash", self.pulls[number]["head"])
        self.git("commit", "--quiet", "-m", f"Pull request #{number}")
        sha = self.git("rev-parse", "HEAD")
        self.git("push", "--quiet", "origin", "main")
        self.github.add_commits_from_git(self.work)
        self.github.merge_pull(number, merge_commit_sha=sha)
        return sha

    def apply(self, sha: str | None = None, event_name: str = "push") -> Run:
        head = sha or self.git("rev-parse", "main")
        return self.runner.run("apply.yml", event_name, {"after": head}, head)

    def reviewed_apply(self, environment: str = "qa", **inputs: Any) -> Run:
        head = self.git("rev-parse", "main")
        return self.runner.run("reviewed-apply.yml", "workflow_dispatch", {}, head,
                               inputs={"environment": environment, "merchants": "", "allow_deletes": False,
                                       **inputs})

    # --- what a person sees --------------------------------------------------------------------------
    def comments(self, number: int) -> list[str]:
        return [c.body for c in self.github.comments(number)]

    def record(self, environment: str) -> str | None:
        return self.github.repo().refs.get(f"refs/provision/applied/{environment}")

    def tracking_issue(self, environment: str) -> Issue | None:
        marker = f"<!-- provision:waiting environment={environment} -->"
        found = [i for i in self.github.repo().issues.values() if (i.body or "").startswith(marker)]
        assert len(found) <= 1, "one tracking issue per environment"
        return found[0] if found else None

    def artifact_files(self, name: str) -> list[dict[str, bytes]]:
        return [a.files for a in self.github.repo().artifacts.values() if a.name == name]

    def everything_written(self, *runs: Run) -> str:
        """Every log, summary, artifact, comment and issue so far, to scan for secrets."""
        texts = [text for run in runs for text in (run.output, *run.summaries.values())]
        texts += [c for n in self.pulls for c in self.comments(n)]
        texts += [f"{i.title}\n{i.body}" for i in self.github.repo().issues.values()]
        texts += [data.decode("utf-8", "replace") for a in self.github.repo().artifacts.values()
                  for data in a.files.values()]
        return "\n".join(texts)


@contextmanager
def world(root: Path, names: list[str]) -> Iterator[World]:
    with ExitStack() as stack:
        stores: dict[str, Store] = {}
        for name in names:
            box = open_sandbox(FixtureSpec(name, "GlobalE Store", "Main", ("GB",), products=3, rate_tier="enterprise"),
                               root / f"{name}-centra.db")
            app = GatedApp(box)
            server = make_server(app, 0)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            host, port = server.server_address[:2]
            stores[name] = Store(name, f"http://{host!s}:{port}", box, app)
            stack.callback(app.notify)  # a request still held wakes up to the test's end
        github = stack.enter_context(FakeGitHub(REPOSITORY))
        for environment in ("qa", "prod", "plan-qa", "plan-prod"):
            github.add_environment(environment)
        origin, work = root / "origin.git", root / "work"
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(origin)], check=True)
        subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(work)], check=True)
        for key, value in (("user.name", "Test"), ("user.email", "test@example.test"), ("commit.gpgsign", "false")):
            subprocess.run(["git", "-C", str(work), "config", key, value], check=True)
        subprocess.run(["git", "-C", str(work), "remote", "add", "origin", str(origin)], check=True)
        tokens = "\n".join([f"{n.upper()}_TOKEN={s.box.admin_token}" for n, s in stores.items()]
                           + [f"ORDER_SECRET={ORDER_SECRET}"])
        runner = Runner(origin=origin, root=root / "runs", github_api=github.url, repository=REPOSITORY,
                        secrets={"GITHUB_TOKEN": FakeGitHub.BOT_TOKEN, "PROVISION_TOKENS": tokens,
                                 "PROVISION_SECRETS_TOKEN": FakeGitHub.ADMIN_TOKEN,
                                 "PROVISION_LEDGER_KEY": "planted-ledger-key"},
                        variables={"PROVISION_SECRET_SINK_QA": "github:env/qa"},
                        artifacts=Artifacts(
                            register=lambda name, run, head, files: github.add_artifact(
                                name, dict(files), head_sha=head, run_id=run),
                            fetch=lambda run: {a.name: a.files for a in github.repo().artifacts.values()
                                               if a.run_id == run}))
        yield World(root, github, stores, runner, origin, work)
        shutil.rmtree(root / "runs", ignore_errors=True)
