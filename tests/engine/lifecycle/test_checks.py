"""`provision verify` and `provision doctor` against the sandbox."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import PLANTED, Outputs, converge, sandbox_call, tokens_named


def test_verify_probes_the_order_api_with_the_referenced_secret(project: Path, outputs: Outputs) -> None:
    assert outputs.run("verify", "acme", "--env", "sandbox").exit_code == 1
    converge(outputs, "acme")
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert "ok  plugin GE Order API secret: /api/ge-order-api accepts the secret" in result.output
    # Someone changes the secret in AMS behind the tool's back. (Changing the environment variable no
    # longer matters: the sandbox never uses a real environment's secret.)
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": "GE Order API",
                                                      "type": "order_api", "uri": "ge-order-api",
                                                      "settings": {"secret": "a-rotated-secret-in-ams"}})
    failed = outputs.run("verify", "acme", "--env", "sandbox")
    assert failed.exit_code == 1 and "answered status 'no'" in failed.output
    for text in outputs.texts:
        assert PLANTED["ACME_ORDER_API_SECRET"] not in text and "a-rotated-secret" not in text
    database = Path(".provision/sandbox/acme.db").read_bytes()
    assert PLANTED["ACME_ORDER_API_SECRET"].encode() not in database


def test_doctor_names_what_the_token_cannot_read(project: Path, outputs: Outputs) -> None:
    assert outputs.run("doctor", "acme", "--env", "sandbox").exit_code == 0
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}",
                 {"permissions": [p for p in admin["permissions"] if p not in ("TaxRule:read", "Event:read")]})
    result = outputs.run("doctor", "acme", "--env", "sandbox")
    assert result.exit_code == 3
    assert "tax_groups       managed      DENIED: needs TaxRule:read" in result.output
    assert "event_listeners  not managed  DENIED: needs Event:read" in result.output
    assert "cannot read tax_groups (needs TaxRule:read)" in result.stderr


def _stages(output: str) -> dict[str, bool]:
    marks = {}
    for line in output.splitlines():
        if line.startswith(("  ✓ ", "  ✗ ")):
            marks[line[4:].split(" (")[0]] = line.startswith("  ✓")
    return marks


ALL_READY = {"1. cart read": True, "2. order create": True, "3. payment capture": True, "4. order confirm": True,
             "5. order cancel": True}


def test_verify_passes_every_stage_on_a_converged_store(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert _stages(result.output) == ALL_READY
    assert "all 5 stages ready" in result.output


def test_a_deactivated_checkout_plugin_fails_the_cart_read(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": "Checkout API",
                                                      "type": "checkout_api", "status": "inactive"})
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 1
    assert _stages(result.output) == {**ALL_READY, "1. cart read": False}
    assert "✗ checkout plugin 'Checkout API' status: inactive" in result.output
    assert "not ready: 1. cart read" in result.stderr


def test_a_wrong_order_api_secret_fails_order_create_and_capture(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    # The secret in the store is not the one the file references (changed in AMS behind the tool's back).
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": "GE Order API",
                                                      "type": "order_api", "uri": "ge-order-api",
                                                      "settings": {"secret": "planted-wrong-secret-5e6f"}})
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 1
    assert _stages(result.output) == {**ALL_READY, "2. order create": False, "3. payment capture": False}
    assert "planted-wrong-secret" not in result.output + result.stderr


def test_a_token_without_order_write_fails_confirm_and_cancel(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    token = tokens_named("acme", "Global-e integration")[0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{token['id']}",
                 {"permissions": [p for p in token["permissions"] if p != "Order:write"]})
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 1
    assert _stages(result.output) == {**ALL_READY, "4. order confirm": False, "5. order cancel": False}
    assert "permissions: lacks Order:write" in result.output


def test_an_unreachable_order_api_names_the_url() -> None:
    import httpx

    from provisioner.engine.lifecycle.verify import probe_order_api

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with httpx.Client(base_url="https://acme.centraqa.com", transport=httpx.MockTransport(refuse)) as http:
        passed, detail = probe_order_api(http, "ge-order-api", "s3cret-value")
    assert not passed and detail == "no answer from https://acme.centraqa.com/api/ge-order-api/orders (ConnectError)"


def test_doctor_names_a_section_the_targets_schema_cannot_answer(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"drop": ["Query.taxGroups"]})
    result = outputs.run("doctor", "acme", "--env", "sandbox")
    assert result.exit_code == 0, result.output  # not a permission problem: the plan shows it as unknown
    assert "tax_groups       managed      NOT READABLE: the target's schema has no Query field listing TaxGroup" \
        in result.output
    assert "plugins          managed      readable" in result.output


def test_verify_says_why_plugins_are_unreadable_when_the_schema_is_the_reason(project: Path,
                                                                              outputs: Outputs) -> None:
    converge(outputs, "acme")
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"drop": ["Query.storePlugins"]})
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 1
    assert "plugins unreadable: the target's schema has no Query field listing StorePlugin" in result.output
    assert "None" not in result.output
