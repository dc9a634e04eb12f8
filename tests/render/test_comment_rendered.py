"""The pull-request comment as GitHub renders it: what would fail the check comes first, in the words
`--fail-on` uses; a change's risk has words of its own; a value a person copies is shown exactly."""

from __future__ import annotations

from pathlib import Path

from provisioner.engine.plan import planning
from provisioner.engine.plan.document import PlanDocument
from provisioner.policy.findings import Finding
from provisioner.render import markdown
from tests.engine.conftest import project, sandbox_call

__all__ = ["project"]
from tests.rendered import render


def _document() -> PlanDocument:
    planned = planning.plan("acme", "sandbox")
    return PlanDocument(environment="sandbox", plans=[planned.plan])


def _with_finding(document: PlanDocument, severity: str, waived: str | None = None) -> PlanDocument:
    plan = document.plans[0]
    plan.findings = [*plan.findings, Finding(rule="global-e.webhook", severity=severity,  # type: ignore[arg-type]
                                             message="the webhook is off", fix="turn it on", waived=waived)]
    return document


def test_a_critical_policy_finding_leads_the_comment_and_fails_the_check(project: Path) -> None:
    comment = markdown.render(_with_finding(_document(), "critical"), fail_on="critical")
    page = render(comment)
    lines = [line for line in page.text.split("\n") if line.strip()]
    # after the title, GitHub's alert marker (a box on github.com), then the failure
    assert lines[1:3] == ["[!CAUTION]", lines[2]] and lines[2].startswith("This check fails"), lines[:4]
    assert "1 critical" in page.text.split("Change risk")[0]
    assert "global-e.webhook" in page.codes


def test_a_passing_check_says_so_first_and_counts_findings_by_severity(project: Path) -> None:
    comment = markdown.render(_with_finding(_document(), "warning"), fail_on="critical")
    lines = [line for line in render(comment).text.split("\n") if line.strip()]
    assert lines[1].startswith("This check passes at --fail-on critical. Policy findings: 0 critical, 1 warning")
    failing = markdown.render(_with_finding(_document(), "warning"), fail_on="warning")
    assert "This check fails" in render(failing).text.split("Change risk")[0]


def test_a_waived_finding_is_counted_apart(project: Path) -> None:
    comment = markdown.render(_with_finding(_document(), "critical", waived="known"), fail_on="critical")
    assert "Policy findings: 0 critical, 0 warning, 0 info (1 waived)." in render(comment).text


def test_risk_never_says_warning_or_critical(project: Path) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/attribute-types", {"ATTRIBUTE_TYPES": {"sh_swatch": {
        "description": "Swatch", "group": "product", "readonly": False, "multi": False, "elements": {}}}})
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text() + "attribute_types:\n  - {name: sh_swatch, absent: true}\n")
    comment = markdown.render(_document(), fail_on="critical")
    page = render(comment)
    risk = page.text.split("Change risk")[1].split("\n")[0]
    assert "1 high" in risk and "critical" not in risk and "warning" not in risk
    assert "high risk" in page.text and "deletes a live object" in page.text
    assert "[!WARNING]" not in comment  # GitHub's "Warning" box is a policy word; risk uses its own


def test_the_webhook_url_in_the_comment_is_the_url(project: Path) -> None:
    url = planning.desired("acme", "sandbox").webhook_url
    assert url is not None and "&" in url
    page = render(markdown.render(_document()))
    assert any(f'url = "{url}"' in code for code in page.codes)
    assert not any("&amp;" in code for code in page.codes)
