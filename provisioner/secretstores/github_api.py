"""GitHub's REST API as the secret store needs it: one operation (a few requests) under one deadline,
GitHub's rate limits waited as its documentation says, and every refusal turned into a clear error.

Rate limits ("Rate limits for the REST API"): a 403 or 429 with `retry-after` means wait that many
seconds; with `x-ratelimit-remaining: 0`, wait until `x-ratelimit-reset` (UTC epoch seconds); a
secondary limit with neither means wait at least a minute, doubling on each repeat, and give up after a
few. Here the waits of one operation are bounded twice: at most `max_waits` of them, and never one that
would end past the operation's deadline (then the error says how long GitHub asked for)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from provisioner.errors import AuthError, ProvisionerError
from provisioner.secretstores.base import foreign

API_VERSION = "2022-11-28"
MAX_BODY = 1 << 20  # GitHub's answers here are a few hundred bytes; anything past a MiB is not GitHub
SECONDARY_WAIT = 60.0  # GitHub: "wait for at least one minute before retrying"
WRITER = ("fine-grained, with the repository permissions 'Secrets' (and, for an environment's secrets, "
          "'Environments') set to Read and write; classic, with the repo scope; or a GitHub App's with those "
          "permissions")
SERVER_RETRIES = 2  # a 5xx or a broken connection: the requests here are idempotent (PUT, GET, DELETE)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: Any  # the parsed JSON, or None for an empty body


@dataclass
class Clocks:
    """Time as the API sees it; tests pass their own so no test waits on the wall clock."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    epoch: Callable[[], float] = time.time  # for x-ratelimit-reset, which is UTC epoch seconds


@dataclass
class GitHubApi:
    """A token at one GitHub API root. `token_source` names where the token came from, for errors."""

    api_url: str
    token: str = field(repr=False)
    token_source: str
    deadline: float = 300.0  # seconds for one operation, its requests and its waits together
    request_timeout: float = 30.0
    max_waits: int = 5
    clocks: Clocks = field(default_factory=Clocks)
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    def client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.api_url, transport=self.transport, follow_redirects=False,
                                      headers={"Authorization": f"Bearer {self.token}",
                                               "Accept": "application/vnd.github+json",
                                               "X-GitHub-Api-Version": API_VERSION,
                                               "User-Agent": "provisioner-secretstores"})
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def operation(self, what: str) -> Operation:
        """`what` completes "while ...": "storing secret X of environment qa in octo/repo"."""
        return Operation(self, what, self.clocks.monotonic() + self.deadline)


@dataclass
class Operation:
    api: GitHubApi
    what: str
    ends_at: float
    waits: int = 0

    def request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                answers: Iterable[int] = (), missing: str = "") -> Reply:
        """The reply to one request once it is neither rate-limited nor a passing failure. A 2xx, or a
        status in `answers`, is returned; any other status raises the error that explains it (`missing`
        says what a 404 means here)."""
        failures = 0
        while True:
            try:
                reply = self._send(method, path, body)
            except httpx.TransportError as exc:
                failures = self._pause_after_failure(failures, f"the connection failed ({type(exc).__name__})")
                continue
            if 200 <= reply.status < 300 or reply.status in answers:
                return reply
            wait = self._rate_limit_wait(reply)
            if wait is not None:
                self._wait(wait, reply)
                continue
            if reply.status >= 500:
                failures = self._pause_after_failure(failures, f"GitHub answered HTTP {reply.status}")
                continue
            raise self._refusal(reply, missing)

    def _remaining(self) -> float:
        left = self.ends_at - self.api.clocks.monotonic()
        if left <= 0:
            raise ProvisionerError(f"GitHub did not answer in time while {self.what} (deadline "
                                   f"{self.api.deadline:g}s)")
        return left

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> Reply:
        """One request; every phase, and the body read chunk by chunk, within the operation's deadline."""
        timeout = min(self.api.request_timeout, self._remaining())
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        with self.api.client().stream(method, path, content=content, headers=headers, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY:
                    raise ProvisionerError(f"GitHub's answer while {self.what} was larger than {MAX_BODY} bytes; "
                                           f"is {foreign(self.api.api_url)} GitHub's API?")
                self._remaining()
                chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = None  # a proxy's HTML page: the status still says what happened
        return Reply(response.status_code, response.headers, parsed)

    def _rate_limit_wait(self, reply: Reply) -> float | None:
        return rate_limit_wait(reply.status, reply.headers, _message(reply), now=self.api.clocks.epoch(),
                               repeats=self.waits)

    def _wait(self, seconds: float, reply: Reply) -> None:
        limit = "secondary rate limit" if reply.headers.get("x-ratelimit-remaining") != "0" else "rate limit"
        if self.waits >= self.api.max_waits:
            raise ProvisionerError(f"GitHub's {limit} was still in force after {self.waits} waits while {self.what};"
                                   " try again later")
        if self.api.clocks.monotonic() + seconds > self.ends_at:
            raise ProvisionerError(f"GitHub's {limit} asks to wait {seconds:.0f}s while {self.what}, past the "
                                   f"deadline of {self.api.deadline:g}s; try again later")
        self.waits += 1
        self.api.clocks.sleep(seconds)

    def _pause_after_failure(self, failures: int, reason: str) -> int:
        if failures >= SERVER_RETRIES:
            raise ProvisionerError(f"{reason} while {self.what}, {failures + 1} times; try again later")
        pause = 2.0 ** failures
        if self.api.clocks.monotonic() + pause > self.ends_at:
            raise ProvisionerError(f"{reason} while {self.what}, and the deadline of {self.api.deadline:g}s "
                                   "leaves no time to try again")
        self.api.clocks.sleep(pause)
        return failures + 1

    def _refusal(self, reply: Reply, missing: str) -> ProvisionerError:
        said = f" (GitHub: {foreign(_message(reply), 200)})" if _message(reply) else ""
        source = self.api.token_source
        if reply.status == 401:
            return AuthError(f"GitHub did not accept the token in {source} (HTTP 401{said}) while {self.what}: it "
                             "is unknown, expired or revoked")
        if reply.status == 403:
            return AuthError(f"the token in {source} may not do this (HTTP 403{said}) while {self.what}. A token "
                             f"that may write Actions secrets is {WRITER}; the job's own GITHUB_TOKEN can never "
                             "write secrets")
        if reply.status == 404:
            return ProvisionerError(f"GitHub answered 404 Not Found while {self.what}: {missing or 'it does not exist'}"
                                    f" or the token in {source} cannot see it")
        if reply.status in (301, 302, 307, 308):
            return ProvisionerError(f"GitHub answered HTTP {reply.status} while {self.what}: the repository was "
                                    "renamed or moved; set GITHUB_REPOSITORY to its new owner/name")
        if reply.status == 422:
            return ProvisionerError(f"GitHub refused the request as invalid (HTTP 422{said}) while {self.what}")
        return ProvisionerError(f"GitHub answered HTTP {reply.status}{said} while {self.what}")


def rate_limit_wait(status: int, headers: httpx.Headers, message: str, *, now: float, repeats: int = 0
                    ) -> float | None:
    """Seconds GitHub asks to wait before the next try, or None when the answer is no rate limit: the one
    reading of GitHub's rate-limit answers, for every client of its REST API. `now` is UTC epoch seconds;
    `repeats` how many waits this request has had (a bare secondary limit doubles each time)."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        return _retry_after_seconds(retry_after, now)
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            reset = float(headers["x-ratelimit-reset"])
        except ValueError:
            reset = now + SECONDARY_WAIT
        return max(reset - now, 0.0) + 1.0  # the reset second itself may still count
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_WAIT * 2.0 ** repeats
    return None


def _retry_after_seconds(retry_after: str, now: float) -> float:
    try:
        return max(float(retry_after), 0.0)
    except ValueError:
        pass
    try:  # HTTP also allows a date here
        return max(parsedate_to_datetime(retry_after).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return SECONDARY_WAIT


def _message(reply: Reply) -> str:
    if isinstance(reply.body, dict) and isinstance(reply.body.get("message"), str):
        return str(reply.body["message"])
    return ""
