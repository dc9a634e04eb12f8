"""What a GitOps run did for each merchant: the words the PR comment, the tracking issue and the job
summary share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from provisioner.engine.plan import document as documents

INTERRUPTED = 130  # as a shell reports SIGINT, and as every other command exits on Ctrl-C
Status = Literal["applied", "unchanged", "waiting", "failed"]


@dataclass
class Outcome:
    merchant: str
    status: Status
    reason: str = ""
    pull: int | None = None
    exit_code: int = 0
    done: list[str] = field(default_factory=list)  # what was applied, one line per change
    secrets: list[str] = field(default_factory=list)  # where created tokens went, never a value


@dataclass
class Run:
    environment: str
    head: str
    record_before: str | None
    outcomes: list[Outcome] = field(default_factory=list)
    record_after: str | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C (or the runner's cancel): what was done is recorded, then exit 130

    def exit_code(self) -> int:
        if self.interrupted:
            return INTERRUPTED
        return documents.most_severe(o.exit_code for o in self.outcomes if o.status == "failed")
