"""The comment's parts on small hand-made plan documents, read as GitHub renders them: the head says
what the check decides in `--fail-on`'s words, counts risks in their own, and lists failed, skipped and
unchanged merchants with their reasons."""

from __future__ import annotations

import re

from provisioner.engine.plan.document import MerchantError, PlanDocument, Skipped
from provisioner.engine.plan.model import Binding, Change, Plan
from provisioner.policy.findings import Finding
from provisioner.render import markdown
from tests.rendered import render


def _plan(merchant: str, changes: list[Change] | None = None, findings: list[Finding] | None = None) -> Plan:
    return Plan(merchant=merchant, environment="qa", tier="qa", centra_url=f"https://{merchant}.centraqa.com",
                generated_at="2026-01-01T00:00:00Z", changes=changes or [], findings=findings or [],
                binding=Binding(target_url="x", store_identity="x", merchant_file_sha256="x", tool_version="x"))


def _change(name: str, action: str = "create", risk: str = "info", executor: str = "manual") -> Change:
    return Change(address=f"m/qa/tax_group/{name}", kind="tax_group", name=name, action=action,  # type: ignore[arg-type]
                  executor=executor, risk=risk, reasons=["deletes a live object"] if risk == "critical" else [])


def _finding(severity: str, rule: str = "global-e.webhook", waived: str | None = None) -> Finding:
    return Finding(rule=rule, severity=severity, message="m", fix="f", waived=waived)  # type: ignore[arg-type]


def _lines(text: str) -> list[str]:
    return [line for line in render(text).text.split("\n") if line.strip()]


def test_the_head_counts_policy_findings_by_severity_and_risk_in_its_own_words() -> None:
    document = PlanDocument(environment="qa", plans=[
        _plan("acme", [_change("a", "delete", "critical"), _change("b", risk="warning"), _change("c")],
              [_finding("critical"), _finding("warning", "privilege.widening"), _finding("info", "token.expiry"),
               _finding("warning", "x.waived", waived="known")])])
    lines = _lines(markdown.render(document))
    assert lines[1] == "Policy findings: 1 critical, 1 warning, 1 info (1 waived)."
    assert "<strong>1 critical</strong>" in render(markdown.render(document)).html
    risk = next(line for line in lines if line.startswith("Change risk"))
    assert risk.endswith(": 1 high, 1 medium, 1 low.")
    table = render(markdown.render(document)).row("manual")
    assert table == ["manual", "2", "0", "1"]


def test_the_check_names_each_failing_rule_and_its_merchants() -> None:
    document = PlanDocument(environment="qa", plans=[_plan(name, [_change("a")], [_finding("critical")])
                                                     for name in ("acme", "nordwind")])
    document.plans.append(_plan("calm", [_change("a")], [_finding("warning", "privilege.widening")]))
    text = markdown.render(document, fail_on="critical")
    page = render(text)
    assert "This check fails: 2 policy finding(s) at critical or above (--fail-on critical)." in page.text
    assert "global-e.webhook: acme, nordwind" in page.text and "privilege.widening:" not in page.text
    assert "--fail-on critical" in page.codes
    assert "This check fails" in render(markdown.render(document, fail_on="warning")).text
    assert "3 policy finding(s) at warning" in render(markdown.render(document, fail_on="warning")).text


def test_a_passing_check_and_no_findings() -> None:
    document = PlanDocument(environment="qa", plans=[_plan("acme")])
    lines = _lines(markdown.render(document, fail_on="warning"))
    assert lines[1] == "This check passes at --fail-on warning. Policy findings: 0 critical, 0 warning, 0 info."
    assert "No changes (1)" in lines and "acme" in lines


def test_failed_and_skipped_merchants_are_listed_with_their_reasons() -> None:
    long_reason = "the store answered 503\n  " + "x" * 400
    document = PlanDocument(environment="qa", plans=[_plan("acme", [_change("a")])], errors=[
        MerchantError(merchant="broken", environment="qa", exit_code=4, reason="merchants/broken.yaml:3:1: bad"),
        MerchantError(merchant="down", exit_code=1, reason=long_reason)],
        skipped=[Skipped(merchant="dataline", reason="no environment matches 'qa' (has: prod)"),
                 Skipped(merchant="other", reason="no environment matches 'qa' (has: live)")])
    page = render(markdown.render(document))
    assert page.row("broken") == ["broken", "qa", "4", "merchants/broken.yaml:3:1: bad"]
    down = page.row("down")
    assert down[1:3] == ["–", "1"] and down[3].startswith("the store answered 503; xxx") and "(cut, " in down[3]
    assert "Failed (2)" in page.text and "Skipped (2)" in page.text
    assert "no environment matches 'qa': dataline, other" in page.text
    assert "5 merchants: 1 planned (1 with changes) · 2 failed · 2 skipped" in page.text


def test_an_empty_run_says_no_merchant_was_planned_and_where_the_plan_is() -> None:
    text = markdown.render(PlanDocument(environment="qa"), plan_at="artifact plan-qa")
    lines = _lines(text)
    assert "No merchant was planned." in lines
    assert lines[-1] == "The full JSON plan is in artifact plan-qa."
    assert text.splitlines()[0] == "<!-- provision:plan environment=qa -->"


def test_a_group_too_large_to_name_whole_names_the_first_sixty_and_counts_the_rest() -> None:
    names = [f"shop-{number:04d}-{'long' * 20}" for number in range(1_000)]
    document = PlanDocument(environment="qa", plans=[_plan(name, [_change("GE Local VAT")]) for name in names])
    text = markdown.render(document)
    assert len(text) <= markdown.BUDGET
    heading = next(line for line in text.splitlines() if line.startswith("#### "))
    assert heading.count("`shop-") == markdown.NAMES_IN_HEADING
    assert heading.endswith(" and 940 more (1000 merchants, identical change sets)")


def test_a_url_in_a_finding_is_shown_exactly_and_links_nowhere_else() -> None:
    from tests.rendered import copied

    url = "https://centra.global-e.com/webhooks/v1/Webhooks/WebhookIntegrationApi?merchantId=1808&domain=a.b"
    message = f"the webhook URL is {url}; Global-e expects https://x.example/?a=1&b=2."
    finding = Finding(rule="global-e.webhook-url", severity="critical", message=message, fix="Set it to " + url)
    text = markdown.render(PlanDocument(environment="qa", plans=[_plan("acme", [], [finding])]))
    assert copied(text, url) and copied(text, "https://x.example/?a=1&b=2")
    row = render(text).row("critical")
    assert row[2] == message and row[3] == "Set it to " + url
    assert "&amp;" not in "".join(render(text).links)


def test_the_findings_table_holds_one_row_per_finding_and_nothing_else() -> None:
    """Each shared finding is one row; the table ends where its rows do (a stray line right after a GFM
    table would be read as one more row)."""
    document = PlanDocument(environment="qa", plans=[
        _plan("acme", [_change("a")], [_finding("critical"), _finding("warning", "privilege.widening")]),
        _plan("nordwind", [_change("a")], [_finding("critical")])])
    page = render(markdown.render(document))
    rows = [cells for cells in page.cells if cells and cells[0] in ("critical", "warning", "info", "X")]
    assert [(cells[0], cells[1]) for cells in rows] == [("critical", "global-e.webhook"),
                                                        ("warning", "privilege.widening")]
    assert all(len(cells) == 5 for cells in page.cells if cells and cells[0] in ("critical", "warning"))
    assert not [cells for cells in page.cells if cells and cells[0] == "X"]
    assert re.search(r"<h3>Policy findings</h3>\s*<table>", page.html), page.html  # the heading, then the table


def test_a_rule_failing_in_many_merchants_names_the_first_and_counts_the_rest() -> None:
    names = [f"m{number:02d}" for number in range(11)]
    document = PlanDocument(environment="qa", plans=[_plan(name, [_change("a")], [_finding("critical")])
                                                     for name in names])
    page = render(markdown.render(document, fail_on="critical"))
    assert f"global-e.webhook: {', '.join(names[:8])} and 3 more" in page.text


def test_a_diff_too_long_for_the_comment_is_shortened_before_any_merchant_goes_unnamed() -> None:
    """The comment gives up detail one step at a time: a change set whose whole diff does not fit shows
    its first lines, and still names every merchant that has it."""
    from provisioner.engine.plan.model import FieldChangeModel

    fields = [FieldChangeModel(path=f"setting_{number:04d}", after="x" * 40) for number in range(2_000)]
    big = Change(address="m/qa/plugin/GE Order API", kind="plugin", name="GE Order API", action="update",
                 executor="manual", fields=fields)
    names = [f"shop-{number:03d}" for number in range(100)]
    document = PlanDocument(environment="qa", plans=[_plan(name, [big]) for name in names])
    text = markdown.render(document)
    assert len(text) <= markdown.BUDGET
    heading = next(line for line in text.splitlines() if line.startswith("#### "))
    assert heading.count("`shop-") == 100 and "more" not in heading  # every merchant named
    assert "setting_0000" in text and "setting_1999" not in text  # the diff, shortened


def test_findings_past_their_share_of_the_comment_are_counted_and_the_json_named() -> None:
    findings = [Finding(rule="global-e.webhook", severity="warning", message=f"finding {number:04d} " + "y" * 80,
                        fix="f") for number in range(2_000)]
    document = PlanDocument(environment="qa", plans=[_plan("acme", [_change("a")], findings)])
    text = markdown.render(document)
    assert len(text) <= markdown.BUDGET
    page = render(text)
    shown = [cells for cells in page.cells if cells and cells[0] == "warning"]
    assert 10 < len(shown) < 2_000
    assert f"… and {2_000 - len(shown)} more findings (every finding is in the JSON plan)" in page.text


BLOCKS = ("h2", "h3", "h4", "p", "table", "ul", "blockquote", "details", "pre", "hr")


def test_the_comment_is_its_sections_in_order_and_nothing_in_between() -> None:
    """The comment's shape as GitHub lays it out: each section a heading and its block, in the order a
    reviewer reads (what fails, the counts, what needs attention, findings, failures, changes, the rest).
    A stray line after a table is one more row, after a list one more paragraph: both would show here."""
    document = PlanDocument(environment="qa", plans=[
        _plan("acme", [_change("a", "delete", "critical"), _change("b")],
              [_finding("critical"), _finding("warning", "privilege.widening")]),
        _plan("nordwind", [_change("a", "delete", "critical"), _change("b")], [_finding("critical")]),
        _plan("calm")], errors=[MerchantError(merchant="broken", environment="qa", exit_code=4, reason="bad")],
        skipped=[Skipped(merchant="dataline", reason="no environment matches 'qa' (has: prod)")])
    page = render(markdown.render(document, fail_on="critical", plan_at="artifact plan-qa"))
    blocks = [tag for tag in re.findall(r"^<(\w+)", page.html, re.M) if tag in BLOCKS]
    assert blocks == ["h2", "blockquote", "p", "ul", "p", "table", "p",  # check, counts, executors, risk
                      "h3", "blockquote", "p",  # needs attention
                      "h3", "table",  # policy findings
                      "h3", "table",  # failed
                      "h3", "h4", "p", "details", "pre",  # changes: one group, its counts and diff
                      "h3", "p",  # no changes
                      "h3", "ul",  # skipped
                      "hr", "p"]  # where the JSON plan is
    assert page.html.count("<tr>") == 7  # executors 1+1, findings 1+2, failed 1+1
    # each list says its names and nothing more
    assert "<h3>No changes (1)</h3>\n<p><code>calm</code></p>\n<h3>Skipped (1)</h3>" in page.html
    assert re.findall(r"<h3>([^<]*)</h3>", page.html) == [
        "Needs attention", "Policy findings", "Failed (1)", "Changes: 2 merchants in 1 group", "No changes (1)",
        "Skipped (1)"]


def test_a_section_takes_exactly_its_allowance() -> None:
    section = markdown._Section(10)
    assert section.fits(["123456789"])  # nine characters and a line break: exactly ten
    assert not section.fits(["1234567890"]) and not section.fits(["123456789"], 1)
    section.add(["1234"])
    assert section.size == 5 and section.fits(["1234"]) and not section.fits(["12345"])


def test_groups_past_the_comment_s_budget_are_counted_exactly() -> None:
    """3,000 merchants each with its own change set: as many groups as fit are table rows, the rest
    counted (merchants and groups), and the comment stays within GitHub's limit."""
    document = PlanDocument(environment="qa", plans=[_plan(f"shop-{n:04d}", [_change(f"group-{n:04d}")])
                                                     for n in range(3_000)])
    text = markdown.render(document)
    assert len(text) <= markdown.BUDGET
    page = render(text)
    rows = [cells for cells in page.cells if cells and cells[0].startswith("shop-")]
    counted = re.search(r"<p>… and (\d+) more merchants with changes in (\d+) groups: the full JSON plan has every "
                        r"change\.</p>", page.html)  # the whole paragraph: nothing runs on after it
    assert counted is not None and counted.group(1) == counted.group(2)
    assert len(rows) + int(counted.group(1)) == 3_000 and len(rows) > 1_000
    assert [cells[0] for cells in rows] == [f"shop-{n:04d}" for n in range(len(rows))]  # in order, none twice
