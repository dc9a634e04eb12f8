"""The fake GitHub's issues, comments, labels and issue events (routes and JSON), as in GitHub's REST
docs: issues and pull requests share numbers, the issues list returns pull requests too (with a
`pull_request` key), bodies are limited to 65,536 characters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.github_http import HttpError, Request, Response, Routes, invalid, not_found, paginate
from tests.fakes.github_state import HTML, Comment, Event, Issue, Repo, stamp

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub
    from tests.fakes.github_seed import Seeding

ROUTES = Routes()
MAX_BODY_CHARS = 65536
STATES = ("open", "closed")


def issue_json(fake: FakeGitHub, request: Request, repo: Repo, issue: Issue) -> dict[str, Any]:
    api = f"{request.base_url}/repos/{repo.full_name}"
    data: dict[str, Any] = {
        "id": issue.id, "node_id": f"I_{issue.id}", "number": issue.number, "title": issue.title,
        "body": issue.body, "state": issue.state, "state_reason": issue.state_reason, "locked": False,
        "user": issue.user.json(), "labels": [repo.label(name).json() for name in issue.labels],
        "assignees": [], "comments": len(issue.comments), "created_at": stamp(issue.created_at),
        "updated_at": stamp(issue.updated_at), "closed_at": stamp(issue.closed_at) if issue.closed_at else None,
        "url": f"{api}/issues/{issue.number}", "repository_url": api,
        "html_url": f"{HTML}/{repo.full_name}/{'pull' if issue.pull else 'issues'}/{issue.number}",
        "author_association": "MEMBER"}
    if issue.pull is not None:
        data["pull_request"] = {"url": f"{api}/pulls/{issue.number}",
                                "html_url": f"{HTML}/{repo.full_name}/pull/{issue.number}",
                                "merged_at": stamp(issue.pull.merged_at) if issue.pull.merged_at else None}
    return data


def comment_json(request: Request, repo: Repo, comment: Comment) -> dict[str, Any]:
    api = f"{request.base_url}/repos/{repo.full_name}"
    return {"id": comment.id, "node_id": f"IC_{comment.id}", "body": comment.body, "user": comment.user.json(),
            "created_at": stamp(comment.created_at), "updated_at": stamp(comment.updated_at),
            "url": f"{api}/issues/comments/{comment.id}", "issue_url": f"{api}/issues/{comment.issue}",
            "html_url": f"{HTML}/{repo.full_name}/issues/{comment.issue}#issuecomment-{comment.id}",
            "author_association": "MEMBER"}


def issue_of(repo: Repo, params: dict[str, str]) -> Issue:
    try:
        return repo.issues[int(params["number"])]
    except (KeyError, ValueError):
        raise not_found() from None


def _text(data: dict[str, Any], key: str, resource: str, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(resource, key, "missing_field")
        return None
    if not isinstance(value, str):
        raise invalid(resource, key)
    if len(value) > MAX_BODY_CHARS:
        raise invalid(resource, key, "custom", f"{key} is too long (maximum is {MAX_BODY_CHARS} characters)")
    return value


def _label_names(data: Any) -> list[str]:
    """Labels as GitHub takes them: ["a"], {"labels": ["a"]} or {"labels": [{"name": "a"}]}."""
    items = data.get("labels", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise invalid("Label", "labels")
    names = [item.get("name") if isinstance(item, dict) else item for item in items]
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise invalid("Label", "name")
    return [str(name) for name in names]


def set_labels(fake: Seeding, repo: Repo, issue: Issue, names: list[str], login: str) -> None:
    """Replace the issue's labels, recording who added or removed each (labeled / unlabeled events)."""
    wanted = list(dict.fromkeys(repo.label(name).name for name in names))  # "QA" and "qa" are one label
    now, actor = fake.now(), fake.users[login]
    for name in issue.labels:
        if name.lower() not in {w.lower() for w in wanted}:
            issue.events.append(Event("unlabeled", actor, now, label=name))
    for name in wanted:
        if name.lower() not in {have.lower() for have in issue.labels}:
            issue.events.append(Event("labeled", actor, now, label=name))
    issue.labels = wanted
    issue.updated_at = now


def set_state(fake: Seeding, issue: Issue, state: str, reason: str | None, login: str) -> None:
    if state == issue.state:
        return
    now = fake.now()
    issue.state, issue.updated_at = state, now
    issue.closed_at = now if state == "closed" else None
    issue.state_reason = (reason or "completed") if state == "closed" else "reopened"
    issue.events.append(Event("closed" if state == "closed" else "reopened", fake.users[login], now))


@ROUTES.add("GET", "/user", "metadata")
def get_user(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    if fake.token_of(request).installation:
        raise HttpError(403, "Resource not accessible by integration")
    return Response.json(200, fake.users[request.login or ""].json())


@ROUTES.add("GET", "/repos/{owner}/{repo}", "metadata")
def get_repo(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    token = fake.token_of(request)
    push = any(level == "write" for level in token.permissions.values())
    return Response.json(200, {"id": repo.id, "node_id": f"R_{repo.id}", "full_name": repo.full_name,
                               "name": repo.full_name.split("/")[1], "private": True,
                               "owner": {"login": repo.full_name.split("/")[0]}, "default_branch": repo.default_branch,
                               "html_url": f"{HTML}/{repo.full_name}",
                               "url": f"{request.base_url}/repos/{repo.full_name}",
                               "permissions": {"admin": token.may("administration", True), "push": push,
                                               "pull": True}})


@ROUTES.add("GET", "/repos/{owner}/{repo}/issues", "issues")
def list_issues(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    state = request.query.get("state", "open")
    if state not in (*STATES, "all"):
        raise invalid("Issue", "state")
    wanted = [name.strip().lower() for name in request.query.get("labels", "").split(",") if name.strip()]
    found = [issue for issue in repo.issues.values()
             if state in ("all", issue.state) and all(w in {n.lower() for n in issue.labels} for w in wanted)
             and request.query.get("creator", issue.user.login) == issue.user.login
             and stamp(issue.updated_at) >= request.query.get("since", "")]
    key = "updated_at" if request.query.get("sort") == "updated" else "created_at"
    found.sort(key=lambda issue: (getattr(issue, key), issue.number), reverse=request.query.get("direction") != "asc")
    page, headers = paginate(request, found)
    return Response.json(200, [issue_json(fake, request, repo, issue) for issue in page], headers)


@ROUTES.add("POST", "/repos/{owner}/{repo}/issues", "issues")
def create_issue(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    title = _text(data, "title", "Issue", required=True)
    if not title or not title.strip():
        raise invalid("Issue", "title", "missing_field")
    now = fake.now()
    issue = Issue(repo.next_number(), title, _text(data, "body", "Issue", required=False),
                  fake.users[request.login or ""], now, now)
    repo.issues[issue.number] = issue
    if "labels" in data:
        set_labels(fake, repo, issue, _label_names(data), request.login or "")
    return Response.json(201, issue_json(fake, request, repo, issue))


@ROUTES.add("GET", "/repos/{owner}/{repo}/issues/{number}", "issues")
def get_issue(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return Response.json(200, issue_json(fake, request, repo, issue_of(repo, params)))


@ROUTES.add("PATCH", "/repos/{owner}/{repo}/issues/{number}", "issues")
def update_issue(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    issue = issue_of(repo, params)
    title = _text(data, "title", "Issue", required=False)
    body = _text(data, "body", "Issue", required=False)
    state = data.get("state")
    if state is not None and state not in STATES:
        raise invalid("Issue", "state")
    if title is not None:
        issue.title = title
    if "body" in data:
        issue.body = body
    if "labels" in data:
        set_labels(fake, repo, issue, _label_names(data), request.login or "")
    if state is not None:
        set_state(fake, issue, state, data.get("state_reason"), request.login or "")
    issue.updated_at = fake.now()
    return Response.json(200, issue_json(fake, request, repo, issue))


@ROUTES.add("GET", "/repos/{owner}/{repo}/issues/{number}/comments", "issues")
def list_comments(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    issue = issue_of(repo, params)
    comments = [repo.comments[i] for i in issue.comments
                if stamp(repo.comments[i].updated_at) >= request.query.get("since", "")]
    page, headers = paginate(request, comments)
    return Response.json(200, [comment_json(request, repo, comment) for comment in page], headers)


@ROUTES.add("POST", "/repos/{owner}/{repo}/issues/{number}/comments", "issues")
def create_comment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    issue = issue_of(repo, params)
    body = _text(data, "body", "IssueComment", required=True) or ""
    now = fake.now()
    comment = Comment(fake.next_id(), issue.number, body, fake.users[request.login or ""], now, now)
    repo.comments[comment.id] = comment
    issue.comments.append(comment.id)
    issue.updated_at = now
    return Response.json(201, comment_json(request, repo, comment))


def _comment(repo: Repo, params: dict[str, str]) -> Comment:
    try:
        return repo.comments[int(params["comment_id"])]
    except (KeyError, ValueError):
        raise not_found() from None


@ROUTES.add("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "issues")
def get_comment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return Response.json(200, comment_json(request, repo, _comment(repo, params)))


@ROUTES.add("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "issues")
def update_comment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    comment = _comment(repo, params)
    comment.body = _text(data, "body", "IssueComment", required=True) or ""
    comment.updated_at = fake.now()
    return Response.json(200, comment_json(request, repo, comment))


@ROUTES.add("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "issues")
def delete_comment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    comment = repo.comments.pop(_comment(repo, params).id)
    repo.issues[comment.issue].comments.remove(comment.id)
    return Response(204)


def _labels_answer(repo: Repo, issue: Issue) -> Response:
    return Response.json(200, [repo.label(name).json() for name in issue.labels])


@ROUTES.add("GET", "/repos/{owner}/{repo}/issues/{number}/labels", "issues")
def list_issue_labels(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return _labels_answer(repo, issue_of(repo, params))


@ROUTES.add("POST", "/repos/{owner}/{repo}/issues/{number}/labels", "issues")
def add_labels(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    issue = issue_of(repo, params)
    set_labels(fake, repo, issue, [*issue.labels, *_label_names(request.json())], request.login or "")
    return _labels_answer(repo, issue)


@ROUTES.add("PUT", "/repos/{owner}/{repo}/issues/{number}/labels", "issues")
def replace_labels(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    issue = issue_of(repo, params)
    set_labels(fake, repo, issue, _label_names(request.json()), request.login or "")
    return _labels_answer(repo, issue)


@ROUTES.add("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels", "issues")
def remove_all_labels(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    set_labels(fake, repo, issue_of(repo, params), [], request.login or "")
    return Response(204)


@ROUTES.add("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name}", "issues")
def remove_label(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    issue = issue_of(repo, params)
    name = params["name"].lower()
    if name not in {have.lower() for have in issue.labels}:
        raise HttpError(404, "Label does not exist")
    set_labels(fake, repo, issue, [have for have in issue.labels if have.lower() != name], request.login or "")
    return _labels_answer(repo, issue)


@ROUTES.add("GET", "/repos/{owner}/{repo}/issues/{number}/events", "issues")
def list_events(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    issue = issue_of(repo, params)
    page, headers = paginate(request, issue.events)
    return Response.json(200, [{"id": e.id, "node_id": f"E_{e.id}", "event": e.event, "actor": e.actor.json(),
                                "created_at": stamp(e.created_at),
                                **({"label": repo.label(e.label).json()} if e.label else {})} for e in page], headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/labels", "issues")
def list_labels(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    page, headers = paginate(request, sorted(repo.labels.values(), key=lambda label: label.name.lower()))
    return Response.json(200, [label.json() for label in page], headers)


@ROUTES.add("POST", "/repos/{owner}/{repo}/labels", "issues")
def create_label(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    name = _text(data, "name", "Label", required=True) or ""
    if name.lower() in repo.labels:
        raise invalid("Label", "name", "already_exists")
    label = repo.label(name)
    label.color = str(data.get("color") or label.color)
    label.description = data.get("description")
    return Response.json(201, label.json())
