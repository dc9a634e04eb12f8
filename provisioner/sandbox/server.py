"""`provision sandbox serve`: the emulator as a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from provisioner import escape
from provisioner.errors import ProvisionerError
from provisioner.sandbox.app import SandboxApp
from provisioner.sandbox.wire import DropConnection, Request, Response

# How often serve_forever() looks at its shutdown flag. socketserver's 0.5 s made every shutdown() (each
# test that serves the emulator, a fleet benchmark's servers) wait up to half a second; an idle server
# now wakes 20 times a second instead of twice, which costs nothing measurable. Requests and Ctrl-C are
# answered at once either way.
SHUTDOWN_POLL = 0.05


class _Server(ThreadingHTTPServer):
    def serve_forever(self, poll_interval: float = SHUTDOWN_POLL) -> None:
        super().serve_forever(poll_interval)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer (one that stops reading a huge body at its limit, a Ctrl-C)
        # is its own business, not a failure of the server: no traceback for it.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def make_server(app: SandboxApp, port: int = 0, *, quiet: bool = True) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes; don't wait for the ACK

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            request = Request(method=self.command, path=parts.path, query=dict(parse_qsl(parts.query)),
                              headers={k.lower(): v for k, v in self.headers.items()},
                              body=self.rfile.read(length) if length else b"")
            try:
                response = app.handle(request)
            except DropConnection:
                self.close_connection = True
                return
            except ProvisionerError as exc:
                # The store failed (a full disk, a broken database): the client gets a 503 it can
                # explain, the operator one line, neither a traceback.
                sys.stderr.write(f"sandbox: {escape.terminal(str(exc))}\n")
                response = Response.json(503, {"errors": [{"message": f"the sandbox cannot answer: {exc}"}]})
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            if not quiet:
                sys.stderr.write(f"{self.address_string()} {format % args}\n")

    try:
        server = _Server(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise ProvisionerError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; choose another --port "
                               "(0 picks a free one)") from None
    server.daemon_threads = True
    return server
