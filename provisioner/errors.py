"""Expected failures, each carrying the exit code of the CLI contract (README: Exit codes).

ProvisionerError                 exit 1: anything expected that has no more precise class
├── AuthError                    exit 3: token invalid/expired (HTTP 403) or a permission missing
├── ConfigError                  exit 4: merchant files invalid; carries every Diagnostic found
├── PartialApplyError            exit 5
├── PolicyBlockedError           exit 6
├── StalePlanError               exit 7
└── NotConvergedError            exit 8

Anything else reaching the CLI is a bug and is reported as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2
    AUTH = 3
    INVALID_CONFIG = 4
    PARTIAL_APPLY = 5
    POLICY = 6
    STALE_PLAN = 7
    NOT_CONVERGED = 8


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place in a file; printed as `file:line:col: message`."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ProvisionerError(Exception):
    exit_code = ExitCode.ERROR


class AuthError(ProvisionerError):
    exit_code = ExitCode.AUTH


class ConfigError(ProvisionerError):
    exit_code = ExitCode.INVALID_CONFIG

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class PartialApplyError(ProvisionerError):
    exit_code = ExitCode.PARTIAL_APPLY


class PolicyBlockedError(ProvisionerError):
    exit_code = ExitCode.POLICY


class StalePlanError(ProvisionerError):
    exit_code = ExitCode.STALE_PLAN


class NotConvergedError(ProvisionerError):
    exit_code = ExitCode.NOT_CONVERGED
