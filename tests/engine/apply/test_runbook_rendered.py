"""The runbook as GitHub (or any CommonMark/GFM viewer) shows it: what a person copies into AMS is the
value, exactly; a secret is named with where a person (not only CI) finds it."""

from __future__ import annotations

import json
from pathlib import Path

from provisioner.engine.plan import planning
from tests.engine.conftest import Outputs
from tests.rendered import copied, render


def _runbook(outputs: Outputs) -> str:
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    return Path("out/acme.sandbox.runbook.md").read_text(encoding="utf-8")


def test_the_webhook_url_a_person_copies_is_the_url(project: Path, outputs: Outputs) -> None:
    text = _runbook(outputs)
    url = planning.desired("acme", "sandbox").webhook_url
    assert url is not None and "&" in url  # merchantId=…&domain=…: the character that was escaped
    assert copied(text, url)
    assert render(text).row("Webhook URL") == ["Webhook URL", url]
    assert "&amp;" not in text.split("<!--")[0]


def test_every_value_is_a_code_span_and_the_json_a_block(project: Path, outputs: Outputs) -> None:
    text = _runbook(outputs)
    page = render(text)
    assert page.row("Get orders starting with") == ["Get orders starting with", "Oldest"]
    assert "<td><code>Oldest</code></td>" in page.html
    blocks = [code for code in page.codes if code.startswith("{")]
    assert blocks and all(isinstance(json.loads(block), dict) for block in blocks)
    assert "<td>paste the JSON below</td>" in page.html  # an instruction is text, not a value to copy


def test_a_secret_is_named_with_where_a_person_finds_it(project: Path, outputs: Outputs) -> None:
    page = render(_runbook(outputs))
    secret = page.row("Secret API key")[1]
    assert "ACME_ORDER_API_SECRET" in secret and "where your team keeps it" in secret
    assert "ACME_ORDER_API_SECRET" in page.codes
    assert "copy it from the environment variable" not in page.text
