"""What the GitHub workflows need beyond `plan`, `report` and `apply`, kept here so it is tested rather
than written as shell in YAML: one pull-request comment per report (found again by its hidden marker and
updated in place) and one issue for drift (opened, updated, closed when the stores match again)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from provisioner.errors import AuthError, ProvisionerError

API_VERSION = "2022-11-28"
MAX_PAGES = 50  # 5,000 comments or issues; a marker older than that is not worth finding
DRIFT_LABEL = "provision-drift"
_MARKER = re.compile(r"<!-- provision:[^\n]*?-->")


@dataclass(frozen=True)
class Repository:
    api: str
    name: str  # owner/repo
    token: str

    @classmethod
    def from_environment(cls) -> Repository:
        """The repository and token the workflow runs with ($GITHUB_REPOSITORY, $GITHUB_TOKEN or $GH_TOKEN)."""
        token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
        name = os.environ.get("GITHUB_REPOSITORY")
        if not token or not name:
            raise ProvisionerError("GITHUB_REPOSITORY and GITHUB_TOKEN (or GH_TOKEN) must be set; this runs in a "
                                   "GitHub Actions job")
        return cls(os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"), name, token)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=30, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION})


def marker_of(body: str) -> str:
    found = _MARKER.search(body)
    if found is None:
        raise ProvisionerError("the body has no provision marker (<!-- provision:… -->); write it with "
                               "`provision plan --format markdown` or `provision report`")
    return found.group(0)


def _checked(response: httpx.Response) -> Any:
    if response.status_code in (401, 403):
        raise AuthError(f"GitHub refused the request (HTTP {response.status_code}); the job's token needs "
                        "pull-requests: write or issues: write")
    if response.status_code >= 400:
        raise ProvisionerError(f"GitHub answered HTTP {response.status_code} to {response.request.method} "
                               f"{response.request.url.path}")
    return response.json()


def _pages(http: httpx.Client, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    for page in range(1, MAX_PAGES + 1):
        items = _checked(http.get(path, params={**params, "per_page": "100", "page": str(page)}))
        yield from items
        if len(items) < 100:
            return


def upsert_comment(repository: Repository, number: int, body: str) -> str:
    """Update the pull request's comment that carries the body's marker, or add one. Answers what it did."""
    marker = marker_of(body)
    prefix = f"/repos/{repository.name}/issues"
    with repository.client() as http:
        existing = next((c for c in _pages(http, f"{prefix}/{number}/comments", {}) if marker in (c.get("body") or "")),
                        None)
        if existing is not None:
            _checked(http.patch(f"{prefix}/comments/{existing['id']}", json={"body": body}))
            return f"updated comment {existing['id']} on #{number}"
        created = _checked(http.post(f"{prefix}/{number}/comments", json={"body": body}))
        return f"added comment {created['id']} on #{number}"


def upsert_issue(repository: Repository, title: str, body: str, *, drifted: bool) -> str:
    """One open issue per marker: opened or updated while the stores drift, closed once they match."""
    marker = marker_of(body)
    prefix = f"/repos/{repository.name}/issues"
    with repository.client() as http:
        existing = next((i for i in _pages(http, prefix, {"state": "open", "labels": DRIFT_LABEL})
                         if marker in (i.get("body") or "") and "pull_request" not in i), None)
        if existing is None and not drifted:
            return "no drift, no open drift issue"
        if existing is None:
            created = _checked(http.post(prefix, json={"title": title, "body": body, "labels": [DRIFT_LABEL]}))
            return f"opened issue #{created['number']}"
        update: dict[str, Any] = {"title": title, "body": body} if drifted else {"state": "closed", "body": body}
        _checked(http.patch(f"{prefix}/{existing['number']}", json=update))
        return f"{'updated' if drifted else 'closed'} issue #{existing['number']}"
