"""Revoking a token: an `api` change where the target exposes a mutation returning
`AccessTokenRevokePayload` (found by that type, whatever its name), a runbook step otherwise."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

from provisioner.centra import capabilities
from provisioner.centra.capabilities import Capabilities, from_schema
from provisioner.centra.client import CentraClient
from provisioner.resources import api_tokens
from tests.engine.conftest import Outputs, converge, sandbox_call, tokens_named


def _schema(*mutations: tuple[str, str]) -> GraphQLSchema:
    fields = "\n".join(f"{name}(id: Int!): {payload}!" for name, payload in mutations)
    # Each payload answers what the tool's revoke operation selects: found by type, confirmed by its fields.
    payloads = "\n".join(f"type {payload} {{ accessToken: A userErrors: [E!]! userWarnings: [E!]! }}"
                         for payload in {p for _, p in mutations})
    return build_schema(f"type Query {{ ok: Boolean }}\ntype A {{ id: Int isValid: Boolean }}\n"
                        f"type E {{ message: String path: [String!] }}\n{payloads}\ntype Mutation {{ {fields} }}")


def test_the_revoke_mutation_is_found_by_its_payload_type_under_any_name() -> None:
    found = from_schema(_schema(("accessTokenRevoke", "AccessTokenRevokePayload")))
    assert found.revoke_token == "accessTokenRevoke"


def test_no_mutation_returning_the_payload_means_no_revoke_capability() -> None:
    found = from_schema(_schema(("revokeAccessToken", "SomethingElsePayload")))
    assert found.revoke_token is None


def test_revoking_is_api_where_exposed_and_manual_otherwise() -> None:
    assert api_tokens.KIND.executor("delete", Capabilities(revoke_token="revokeAccessToken")) == "api"
    assert api_tokens.KIND.executor("delete", Capabilities()) == "manual"


def test_apply_revokes_an_absent_token_through_the_api(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": "Old reader", "permissions": ["Order:read"]})
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text().replace(
        "api_tokens:\n", "api_tokens:\n  - {description: Old reader, absent: true}\n"))
    plan = outputs.run("plan", "acme", "--env", "sandbox")
    assert '- api_token "Old reader"  (api)' in plan.output
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert result.exit_code == 0, result.output
    assert "done: revoked API token Old reader" in result.output
    assert [t["revoked"] for t in tokens_named("acme", "Old reader")] == [True]
    assert [t["revoked"] for t in tokens_named("acme", "Global-e integration")] == [False]
    again = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_without_the_mutation_revoking_is_a_runbook_step(project: Path, outputs: Outputs,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    converge(outputs, "acme")
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": "Old reader", "permissions": ["Order:read"]})
    found = capabilities.discover

    def without_revoke(client: CentraClient) -> Capabilities:  # a Centra version without the mutation
        return dataclasses.replace(found(client), revoke_token=None)

    monkeypatch.setattr(capabilities, "discover", without_revoke)
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text().replace(
        "api_tokens:\n", "api_tokens:\n  - {description: Old reader, absent: true}\n"))
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert result.exit_code == 0, result.output
    assert '- api_token "Old reader"  (manual)' in result.output
    runbook = Path("out/acme.sandbox.runbook.md").read_text()
    assert "Revoke the API token Old reader" in runbook and "X Revoke" in runbook
    assert [t["revoked"] for t in tokens_named("acme", "Old reader")] == [False]


def test_a_target_without_the_revoke_mutation_has_no_revoke_capability(project: Path) -> None:
    from provisioner.engine.plan import planning

    assert planning.plan("acme", "sandbox").capabilities.revoke_token == "revokeAccessToken"
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"drop": ["Mutation.revokeAccessToken"]})
    assert planning.plan("acme", "sandbox").capabilities.revoke_token is None
