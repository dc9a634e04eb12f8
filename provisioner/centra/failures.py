"""What can go wrong talking to Centra, as errors with their exit codes, and how a server's own text is
shown in them: escaped (no control character, no terminal sequence, no `##[` a CI runner would act on)
and cut to a length, saying so. Every message names the endpoint and what was wrong; none carries a
header value or a variable, which may hold a secret.

ProvisionerError (exit 1)
└── CentraError                  exit 1: Centra answered with something other than success
    ├── BadReply                 exit 1: an answer not of the shape Centra documents
    ├── RequestTooSlow           exit 1: an answer not finished within the request's deadline
    ├── RetryBudgetSpent         exit 1: a retry would end past the command's retry budget
    └── MutationRejected         exit 1: HTTP 200 with `userErrors`; nothing was changed
AuthError (exit 3)
└── PermissionDenied             exit 3: the token lacks a permission
"""

from __future__ import annotations

from typing import Any

from provisioner.errors import AuthError, ExitCode, ProvisionerError
from provisioner.escape import terminal

QUOTE_LIMIT = 200  # characters of a server's text shown in one message


def shown(text: object, limit: int = QUOTE_LIMIT, *, partial: bool = False) -> str:
    """`text` from a server, safe on one line of a terminal or a CI log, cut to `limit` characters and
    saying so (`partial`: the text is the start of an answer that was not read whole)."""
    whole = str(text)
    body = terminal(whole[:limit], limit=limit)
    if len(whole) > limit:
        return f"{body}… (cut: {limit} of {len(whole)}{'+' if partial else ''} characters shown)"
    return f"{body}… (cut: the rest was not read)" if partial else body


class CentraError(ProvisionerError):
    """Centra answered with something other than success."""

    exit_code = ExitCode.ERROR


class BadReply(CentraError):
    """An answer that is not what Centra documents: not JSON, not a GraphQL response, data of another
    shape than the operation selects, `userErrors` that are not a list of messages, an introspection a
    schema cannot be built from, too large to read. Not retried: a server that answers so once will."""

    exit_code = ExitCode.ERROR


class RequestTooSlow(CentraError):
    """An answer still not complete when the request's deadline passed (a server dripping bytes)."""

    exit_code = ExitCode.ERROR


class RetryBudgetSpent(CentraError):
    """A retry was due, but its wait would end past the command's retry budget."""

    exit_code = ExitCode.ERROR


class PermissionDenied(AuthError):
    def __init__(self, permission: str, message: str) -> None:
        self.permission = permission
        super().__init__(message)


class MutationRejected(CentraError):
    """HTTP 200 with `userErrors`: nothing was changed."""

    SHOWN = 5  # userErrors quoted in the message; the rest are counted

    def __init__(self, operation: str, user_errors: list[dict[str, Any]]) -> None:
        self.user_errors = user_errors
        details = "; ".join(f"{shown('.'.join(str(p) for p in e.get('path') or []) or '-', 80)}: "
                            f"{shown(e.get('message', ''))}" for e in user_errors[:self.SHOWN])
        more = len(user_errors) - self.SHOWN
        super().__init__(f"{operation} was rejected by Centra: {details}"
                         + (f" (and {more} more)" if more > 0 else ""))
