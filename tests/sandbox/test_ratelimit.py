"""Rate limits: 429 with a Retry-After timestamp, quotas reported by `rateLimits`."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

from provisioner.sandbox.instance import Sandbox
from tests.sandbox.conftest import Call, sandbox_request


def test_over_quota_gets_429_with_a_retry_after_timestamp(call: Call, box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/rate-limits", {"quotas": {"REQUEST_COUNT": [3, 100]}})
    statuses = [call("{ stores { id } }").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = call("{ stores { id } }")
    retry_at = parsedate_to_datetime(response.headers["retry-after"]).timestamp()
    assert time.time() < retry_at <= time.time() + 11


def test_mutations_have_their_own_quota(call: Call, box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/rate-limits", {"quotas": {"MUTATION_COUNT": [1, 100]}})
    mutation = "mutation { setEventListeners(input: [{objectType: Order}]) { userErrors { message } } }"
    assert call(mutation).status == 200
    assert call(mutation).status == 429
    assert call("{ stores { id } }").status == 200


def test_rate_limits_query_reports_quotas_and_usage(call: Call, box: Sandbox) -> None:
    call("{ stores { id } }")
    limits = call("{ rateLimits { type intervalSeconds quota usedQuota remainingQuota } }",
                  token=None).payload()["data"]["rateLimits"]
    requests = {item["intervalSeconds"]: item for item in limits if item["type"] == "REQUEST_COUNT"}
    assert requests["TEN_SECONDS"] == {"type": "REQUEST_COUNT", "intervalSeconds": "TEN_SECONDS", "quota": 60,
                                       "usedQuota": 2, "remainingQuota": 58}
    assert requests["ONE_HOUR"]["quota"] == 5000
    assert {item["type"] for item in limits} == {"REQUEST_COUNT", "MUTATION_COUNT", "QUERY_COMPLEXITY"}


def test_rate_limits_needs_no_permission(call: Call, box: Sandbox) -> None:
    from tests.sandbox.conftest import new_token
    token = new_token(box, ["Order:read"])
    body = call("{ rateLimits { type } }", token=token).payload()
    assert "errors" not in body and body["extensions"]["permissionsUsed"] == []
