"""Connect to the Centra of a resolved environment: the in-process sandbox, or a real store with
the environment's token."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from provisioner.centra.client import CentraClient
from provisioner.config import secrets
from provisioner.config.resolve import DesiredState
from provisioner.errors import AuthError


def _sandbox_transport(state: DesiredState) -> tuple[httpx.BaseTransport, str]:
    from provisioner.sandbox.instance import fixture_for, open_sandbox

    box = open_sandbox(fixture_for(state.spec))
    return box.transport(), box.admin_token


Route = Callable[[httpx.BaseTransport | None], httpx.BaseTransport]


def connect(state: DesiredState, *, on_wait: Callable[[float, str], None] | None = None,
            route: Route | None = None) -> CentraClient:
    """`route` lets a fleet run put every client on one shared, per-host-limited pool: it gets the
    sandbox's in-process transport (None for a real store) and answers the transport to use."""
    if state.is_sandbox:
        transport, token = _sandbox_transport(state)
        return CentraClient(state.centra_url, token, transport=route(transport) if route else transport,
                            on_wait=on_wait)
    return CentraClient(state.centra_url, own_token(state), transport=route(None) if route else None,
                        on_wait=on_wait)


# A newcomer's first `--env qa` has no token: say where to try the same command without one.
NO_CENTRA = "; without a Centra token, try it on the built-in emulator: --env sandbox"


def own_token(state: DesiredState) -> str:
    """The value of the token the tool itself connects with (for matching it among the store's tokens)."""
    if state.is_sandbox:
        return _sandbox_transport(state)[1]
    if state.token_ref is None:
        raise AuthError(f"environment {state.environment} names no token{NO_CENTRA}")
    try:
        return secrets.reveal(state.token_ref)
    except secrets.SecretUnavailable as exc:
        raise AuthError(f"{exc}{NO_CENTRA}") from None


def rest_client(state: DesiredState) -> httpx.Client:
    """Plain HTTP to the store, for the REST probes (Order API); the sandbox routes it in-process."""
    transport = _sandbox_transport(state)[0] if state.is_sandbox else None
    return httpx.Client(base_url=state.centra_url, transport=transport, timeout=15)


def reveal(state: DesiredState) -> Callable[[str], str | None]:
    """Secret references -> values for hashing attested settings; None where a real one is unset."""
    def value(ref: str) -> str | None:
        try:
            return secrets.reveal_for(state.merchant, ref, sandbox=state.is_sandbox)
        except secrets.SecretUnavailable:
            return None
    return value
