"""`provision rotate`: create a token's successor with the same description and permissions, deliver
its value to a secret sink, and revoke the old token only once its consumer has the new one — on an
explicit confirmation, or later through a runbook step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import files
from provisioner.centra import capabilities as discovery
from provisioner.centra.client import CentraClient
from provisioner.config.resolve import DesiredState
from provisioner.engine.apply import executors, locking, runbook, sinks
from provisioner.engine.plan import live, planning, target
from provisioner.engine.state import journal
from provisioner.errors import AuthError, ProvisionerError
from provisioner.resources import KINDS, api_tokens


@dataclass
class Rotation:
    description: str
    new_id: int | None = None
    old_id: int | None = None
    delivered_to: str | None = None
    index: str | None = None  # with an env sink: the variable listing the token variable written
    revoked: list[int] = field(default_factory=list)
    runbook: Path | None = None


def _tokens(client: CentraClient) -> list[dict[str, Any]]:
    """Every token with its id, validity and description (several may share a description)."""
    result = live.run_listing(client, "token_lifetimes", "GraphQLAccess", allow_errors=True)
    if result.errors:
        raise AuthError("rotating needs to list the store's tokens, which needs admin")
    return list(result.data.get("graphQLAccesses") or [])


def _valid_ids(client: CentraClient, description: str) -> list[int]:
    return sorted(int(a["id"]) for a in _tokens(client)
                  if a["isValid"] and (a.get("user") or {}).get("name") == description)


def _revoke_step(state: DesiredState, rotation: Rotation, path: Path | None) -> Path:
    command = (f"provision rotate {state.merchant} --env {state.environment} "
               f"\"{rotation.description}\" --revoke {rotation.old_id}")
    step = runbook.Step(
        f"Revoke the old API token {rotation.description} (id {rotation.old_id})", "System > API Tokens", "manual",
        [f"{state.merchant}/{state.environment}/api_token/{rotation.description}"],
        [("Token", f"{rotation.description}, id {rotation.old_id} (not id {rotation.new_id}, its successor)"),
         ("When", f"after the consumer uses the new token from {rotation.delivered_to}"),
         ("Action", "X Revoke"), ("Or run", command)],
        verify="`provision plan` then reads one valid token with this description.",
        payload={"op": "token_revoke", "id": rotation.old_id, "name": rotation.description})
    generated_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    target_path = path or Path("out") / f"{state.merchant}.{state.environment}.rotate.runbook.md"
    files.ensure_dir(target_path.parent, owned=path is None)
    files.write_atomic(target_path, runbook.render(state, generated_at, [step]))
    return target_path


def rotate(merchant: str, environment: str, description: str, *, sink: str | None,
           confirm: Callable[[str], bool] | None, runbook_out: Path | None = None) -> Rotation:
    delivery = sinks.Delivery(sink)  # the same place `apply` gives this token
    state = planning.desired(merchant, environment)
    if api_tokens.KIND.token(state, description) is None:
        raise ProvisionerError(f"the merchant file of {merchant} declares no API token '{description}'")
    rotation = Rotation(description)
    # The same lock as apply: a rotation and an apply at once would each create a token.
    with locking.hold(state.merchant, state.environment, "rotate"), target.connect(state) as client:
        # Read first, as a plan does: the read refreshes a cached schema Centra has moved on from, and the
        # mutations are then found in the schema it read with.
        current, _ = live.read_current(client, list(KINDS), {api_tokens.KIND.kind})
        caps = discovery.discover(client)
        if caps.create_token is None:
            raise ProvisionerError("this Centra exposes no mutation to create tokens: rotate it by hand in AMS "
                                   "(System > API Tokens); nothing was changed")
        unreadable = current.unknown.get(api_tokens.KIND.kind)
        if unreadable is not None and unreadable.permission:
            raise AuthError(f"reading tokens needs {unreadable.permission}")
        if unreadable is not None:
            raise ProvisionerError(f"cannot read the tokens: {unreadable.message}")
        old = current.objects[api_tokens.KIND.kind].get(description)
        if old is None or not old["valid"]:
            raise ProvisionerError(f"no valid token '{description}' to rotate; `provision apply` creates it")
        rotation.old_id = int(old["_id"])
        address = f"{state.merchant}/{state.environment}/{api_tokens.KIND.kind}/{description}"
        record = journal.open_journal(state.merchant, state.environment)
        if address in record.unresolved_creates():
            raise ProvisionerError(f"an earlier run's create of '{description}' has an unknown outcome; run "
                                   "`provision apply` first to resolve it; nothing was changed")
        token_input = api_tokens.KIND.mutation_input(state, description, current.store_ids())
        # Journalled like apply's creates: a rotation killed here is resolved by the next apply (the
        # successor, if it was made, is revoked and replaced; the old token is left to its consumer).
        record.record(address, "create", "started", f"{planning.REPLACES}{rotation.old_id}")
        rotation.new_id, value = executors.create_token(client, caps, token_input)
        record.record(address, "create", "created", f"{planning.REPLACES}{rotation.old_id}")
        rotation.delivered_to = delivery.deliver(value, state.merchant, state.environment, description)
        rotation.index = delivery.finish()
        record.record(address, "create", "done", f"successor id {rotation.new_id}")
        question = (f"The new token is in {rotation.delivered_to}. Does its consumer use it now, so the old one "
                    f"(id {rotation.old_id}) can be revoked?")
        if confirm is not None and confirm(question) and caps.revoke_token is not None:
            executors.revoke(client, caps, rotation.old_id)
            rotation.revoked.append(rotation.old_id)
        else:
            rotation.runbook = _revoke_step(state, rotation, runbook_out)
    return rotation


def revoke_old(merchant: str, environment: str, description: str, token_id: int) -> Rotation:
    """The runbook's step done by the tool: revoke one superseded token, never the newest valid one."""
    state = planning.desired(merchant, environment)
    rotation = Rotation(description, old_id=token_id)
    with locking.hold(state.merchant, state.environment, "rotate --revoke"), target.connect(state) as client:
        valid = _valid_ids(client, description)
        caps = discovery.discover(client)
        if token_id not in valid:
            raise ProvisionerError(f"token {token_id} is not a valid token '{description}'; nothing was changed")
        if token_id == valid[-1]:
            raise ProvisionerError(f"token {token_id} is the newest valid '{description}': rotate first; "
                                   "nothing was changed")
        if caps.revoke_token is None:
            raise ProvisionerError("this Centra exposes no mutation to revoke tokens: revoke it in AMS "
                                   "(System > API Tokens > X Revoke)")
        executors.revoke(client, caps, token_id)
        rotation.revoked.append(token_id)
    return rotation
