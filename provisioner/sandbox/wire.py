"""The emulator's view of HTTP: a request in, a response out; shared by the in-process transport and
the real server so both behave identically."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), {"content-type": "application/json", **(headers or {})})

    @classmethod
    def json_with(cls, status: int, serialised: str, more: dict[str, Any]) -> Response:
        """A JSON object already serialised (a cached answer), with more keys, without parsing it again."""
        if not (serialised.startswith("{") and serialised.endswith("}")):
            raise ValueError("not a serialised JSON object")
        added = json.dumps(more)[1:-1]
        joined = serialised[:-1] + ("," if serialised.strip("{} ") and added else "") + added + "}"
        return cls(status, joined.encode(), {"content-type": "application/json"})

    def payload(self) -> Any:
        return json.loads(self.body)


class DropConnection(Exception):
    """Close the connection without answering (fault injection)."""
