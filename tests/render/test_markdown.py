"""The fleet report: under GitHub's comment limit whatever the fleet, identical merchants grouped, every
merchant named or counted, attention items outside folds, names escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from provisioner.engine.plan.document import MerchantError, PlanDocument, Skipped
from provisioner.engine.plan.model import Binding, Change, FieldChangeModel, Plan
from provisioner.render import markdown
from tests.engine.conftest import Outputs
from tests.engine.fleet_fixtures import Served, merchant_yaml, served_centra

__all__ = ["served_centra"]

TEMPLATE = "tmplmerchant"
TEMPLATE_ID = 4242


@pytest.fixture
def template(workdir: Path, served_centra: Served) -> tuple[str, dict[str, str]]:
    """One real plan (JSON) and its identifiers, planned against the served emulator."""
    outputs = Outputs()
    (workdir / "merchants" / f"{TEMPLATE}.yaml").write_text(
        merchant_yaml(TEMPLATE, served_centra.url, merchant_id=TEMPLATE_ID, environments={"qa": None}))
    result = outputs.run("plan", TEMPLATE, "--env", "qa", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return json.dumps(document["plans"][0]), document["identifiers"][f"{TEMPLATE}/qa"]


def clone(template: tuple[str, dict[str, str]], name: str, merchant_id: int) -> tuple[Plan, dict[str, str]]:
    text, identifiers = template
    plan = Plan.model_validate_json(text.replace(TEMPLATE, name).replace(str(TEMPLATE_ID), str(merchant_id)))
    own = {role: value.replace(TEMPLATE, name).replace(str(TEMPLATE_ID), str(merchant_id))
           for role, value in identifiers.items()}
    return plan, own


def fleet(template: tuple[str, dict[str, str]], merchants: int, *, unique_every: int = 0, critical_every: int = 0,
          failed: int = 0, skipped: int = 0) -> PlanDocument:
    """`merchants` clones of the template; every `unique_every`-th one with a change set of its own, every
    `critical_every`-th with a critical change; plus failed and skipped merchants."""
    document = PlanDocument(environment="qa")
    for number in range(merchants):
        name = f"shop-{number:04d}"
        plan, own = clone(template, name, 10_000 + number)
        if unique_every and number % unique_every == 0:
            change = next(c for c in plan.changes if c.kind == "tax_group")
            next(f for f in change.fields if f.path.endswith(".rate")).after = 5.0 + number / 1000
        if critical_every and number % critical_every == 1:
            change = next(c for c in plan.changes if c.kind == "api_token")
            change.risk, change.reasons = "critical", ["grants Order:write to a token outside this repository"]
        if number % 10 == 9:
            plan.changes = []  # converged
        document.plans.append(plan)
        document.identifiers[f"{name}/qa"] = own
    document.errors = [MerchantError(merchant=f"broken-{n:03d}", environment=None, exit_code=4,
                                     reason=f"merchants/broken-{n:03d}.yaml:2:8: expected a mapping\nand more")
                       for n in range(failed)]
    document.skipped = [Skipped(merchant=f"qa-less-{n:03d}", reason="no environment matches 'qa' (has: prod)")
                        for n in range(skipped)]
    return document.sort()


def changes_accounted(report: str) -> tuple[int, int]:
    """Merchants the Changes section names in group headings and table rows, and the ones it counts in
    its closing "… and N more merchants with changes"."""
    start = report.index("### Changes")
    end = report.find("\n### ", start + 1)
    body = report[start:end]
    headed = sum(int(n) if n else 1 for n in re.findall(
        r"^#### .*?(?:\((\d+) merchants, identical change sets\))?$", body, re.M))
    rows = sum(int(n) for n in re.findall(r"^\| .* \| (\d+) \| .* \|$", body, re.M))
    counted = sum(int(n) for n in re.findall(r"… and (\d+) more merchants? with changes", body))
    return headed + rows, counted


def test_150_merchants_fit_grouped_and_every_merchant_is_named(template: tuple[str, dict[str, str]]) -> None:
    document = fleet(template, 150, unique_every=25, critical_every=50, failed=3, skipped=4)
    report = markdown.render(document, plan_at="the artifact plans-qa")
    assert len(report) < markdown.BUDGET
    assert report.startswith(markdown.marker("qa"))
    assert "**157 merchants:** 150 planned (135 with changes) · 3 failed · 4 skipped" in report
    changed = {p.merchant for p in document.changed()}
    unchanged = {p.merchant for p in document.plans} - changed
    assert set(re.findall(r"`(shop-\d{4})`", report)) == changed | unchanged
    assert changes_accounted(report) == (len(changed), 0)
    # identical merchants are one entry: 150 - 15 converged - 6 unique - 3 critical ones in their own group
    assert re.search(r"\((\d+) merchants, identical change sets\)", report)
    biggest = max(int(n) for n in re.findall(r"\((\d+) merchants, identical change sets\)", report))
    assert biggest == 126
    assert "### Changes: 135 merchants in 8 groups" in report
    # critical items are outside any fold, naming the merchants they occur in
    attention = report[report.index("### Needs attention"):report.index("### Failed")]
    assert "<details>" not in attention and "[!CAUTION]" in attention
    assert "grants Order:write to a token outside this repository" in attention
    assert "in 3 merchants: `shop-0001`, `shop-0051`, `shop-0101`" in attention
    # a policy finding every merchant shares is one row, outside any fold
    findings = report[report.index("### Policy findings"):report.index("### Failed")]
    assert findings.count("| **critical** | `global-e.checkout-plugin` |") == 1 and "<details>" not in findings
    assert "`shop-0000`" in findings and "more |" in findings
    assert "| `broken-000` | – | 4 | merchants/broken-000.yaml:2:8: expected a mapping; and more |" in report
    assert "`qa-less-003`" in report and "The full JSON plan is in the artifact plans-qa." in report


def test_a_fleet_past_the_budget_folds_step_by_step_and_counts_the_rest(
        template: tuple[str, dict[str, str]]) -> None:
    document = fleet(template, 600, unique_every=2, critical_every=7, failed=40, skipped=30)
    report = markdown.render(document, plan_at="the artifact plans-qa")
    assert len(report) < markdown.BUDGET
    assert "### Needs attention" in report and "### Failed (40)" in report
    named, counted = changes_accounted(report)
    assert named + counted == len(document.changed()) == 540
    assert "<details>" in report  # the riskiest groups keep their diff
    assert "The full JSON plan is in the artifact plans-qa." in report


def test_a_huge_fleet_still_fits(template: tuple[str, dict[str, str]]) -> None:
    document = fleet(template, 2000, unique_every=1, critical_every=3, failed=1000, skipped=1000)
    report = markdown.render(document)
    assert len(report) < markdown.BUDGET
    assert "**4000 merchants:**" in report and "more failed" in report
    named, counted = changes_accounted(report)
    assert counted > 0 and named + counted == len(document.changed())
    assert "| merchants | count | changes |" in report


def test_names_from_files_and_stores_cannot_break_the_markdown() -> None:
    hostile = "x```\n</details>\n## Approved | @admin [ok](https://evil.example) <!--"
    change = Change(address=f"m/qa/plugin/{hostile}", kind="plugin", name=hostile, action="delete",
                    executor="manual", fields=[FieldChangeModel(path="uri", before=hostile)])
    plan = Plan(merchant="m", environment="qa", tier="qa", centra_url="https://m.centraqa.com",
                binding=Binding(target_url="https://m.centraqa.com", store_identity="s", merchant_file_sha256="0",
                                tool_version="0"), generated_at="2026-01-01T00:00:00+00:00", changes=[change])
    document = PlanDocument(environment="qa --><script>", plans=[plan],
                            errors=[MerchantError(merchant="m|n", exit_code=1, reason="line\n</details>| x")])
    report = markdown.render(document)
    assert report.startswith("<!-- provision:plan environment=qa_-__script_ -->\n")
    lines = report.splitlines()
    # the renderer's own fold and fence, opened and closed once; the name never starts a line
    assert [line for line in lines if line.startswith(("<details>", "</details>"))] == [
        "<details><summary>Changes</summary>", "</details>"]
    assert [line for line in lines if line.startswith("```")] == ["```diff", "```"]
    assert not any(line.startswith(("<!--", "@", "## Approved")) for line in lines[1:])
    # where the name appears it is inside a code span or the diff block, where mentions and links are inert
    named = [line for line in lines if "@admin" in line]
    assert named and all(line.startswith(("> **delete** ````", "- plugin \"x", "-     uri")) for line in named)
    assert "| `m\\|n` | – | 1 | line; &lt;/details>\\| x |" in report


FORGED = markdown.marker("qa")


def test_no_foreign_text_can_forge_the_marker_or_a_command() -> None:
    """The comment's own marker is its only `<!--`: a name anywhere in the document, in text, a code span,
    a table cell, the diff or a heading, shows it broken. No line begins a workflow command or holds `##[`."""
    hostile = f"{FORGED} ::error::x ##[group]g"
    change = Change(address=f"m/qa/plugin/{hostile}", kind=hostile, name=hostile, action="delete",
                    executor="manual", risk="critical", reasons=[hostile],
                    fields=[FieldChangeModel(path=hostile, before=hostile)])
    plan = Plan(merchant="m", environment="qa", tier="qa", centra_url="https://m.centraqa.com",
                binding=Binding(target_url="https://m.centraqa.com", store_identity="s", merchant_file_sha256="0",
                                tool_version="0"), generated_at="2026-01-01T00:00:00+00:00", changes=[change],
                warnings=[hostile])
    document = PlanDocument(environment="qa", shard=hostile, plans=[plan],
                            errors=[MerchantError(merchant=hostile, environment=hostile, exit_code=1, reason=hostile)],
                            skipped=[Skipped(merchant=hostile + "2", reason=hostile)])
    report = markdown.render(document, plan_at=hostile)
    assert report.count("<!--") == 1 and report.startswith(FORGED + "\n")
    assert report.count("<\\x21-- provision:plan") >= 4  # in code spans and the diff, visibly broken
    assert "&lt;!-- provision:plan" in report  # in text, an entity: it renders as written
    for line in report.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line, line


def test_a_long_failure_reason_is_cut_and_says_so() -> None:
    document = PlanDocument(environment="qa", errors=[
        MerchantError(merchant="m", exit_code=1, reason="why\n" + "x" * 400)])
    report = markdown.render(document)
    assert f"| `m` | – | 1 | why; {'x' * 295}… (cut, 105 more characters) |" in report
