"""The risk of a planned change: what makes it critical (it needs a confirmation and is called out in the
pull request) or a warning, and why, in the words the plan shows."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.policy.risk import assess


def field(path: str, **change: Any) -> dict[str, Any]:
    return {"path": path, **change}


# case: (kind, action, fields, risk, reasons)
CASES: dict[str, tuple[str, str, list[dict[str, Any]], str, list[str]]] = {
    "a delete": ("attribute_type", "delete", [field("group", before="order")], "critical", ["deletes a live object"]),
    "a token granted admin": ("api_token", "update", [field("permissions", added=["admin"], removed=[])],
                              "critical", ["grants the admin permission"]),
    "a token created with admin among writes": ("api_token", "create",
                                                [field("permissions", added=["Order:write", "admin"])], "critical",
                                                ["grants the admin permission"]),
    "a token granted writes": ("api_token", "update", [field("permissions", added=["Customer:read", "Order:write"])],
                               "warning", ["grants write permissions: Order:write"]),
    "a token granted reads": ("api_token", "update", [field("permissions", added=["Customer:read"])], "info", []),
    "a token losing admin": ("api_token", "update", [field("permissions", added=[], removed=["admin"])], "info", []),
    "a plugin deactivated": ("plugin", "update", [field("status", before="active", after="inactive")], "critical",
                             ["deactivates a live object"]),
    "a tax group deactivated": ("tax_group", "update", [field("status", before="active", after="inactive")],
                                "critical", ["deactivates a live object"]),
    "a plugin activated": ("plugin", "update", [field("status", before="inactive", after="active")], "info", []),
    "a webhook URL changed": ("plugin_settings", "update", [field("url", before="(attested value differs)",
                                                                  after="https://centra.global-e.com/hook")],
                              "warning", ["changes the webhook URL"]),
    "a webhook URL first attested": ("plugin_settings", "create", [field("url", before="(not attested)",
                                                                         after="https://x.example")], "info", []),
    "a tax rate changed": ("tax_group", "update", [field("rules.GE Local VAT.rate", before=19.0, after=20.0)],
                           "warning", ["changes a tax rate (rules.GE Local VAT.rate)"]),
    "a tax rate of a new group": ("tax_group", "create", [field("rules.GE Local VAT.rate", after=20.0)], "info", []),
    "a secret changed": ("plugin_settings", "update", [field("secret", before="(attested value differs)",
                                                             after="(sensitive)", sensitive=True)],
                         "warning", ["changes a secret (secret)"]),
    "a secret first attested": ("plugin_settings", "create", [field("secret", after="(sensitive)", sensitive=True)],
                                "info", []),
    # stores are names, not permissions: a store called "admin" grants nothing
    "a token given stores": ("api_token", "update", [field("stores", added=["admin", "EU:write"])], "info", []),
    "a rename of an element": ("attribute_type", "update", [field("elements.x.description", before="a", after="b")],
                               "info", []),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_risk_of_a_change_and_why(case: str) -> None:
    kind, action, fields, risk, reasons = CASES[case]
    assert assess(kind, action, fields) == (risk, reasons)


def test_writes_a_preset_declares_are_no_risk_and_writes_beyond_it_are_named() -> None:
    from provisioner.policy.risk import preset_permissions

    expected = preset_permissions(["global-e"], "Global-e integration")
    assert "Order:write" in expected and "Anonymize:write" not in expected and "CentraIP:read" not in expected
    assert preset_permissions(["global-e"], "Another token") == frozenset()
    assert preset_permissions(["no-such-preset"], "Global-e integration") == frozenset()
    standard = [field("permissions", added=sorted(expected))]
    assert assess("api_token", "create", standard, expected) == ("info", [])
    beyond = [field("permissions", added=[*sorted(expected), "Anonymize:write"])]
    assert assess("api_token", "create", beyond, expected) == (
        "warning", ["grants write permissions beyond its preset: Anonymize:write"])
    many = [field("permissions", added=[f"P{i}:write" for i in range(7)])]
    assert assess("api_token", "create", many)[1] == [
        "grants write permissions: P0:write, P1:write, P2:write, P3:write, P4:write and 2 more"]


def test_risk_is_shown_in_its_own_words_never_a_policy_severity() -> None:
    from provisioner.policy.findings import SEVERITIES
    from provisioner.policy.risk import RISKS, word

    assert [word(r) for r in RISKS] == ["low risk", "medium risk", "high risk"]
    assert not any(severity in word(r) for r in RISKS for severity in SEVERITIES)


def test_the_highest_risk_wins_and_every_reason_is_kept() -> None:
    fields = [field("url", before="a", after="b"), field("status", before="active", after="inactive"),
              field("secret", before="a", after="(sensitive)", sensitive=True)]
    assert assess("plugin_settings", "update", fields) == (
        "critical", ["changes the webhook URL", "deactivates a live object", "changes a secret (secret)"])
    # a warning after a critical does not lower it
    later = [field("status", after="inactive"), field("url", before="a", after="b")]
    assert assess("plugin", "update", later)[0] == "critical"
