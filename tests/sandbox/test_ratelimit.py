"""Rate limits: 429 with a Retry-After timestamp, quotas reported by `rateLimits`."""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime

from provisioner.sandbox import ratelimit
from provisioner.sandbox.instance import Sandbox
from tests.sandbox.conftest import Call, Clock, sandbox_request


def test_over_quota_gets_429_with_a_retry_after_timestamp(call: Call, box: Sandbox, clock: Clock) -> None:
    sandbox_request(box, "PUT", "/_sandbox/rate-limits", {"quotas": {"REQUEST_COUNT": [3, 100]}})
    statuses = [call("{ stores { id } }").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = call("{ stores { id } }")
    # 3 requests per 10 s: one comes back every 10/3 s; Centra's timestamp is in whole seconds, rounded up
    retry_at = parsedate_to_datetime(response.headers["retry-after"]).timestamp()
    assert retry_at == math.ceil(clock.now + 10 / 3)
    clock.advance(retry_at - clock.now)
    assert call("{ stores { id } }").status == 200


def test_mutations_have_their_own_quota(call: Call, box: Sandbox, clock: Clock) -> None:
    sandbox_request(box, "PUT", "/_sandbox/rate-limits", {"quotas": {"MUTATION_COUNT": [1, 100]}})
    mutation = "mutation { setEventListeners(input: [{objectType: Order}]) { userErrors { message } } }"
    assert call(mutation).status == 200
    assert call(mutation).status == 429
    assert call("{ stores { id } }").status == 200
    clock.advance(10)
    assert call(mutation).status == 200


def test_rate_limits_query_reports_quotas_and_usage(call: Call, box: Sandbox, clock: Clock) -> None:
    call("{ stores { id } }")
    limits = call("{ rateLimits { type intervalSeconds quota usedQuota remainingQuota } }",
                  token=None).payload()["data"]["rateLimits"]
    requests = {item["intervalSeconds"]: item for item in limits if item["type"] == "REQUEST_COUNT"}
    assert requests["TEN_SECONDS"] == {"type": "REQUEST_COUNT", "intervalSeconds": "TEN_SECONDS", "quota": 60,
                                       "usedQuota": 2, "remainingQuota": 58}
    assert requests["ONE_HOUR"]["quota"] == 5000
    assert {item["type"] for item in limits} == {"REQUEST_COUNT", "MUTATION_COUNT", "QUERY_COMPLEXITY"}
    clock.advance(1 / 6)  # 60 per 10 s: one request's token back every 1/6 s
    later = call("{ rateLimits { type intervalSeconds usedQuota } }").payload()["data"]["rateLimits"]
    assert [item["usedQuota"] for item in later if item["type"] == "REQUEST_COUNT" and
            item["intervalSeconds"] == "TEN_SECONDS"] == [2]  # one back, and this request took one


def test_rate_limits_needs_no_permission(call: Call, box: Sandbox) -> None:
    from tests.sandbox.conftest import new_token
    token = new_token(box, ["Order:read"])
    body = call("{ rateLimits { type } }", token=token).payload()
    assert "errors" not in body and body["extensions"]["permissionsUsed"] == []


def test_complexity_matches_centras_documented_examples(call: Call) -> None:
    limits = "{ rateLimits { type intervalSeconds quota usedQuota remainingQuota } }"
    assert call(limits).payload()["extensions"]["complexity"] == 10
    assert call("{ stores { id name } }").payload()["extensions"]["complexity"] == 121
    assert call("{ stores(limit: 2) { id name } }").payload()["extensions"]["complexity"] == 5


def test_buckets_refill_continuously(box: Sandbox) -> None:
    with box.store.transaction() as db:
        ratelimit.set_quotas(db, {"REQUEST_COUNT": (2, 100)})
        for _ in range(2):
            assert ratelimit.retry_at(db, False, 1000.0) is None
            ratelimit.record(db, 1000.0, is_mutation=False, complexity=1)
        assert ratelimit.retry_at(db, False, 1000.0) == 1005.0  # one token back after 5 s at 2 per 10 s
        assert ratelimit.retry_at(db, False, 1002.5) == 1005.0
        assert ratelimit.retry_at(db, False, 1005.0) is None  # not the whole 10 s window later
        ten = {b.interval: b for b in ratelimit.buckets(db, 1002.5) if b.type == "REQUEST_COUNT"}["TEN_SECONDS"]
        assert ten.as_graphql() == {"type": "REQUEST_COUNT", "intervalSeconds": "TEN_SECONDS", "quota": 2,
                                    "usedQuota": 2, "remainingQuota": 0}
        later = {b.interval: b for b in ratelimit.buckets(db, 1005.0) if b.type == "REQUEST_COUNT"}["TEN_SECONDS"]
        assert later.as_graphql()["usedQuota"] == 1 and later.as_graphql()["remainingQuota"] == 1


def test_admitting_a_request_records_it_and_a_refused_one_costs_nothing(box: Sandbox) -> None:
    with box.store.transaction() as db:
        ratelimit.set_quotas(db, {"REQUEST_COUNT": (2, 100)})
        assert ratelimit.admit(db, False, 1000.0, 1) is None
        assert ratelimit.admit(db, False, 1000.0, 1) is None
        assert ratelimit.admit(db, False, 1000.0, 1) == 1005.0
        assert ratelimit.admit(db, False, 1005.0, 1) is None  # the refusal took no token
        assert ratelimit.admit(db, False, 1005.0, 1) == 1010.0


def test_a_costly_query_waits_for_complexity_tokens(box: Sandbox) -> None:
    with box.store.transaction() as db:
        ratelimit.set_quotas(db, {"QUERY_COMPLEXITY": (100, 100_000)})
        ratelimit.record(db, 0.0, is_mutation=False, complexity=100)
        assert ratelimit.retry_at(db, False, 0.0, complexity=50) == 5.0  # 50 points at 10 per second
        assert ratelimit.retry_at(db, False, 5.0, complexity=50) is None
