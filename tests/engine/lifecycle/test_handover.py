"""`provision handover`: the environment's Global-e facts in a document; the secrets only in a sink."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from provisioner.config.secrets import sandbox_value
from provisioner.errors import ExitCode
from tests.engine.conftest import PLANTED, Outputs, converge, scan_for_secrets

TOKEN_SINK = Path(".provision/secrets/acme.sandbox.global-e-integration.token")


def test_handover_holds_the_gem_hosts_and_no_secret(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    result = outputs.run("handover", "acme", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    markdown = Path("out/acme.sandbox.global-e-handover.md").read_text()
    document = json.loads(Path("out/acme.sandbox.global-e-handover.json").read_text())
    assert "//intgepi.bglobale.com/includes/js/1808" in markdown
    assert 'href="//intgepi.bglobale.com/includes/css/1808"' in markdown
    assert "gepi.global-e.com" not in markdown
    assert document["checkout_plugin"] == {"name": "Checkout API", "type": "checkout_api", "uri": "checkout"}
    assert document["order_api"]["url"] == "https://acme.sandbox.invalid/api/ge-order-api"
    assert document["webhook_url"].startswith("https://centra-int.bglobale.com/webhooks/v1/")
    bundle = Path(".provision/secrets/acme.sandbox.global-e-handover.json")
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    values = json.loads(bundle.read_text())
    token = TOKEN_SINK.read_text().strip()
    # The sandbox's own stand-in: a real environment's secret never reaches the sandbox.
    sandbox_secret = sandbox_value("acme", "env:ACME_ORDER_API_SECRET")
    assert values == {"order_api_secret": sandbox_secret, "integration_api_token": token}
    assert document["secrets"]["order_api_secret"].startswith(f"{bundle} (mode 0600)")
    scan_for_secrets(project, outputs, [PLANTED["ACME_ORDER_API_SECRET"], sandbox_secret, token])


def test_a_production_handover_uses_the_production_gem_host() -> None:
    from provisioner.engine.lifecycle.handover import gem_tags

    tags = gem_tags("prod", 2231)
    assert "//gepi.global-e.com/includes/js/2231" in tags["script"]
    assert tags["css"] == '<link id="GEPIStyles" rel="stylesheet" href="//gepi.global-e.com/includes/css/2231" />'


def test_handover_to_ci_variables(project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    converge(outputs, "acme")
    env_file = project / ".provision" / "secrets" / "github_env"
    monkeypatch.setenv("PROVISION_ENV_FILE", str(env_file))
    result = outputs.run("handover", "acme", "--env", "sandbox", "--secret-sink", "env")
    assert result.exit_code == 0, result.output
    written = env_file.read_text()
    assert "GE_ORDER_API_SECRET<<" in written and "GE_INTEGRATION_API_TOKEN<<" in written
    scan_for_secrets(project, outputs, [PLANTED["ACME_ORDER_API_SECRET"], TOKEN_SINK.read_text().strip()])


def test_handover_without_the_token_value_writes_nothing(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    TOKEN_SINK.unlink()
    result = outputs.run("handover", "acme", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR and "--token-from" in result.stderr
    assert not Path("out/acme.sandbox.global-e-handover.md").exists()
    assert not Path(".provision/secrets/acme.sandbox.global-e-handover.json").exists()


def test_a_merchant_without_global_e_has_nothing_to_hand_over(project: Path, outputs: Outputs) -> None:
    result = outputs.run("handover", "dataline", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR and "not a Global-e merchant" in result.stderr
    assert not Path("out").exists() and not Path(".provision/secrets").exists()


def test_ci_variables_need_somewhere_to_go(project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ENV", raising=False)
    monkeypatch.delenv("PROVISION_ENV_FILE", raising=False)
    result = outputs.run("handover", "acme", "--env", "sandbox", "--secret-sink", "env")
    assert result.exit_code == ExitCode.ERROR and "$GITHUB_ENV" in result.stderr
    assert not Path("out").exists() and not Path(".provision/secrets").exists()


def test_handover_to_a_github_secret_store(project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.github import FakeGitHub

    converge(outputs, "acme")
    token = TOKEN_SINK.read_text().strip()
    with FakeGitHub("shop/fleet") as github:
        github.add_environment("qa")
        for name, value in github.env(token="unused", PROVISION_SECRETS_TOKEN=FakeGitHub.ADMIN_TOKEN).items():
            monkeypatch.setenv(name, value)
        result = outputs.run("handover", "acme", "--env", "sandbox", "--secret-sink", "github:env/qa")
        assert result.exit_code == 0, result.output
        names = github.secret_names(environment="qa")
        assert names == ["GE_INTEGRATION_API_TOKEN__ACME__SANDBOX__HANDOVER",
                         "GE_ORDER_API_SECRET__ACME__SANDBOX__HANDOVER"]
        assert github.secret(names[0], environment="qa") == token
    document = json.loads(Path("out/acme.sandbox.global-e-handover.json").read_text())
    assert "GE_ORDER_API_SECRET__ACME__SANDBOX__HANDOVER" in document["secrets"]["order_api_secret"]
    assert not Path(".provision/secrets/acme.sandbox.global-e-handover.json").exists()
    scan_for_secrets(project, outputs, [PLANTED["ACME_ORDER_API_SECRET"], token])


def test_the_handover_as_rendered_gives_each_value_exactly(project: Path, outputs: Outputs) -> None:
    from tests.rendered import copied, render

    converge(outputs, "acme")
    assert outputs.run("handover", "acme", "--env", "sandbox").exit_code == 0
    markdown = Path("out/acme.sandbox.global-e-handover.md").read_text()
    document = json.loads(Path("out/acme.sandbox.global-e-handover.json").read_text())
    assert "&" in document["webhook_url"]
    for value in (document["webhook_url"], document["order_api"]["url"], "1808", "Checkout API"):
        assert copied(markdown, value), value
    page = render(markdown)
    assert page.row("Webhook URL") == ["Webhook URL", document["webhook_url"]]
    assert "\n".join(document["gem"].values()) + "\n" in page.codes  # the storefront tags, one block
