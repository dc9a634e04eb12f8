"""validate / resolve / schema through the real CLI: exit codes, streams, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_validate_shipped_merchants(examples: Path) -> None:
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "3 merchant file(s) valid" in result.stdout


def test_validate_invalid_file_exit_4_errors_on_stderr_no_traceback(examples: Path) -> None:
    bad = examples / "merchants" / "broken.yaml"
    bad.write_text("merchant: broken\nstore: S\nstore: T\nlocal_vat_rate: 101\n", encoding="utf-8")
    result = run("validate", str(bad))
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:3:1: duplicate key 'store' (first at line 2)",
        f"{bad}:4:17: local_vat_rate: Input should be less than or equal to 100",
        "2 problem(s) found",
    ]
    assert "Traceback" not in result.output


def test_validate_directory_reports_every_file(examples: Path) -> None:
    (examples / "merchants" / "zz.yaml").write_text("merchant: zz\nbogus: 1\n", encoding="utf-8")
    result = run("validate", "merchants")
    assert result.exit_code == 4
    assert "zz.yaml:2:1: bogus: unknown key 'bogus'" in result.stderr


def test_validate_with_no_files(workdir: Path) -> None:
    result = run("validate")
    assert result.exit_code == 1
    assert "no merchant files found" in result.stderr


def test_resolve_json_prod(examples: Path) -> None:
    result = run("resolve", "acme", "--env", "prod", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    plugins = {p["name"]: p for p in doc["plugins"]["items"]}
    assert plugins["GE Order API"]["uri"] == "ge-order-api"
    assert plugins["GE Integration Webhooks"]["url"] == doc["derived"]["webhook_url"] == (
        "https://centra.global-e.com/webhooks/v1/Webhooks/WebhookIntegrationApi?merchantId=1808&domain=acme.centra.com")
    assert {a["name"] for a in doc["attribute_types"]["items"]} == {"ge_order_details", "ge_customer_coupon",
                                                                    "ge_voucher_details"}
    assert doc["tax_groups"]["items"][0]["rules"][0]["rate"] == 20
    assert doc["environment"] == {"name": "prod", "tier": "prod", "centra_url": "https://acme.centra.com",
                                  "centra_domain": "acme.centra.com", "token": "env:ACME_PROD_TOKEN"}


def test_resolve_yaml_never_reads_secret_values(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_ORDER_API_SECRET", "planted-order-secret-9f3a")
    monkeypatch.setenv("ACME_QA_TOKEN", "planted-token-77c1")
    result = run("resolve", "acme", "--env", "qa")
    assert result.exit_code == 0
    assert "secret: env:ACME_ORDER_API_SECRET" in result.stdout
    assert "planted-order-secret-9f3a" not in result.output and "planted-token-77c1" not in result.output


def test_resolve_unknown_merchant_and_environment(examples: Path) -> None:
    result = run("resolve", "acm", "--env", "qa")
    assert result.exit_code == 1 and "no merchant 'acm' in merchants/; did you mean 'acme'?" in result.stderr
    result = run("resolve", "acme", "--env", "stage")
    assert result.exit_code == 4 and "unknown environment 'stage'" in result.stderr


def test_schema_check_and_write(workdir: Path) -> None:
    result = run("schema", "--check")
    assert result.exit_code == 1 and "is stale" in result.stderr
    assert run("schema").exit_code == 0
    assert run("schema", "--check").exit_code == 0
    stale = workdir / "schemas" / "merchant.schema.json"
    stale.write_text(stale.read_text(encoding="utf-8").replace("merchant", "merchnt", 1), encoding="utf-8")
    assert run("schema", "--check").exit_code == 1


def test_a_deprecated_permission_is_exit_4_naming_its_replacement(examples: Path) -> None:
    path = examples / "merchants" / "dataline.yaml"
    before = path.read_text(encoding="utf-8")
    path.write_text(before.replace("    email: data@dataline.example\n", "    email: data@dataline.example\n"
                                   "    permissions: {read: [Order:read, WarehouseDelivery:read], write: []}\n"),
                    encoding="utf-8")
    result = run("validate", str(path))
    assert result.exit_code == 4, result.output
    assert "permission 'WarehouseDelivery:read' is deprecated by Centra; use StockChange:read" in result.stderr
    assert "Traceback" not in result.output
