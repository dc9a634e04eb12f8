"""GitHub's REST API as the workflows use it: the repository and identity a job runs with, every reply
checked for its shape where it enters, GitHub's secondary rate limits waited out as GitHub documents them
(`retry-after`, or `x-ratelimit-remaining: 0` with `x-ratelimit-reset`) within a budget, and each request
under an overall deadline. GitHub's own words reach our messages only escaped and cut short."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from provisioner.errors import AuthError, ProvisionerError
from provisioner.escape import terminal
from provisioner.secretstores.github_api import rate_limit_wait

API_VERSION = "2022-11-28"
MAX_PAGES = 50  # 5,000 comments or issues; a marker older than that is not worth finding
PER_PAGE = 100
REQUEST_DEADLINE = 30.0  # seconds for one request, whatever the server drips
WAIT_BUDGET = 300.0  # seconds a command may spend waiting out GitHub's rate limits
# GITHUB_TOKEN acts as this bot; a job using another identity (a GitHub App, a PAT) names its login.
DEFAULT_LOGIN = "github-actions[bot]"
QUOTED = 300  # characters of GitHub's message kept in ours


class GitHubError(ProvisionerError):
    pass


def quoted(text: object) -> str:
    """Foreign text for one line of ours: escape.terminal, cut to QUOTED characters with the cut said."""
    return terminal(text, limit=QUOTED)


@dataclass(frozen=True)
class Repository:
    api: str
    name: str  # owner/repo
    token: str = field(repr=False)
    login: str = DEFAULT_LOGIN  # whose comments and issues are ours to update

    @classmethod
    def from_environment(cls) -> Repository:
        """The repository and token the workflow runs with ($GITHUB_REPOSITORY, $GITHUB_TOKEN or $GH_TOKEN)."""
        token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
        name = os.environ.get("GITHUB_REPOSITORY")
        if not token or not name:
            raise ProvisionerError("GITHUB_REPOSITORY and GITHUB_TOKEN (or GH_TOKEN) must be set; this runs in a "
                                   "GitHub Actions job")
        return cls(os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"), name, token,
                   os.environ.get("PROVISION_GITHUB_LOGIN") or DEFAULT_LOGIN)

    def session(self, **kwargs: Any) -> Session:
        return Session(self, **kwargs)


def using(repository: Repository, session: Session | None) -> contextlib.AbstractContextManager[Session]:
    """The caller's session (left open for it), or one of our own for this call."""
    return contextlib.nullcontext(session) if session is not None else repository.session()


class Session:
    """One client for a command's requests. `sleep` and `clock` are injectable so tests wait for nothing."""

    def __init__(self, repository: Repository, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, budget: float = WAIT_BUDGET,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.repository = repository
        self._sleep, self._clock, self._budget = sleep, clock, budget
        self._http = httpx.Client(
            base_url=repository.api, timeout=httpx.Timeout(REQUEST_DEADLINE), transport=transport,
            follow_redirects=False, headers={"Authorization": f"Bearer {repository.token}",
                                             "Accept": "application/vnd.github+json",
                                             "X-GitHub-Api-Version": API_VERSION})

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    @property
    def prefix(self) -> str:
        return f"/repos/{self.repository.name}"

    def object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._json(self.send(method, path, **kwargs), method, path)
        if not isinstance(body, dict):
            raise GitHubError(f"GitHub answered {method} {path} with {type(body).__name__}, not an object")
        return body

    def items(self, path: str, params: dict[str, str] | None = None, *, key: str | None = None
              ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (`key`: the list sits under this key of an object, as
        artifacts do)."""
        for page in range(1, MAX_PAGES + 1):
            response = self.send("GET", path, params={**(params or {}), "per_page": str(PER_PAGE),
                                                     "page": str(page)})
            body = self._json(response, "GET", path)
            listed = body.get(key) if key is not None and isinstance(body, dict) else body
            if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
                raise GitHubError(f"GitHub answered GET {path} with {type(body).__name__}, not a list of objects")
            yield from listed
            if len(listed) < PER_PAGE:
                return

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; waits out a secondary rate limit as GitHub asks, within the command's budget."""
        started = self._clock()
        waits = 0
        while True:
            try:
                response = self._request(method, path, **kwargs)
            except httpx.TimeoutException:
                raise GitHubError(f"GitHub did not answer {method} {path} within {REQUEST_DEADLINE:.0f} s") from None
            except httpx.HTTPError as exc:
                raise GitHubError(f"could not reach GitHub for {method} {path} ({type(exc).__name__})") from None
            wait = rate_limit_wait(response.status_code, response.headers, _said(response), now=self._clock(),
                                   repeats=waits)
            if wait is None:
                return _checked(response, method, path)
            if self._clock() + wait - started > self._budget:
                raise GitHubError(f"GitHub's rate limit asks to wait {wait:.0f} s for {method} {path}, past this "
                                  f"command's budget of {self._budget:.0f} s; run the job again later")
            self._sleep(wait)
            waits += 1

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The whole answer within REQUEST_DEADLINE: httpx's timeouts are per read, so a server that drips
        a byte at a time is cut off here."""
        deadline = time.monotonic() + REQUEST_DEADLINE
        with self._http.stream(method, path, **kwargs) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY or time.monotonic() > deadline:
                    why = "too large" if size > MAX_BODY else f"not complete within {REQUEST_DEADLINE:.0f} s"
                    raise GitHubError(f"GitHub's answer to {method} {path} was {why}")
                chunks.append(chunk)
        # The body as read under our limits, already decoded: keep no content-encoding to decode it again.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                              request=response.request)

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise GitHubError(f"GitHub answered {method} {path} with something that is not JSON "
                              f"({quoted(response.headers.get('content-type', 'no content type'))})") from None


MAX_BODY = 16 * 1024 * 1024


def _said(response: httpx.Response) -> str:
    """GitHub's own `message`, raw (for deciding; never printed as it is)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return body["message"] if isinstance(body, dict) and isinstance(body.get("message"), str) else ""


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    details = [e.get("message") or e.get("code") for e in body.get("errors", []) if isinstance(e, dict)] \
        if isinstance(body.get("errors"), list) else []
    text = "; ".join(str(part) for part in [body.get("message"), *details] if part)
    return f": {quoted(text)}" if text else ""


def _checked(response: httpx.Response, method: str, path: str) -> httpx.Response:
    status = response.status_code
    if status < 300 or status == 302:
        return response
    said = _message(response)
    if status in (401, 403):
        raise AuthError(f"GitHub refused {method} {path} (HTTP {status}){said}; the job's token lacks the "
                        "permission this step needs (see the workflow's permissions:)")
    if status == 404:
        raise GitHubError(f"GitHub has no {path} (HTTP 404){said}, or the token may not see it")
    if status == 422:
        raise GitHubError(f"GitHub could not process {method} {path} (HTTP 422: the request was understood but "
                          f"refused, e.g. a validation failed or a ref would not fast-forward){said}")
    raise GitHubError(f"GitHub answered HTTP {status} to {method} {path}{said}")
