"""The `api` executor: changes made through the mutations capability discovery found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioner.centra import operations
from provisioner.centra.capabilities import Capabilities
from provisioner.centra.client import CentraClient, CentraError, MutationRejected, denial, user_errors
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
    changed: bool = True  # False: found made by another run, not made again


class FoundExisting(ProvisionerError):
    """A token with the description this run was about to create appeared after the plan read the store:
    another run made it (another checkout or runner, sharing no lock with this one). This run creates none
    (or revokes the one it made in the same instant), and its value is wherever that run put it."""


def _mutate(client: CentraClient, file: str, field: str | None, variables: dict[str, Any]) -> dict[str, Any]:
    if field is None:
        raise ProvisionerError(f"the target exposes no mutation for {file}")
    # Sent as prepared once per process (no gql session per client): the same body, checks and errors.
    result = client.send(operations.renamed(file, field), variables, label=field)
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


def listed_valid(client: CentraClient) -> dict[str, list[int]]:
    """The ids of the store's valid tokens by description, read now (oldest first): one listing."""
    result = plan_live.run_listing(client, "token_lifetimes", "GraphQLAccess", allow_errors=True)
    accesses = result.data.get("graphQLAccesses") if isinstance(result.data, dict) else None
    if result.errors or not isinstance(accesses, list):
        raise ProvisionerError("cannot list the store's tokens to check that no other run created this one "
                               "meanwhile (listing tokens needs admin)")
    valid: dict[str, list[int]] = {}
    for access in accesses:
        if isinstance(access, dict) and access.get("isValid") is True and isinstance(access.get("user"), dict):
            valid.setdefault(str(access["user"].get("name")), []).append(int(access["id"]))
    return {name: sorted(ids) for name, ids in valid.items()}


def valid_ids(client: CentraClient, description: str) -> list[int]:
    """The ids of the store's valid tokens with this description, read now (oldest first)."""
    return listed_valid(client).get(description, [])


def valid_in(live: LiveState) -> dict[str, list[int]] | None:
    """The same, from a read of the live store (its token section: the newest token of each description
    and the others still valid); None when that read could not see the tokens."""
    tokens = live.objects.get("api_token")
    if tokens is None:
        return None
    return {name: sorted(([int(o["_id"])] if o.get("valid") else []) + [int(i) for i in o.get("_also_valid", [])])
            for name, o in tokens.items()}


@dataclass(frozen=True)
class Created:
    """A token this run created whose rivals are not checked yet: until then its value goes nowhere."""
    change: Change
    token_id: int
    value: str
    floor: int  # ids above it and below token_id, valid with this description, are another run's

    @property
    def summary(self) -> str:
        return f"created API token {self.change.name} (id {self.token_id})"


def _create_once(client: CentraClient, caps: Capabilities, live: LiveState, change: Change,
                 token_input: dict[str, Any], *, recheck: bool) -> Created:
    """Create a token unless another run did since the plan read the store. Runs that share a lock never
    get here together; runs that do not (two checkouts, two runners) are caught by the read under the
    lock, or, when that read is old (`recheck`: a question was asked, earlier changes took long), by
    listing the tokens again right before the create. Two runs that create in the same instant are
    resolved by `settle`, on the next read of the store."""
    seen = live.objects.get("api_token", {}).get(change.name)
    # Ids grow: what is newer than the token the plan saw (a rotation's lost one) is another run's.
    floor = int((change.after or {}).get("replaces_id") or (seen or {}).get("_id") or 0)
    newer = [i for i in valid_ids(client, change.name) if i > floor] if recheck else []
    if newer:
        raise FoundExisting(f"found token id {newer[-1]} with this description, created after this run read the "
                            "store (by another run of this merchant and environment, e.g. in another checkout); "
                            "not created again: its value is wherever that run stored it")
    token_id, value = create_token(client, caps, token_input)
    return Created(change, token_id, value, floor)


def settle(client: CentraClient, caps: Capabilities, created: Created, valid: list[int]) -> Outcome:
    """Keep a created token, or give way to another run's: `valid` are the ids of the valid tokens with its
    description, read after the create. Two runs that create in the same instant both see both tokens:
    the lower id is kept, so exactly one stays valid and its run delivers it; the other run revokes its
    own at once and stores its value nowhere."""
    rivals = [i for i in valid if created.floor < i < created.token_id]
    if not rivals:
        return Outcome(created.summary, secret=created.value)
    try:
        revoke(client, caps, created.token_id)
    except ProvisionerError as exc:
        return Outcome(created.summary, secret=created.value,
                       warning=f"another run created token id {rivals[0]} '{created.change.name}' at the same "
                               f"moment and this run's (id {created.token_id}) could not be revoked ({exc}): two "
                               "are valid, revoke one")
    raise FoundExisting(f"found token id {rivals[0]} with this description, created by another run at the same "
                        f"moment (e.g. in another checkout); this run's token id {created.token_id} was revoked at "
                        "once and its value stored nowhere: the value in use is wherever that run stored it")


@dataclass(frozen=True)
class Mutation:
    """A change made by one mutation whose input no earlier change's result decides, so it can go in one
    request with its neighbours (`send_together`): its operation, the root field the target names, its
    variables, and what its payload means (`outcome`, after its userErrors were checked)."""
    change: Change
    operation: str
    field: str
    variables: dict[str, Any]
    outcome: Callable[[dict[str, Any]], Outcome | Created]
    rejected: Callable[[MutationRejected], Outcome] | None = None  # a refusal that may be another run's doing


def mutation_for(client: CentraClient, caps: Capabilities, state: DesiredState, live: LiveState, change: Change,
              *, recheck: bool) -> Mutation | None:
    """`change` as a `Mutation`, or None when it is made otherwise (`execute`): it first reads the store (a
    token listing when the read under the lock is old, a market's countries), takes several mutations, or
    the target has no mutation for it."""
    if change.kind == "api_token" and change.action == "create" and not recheck and caps.create_token:
        seen = live.objects.get("api_token", {}).get(change.name)
        floor = int((change.after or {}).get("replaces_id") or (seen or {}).get("_id") or 0)
        token_input = api_tokens.KIND.mutation_input(state, change.name, live.store_ids())

        def created(payload: dict[str, Any]) -> Created:
            return Created(change, int(payload["accessToken"]["id"]), str(payload["accessToken"]["token"]), floor)

        return Mutation(change, "create_access_token", caps.create_token, {"input": token_input}, created)
    if change.kind == "warehouse" and change.action == "create" and caps.create_warehouse:
        def made(payload: dict[str, Any]) -> Outcome:
            return Outcome(f"created warehouse {change.name} (id {int(payload['warehouse']['id'])})")

        return Mutation(change, "create_warehouse", caps.create_warehouse, {"input": {"name": change.name}}, made,
                     rejected=lambda exc: _found_instead(client, change, exc))
    return None


def _found_instead(client: CentraClient, change: Change, exc: MutationRejected) -> Outcome:
    summary = commerce.found_instead(client, change, exc)
    return Outcome(summary, changed=False)


def send_together(client: CentraClient, writes: list[Mutation]) -> list[Outcome | Created | ProvisionerError]:
    """The writes in one request, in order (GraphQL runs a mutation's root fields one after another):
    each one's outcome, or the error that is its alone (its userErrors, an error on its field). An error
    of the request as a whole (refused, lost in transit) is raised: it is every write's."""
    operation = operations.together(tuple((w.operation, w.field) for w in writes))
    variables = {f"{operations.prefix(index)}{name}": value
                 for index, write in enumerate(writes) for name, value in write.variables.items()}
    result = client.send(operation, variables, label="+".join(w.field for w in writes), allow_errors=True)
    unplaced = [e for e in result.errors if not (isinstance(e.get("path"), list) and e["path"])]
    answers: list[Outcome | Created | ProvisionerError] = []
    for write, (key, _, _) in zip(writes, operation.shape, strict=True):
        assert key is not None  # each root field has a response key
        own = [e for e in result.errors if isinstance(e.get("path"), list) and e["path"][:1] == [key]]
        payload = result.data.get(key)
        errors = own or ([] if isinstance(payload, dict) else unplaced)
        if errors or not isinstance(payload, dict):
            answers.append(_field_error(client, write.field, errors))
            continue
        try:
            user_errors(payload, write.field)
            answers.append(write.outcome(payload))
        except (KeyError, TypeError, ValueError):  # no userErrors, and nothing made either: say so
            answers.append(CentraError(f"{write.field}: {client.endpoint} answered neither what it made nor why not"))
        except MutationRejected as exc:
            try:
                answers.append(write.rejected(exc) if write.rejected is not None else exc)
            except ProvisionerError as refused:
                answers.append(refused)
    return answers


def _field_error(client: CentraClient, field: str, errors: list[dict[str, Any]]) -> ProvisionerError:
    denied = [e for e in errors if (e.get("extensions") or {}).get("category") == "authorization"]
    if denied:
        return denial(denied[0], client.endpoint)
    # (a message was made one line and cut where the answer entered: `replies.interpret`)
    message = str(errors[0].get("message", "error")) if errors else "no answer for it"
    return CentraError(f"{field}: {client.endpoint} answered an error: {message}")


def execute(client: CentraClient, caps: Capabilities, state: DesiredState, live: LiveState,
            change: Change, *, recheck: bool = True) -> Outcome | Created:
    """Make one change. A token's create answers `Created`, for `settle` once the store is read again."""
    if change.kind == "api_token":
        if change.action == "delete":
            # A rotation names the lost token's id; the live view by name shows its successor.
            token_id = (change.before or {}).get("id") or live.objects["api_token"][change.name]["_id"]
            revoke(client, caps, token_id)
            return Outcome(f"revoked API token {change.name} (id {token_id})")
        token_input = api_tokens.KIND.mutation_input(state, change.name, live.store_ids())
        if change.action == "create":
            return _create_once(client, caps, live, change, token_input, recheck=recheck)
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
        summary = commerce.execute(client, caps, live, change, _mutate)
        return Outcome(summary, changed=not summary.startswith(commerce.FOUND))
    raise ProvisionerError(f"no api executor for {change.kind}")
