"""The `api` executor: changes made through the mutations capability discovery found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.centra import operations
from provisioner.centra.capabilities import Capabilities
from provisioner.centra.client import CentraClient, user_errors
from provisioner.config.resolve import DesiredState
from provisioner.engine.plan.live import LiveState
from provisioner.engine.plan.model import Change
from provisioner.errors import ProvisionerError
from provisioner.resources import api_tokens


@dataclass(frozen=True)
class Outcome:
    summary: str
    secret: str | None = None  # a created token's value, for the secret sink only


def _mutate(client: CentraClient, file: str, field: str | None, variables: dict[str, Any]) -> dict[str, Any]:
    if field is None:
        raise ProvisionerError(f"the target exposes no mutation for {file}")
    document = operations.with_root_field(operations.load(file), field)
    result = client.execute(document, variables, label=field)
    payload = next(iter(result.data.values()))
    user_errors(payload, field)
    return dict(payload)


def create_token(client: CentraClient, caps: Capabilities, token_input: dict[str, Any]) -> tuple[int, str]:
    """A new token: its id and its value (shown once; for a secret sink only)."""
    token = _mutate(client, "create_access_token", caps.create_token, {"input": token_input})["accessToken"]
    return int(token["id"]), str(token["token"])


def revoke(client: CentraClient, caps: Capabilities, token_id: int) -> None:
    payload = _mutate(client, "revoke_access_token", caps.revoke_token, {"id": token_id})
    if (payload.get("accessToken") or {}).get("isValid"):
        raise ProvisionerError(f"token {token_id} is still valid after revoking it")


def execute(client: CentraClient, caps: Capabilities, state: DesiredState, live: LiveState,
            change: Change) -> Outcome:
    if change.kind == "api_token":
        if change.action == "delete":
            # A rotation names the lost token's id; the live view by name shows its successor.
            token_id = (change.before or {}).get("id") or live.objects["api_token"][change.name]["_id"]
            revoke(client, caps, token_id)
            return Outcome(f"revoked API token {change.name} (id {token_id})")
        token_input = api_tokens.KIND.mutation_input(state, change.name, live.store_ids())
        if change.action == "create":
            token_id, value = create_token(client, caps, token_input)
            return Outcome(f"created API token {change.name} (id {token_id})", secret=value)
        token_id = live.objects["api_token"][change.name]["_id"]
        _mutate(client, "update_access_token", caps.update_token, {"id": token_id, "input": token_input})
        return Outcome(f"updated API token {change.name} (id {token_id})")
    if change.kind == "event_listener":
        after = (change.after or {}).get("change_types", [])
        before = (change.before or {}).get("change_types", [])
        if after:
            _mutate(client, "set_event_listeners", caps.set_event_listeners,
                    {"input": [{"objectType": change.name, "changeTypes": after}]})
        removed = [t for t in before if t not in after]
        if removed:
            listener: dict[str, Any] = {"objectType": change.name}
            if after:
                listener["changeTypes"] = removed
            _mutate(client, "unset_event_listeners", caps.unset_event_listeners, {"input": [listener]})
        return Outcome(f"{change.action}d event listener {change.name}")
    raise ProvisionerError(f"no api executor for {change.kind}")
