"""httpx transport that hands requests to the emulator in-process: the whole client stack (gql,
httpx, retries) runs unchanged against the sandbox environment."""

from __future__ import annotations

import httpx

from provisioner.sandbox.app import SandboxApp
from provisioner.sandbox.wire import DropConnection, Request


class SandboxTransport(httpx.BaseTransport):
    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wire_request = Request(method=request.method, path=request.url.path,
                               query=dict(request.url.params.items()),
                               headers={k.lower(): v for k, v in request.headers.items()}, body=request.read())
        try:
            response = self.app.handle(wire_request)
        except DropConnection:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from None
        return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)
