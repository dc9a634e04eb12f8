"""Per environment, the last commit of the default branch whose changes were all applied (or handed to
a person, listed in the environment's tracking issue): a git ref, `refs/provision/applied/ENV`.

Why a ref and not a deployment status or a file on a branch: a ref names a commit and nothing else, so
"what is left to apply" is exactly `git diff REF..HEAD`; GitHub moves it only forward unless forced
(`force: false` answers 422 to a move that is not a fast-forward), so two runs can never move it back
past each other's work; it needs no commits of its own on any branch, survives re-runs, and anyone can
read it (`git fetch origin 'refs/provision/*:refs/provision/*'`). A failed or cancelled run does not move
it, so the next run (a merge, the drift schedule, or a re-run) starts from the same commit."""

from __future__ import annotations

import re
import subprocess

from provisioner.engine.fleet.selection import git
from provisioner.errors import ProvisionerError
from provisioner.gitops.rest import GitHubError, Session

PREFIX = "provision/applied/"
_SHA = re.compile(r"[0-9a-f]{40}")
_ENVIRONMENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def ref_name(environment: str) -> str:
    if _ENVIRONMENT.fullmatch(environment) is None or ".." in environment:
        raise ProvisionerError(f"{environment[:80]!r} cannot name a record ref (letters, digits, _ . - only)")
    return PREFIX + environment


def read(github: Session, environment: str) -> str | None:
    """The recorded commit, or None before the first apply (a new repository, a new environment)."""
    try:
        found = github.object("GET", f"{github.prefix}/git/ref/{ref_name(environment)}")
    except GitHubError as exc:
        if "HTTP 404" in str(exc):
            return None
        raise
    target = found.get("object")
    sha = target.get("sha") if isinstance(target, dict) else None
    if not isinstance(sha, str) or _SHA.fullmatch(sha) is None:
        raise GitHubError(f"GitHub answered the ref {ref_name(environment)} without a commit sha")
    return sha


def advance(github: Session, environment: str, sha: str, *, current: str | None) -> str:
    """Move the record to `sha`, only forward; answers what it did."""
    if _SHA.fullmatch(sha) is None:
        raise ProvisionerError(f"not a commit sha: {sha[:80]!r}")
    name = ref_name(environment)
    if current == sha:
        return f"{name} already at {sha[:12]}"
    if current is None:
        github.object("POST", f"{github.prefix}/git/refs", json={"ref": f"refs/{name}", "sha": sha})
        return f"{name} created at {sha[:12]}"
    github.object("PATCH", f"{github.prefix}/git/refs/{name}", json={"sha": sha, "force": False})
    return f"{name} moved from {current[:12]} to {sha[:12]}"


def commits_since(record: str | None, head: str) -> list[str]:
    """The commits to account for, oldest first: everything after the record up to `head` (with no record,
    every commit of `head`). A record that is not an ancestor of `head` (history rewritten) is refused:
    nobody can say what was applied."""
    if _SHA.fullmatch(head) is None:
        head = git("rev-parse", "--verify", f"{head}^{{commit}}").strip()
    if record is None:
        return git("rev-list", "--reverse", head).split()
    if subprocess.run(["git", "merge-base", "--is-ancestor", record, head], capture_output=True,
                      check=False, timeout=120).returncode != 0:
        raise ProvisionerError(f"the recorded commit {record[:12]} is not in the history of {head[:12]} (was "
                               "history rewritten, or is the checkout shallow? fetch-depth: 0); nothing was applied")
    return git("rev-list", "--reverse", f"{record}..{head}").split()
