"""The `api` executor: changes made through the mutations capability discovery found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.centra import operations
from provisioner.centra.capabilities import Capabilities
from provisioner.centra.client import CentraClient, user_errors
from provisioner.config.resolve import DesiredState
from provisioner.engine.apply import commerce
from provisioner.engine.plan import live as plan_live
from provisioner.engine.plan.live import LiveState
from provisioner.engine.plan.model import Change
from provisioner.errors import ProvisionerError
from provisioner.resources import api_tokens


@dataclass(frozen=True)
class Outcome:
    summary: str
    secret: str | None = None  # a created token's value, for the secret sink only
    warning: str | None = None


class FoundExisting(ProvisionerError):
    """A token with the description this run was about to create appeared after the plan read the store:
    another run made it (another checkout or runner, sharing no lock with this one). This run creates none
    (or revokes the one it made in the same instant), and its value is wherever that run put it."""


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


def valid_ids(client: CentraClient, description: str) -> list[int]:
    """The ids of the store's valid tokens with this description, read now (oldest first)."""
    result = plan_live.run_listing(client, "token_lifetimes", "GraphQLAccess", allow_errors=True)
    accesses = result.data.get("graphQLAccesses") if isinstance(result.data, dict) else None
    if result.errors or not isinstance(accesses, list):
        raise ProvisionerError("cannot list the store's tokens to check that no other run created this one "
                               "meanwhile (listing tokens needs admin); nothing was created")
    return sorted(int(a["id"]) for a in accesses if isinstance(a, dict) and a.get("isValid") is True
                  and isinstance(a.get("user"), dict) and a["user"].get("name") == description)


def _create_once(client: CentraClient, caps: Capabilities, live: LiveState, change: Change,
                 token_input: dict[str, Any]) -> Outcome:
    """Create a token unless another run did since the plan read the store. Runs that share a lock never
    get here together; runs that do not (two checkouts, two runners) are caught by reading the store
    right before the create. Two that read in the same instant both create: each then reads again, and
    the token with the lower id is kept, so exactly one stays valid and its run delivers it."""
    seen = live.objects.get("api_token", {}).get(change.name)
    # Ids grow: what is newer than the token the plan saw (a rotation's lost one) is another run's.
    floor = int((change.after or {}).get("replaces_id") or (seen or {}).get("_id") or 0)
    newer = [i for i in valid_ids(client, change.name) if i > floor]
    if newer:
        raise FoundExisting(f"found token id {newer[-1]} with this description, created after this run read the "
                            "store (by another run of this merchant and environment, e.g. in another checkout); "
                            "not created again: its value is wherever that run stored it")
    token_id, value = create_token(client, caps, token_input)
    rivals = [i for i in valid_ids(client, change.name) if floor < i < token_id]
    if not rivals:
        return Outcome(f"created API token {change.name} (id {token_id})", secret=value)
    try:
        revoke(client, caps, token_id)
    except ProvisionerError as exc:
        return Outcome(f"created API token {change.name} (id {token_id})", secret=value,
                       warning=f"another run created token id {rivals[0]} '{change.name}' at the same moment and "
                               f"this run's (id {token_id}) could not be revoked ({exc}): two are valid, revoke one")
    raise FoundExisting(f"found token id {rivals[0]} with this description, created by another run at the same "
                        f"moment (e.g. in another checkout); this run's token id {token_id} was revoked at once "
                        "and its value stored nowhere: the value in use is wherever that run stored it")


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
            return _create_once(client, caps, live, change, token_input)
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
    if change.kind in commerce.KINDS:
        return Outcome(commerce.execute(client, caps, live, change, _mutate))
    raise ProvisionerError(f"no api executor for {change.kind}")
