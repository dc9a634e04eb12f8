"""The plan document: one JSON shape for one merchant or a whole fleet — the plans made, the merchants
that failed (with their reason and exit code) and the merchants skipped. Shards of a run are documents
too; `merge` puts them back together in the order an unsharded run would have written."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioner import files
from provisioner.engine.plan.model import Plan
from provisioner.errors import ExitCode, ProvisionerError

# 3: a document of plans, errors and skipped merchants. Plan files up to version 2 were one bare plan;
# `read` still accepts a bare plan of the current plan version.
FORMAT_VERSION = 3

# The exit code of a run that met several outcomes: the first of these that occurred. A store left
# half-changed comes first, then what needs a person with credentials, then the files, then the rest.
PRECEDENCE = (ExitCode.PARTIAL_APPLY, ExitCode.NOT_CONVERGED, ExitCode.AUTH, ExitCode.INVALID_CONFIG,
              ExitCode.STALE_PLAN, ExitCode.POLICY, ExitCode.ERROR, ExitCode.CHANGES, ExitCode.OK)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MerchantError(_Model):
    merchant: str
    environment: str | None = None
    exit_code: int = Field(description="the exit code this failure alone would have given")
    reason: str


class Skipped(_Model):
    merchant: str
    reason: str


class PlanDocument(_Model):
    format_version: Literal[3] = 3
    environment: str = Field(description="the environment asked for: a name or a tier (qa, prod)")
    shard: str | None = Field(default=None, description="I/N when this document is one shard of a run")
    plans: list[Plan] = Field(default_factory=list)
    errors: list[MerchantError] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    identifiers: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="per merchant/environment: its own names, hosts and ids by role, so "
                                          "reports can tell change sets that differ only by them")

    def sort(self) -> PlanDocument:
        sort_outcomes(self.plans, self.errors, self.skipped)
        return self

    @property
    def merchants(self) -> set[str]:
        return merchants_of(self.plans, self.errors, self.skipped)

    def changed(self) -> list[Plan]:
        return [p for p in self.plans if p.has_changes()]

    def changed_count(self) -> int:
        return sum(1 for p in self.plans if p.has_changes())

    def exit_code(self, *, detailed: bool) -> int:
        """The most severe outcome, by PRECEDENCE; changes count only with --detailed-exitcode, and settings
        that only wait for `provision attest` are not changes there (the plan says so apart)."""
        return exit_code_of(self.errors, (p.has_work() for p in self.plans), detailed=detailed)

    def write(self, path: Path) -> None:
        """Whole or not at all (a reader never sees half a plan), never through a link."""
        files.ensure_dir(path.parent)
        files.write_atomic(path, self.model_dump_json(indent=2) + "\n")

    def chunks(self) -> Iterator[str]:
        """The JSON text of `write`, in one piece."""
        yield self.model_dump_json(indent=2) + "\n"


# What a document and a spooled one share, over their plans or their spool's entries (one implementation,
# so the two cannot drift apart: both sort, list merchants and give the exit code the same way).


class _Planned(Protocol):
    @property
    def merchant(self) -> str: ...

    @property
    def environment(self) -> str: ...


_P = TypeVar("_P", bound=_Planned)


def sort_outcomes(planned: list[_P], errors: list[MerchantError], skipped: list[Skipped]) -> None:
    """In the order every document is written in: by merchant, then environment."""
    planned.sort(key=lambda p: (p.merchant, p.environment))
    errors.sort(key=lambda e: (e.merchant, e.environment or ""))
    skipped.sort(key=lambda s: s.merchant)


def merchants_of(planned: Iterable[_Planned], errors: Iterable[MerchantError], skipped: Iterable[Skipped]) -> set[str]:
    """Every merchant the document speaks of: planned, failed or skipped."""
    return {p.merchant for p in planned} | {e.merchant for e in errors} | {s.merchant for s in skipped}


def exit_code_of(errors: Iterable[MerchantError], work: Iterable[bool], *, detailed: bool) -> int:
    """The most severe outcome, by PRECEDENCE; `work`: each plan's `has_work`, counted (as changes) only with
    --detailed-exitcode; settings that only wait for `provision attest` are not work."""
    codes = [e.exit_code for e in errors]
    if detailed and any(work):
        codes.append(ExitCode.CHANGES)
    return most_severe(codes)


def as_written(plan: Plan) -> str:
    """A plan as a document writes it (indent 2, at its depth in the document's `plans`)."""
    return plan.model_dump_json(indent=2).replace("\n", "\n    ")


@dataclass(frozen=True)
class _Spooled:
    merchant: str
    environment: str
    offset: int
    length: int
    changes: bool
    shown: int = 0  # the length of the plan as shown (its text rendering), spooled after it, if given
    work: bool = True  # `Plan.has_work`: what --detailed-exitcode counts


class SpooledPlans(Sequence[Plan]):
    """A spooled document's plans, read from its spool one at a time when asked for."""

    def __init__(self, spool: Any, entries: list[_Spooled]) -> None:
        self._spool, self._entries = spool, entries

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Plan: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Plan]: ...

    def __getitem__(self, index: int | slice) -> Plan | Sequence[Plan]:
        if isinstance(index, slice):
            return [self._load(entry) for entry in self._entries[index]]
        return self._load(self._entries[index])

    def __iter__(self) -> Iterator[Plan]:
        return (self._load(entry) for entry in self._entries)

    def text(self, entry: _Spooled) -> str:
        return self.raw(entry).decode("utf-8")

    def raw(self, entry: _Spooled) -> bytes:
        """The plan's JSON text as spooled (UTF-8)."""
        self._spool.seek(entry.offset)
        return bytes(self._spool.read(entry.length))

    def shown(self, entry: _Spooled) -> str:
        self._spool.seek(entry.offset + entry.length)
        return str(self._spool.read(entry.shown).decode("utf-8"))

    def _load(self, entry: _Spooled) -> Plan:
        return Plan.model_validate_json(self.text(entry))


class SpooledDocument:
    """A fleet's plan document whose plans wait in a temporary file, in the form the document is written
    in, rather than in memory: a plan (~50 kB of JSON) is added as it is made, written out and shown one
    at a time, so a thousand merchants take no more memory than ten. `materialize` is the PlanDocument
    (every plan in memory), for what needs them all at once (Markdown's grouping, shards merged)."""

    def __init__(self, environment: str, shard: str | None = None) -> None:
        self.environment, self.shard = environment, shard
        self.errors: list[MerchantError] = []
        self.skipped: list[Skipped] = []
        self.identifiers: dict[str, dict[str, str]] = {}
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the document
        self._entries: list[_Spooled] = []
        self._end = 0
        self.plans = SpooledPlans(self._spool, self._entries)
        self.shows = True  # every plan came with its text as shown (see `add`)

    def add(self, merchant: str, environment: str, text: str, *, changes: bool, shown: str | None = None,
            work: bool = True) -> None:
        """A plan, as `as_written` gives it; `shown`: as the run's report shows it (`shows`), if made."""
        data, rendered = text.encode("utf-8"), (shown or "").encode("utf-8")
        self._spool.seek(self._end)
        self._spool.write(data + rendered)
        self._entries.append(_Spooled(merchant, environment, self._end, len(data), changes, len(rendered), work))
        self._end += len(data) + len(rendered)
        self.shows = self.shows and shown is not None

    def shown(self) -> Iterator[str]:
        """Each plan as the report shows it, made where it was planned (when `shows`)."""
        return (self.plans.shown(entry) for entry in self._entries)

    def sort(self) -> SpooledDocument:
        sort_outcomes(self._entries, self.errors, self.skipped)
        return self

    @property
    def merchants(self) -> set[str]:
        return merchants_of(self._entries, self.errors, self.skipped)

    def changed_count(self) -> int:
        return sum(1 for entry in self._entries if entry.changes)

    def exit_code(self, *, detailed: bool) -> int:
        return exit_code_of(self.errors, (entry.work for entry in self._entries), detailed=detailed)

    def chunks(self) -> Iterator[str]:
        """The document's JSON text, byte for byte what PlanDocument writes, a plan at a time."""
        return (piece if isinstance(piece, str) else piece.decode("utf-8") for piece in self._pieces())

    def _pieces(self) -> Iterator[str | bytes]:
        """The document's text around its plans, and each plan as its spool holds it (UTF-8)."""
        rest = PlanDocument(environment=self.environment, shard=self.shard, errors=self.errors, skipped=self.skipped,
                            identifiers=self.identifiers).model_dump_json(indent=2) + "\n"
        head, marker, tail = rest.partition('\n  "plans": [],\n')
        if not marker or not self._entries:
            yield rest
            return
        yield head + '\n  "plans": [\n    '
        for index, entry in enumerate(self._entries):
            if index:
                yield ",\n    "
            yield self.plans.raw(entry)
        yield "\n  ],\n" + tail

    def write(self, path: Path) -> None:
        """As PlanDocument.write (whole or not at all, never through a link), in constant memory; each plan's
        bytes go from the spool to the file as they are (a fleet's ~50 MB, never decoded and encoded again)."""
        files.ensure_dir(path.parent)
        with files.writing_atomic(path) as handle:
            for piece in self._pieces():
                handle.write(piece.encode("utf-8") if isinstance(piece, str) else piece)

    def materialize(self) -> PlanDocument:
        return PlanDocument.model_construct(environment=self.environment, shard=self.shard, plans=list(self.plans),
                                            errors=self.errors, skipped=self.skipped, identifiers=self.identifiers)

    def close(self) -> None:
        self._spool.close()


AnyDocument = PlanDocument | SpooledDocument

MAX_PLAN_BYTES = 64 * 1024 * 1024
# How planning one merchant fails: an error, a token refused or missing, an invalid merchant file.
PLAN_FAILURES = (ExitCode.ERROR, ExitCode.AUTH, ExitCode.INVALID_CONFIG)
MAX_PLAN_DEPTH = 32  # document, plans, a plan, changes, a change, fields, a field, values: ~12 in use


def most_severe(codes: Iterable[int]) -> int:
    """By PRECEDENCE; a code outside the contract counts as a plain error."""
    present = {code if code in _KNOWN else ExitCode.ERROR for code in codes}
    return int(next(code for code in PRECEDENCE if code in present or code == ExitCode.OK))


_KNOWN = {int(code) for code in ExitCode}


def read(path: Path) -> PlanDocument:
    """A plan document, or a bare plan file (one merchant's plan, as written before documents) as a document
    of one; or one line saying why not (exit 1). Only a regular file is read (a FIFO or a device is refused
    before it is opened for reading), of at most MAX_PLAN_BYTES and MAX_PLAN_DEPTH levels.

    A merchant listed as not planned can only have failed as planning fails (PLAN_FAILURES): nothing binds
    the errors (each plan is checked against a fresh one by `apply`), so an edited document could otherwise
    turn a failure into success (0), changes (2) or an outcome only an apply has (5, 7, 8)."""
    try:
        data: Any = files.loads(files.read_bytes(path, limit=MAX_PLAN_BYTES), depth=MAX_PLAN_DEPTH)
    except files.FileError as exc:
        raise ProvisionerError(f"{path}: not a plan file ({_one_line(exc.reason)})") from None
    except ValueError as exc:  # JSON and UTF-8 errors, and JSON nested too deeply
        raise ProvisionerError(f"{path}: not a plan file ({_one_line(str(exc))})") from None
    try:
        if isinstance(data, dict) and "plans" in data:
            return _failures_of_planning(path, _each_once(path, PlanDocument.model_validate(data)))
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the document"
        raise ProvisionerError(f"{path}: not a plan this version can apply ({_one_line(where)}: "
                               f"{_one_line(first['msg'])})") from None
    return PlanDocument(environment=plan.environment, plans=[plan])


def _failures_of_planning(path: Path, document: PlanDocument) -> PlanDocument:
    for index, error in enumerate(document.errors):
        if error.exit_code not in PLAN_FAILURES:
            raise ProvisionerError(f"{path}: not a plan this version can apply (errors.{index}.exit_code: "
                                   f"{error.exit_code} is not how planning a merchant fails: "
                                   f"{', '.join(str(int(c)) for c in PLAN_FAILURES)}); nothing was changed")
    return document


def _each_once(path: Path, document: PlanDocument) -> PlanDocument:
    """A merchant and environment planned twice is an edited document: refused before any plan is applied."""
    seen: set[tuple[str, str]] = set()
    for plan in document.plans:
        if (plan.merchant, plan.environment) in seen:
            raise ProvisionerError(f"{path}: not a plan this version can apply ({_one_line(plan.merchant)}/"
                                   f"{_one_line(plan.environment)} is planned twice); nothing was changed")
        seen.add((plan.merchant, plan.environment))
    return document


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)[:200]


def merge(documents: list[PlanDocument]) -> PlanDocument:
    """Shards back into one run: the same environment, every merchant once."""
    if not documents:
        raise ProvisionerError("no plan document to merge")
    environments = sorted({d.environment for d in documents})
    if len(environments) > 1:
        raise ProvisionerError(f"the plans are for different environments ({', '.join(environments)}); "
                               "report one environment at a time")
    merged = PlanDocument(environment=environments[0])
    seen: dict[str, str] = {}
    for index, document in enumerate(documents):
        label = document.shard or f"document {index + 1}"
        for merchant in sorted(document.merchants):
            if merchant in seen:
                raise ProvisionerError(f"{merchant} is in both {seen[merchant]} and {label}; were the shards "
                                       "made with the same --shard N?")
            seen[merchant] = label
        merged.plans.extend(document.plans)
        merged.errors.extend(document.errors)
        merged.skipped.extend(document.skipped)
        merged.identifiers.update(document.identifiers)
    return merged.sort()


def json_schema() -> dict[str, Any]:
    schema = PlanDocument.model_json_schema()
    schema["$id"] = "https://provisioner.invalid/schemas/plan.schema.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "provision plan"
    return schema
