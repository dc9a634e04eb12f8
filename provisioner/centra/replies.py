"""Every HTTP 200 answer of Centra checked for its shape where it enters, before anything reads it.

- It is JSON by its Content-Type, and a GraphQL response as Centra documents it (pydantic, below): an
  object with `data` (an object, or null when errors say why), `errors` (a list of objects, each with a
  string `message`, and `path`, `locations`, `extensions` of their documented types) and `extensions`
  (`appVersion` a string, `complexity` a number).
- `data` has the shape the operation's selections give it: an object where a field selects
  subfields, a value where it does not, a list of either, or null; every field the operation selects
  outright is there (a field under a fragment may be absent: its type condition may not apply).
  Nullability and scalar types are the schema's, which the caller checks where it has one.
- `userErrors` and `userWarnings` of a mutation's payload are lists of objects with a string `message`
  and a `path` of names and indexes.

An error's `message` is made safe to show as it enters (escaped, one line, cut), since every use of it
shows it. A wrong one is a BadReply (exit 1) naming the endpoint and what was wrong, the server's text quoted
escaped and cut; never a traceback in code that trusted it. An introspection answer is checked again
where its schema is built (introspection.py)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Required

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from provisioner.centra import wire
from provisioner.centra.failures import BadReply, shown
from provisioner.centra.prepared import Prepared, Shape
from provisioner.centra.retries import Reply

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)

_SHAPES = ConfigDict(extra="allow", strict=True)


@with_config(_SHAPES)
class _Location(TypedDict, total=False):
    line: int
    column: int


@with_config(_SHAPES)
class _Error(TypedDict, total=False):
    message: Required[str]
    path: list[str | int] | None
    locations: list[_Location] | None
    extensions: dict[str, Any] | None


@with_config(_SHAPES)
class _Extensions(TypedDict, total=False):
    appVersion: str
    complexity: int | float


@with_config(_SHAPES)
class _Envelope(TypedDict, total=False):
    data: dict[str, Any] | None
    errors: list[_Error] | None  # null is not the spec's, but servers send it for "none"
    extensions: _Extensions | None


@with_config(_SHAPES)
class _UserError(TypedDict, total=False):
    message: Required[str]
    path: list[str | int] | None


_ENVELOPE = TypeAdapter(_Envelope)
_USER_ERRORS = TypeAdapter(list[_UserError])
_PAYLOAD_LISTS = ("userErrors", "userWarnings")
MESSAGE_LIMIT = 1000  # characters of an error's message kept


def _parse(body: bytes) -> _Envelope:
    return _ENVELOPE.validate_json(body)


@dataclass
class Answer:
    """A GraphQL response as checked: `errors` None when there are none (as graphql-core's ExecutionResult)."""

    data: dict[str, Any] | None
    errors: list[dict[str, Any]] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


def interpret(reply: Reply, operation: Prepared, *, label: str, endpoint: str) -> Answer:
    """The answer, its every part of its documented shape, or a BadReply."""
    where = f"{label}: {endpoint}"
    if not wire.is_json(reply.headers):
        media = reply.headers.get("content-type") or "none"
        text = reply.body.decode("utf-8", "replace")
        if "html" in media.lower() or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            # A web page (a proxy's or another site's error page): its title says whose, the markup nothing
            title = _TITLE.search(text)
            named = f" titled '{shown(' '.join(title.group(1).split()), 120)}'" if title else ""
            raise BadReply(f"{where} answered with a web page{named}, not Centra's JSON: is the environment's "
                           "centra_url the store's Centra address?")
        raise BadReply(f"{where} answered with Content-Type {shown(media, 80)}, not JSON: "
                       f"{shown(text, partial=reply.cut)}")
    key = _INTROSPECTIONS.key(reply.body)
    known = _INTROSPECTIONS.get(key, operation) if key else None
    if known is not None:
        return known
    try:
        envelope = _parse(reply.body)
    except ValidationError as exc:
        raise BadReply(f"{where} did not answer with a GraphQL response: {_first(exc, reply.body)}") from None
    data, errors = envelope.get("data"), envelope.get("errors") or None
    if data is None and errors is None:
        said = "data null" if "data" in envelope else "neither data nor errors"
        raise BadReply(f"{where} answered {said}, and no error says why")
    if data is not None:
        problem = _shape(operation, data)
        if problem:
            raise BadReply(f"{where} answered data of another shape than the operation selects: {problem}")
    # An error's message is only ever shown: made one line and cut here, wherever it is shown later.
    shown_errors = [{**error, "message": shown(error["message"], MESSAGE_LIMIT)} for error in errors or ()]
    result = Answer(data=data, errors=shown_errors or None, extensions=dict(envelope.get("extensions") or {}))
    if key:
        _INTROSPECTIONS.keep(key, operation, result)
    return result


def _first(exc: ValidationError, body: bytes) -> str:
    error = exc.errors(include_url=False)[0]
    if error["type"] == "json_invalid":
        return f"not JSON ({shown(error['msg'], 120)}): {shown(body.decode('utf-8', 'replace'), 120)}"
    where = ".".join(str(part) for part in error["loc"])
    return f"{shown(where, 80)}: {shown(error['msg'], 120)}" if where else shown(error["msg"], 120)


def _shape(operation: Prepared, data: dict[str, Any]) -> str | None:
    """Where `data` is not of the shape the operation's selections give it (None: nowhere)."""
    problem = _object(operation.shape, data, "", required=True)
    if problem or not operation.mutation:
        return problem
    for key, payload in data.items():
        for name in _PAYLOAD_LISTS:
            listed = payload.get(name) if isinstance(payload, dict) else None
            if listed is not None:
                try:
                    _USER_ERRORS.validate_python(listed)
                except ValidationError as exc:
                    return f"{shown(key, 80)}.{name}: {_first(exc, b'')}"
    return None


def _object(shape: Shape, value: dict[str, Any], path: str, *, required: bool) -> str | None:
    for key, needed, sub in shape:
        problem: str | None = None
        if key is None:  # a fragment's fields, on the same object
            problem = _object(sub or (), value, path, required=required and needed)
        elif key in value:
            problem = _value(sub, value[key], f"{path}{key}")
        elif required and needed:
            problem = f"{path}{key}: missing"
        if problem:
            return problem
    return None


def _value(sub: Shape | None, value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _value(sub, item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if sub is None:
        return f"{path}: a value was expected, not an object" if isinstance(value, dict) else None
    if not isinstance(value, dict):
        return f"{path}: an object was expected, not {_kind(value)}"
    return _object(sub, value, f"{path}.", required=True)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__


class _IntrospectionAnswers:
    """Introspection answers already checked and parsed, by the digest of their bytes. Hosts on one Centra
    version may answer the introspection query byte for byte alike (~80 kB, whose parsing is most of what
    a fleet merchant's introspection costs); such an answer is parsed once. Its data is shared, as the
    schema cache shares introspections anyway: nothing modifies one. Any other answer is parsed as usual.
    An answer is found again only for the operation (the object) it was checked against."""

    SMALLEST = 16 * 1024  # below this, parsing costs less than looking

    def __init__(self, size: int = 4) -> None:
        self._answers: OrderedDict[str, tuple[Prepared, Answer]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def key(content: bytes) -> str | None:
        """The digest of what may be an introspection answer (large, its data opening with `__schema`);
        None for anything else, which is then not hashed at all (a catalogue page, say)."""
        if len(content) < _IntrospectionAnswers.SMALLEST or b'"__schema"' not in content[:64]:
            return None
        return hashlib.sha256(content).hexdigest()

    def get(self, key: str, operation: Prepared) -> Answer | None:
        with self._lock:
            known = self._answers.get(key)
        if known is None or known[0] is not operation:
            return None
        return Answer(data=known[1].data, errors=None, extensions=dict(known[1].extensions or {}))

    def keep(self, key: str, operation: Prepared, result: Answer) -> None:
        if result.errors or not isinstance(result.data, dict) or set(result.data) != {"__schema"}:
            return
        with self._lock:
            self._answers[key] = (operation, result)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)


_INTROSPECTIONS = _IntrospectionAnswers()
