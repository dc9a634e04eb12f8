"""The fake GitHub's HTTP side: requests and responses, routes, GitHub's error bodies, pagination with
`Link` headers, fault switches, and the threaded server on 127.0.0.1 (see tests/fakes/github.py)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

DOCS = "https://docs.github.com/rest"
MAX_BODY = 1 << 20
PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 100


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # http://127.0.0.1:PORT, for URLs in answers
    login: str | None = None  # who the token belongs to, once authenticated

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise HttpError(400, "Problems parsing JSON") from None

    def object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise HttpError(400, "Problems parsing JSON")
        return data


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None  # the JSON before encoding, for the hostile-shape fault

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), {"content-type": "application/json; charset=utf-8",
                                                        **(headers or {})}, data)


class HttpError(Exception):
    """An answer in GitHub's error shape: {"message", "documentation_url", "status"} (and "errors" for a 422)."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors, headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS, "status": str(self.status)}
        if self.errors is not None:
            body["errors"] = self.errors
        return Response.json(self.status, body, self.headers)


def invalid(resource: str, field_name: str, code: str = "invalid", message: str | None = None) -> HttpError:
    """GitHub's 422: "Validation Failed" with one error naming the resource, field and code."""
    error: dict[str, Any] = {"resource": resource, "field": field_name, "code": code}
    if message:
        error["message"] = message
    return HttpError(422, "Validation Failed", [error])


def not_found() -> HttpError:
    return HttpError(404, "Not Found")


Handler = Callable[[Any, Request, dict[str, str]], Response]  # (the FakeGitHub, the request, the path's parts)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    category: str  # the token permission the route needs: issues, pull_requests, contents, actions, ...


class Routes:
    """Routes written like GitHub's docs: `/repos/{owner}/{repo}/issues/{number}`; `{ref:path}` takes slashes."""

    def __init__(self) -> None:
        self.table: list[Route] = []

    def add(self, method: str, template: str, category: str) -> Callable[[Handler], Handler]:
        def pattern_of(match: re.Match[str]) -> str:
            name, _, kind = match.group(1).partition(":")
            return f"(?P<{name}>.+)" if kind == "path" else f"(?P<{name}>[^/]+)"

        pattern = re.compile(re.sub(r"\{([a-z_:]+)\}", pattern_of, template) + r"\Z")

        def register(handler: Handler) -> Handler:
            self.table.append(Route(method, pattern, handler, category))
            return handler
        return register

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for the request; a path that exists under another method answers 404 like GitHub."""
        for route in self.table:
            match = route.pattern.match(path)
            if match and route.method == method:
                return route, match.groupdict()
        return None


def paginate(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` (per_page at most 100, default 30; page from 1) and GitHub's `Link` header."""
    try:
        per_page = min(max(int(request.query.get("per_page", PER_PAGE_DEFAULT)), 1), PER_PAGE_MAX)
        page = max(int(request.query.get("page", 1)), 1)
    except ValueError:
        raise invalid("Pagination", "per_page", message="per_page and page must be integers") from None
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []

    def url(number: int) -> str:
        return f"{request.base_url}{request.path}?{urlencode({**request.query, 'per_page': per_page, 'page': number})}"
    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(1)}>; rel="first"', f'<{url(min(page - 1, last))}>; rel="prev"']
    return items[(page - 1) * per_page: page * per_page], ({"link": ", ".join(links)} if links else {})


@dataclass
class Fault:
    """One switched-on misbehaviour: answers the next `count` matching requests."""

    kind: str  # "secondary", "primary", "fail", "object"
    count: int
    method: str | None = None
    path_contains: str | None = None
    status: int = 403
    message: str = ""
    retry_after: int | None = None
    reset_in: int = 60

    def matches(self, request: Request) -> bool:
        return (self.count > 0 and (self.method is None or self.method == request.method)
                and (self.path_contains is None or self.path_contains in request.path))


_LIST_KEYS = ("artifacts", "secrets", "workflow_runs", "environments")


def hostile(response: Response) -> Response:
    """A list endpoint's answer with an object where its list was (GitHub never does this; a client must
    refuse it rather than iterate over the object's keys)."""
    data = response.data
    if isinstance(data, list):
        return Response.json(response.status, {"message": "an object where a list was", "items": data[:1]},
                             response.headers)
    if isinstance(data, dict) and any(isinstance(data.get(key), list) for key in _LIST_KEYS):
        return Response.json(response.status, {k: ({"0": v[:1]} if k in _LIST_KEYS and isinstance(v, list) else v)
                                               for k, v in data.items()}, response.headers)
    return response


App = Callable[[Request], Response]


def make_server(app: App) -> ThreadingHTTPServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (a free port), each connection bounded by a socket timeout
    and each body by MAX_BODY."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # a client that stops sending mid-request frees its thread
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                response = HttpError(413, "Payload Too Large").response()
                self.close_connection = True
            else:
                address = self.server.server_address
                assert isinstance(address, tuple)
                request = Request(self.command, parts.path, dict(parse_qsl(parts.query)),
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length) if length else b"", f"http://{address[0]}:{address[1]}")
                response = app(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the fake keeps its own request log (FakeGitHub.requests)."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                              name="fake-github")
    thread.start()
    return thread
