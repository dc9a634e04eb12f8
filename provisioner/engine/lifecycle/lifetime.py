"""How long the provisioner's own token has left: found among the store's tokens by its masked value
(Centra shows only the first characters of a token after creating it)."""

from __future__ import annotations

import time

from provisioner.centra.client import CentraClient, CentraError
from provisioner.engine.plan import live
from provisioner.policy.lifetime import Lifetime, describe


def own_token(client: CentraClient, value: str, window_days: int, now: float | None = None) -> Lifetime:
    try:
        result = live.run_listing(client, "token_lifetimes", "GraphQLAccess", allow_errors=True)
    except CentraError as exc:
        return Lifetime("info", f"expiry unknown ({exc})")
    if result.errors:
        return Lifetime("info", "expiry unknown: listing tokens needs admin")
    matches = [a for a in result.data.get("graphQLAccesses") or []
               if a["isValid"] and value.startswith(str(a["token"]).rstrip("…*. "))]
    if len(matches) != 1:
        return Lifetime("info", "expiry unknown: the token is not recognisable among the store's tokens")
    access = matches[0]
    return describe(f"the token '{access['user']['name']}'", float(access["expiresAt"]), window_days,
                    time.time() if now is None else now)
