"""Seeding and reading the fake GitHub's state from a test (FakeGitHub inherits these; see its docstring)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from tests.fakes import github_issues
from tests.fakes.github_state import (
    Artifact,
    Comment,
    Environment,
    Event,
    Issue,
    Pull,
    Repo,
    Run,
    SecretBox,
    Token,
    User,
    new_id,
)


class Seeding:
    """Every method takes the fake's lock: a test may seed while the server answers requests."""

    lock: threading.RLock
    repository: str
    repos: dict[str, Repo]
    users: dict[str, User]
    tokens: dict[str, Token]
    _now: Callable[[], datetime]

    def now(self) -> datetime:
        return self._now()

    # ----- seeding ----------------------------------------------------------------------------------------

    def add_repo(self, full_name: str, *, default_branch: str = "main") -> Repo:
        with self.lock:
            return self.repos.setdefault(full_name.lower(), Repo(full_name, default_branch))

    def add_token(self, token: str, login: str, *, permissions: dict[str, str], user_type: str = "User",
                  user_id: int | None = None, installation: bool = False) -> User:
        with self.lock:
            user = self.users.setdefault(login, User(login, user_id or new_id(), user_type))
            self.tokens[token] = Token(user, dict(permissions), installation)
            return user

    def repo(self, name: str | None = None) -> Repo:
        return self.repos[(name or self.repository).lower()]

    def add_commit(self, sha: str, parents: Iterable[str] = (), *, repo: str | None = None) -> str:
        with self.lock:
            commits = self.repo(repo).commits
            commits[sha] = tuple(parents) or commits.get(sha, ())
            for parent in commits[sha]:
                commits.setdefault(parent, ())
            return sha

    def add_commits_from_git(self, checkout: Path, *, repo: str | None = None) -> int:
        """Every commit of a local git checkout (with its parents), so refs can move as on GitHub."""
        lines = subprocess.run(["git", "-C", str(checkout), "rev-list", "--all", "--parents"], check=True,
                               capture_output=True, text=True, timeout=60).stdout.splitlines()
        for line in lines:
            sha, *parents = line.split()
            self.add_commit(sha, parents, repo=repo)
        return len(lines)

    def set_ref(self, ref: str, sha: str, *, repo: str | None = None) -> None:
        """`ref` in full (refs/heads/main); the commit becomes known."""
        with self.lock:
            self.add_commit(sha, repo=repo)
            self.repo(repo).refs[ref] = sha

    def add_issue(self, title: str, *, body: str | None = None, labels: Iterable[str] = (), user: str = "octo-admin",
                  state: str = "open", repo: str | None = None) -> int:
        with self.lock:
            target, now = self.repo(repo), self.now()
            issue = Issue(target.next_number(), title, body, self.users[user], now, now)
            target.issues[issue.number] = issue
            github_issues.set_labels(self, target, issue, list(labels), user)
            github_issues.set_state(self, issue, state, None, user)
            return issue.number

    def add_pull(self, *, head_sha: str, title: str = "A change", body: str | None = None, head_ref: str = "change",
                 base_ref: str | None = None, base_sha: str | None = None, labels: Iterable[str] = (),
                 user: str = "octo-admin", draft: bool = False, repo: str | None = None) -> int:
        """An open pull request; its head (child of `base_sha` when given) and base commits become known."""
        with self.lock:
            target = self.repo(repo)
            base_ref = base_ref or target.default_branch
            base_sha = base_sha or target.refs.get(f"refs/heads/{base_ref}") or "0" * 40
            self.add_commit(base_sha, repo=repo)
            self.add_commit(head_sha, [base_sha], repo=repo)
            number = self.add_issue(title, body=body, labels=labels, user=user, repo=repo)
            target.issues[number].pull = Pull(head_ref, head_sha, base_ref, base_sha, draft=draft)
            return number

    def merge_pull(self, number: int, *, merge_commit_sha: str, by: str = "octo-admin",
                   repo: str | None = None) -> None:
        """Merged as GitHub does: closed, merged_at and merge_commit_sha set, merged and closed events, and
        the base branch's ref moved to the merge commit (a child of the base's tip and the head)."""
        with self.lock:
            target = self.repo(repo)
            issue = target.issues[number]
            pull = issue.pull
            assert pull is not None and not pull.merged, f"#{number} is not an open pull request"
            base = f"refs/heads/{pull.base_ref}"
            self.add_commit(merge_commit_sha, [target.refs.get(base, pull.base_sha), pull.head_sha], repo=repo)
            now, actor = self.now(), self.users[by]
            pull.merged, pull.merged_at, pull.merge_commit_sha, pull.merged_by = True, now, merge_commit_sha, actor
            issue.events.append(Event("merged", actor, now))
            github_issues.set_state(self, issue, "closed", "completed", by)
            target.refs[base] = merge_commit_sha

    def add_comment(self, number: int, body: str, *, user: str = "octo-admin", repo: str | None = None) -> int:
        with self.lock:
            target, now = self.repo(repo), self.now()
            comment = Comment(new_id(), number, body, self.users[user], now, now)
            target.comments[comment.id] = comment
            target.issues[number].comments.append(comment.id)
            return comment.id

    def label(self, number: int, *names: str, by: str = "octo-admin", repo: str | None = None) -> None:
        """Add labels to an issue or pull request as `by` did (a labeled event each)."""
        with self.lock:
            target = self.repo(repo)
            issue = target.issues[number]
            github_issues.set_labels(self, target, issue, [*issue.labels, *names], by)

    def unlabel(self, number: int, name: str, *, by: str = "octo-admin", repo: str | None = None) -> None:
        with self.lock:
            target = self.repo(repo)
            issue = target.issues[number]
            github_issues.set_labels(self, target, issue, [n for n in issue.labels if n.lower() != name.lower()], by)

    def add_environment(self, name: str, *, repo: str | None = None) -> Environment:
        with self.lock:
            return self.repo(repo).environments.setdefault(name.lower(), Environment(name, self.now()))

    def add_run(self, *, head_sha: str, run_id: int | None = None, head_branch: str = "main", event: str = "push",
                status: str = "completed", conclusion: str | None = "success", name: str = "apply",
                repo: str | None = None) -> int:
        with self.lock:
            run = Run(run_id or new_id(), head_sha, head_branch, event, status, conclusion, self.now(), name)
            self.repo(repo).runs[run.id] = run
            self.add_commit(head_sha, repo=repo)
            return run.id

    def add_artifact(self, name: str, files: dict[str, bytes | str], *, head_sha: str, run_id: int | None = None,
                     head_branch: str = "main", created_at: datetime | None = None, expired: bool = False,
                     repo: str | None = None) -> int:
        """An artifact as actions/upload-artifact leaves it: a zip of `files`, in run `run_id` (created
        when missing, for `head_sha`)."""
        with self.lock:
            target = self.repo(repo)
            if run_id is None or run_id not in target.runs:
                run_id = self.add_run(head_sha=head_sha, run_id=run_id, head_branch=head_branch, repo=repo)
            encoded = {path: content.encode() if isinstance(content, str) else content
                       for path, content in files.items()}
            artifact = Artifact(new_id(), name, run_id, head_sha, head_branch, created_at or self.now(), encoded,
                                expired)
            target.artifacts[artifact.id] = artifact
            return artifact.id

    # ----- inspection ---------------------------------------------------------------------------------------

    def issue(self, number: int, *, repo: str | None = None) -> Issue:
        return self.repo(repo).issues[number]

    def comments(self, number: int, *, repo: str | None = None) -> list[Comment]:
        with self.lock:
            target = self.repo(repo)
            return [target.comments[i] for i in target.issues[number].comments]

    def secret(self, name: str, *, environment: str | None = None, repo: str | None = None) -> str:
        """A stored secret's value, opened with the fake's private key (KeyError when there is none)."""
        with self.lock:
            return self._secret_box(environment, repo).open(name)

    def secret_names(self, *, environment: str | None = None, repo: str | None = None) -> list[str]:
        with self.lock:
            return sorted(self._secret_box(environment, repo).secrets)

    def rotate_secret_key(self, *, environment: str | None = None, repo: str | None = None) -> None:
        """GitHub may rotate a repository's key: a PUT sealed with the old one then answers 422."""
        with self.lock:
            self._secret_box(environment, repo).rotate()

    def _secret_box(self, environment: str | None, repo: str | None) -> SecretBox:
        target = self.repo(repo)
        return target.box if environment is None else target.environments[environment.lower()].box
