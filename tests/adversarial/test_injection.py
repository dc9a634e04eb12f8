"""Names from a live store or a merchant file that try to forge structure: a runbook step, a code fence,
`</details>`, a mention, a table pipe, an ANSI escape. Every output keeps its structure; the operator
performs exactly the real steps; a crafted runbook is refused before anything is done."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from provisioner import escape, runbook_format
from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs, sandbox_call, tokens_named

FORGED_STEP = '<!-- provision-step: {"op": "token_revoke", "name": "Global-e integration"} -->'
EVIL = f"Evil\n{FORGED_STEP}\n```\n</details>\n@everyone | cell \x1b[2J\x1b[H\u202eend -->"
ANSI = re.compile(r"\x1b\[")


def _exclusive_tokens(merchant: Path) -> None:
    text = merchant.read_text(encoding="utf-8")
    merchant.write_text(text.replace("api_tokens:\n", "api_tokens:\n  mode: exclusive\n  items:\n"), encoding="utf-8")


def test_a_store_name_cannot_forge_structure_anywhere(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": EVIL, "permissions": ["Order:read"]})
    _exclusive_tokens(Path("merchants/acme.yaml"))
    text = outputs.run("plan", "acme", "--env", "sandbox")
    assert "\x1b" not in text.output and "\\x1b[2J" in text.output and "\\u202e" in text.output
    assert "- api_token \"Evil\\n<!-- provision-step:" in text.output
    comment = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    lines = comment.splitlines()
    assert "\x1b" not in comment and "\u202e" not in comment
    # Structure: one details block, one fence, each opened and closed by the renderer's own lines.
    assert [line for line in lines if "details>" in line and "Evil" not in line] == [
        "<details><summary>Changes</summary>", "</details>"]
    assert [line for line in lines if line.startswith("```")] == ["```diff", "```"]
    body = lines[next(number for number, line in enumerate(lines) if line.startswith("Change risk")):]  # after summary
    assert not any(line.startswith(("<!--", "@", "|")) and "Evil" not in line for line in body)
    # The name itself stays inside a code span or the diff block, where HTML and mentions are inert.
    assert all(line.startswith(("> **delete** ````", "- api_token \"Evil")) for line in lines if "Evil" in line)

    applied = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert applied.exit_code == 0, applied.output + applied.stderr
    assert not ANSI.search(applied.output + applied.stderr)
    runbook = Path("out/acme.sandbox.runbook.md").read_text(encoding="utf-8")
    step_lines = [line for line in runbook.splitlines() if line.startswith("<!-- provision-step:")]
    header, steps = runbook_format.parse(runbook)
    assert len(step_lines) == len(steps) == header.steps
    assert all(line.startswith("<!-- provision-step: {") and line.count("-->") == 1 for line in step_lines)
    fences = [line for line in runbook.splitlines() if line.startswith("```")]
    assert set(fences) <= {"```json", "```"} and fences.count("```json") * 2 == len(fences)
    assert not any(line.startswith(("</details>", "@everyone", "<!-- provision-step: {\"op\"")) or "\x1b" in line
                   for line in runbook.splitlines())
    # The target exposes revocation, so the store's token is revoked through the API, not by a step.
    assert not any(isinstance(s, runbook_format.TokenRevoke) for s in steps)
    assert [t["revoked"] for t in tokens_named("acme", EVIL)] == [True]

    performed = outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md")
    assert performed.exit_code == 0, performed.output + performed.stderr
    assert len(performed.output.strip().splitlines()) == len(steps)
    assert [t["revoked"] for t in tokens_named("acme", "Global-e integration")] == [False]
    admin = tokens_named("acme", "Provisioner (sandbox admin)")
    assert [t["revoked"] for t in admin] == [False]  # exclusive mode never plans the tool's own token


def test_a_merchant_file_name_cannot_forge_a_step(project: Path, outputs: Outputs) -> None:
    merchant = Path("merchants/acme.yaml")
    forged = json.dumps(EVIL.replace("Evil", "Acme Tax"))  # a YAML double-quoted string is JSON-compatible
    rule = ("{name: r, display_name: VAT, code: V, rate: 5, countries: [SE], include_tax_in_prices: true, "
            "include_shipping_in_order_total: true}")
    merchant.write_text(merchant.read_text(encoding="utf-8") + f"tax_groups:\n  - name: {forged}\n"
                        f"    rules:\n      - {rule}\n", encoding="utf-8")
    validated = outputs.run("validate", "merchants/acme.yaml")
    assert validated.exit_code == 0, validated.output + validated.stderr
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    runbook = Path("out/acme.sandbox.runbook.md").read_text(encoding="utf-8")
    _, steps = runbook_format.parse(runbook)
    assert not any(isinstance(s, runbook_format.TokenRevoke) for s in steps)
    assert any(isinstance(s, runbook_format.TaxGroup) and s.group.name.startswith("Acme Tax\n") for s in steps)
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    assert [t["revoked"] for t in tokens_named("acme", "Global-e integration")] == [False]


CRAFTED = {
    "an extra step": lambda text: text + "\n" + FORGED_STEP + "\n",
    "a step that reads /etc/passwd": lambda text: text.replace(
        '"secret":{"ref":"env:ACME_ORDER_API_SECRET"}', '"secret":{"ref":"file:/etc/passwd"}'),
    "a step that reads another variable": lambda text: text.replace(
        '"secret":{"ref":"env:ACME_ORDER_API_SECRET"}', '"secret":{"ref":"env:HOME"}'),
    "an unknown op": lambda text: text.replace('{"config":', '{"op2":1,"config":', 1),
    "a broken comment": lambda text: text.replace(" -->", "", 3),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_runbook_is_refused_before_any_step(project: Path, outputs: Outputs, case: str) -> None:
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    path = Path("out/acme.sandbox.runbook.md")
    original = path.read_text(encoding="utf-8")
    crafted = CRAFTED[case](original)
    assert crafted != original
    path.write_text(crafted, encoding="utf-8")
    before = sandbox_call("acme", "GET", "/_sandbox/state")
    result = outputs.run("sandbox", "operator", str(path))
    assert result.exit_code == ExitCode.ERROR and "Traceback" not in result.stderr, result.stderr
    assert sandbox_call("acme", "GET", "/_sandbox/state") == before


def test_the_operator_refuses_undeclared_references_and_paths_outside_the_repository(project: Path) -> None:
    from provisioner.errors import ProvisionerError
    from provisioner.sandbox import operator
    from tests.engine.conftest import box

    def plugin(ref: str) -> runbook_format.Plugin:
        return runbook_format.Plugin(op="plugin", store="GlobalE Store", name="x", type="order_api", uri="x",
                                     status="active", settings={"secret": runbook_format.SecretRef(ref=ref)})

    for ref, why in (("env:HOME", "does not declare"), ("file:/etc/passwd", "does not declare")):
        with pytest.raises(ProvisionerError, match=why):
            operator.perform(box("acme"), "acme", plugin(ref))
    with pytest.raises(ProvisionerError, match="outside the repository"):
        operator.perform(box("acme"), "acme", plugin("file:../../etc/passwd"), {"file:../../etc/passwd"})


@pytest.mark.parametrize("name", [EVIL, "a|b", "`code`", "<script>", "line\r\nbreak", "\x9b31m", "@org/team"])
def test_escapes_keep_one_line_and_no_live_markup(name: str) -> None:
    for rendered in (escape.terminal(name), escape.md_text(name), escape.md_code(name, in_table=True)):
        assert "\n" not in rendered and "\r" not in rendered and "\x1b" not in rendered and "\x9b" not in rendered
    assert "<" not in escape.md_text(name) and "@" not in escape.md_text(name)
    assert "|" not in escape.md_text(name).replace("\\|", "")


@pytest.mark.parametrize("name", [EVIL, "a|b", "`code`", "<script>", "line\r\nbreak", "\\[x]*&amp;&#64;"])
def test_markdown_text_reads_back_to_what_was_escaped_and_escapes_again_safely(name: str) -> None:
    assert escape.md_plain(escape.md_text(name)) == escape.terminal(name)
    hostile = escape.md_text(escape.md_plain(name))  # any text, not only ours: escaped again before use
    assert "<" not in hostile and "\n" not in hostile and "@" not in hostile


def test_a_live_permission_name_cannot_forge_the_catalogue_warning(project: Path, outputs: Outputs) -> None:
    """Plans keep what the store said; each sink escapes it (text on the terminal, markdown in a comment)."""
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": "Other", "integration": "other",
                                                      "permissions": ["Order:read", EVIL]})
    text = outputs.run("plan", "acme", "--env", "sandbox").output
    assert "catalogue does not know" in text and "\\x1b[2J" in text
    assert not ANSI.search(text) and "\u202e" not in text
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "catalogue does not know" in markdown
    assert "</details>\n@everyone" not in markdown and "@everyone" not in markdown
    assert FORGED_STEP not in markdown and not ANSI.search(markdown)


def test_a_store_name_cannot_forge_the_comment_marker(project: Path, outputs: Outputs) -> None:
    """A workflow finds its comment by the hidden marker: a token named with one must not put a second
    marker into the body, wherever the name is shown (attention item, diff, table)."""
    forged = "<!-- provision:plan environment=sandbox --> `x` <!-- provision:plan environment=prod -->"
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": forged, "permissions": ["Order:read"]})
    _exclusive_tokens(Path("merchants/acme.yaml"))
    comment = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert comment.startswith("<!-- provision:plan environment=sandbox -->\n") and comment.count("<!--") == 1
    assert "environment=prod -->" in comment  # the name is still shown, its `<!--` broken visibly
