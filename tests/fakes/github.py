"""A fake of GitHub's REST API for tests, served over real HTTP on 127.0.0.1, following GitHub's documented
behaviour closely enough to run a GitOps workflow's steps against it.

Use it as a context manager; it listens on a free port in a thread of its own and stops on exit::

    with FakeGitHub("octo-org/merchants") as github:
        env = github.env()                       # GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN (the bot)
        number = github.add_pull(head_sha="a" * 40, title="acme: new token")
        ...                                      # run the code under test with env
        assert github.comments(number)[0].user.login == "github-actions[bot]"

Everything is in memory and read or changed under `github.lock`: seed it with the `add_*` methods, read
it with the inspection methods or directly (`github.repo().issues`, `.refs`, `.artifacts`, ...).

Identity. A request carries `Authorization: Bearer TOKEN` (or `token TOKEN`). Tokens map to users with
GitHub-App-style permissions ({"issues": "write", ...}); a category a token lacks answers 403 "Resource
not accessible by integration". Built in:
- `FakeGitHub.BOT_TOKEN`: `github-actions[bot]` (type Bot, id 41898282), the job's GITHUB_TOKEN with its
  permissive defaults (contents, issues, pull_requests, actions, deployments, statuses: write) and, like
  the real one, no `secrets` permission and a 403 on GET /user.
- `FakeGitHub.ADMIN_TOKEN`: `octo-admin` (type User), every permission, `secrets` and `administration`
  included (a maintainer's token: it may write Actions secrets and label pull requests).
`add_token()` adds more. An unknown token answers 401 "Bad credentials"; no token answers 404 on a
repository's paths (GitHub hides private repositories) and 401 on /user.

Endpoints (all under /repos/{owner}/{repo} unless written from /):
- GET / (the repository: default_branch, permissions); GET /user (the token's user; 403 for the bot).
- Pull requests: GET pulls (state, base; paginated), GET pulls/{n} (head.sha, head.ref, base, merged,
  merged_at, merge_commit_sha, labels, user, draft), GET commits/{sha}/pulls (the merged pull requests that
  brought the commit in, by merge commit or head; else the open ones whose head it is).
- Issues: GET issues (state open|closed|all, labels=a,b (all of them), creator, since, sort
  created|updated, direction; pull requests included with a `pull_request` key; newest first), POST
  issues (title required; body ≤ 65,536 characters; labels created when missing), GET/PATCH issues/{n}
  (title, body, state open|closed with state_reason, labels replaced).
- Comments: GET issues/{n}/comments (oldest first; per_page ≤ 100, page; `Link` header), POST
  issues/{n}/comments, GET/PATCH/DELETE issues/comments/{id}; each comment's `user` (login, id, type) is the
  token's user.
- Labels: GET/POST(add)/PUT(replace)/DELETE(all) issues/{n}/labels, DELETE issues/{n}/labels/{name} (404
  "Label does not exist"), GET/POST labels; GET issues/{n}/events lists labeled/unlabeled (with the actor
  who did it and the label), closed, reopened and merged events.
- Git: GET git/refs (all), GET git/ref/{ref} (exact, 404), GET git/refs/{ref} (exact, else the refs under
  it, else 404), GET git/matching-refs/{ref}, POST git/refs (422: "Reference already exists", a name not
  refs/x/y, "Object does not exist" for an unknown commit), PATCH git/refs/{ref} (sha, force; 422 "Update
  is not a fast forward" unless the old commit is an ancestor or force is true; "Reference does not
  exist"), DELETE git/refs/{ref}; GET commits/{sha} (sha, parents). Commits are known from `add_commit`,
  `add_commits_from_git`, and every sha given to add_pull, merge_pull, set_ref.
- Actions: GET actions/runs (head_sha, event, branch, status), GET actions/runs/{id}; GET
  actions/artifacts?name= and actions/runs/{id}/artifacts?name= ({total_count, artifacts}, newest first),
  GET/DELETE actions/artifacts/{id}, GET actions/artifacts/{id}/zip answering 302 to a URL on the fake that
  needs no token (410 once expired).
- Secrets, for the repository (actions/secrets) and for an environment (environments/{env}/secrets): GET
  public-key (a real Curve25519 key pair the fake holds), GET the list ({total_count, secrets}: names and
  dates only), GET/PUT/DELETE {name}. PUT takes {encrypted_value, key_id}: 201 created, 204 updated; 422
  for a name against GitHub's rules, a key_id that is not the current key's, a value the private key
  cannot open, or over 48 KB. Names ignore case and are kept upper-case. Needs the `secrets` permission.
- Environments: GET environments, GET environments/{name} (404 when missing: environment secrets of a
  missing environment are 404 too), PUT environments/{name} (administration).
- Deployments: POST/GET deployments (ref resolved through heads/ and tags/ refs or a known commit;
  filters sha, ref, task, environment), GET deployments/{id}, POST/GET deployments/{id}/statuses.

Every answer carries x-ratelimit-* headers; pagination follows GitHub (per_page default 30, at most 100,
`Link` rel next/last/first/prev). Errors have GitHub's shape ({"message", "documentation_url"}, and
"errors" on a 422 "Validation Failed").

Fault switches (each answers the next `count` matching requests, optionally only for one method or paths
containing a string): `secondary_rate_limit()` (403 or 429, with `retry-after` unless None),
`primary_rate_limit()` (403 with x-ratelimit-remaining: 0 and x-ratelimit-reset), `fail()` (any status
and message, e.g. a 422 or a 502), `object_instead_of_list()` (a list endpoint answers an object where its
list was). `requests` logs every request (method, path, query, status, login), the last 10,000.

Where things are: this module serves and dispatches (identity, permissions, faults, rate-limit headers);
github_seed.py seeds and reads the state (FakeGitHub inherits it); github_state.py holds the state;
github_issues.py, github_pulls.py, github_actions.py (refs, commits, runs, artifacts, deployments) and
github_secrets.py (secrets, environments) hold the routes; github_http.py the server and pagination.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tests.fakes import github_actions, github_issues, github_pulls, github_secrets
from tests.fakes.github_http import Fault, HttpError, Request, Response, Routes, hostile, make_server, not_found, serve
from tests.fakes.github_seed import Seeding
from tests.fakes.github_state import Repo, Token, User, new_id

GITHUB_TOKEN_PERMISSIONS = {"contents": "write", "issues": "write", "pull_requests": "write", "actions": "write",
                            "deployments": "write", "statuses": "write", "metadata": "read"}
ALL_PERMISSIONS = {**GITHUB_TOKEN_PERMISSIONS, "secrets": "write", "administration": "write",
                   "environments": "write"}
ROUTE_TABLES: tuple[Routes, ...] = (github_issues.ROUTES, github_pulls.ROUTES, github_actions.ROUTES,
                                     github_secrets.ROUTES)
SECONDARY_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    login: str | None


class FakeGitHub(Seeding):
    BOT_TOKEN = "ghs_fakeGitHubActionsBotToken0000000000"
    ADMIN_TOKEN = "ghp_fakeMaintainerTokenWithSecrets00000"

    def __init__(self, repository: str = "octo-org/merchants", *, default_branch: str = "main",
                 now: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.repository = repository
        self.repos: dict[str, Repo] = {}
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.requests: deque[LoggedRequest] = deque(maxlen=10_000)
        self.faults: list[Fault] = []
        self._now = now or (lambda: datetime.now(UTC))
        self._used: dict[str, int] = {}
        self.add_repo(repository, default_branch=default_branch)
        self.add_token(self.BOT_TOKEN, "github-actions[bot]", user_type="Bot", user_id=41898282,
                       permissions=GITHUB_TOKEN_PERMISSIONS, installation=True)
        self.add_token(self.ADMIN_TOKEN, "octo-admin", permissions=ALL_PERMISSIONS)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # ----- the server ---------------------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self._server = make_server(self.handle)
        self._thread = serve(self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()  # returns once the serve loop (polling every 50 ms) has stopped
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake GitHub is not serving: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self, token: str | None = None, **extra: str) -> dict[str, str]:
        """The variables GitHub Actions gives a job, pointing at the fake (the bot's token by default)."""
        return {"GITHUB_API_URL": self.url, "GITHUB_REPOSITORY": self.repository,
                "GITHUB_TOKEN": token or self.BOT_TOKEN, "GITHUB_ACTIONS": "true", **extra}

    def next_id(self) -> int:
        return new_id()

    # ----- dispatch -------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self.lock:
            response = self._answer(request)
            self.requests.append(LoggedRequest(request.method, request.path, dict(request.query), response.status,
                                               request.login))
            return response

    def _answer(self, request: Request) -> Response:
        if request.method == "GET" and request.path.startswith("/_fake/downloads/"):
            return github_actions.serve_download(self, request, request.path.rsplit("/", 1)[1])
        found = next((hit for table in ROUTE_TABLES if (hit := table.find(request.method, request.path))), None)
        try:
            token = self._authenticate(request)
            if found is None:
                raise not_found()
            route, raw = found
            params = {name: unquote(value) for name, value in raw.items()}
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault is not None:
                fault.count -= 1
                if fault.kind != "object":
                    return self._with_limits(self._fault_answer(fault), token)
            if "owner" in params:
                self.repo_of(params)
            if not self._allowed(token, route.category, request.method != "GET", params):
                raise HttpError(403, "Resource not accessible by integration")
            response = route.handler(self, request, params)
            if fault is not None:
                response = hostile(response)
        except HttpError as error:
            response = error.response()
        return self._with_limits(response, self.tokens.get(_token_text(request) or ""))

    def _authenticate(self, request: Request) -> Token:
        text = _token_text(request)
        if text is None:
            if request.path.startswith("/repos/"):
                raise not_found()  # GitHub does not confirm a private repository exists
            raise HttpError(401, "Requires authentication")
        token = self.tokens.get(text)
        if token is None:
            raise HttpError(401, "Bad credentials")
        request.login = token.user.login
        return token

    def _allowed(self, token: Token, category: str, write: bool, params: dict[str, str]) -> bool:
        if category == "metadata" or token.may(category, write):
            return True
        # Comments and labels on a pull request go through the issues API; pull_requests grants them there.
        return category == "issues" and token.may("pull_requests", write) and self._is_pull(params)

    def _is_pull(self, params: dict[str, str]) -> bool:
        repo = self.repo_of(params)
        number = params.get("number")
        if number is None and params.get("comment_id", "").isdigit():
            comment = repo.comments.get(int(params["comment_id"]))
            number = str(comment.issue) if comment else None
        issue = repo.issues.get(int(number)) if number and number.isdigit() else None
        return issue is not None and issue.pull is not None

    def _fault_answer(self, fault: Fault) -> Response:
        epoch = int(self.now().timestamp())
        if fault.kind == "secondary":
            headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
            return HttpError(fault.status, SECONDARY_MESSAGE, headers=headers).response()
        if fault.kind == "primary":
            return HttpError(403, "API rate limit exceeded for user.", headers={
                "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(epoch + fault.reset_in)}).response()
        return HttpError(fault.status, fault.message).response()

    def _with_limits(self, response: Response, token: Token | None) -> Response:
        if token is None:
            return response
        login = token.user.login
        self._used[login] = self._used.get(login, 0) + 1
        limit = 1000 if token.installation else 5000
        response.headers.setdefault("x-ratelimit-limit", str(limit))
        response.headers.setdefault("x-ratelimit-remaining", str(max(limit - self._used[login], 0)))
        response.headers.setdefault("x-ratelimit-reset", str(int(self.now().timestamp()) + 3600))
        response.headers.setdefault("x-ratelimit-used", str(self._used[login]))
        response.headers.setdefault("x-ratelimit-resource", "core")
        return response

    def repo_of(self, params: dict[str, str]) -> Repo:
        repo = self.repos.get(f"{params['owner']}/{params['repo']}".lower())
        if repo is None:
            raise not_found()
        return repo

    def token_of(self, request: Request) -> Token:
        return self.tokens[_token_text(request) or ""]

    # ----- faults -----------------------------------------------------------------------------------------

    def secondary_rate_limit(self, count: int = 1, *, retry_after: int | None = 60, status: int = 403,
                             method: str | None = None, path_contains: str | None = None) -> None:
        self._fault(Fault("secondary", count, method, path_contains, status=status, retry_after=retry_after))

    def primary_rate_limit(self, count: int = 1, *, reset_in: int = 60, method: str | None = None,
                           path_contains: str | None = None) -> None:
        self._fault(Fault("primary", count, method, path_contains, reset_in=reset_in))

    def fail(self, count: int = 1, *, status: int = 422, message: str = "Validation Failed",
             method: str | None = None, path_contains: str | None = None) -> None:
        self._fault(Fault("fail", count, method, path_contains, status=status, message=message))

    def object_instead_of_list(self, count: int = 1, *, method: str | None = None,
                               path_contains: str | None = None) -> None:
        self._fault(Fault("object", count, method, path_contains))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)


def _token_text(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None
