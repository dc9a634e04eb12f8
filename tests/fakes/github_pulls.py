"""The fake GitHub's pull requests (routes and JSON), as in GitHub's REST docs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.github_http import Request, Response, Routes, invalid, not_found, paginate
from tests.fakes.github_issues import STATES, issue_json, issue_of
from tests.fakes.github_state import Issue, Repo, stamp

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

ROUTES = Routes()


def pull_json(fake: FakeGitHub, request: Request, repo: Repo, issue: Issue) -> dict[str, Any]:
    pull = issue.pull
    assert pull is not None
    data = issue_json(fake, request, repo, issue)
    side = {"full_name": repo.full_name, "id": repo.id, "name": repo.full_name.split("/")[1]}
    data.pop("pull_request")
    data.update({
        "url": f"{request.base_url}/repos/{repo.full_name}/pulls/{issue.number}",
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "label": f"{repo.full_name.split('/')[0]}:{pull.head_ref}",
                 "repo": side},
        "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": side},
        "merged": pull.merged, "merged_at": stamp(pull.merged_at) if pull.merged_at else None,
        "merge_commit_sha": pull.merge_commit_sha, "merged_by": pull.merged_by.json() if pull.merged_by else None,
        "draft": pull.draft, "mergeable": None})
    return data


@ROUTES.add("GET", "/repos/{owner}/{repo}/pulls", "pull_requests")
def list_pulls(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    state = request.query.get("state", "open")
    if state not in (*STATES, "all"):
        raise invalid("PullRequest", "state")
    found = sorted((i for i in repo.issues.values() if i.pull and state in ("all", i.state)
                    and request.query.get("base", i.pull.base_ref) == i.pull.base_ref),
                   key=lambda issue: issue.number, reverse=True)
    page, headers = paginate(request, found)
    return Response.json(200, [pull_json(fake, request, repo, issue) for issue in page], headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/pulls/{number}", "pull_requests")
def get_pull(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    issue = issue_of(repo, params)
    if issue.pull is None:
        raise not_found()
    return Response.json(200, pull_json(fake, request, repo, issue))


@ROUTES.add("GET", "/repos/{owner}/{repo}/commits/{sha}/pulls", "pull_requests")
def pulls_of_commit(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    """GitHub: the merged pull requests that brought the commit in (by merge commit or head); for a commit
    not merged, the open pull requests whose head it is."""
    repo, sha = fake.repo_of(params), params["sha"]
    pulls = [i for i in repo.issues.values() if i.pull]
    merged = [i for i in pulls if i.pull and i.pull.merged and sha in (i.pull.merge_commit_sha, i.pull.head_sha)]
    found = merged or [i for i in pulls if i.pull and i.state == "open" and i.pull.head_sha == sha]
    page, headers = paginate(request, sorted(found, key=lambda issue: issue.number, reverse=True))
    return Response.json(200, [pull_json(fake, request, repo, issue) for issue in page], headers)
