"""The comment's size budget, pinned exactly: a comment built with a budget of B characters is at most B
long; each section keeps within the characters it is allowed, shows all of itself when given exactly its
own size and is shortened when given one character less, in the documented order (a shorter diff, fewer
names, a table row, then a count), and what it leaves out it counts, so shown and counted add up."""

from __future__ import annotations

import re
from collections.abc import Callable

from provisioner.engine.plan.document import MerchantError, PlanDocument, Skipped
from provisioner.engine.plan.model import Change, FieldChangeModel, SectionState
from provisioner.render import markdown
from tests.render.test_comment_parts import _change, _finding, _plan
from tests.rendered import render

size = markdown.size
Part = Callable[[int], list[str]]


def _keeps_its_allowance(part: Part, total: int, counted: Callable[[list[str]], int], *, exact: bool = True
                         ) -> list[str]:
    """`part(allowance)` for every allowance from what it shows with none (its heading and a count) to
    its whole size: never over the allowance, shown and counted add up to `total`, and (`exact`) given
    exactly the size of what it showed, it shows the same. Returns the whole part."""
    whole = part(10**6)
    for allowance in range(size(part(0)), size(whole) + 2):
        lines = part(allowance)
        assert size(lines) <= allowance, (allowance, lines)
        assert counted(lines) == total, (allowance, lines)
        assert not exact or part(size(lines)) == lines, allowance
    assert part(size(whole)) == whole and part(size(whole) - 1) != whole  # it fits exactly its size
    return whole


def _more(lines: list[str], pattern: str) -> int:
    return sum(int(n) for n in re.findall(pattern, "\n".join(lines)))


def _rows(lines: list[str]) -> list[str]:
    return [line for line in lines[4:] if line.startswith("| ")]  # after the heading and the table's head


def test_findings_keep_their_allowance_and_count_what_they_leave_out() -> None:
    rules = [f"rule-{n}" for n in range(6)]
    document = PlanDocument(environment="qa", plans=[_plan("acme", [], [_finding("warning", rule) for rule in rules])])
    whole = _keeps_its_allowance(lambda allowance: markdown._findings(document, allowance), 6,
                                 lambda lines: len(_rows(lines)) + _more(lines, r"… and (\d+) more findings?"))
    cut = markdown._findings(document, size(whole) - 1)
    # the line counting one left-out row is longer than the row: the two last rows give way to it
    assert _rows(cut) == _rows(whole)[:-2] and "… and 2 more findings (every finding is in the JSON plan)" in cut
    assert markdown._findings(document, size(markdown._findings(document, 0)))[-2:] == [
        "… and 6 more findings (every finding is in the JSON plan)", ""]


def test_a_finding_row_too_wide_names_three_merchants_before_the_finding_goes() -> None:
    names = [f"shop-{n:02d}" for n in range(20)]
    document = PlanDocument(environment="qa", plans=[
        _plan("acme", [], [_finding("critical", "rule-a"), _finding("critical", "rule-b")]),
        *[_plan(name, [], [_finding("info", "shared")]) for name in names]])
    whole = markdown._findings(document, 10**6)
    assert whole[-2].endswith(" and 4 more |")  # sixteen named
    narrower = render("\n".join(markdown._findings(document, size(whole) - 1)))
    assert narrower.row("info")[-1] == "shop-00, shop-01, shop-02 and 17 more"
    assert [cells[1] for cells in narrower.cells[1:]] == ["rule-a", "rule-b", "shared"]  # every finding stays


def test_failed_merchants_keep_their_allowance_and_the_rest_are_named_and_counted() -> None:
    errors = [MerchantError(merchant=f"broken-{n}", environment="qa", exit_code=4, reason=f"line {n}: bad")
              for n in range(5)]
    document = PlanDocument(environment="qa", errors=errors)
    whole = _keeps_its_allowance(lambda allowance: markdown._failed(document, allowance), 5,
                                 lambda lines: len(_rows(lines)) + _more(lines, r"… and (\d+) more failed"))
    cut = markdown._failed(document, size(whole) - 1)
    assert cut[-2:] == ["… and 1 more failed: `broken-4`", ""]
    page = render("\n".join(cut))  # the count is a paragraph of its own, not one more row of the table
    assert len(page.cells) == 5 and "</table>\n<p>… and 1 more failed: <code>broken-4</code></p>" in page.html
    assert markdown._failed(document, 0)[-2] == ("… and 5 more failed: `broken-0`, `broken-1`, `broken-2`, "
                                                 "`broken-3`, `broken-4`")


def _groups(count: int) -> PlanDocument:
    """`count` merchants, each with a change set of its own: one group each."""
    return PlanDocument(environment="qa", plans=[_plan(f"shop-{n}", [_change(f"group-{n}")]) for n in range(count)])


def test_groups_keep_their_allowance_as_headings_then_rows_then_a_count() -> None:
    document = _groups(5)
    where = "the full JSON plan is in artifact plan-qa"

    def counted(lines: list[str]) -> int:
        headed = len([line for line in lines if line.startswith("#### ")])
        rows = len([line for line in lines if line.startswith("| `shop-")])
        return headed + rows + _more(lines, r"… and (\d+) more merchants? with changes in \d+ groups?: " + where)

    # not exact: a group keeps its heading only while every later one could still be a table row, and
    # here a row is longer than a heading
    whole = _keeps_its_allowance(lambda allowance: markdown._changes(document, allowance, where), 5, counted,
                                 exact=False)
    assert "<details><summary>Changes</summary>" in whole  # given all it takes, every diff is shown
    counted = f"… and 5 more merchants with changes in 5 groups: {where}."
    assert markdown._changes(document, 0, where) == [  # no room for a row: no empty table either
        "### Changes: 5 merchants in 5 groups", "", "", counted, ""]


def test_a_diff_that_does_not_fit_whole_is_left_out_whole() -> None:
    """A diff shorter than the shortened form (DIFF_LINES) is shown whole or not at all: one character
    short, the group keeps its heading and counts, without a fold."""
    fields = [FieldChangeModel(path=f"setting_{n}", after="on") for n in range(10)]
    change = Change(address="m/qa/plugin/GE", kind="plugin", name="GE", action="update", executor="manual",
                    fields=fields)
    document = PlanDocument(environment="qa", plans=[_plan("acme", [change])])
    whole = markdown._changes(document, 10**6, "x")
    assert any("setting_9" in line for line in whole)  # the whole diff
    short = markdown._changes(document, size(whole) - 1, "x")
    assert short == [whole[0], "", "#### `acme`", "", "1 to update.", ""]


def test_a_comment_given_exactly_its_length_is_whole_and_one_less_loses_the_diff_first() -> None:
    document = PlanDocument(environment="qa", plans=[_plan(name, [_change("a"), _change("b", "delete")])
                                                     for name in ("acme", "nordwind")])
    text = markdown.render(document, plan_at="artifact plan-qa")
    assert markdown.render(document, plan_at="artifact plan-qa", budget=len(text)) == text
    shorter = markdown.render(document, plan_at="artifact plan-qa", budget=len(text) - 1)
    assert len(shorter) <= len(text) - 1 and "<details>" in text and "<details>" not in shorter
    assert "#### `acme`, `nordwind` (2 merchants, identical change sets)" in shorter


def _everything(count: int) -> PlanDocument:
    """Every section, each far larger than its share of a small budget."""
    plans = [_plan(f"shop-{n:03d}", [_change(f"g{n}", "delete" if n % 2 else "create", "warning")],
                   [_finding("warning", f"rule-{n}")]) for n in range(count)]
    plans += [_plan(f"calm-{n:03d}") for n in range(count)]
    return PlanDocument(environment="qa", plans=plans, errors=[
        MerchantError(merchant=f"broken-{n:03d}", environment="qa", exit_code=4, reason="bad " * 20)
        for n in range(count)], skipped=[Skipped(merchant=f"away-{n:03d}", reason=f"no environment matches 'qa{n % 3}'")
                                         for n in range(count)])


def test_a_comment_never_exceeds_its_budget_and_counts_every_merchant() -> None:
    document = _everything(120)
    for budget in range(6_000, 46_000, 777):
        text = markdown.render(document, plan_at="artifact " + "p" * 300, budget=budget)
        assert len(text) <= budget, budget
        if "more merchants with changes" in text:  # the changes take what the others left, to a row and a count
            assert len(text) > budget - 500, budget
        for heading in ("Needs attention", "Policy findings", "Failed (120)", "Changes: 120 merchants",
                        "No changes (120)", "Skipped (120)"):
            assert f"### {heading}" in text, (budget, heading)
        assert text.endswith(f"<sub>The full JSON plan is in artifact {'p' * 300}.</sub>\n")


def _part(text: str, heading: str) -> str:
    start = text.index(f"### {heading}")
    return text[start:text.index("\n### ", start + 1)]


def test_each_section_takes_at_most_its_share_of_what_is_left() -> None:
    """Needs attention may take 30 % of the comment; the findings 20 % of what it leaves; the failed
    merchants 20 % of the rest; the merchants without changes and the skipped ones 5 % each; the
    changes what remains."""
    document = _everything(200)
    budget = 30_000
    text = markdown.render(document, budget=budget)
    shares = {"Needs attention": 0.3, "Policy findings": 0.2 * 0.7, "Failed": 0.2 * 0.56}
    for heading, share in shares.items():
        assert 0.8 * share * budget < len(_part(text, heading)) <= share * budget, heading
    changes = len(_part(text, "Changes"))
    assert changes > 0.3 * budget
    # the merchants without changes and the skipped ones come after the changes, but take their shares first
    end = text.index("\n---\n")
    unchanged, skipped = _part(text, "No changes"), text[text.index("### Skipped"):end]
    left = budget - len(text) + len(unchanged) + len(skipped) + changes
    assert 0.05 * left - 20 < len(unchanged) <= 0.05 * left
    assert 0.05 * (left - len(unchanged)) - 20 < len(skipped) <= 0.05 * (left - len(unchanged))


def test_the_merchants_without_changes_are_named_while_they_fit_and_the_rest_counted() -> None:
    names = [f"calm-{n}" for n in range(9)]  # "and 9 more" at most: the count has one digit
    every = ", ".join(f"`{name}`" for name in names)
    for allowance in range(40, size(["### No changes (9)", "", every, ""]) + 2):
        lines = markdown._listed("No changes", names, allowance)
        assert size(lines) <= allowance and lines[:2] == ["### No changes (9)", ""] and lines[3] == ""
        shown = re.findall(r"`([^`]+)`", lines[2])
        assert shown == names[:len(shown)]
        if len(shown) < len(names):  # one name more would not have fitted
            assert lines[2].endswith(f" and {len(names) - len(shown)} more")
            left = len(names) - len(shown) - 1
            longer = ", ".join(f"`{name}`" for name in names[:len(shown) + 1]) + (f" and {left} more" if left else "")
            assert size(["### No changes (9)", "", longer, ""]) > allowance, allowance
    assert markdown._listed("No changes", names, size(["### No changes (9)", "", every, ""]))[2] == every


def _items(lines: list[str]) -> int:
    return len([line for line in lines if line.startswith("> **")])


def test_items_needing_attention_keep_their_allowance_and_are_counted_with_their_merchants() -> None:
    document = PlanDocument(environment="qa", plans=[
        *[_plan(f"del-{n}", [_change(f"d{n}", "delete", "critical")]) for n in range(3)],
        *[_plan(f"warn-{n}", [_change(f"w{n}", risk="warning")]) for n in range(3)]])
    whole = _keeps_its_allowance(lambda allowance: markdown._attention(document, allowance), 6,
                                 lambda lines: _items(lines) + _more(lines, r"… and (\d+) more items?"))
    boxes = render("\n".join(whole)).html
    assert boxes.count("<blockquote>") == 2 and boxes.index("[!CAUTION]") < boxes.index("[!IMPORTANT]")
    assert markdown._attention(document, 0) == [
        "### Needs attention", "", "> … and 6 more items in 6 merchants (every item is in the JSON plan)", ""]
    # cut inside the second box: the count goes on in it
    cut = markdown._attention(document, size(whole) - 1)
    assert cut[-3:] == [">", "> … and 1 more item in 1 merchant (every item is in the JSON plan)", ""]
    assert "> [!IMPORTANT]" in cut


def test_an_item_in_many_merchants_names_three_before_it_goes() -> None:
    document = PlanDocument(environment="qa", plans=[_plan(f"shop-{n:02d}", [_change("old", "delete", "critical")])
                                                     for n in range(20)])
    whole = markdown._attention(document, 10**6)
    assert whole[3].endswith("`shop-15` and 4 more")
    narrower = markdown._attention(document, size(whole) - 1)
    assert narrower[3].endswith("in 20 merchants: `shop-00`, `shop-01`, `shop-02` and 17 more")


def test_skipped_merchants_share_their_allowance_by_reason_and_the_rest_is_counted() -> None:
    skipped = [Skipped(merchant=f"a-{n}", reason="no environment matches 'qa' (has: prod)") for n in range(2)]
    skipped += [Skipped(merchant=f"z-{n:02d}", reason="on hold") for n in range(40)]
    document = PlanDocument(environment="qa", skipped=skipped)
    whole = markdown._skipped(document, 10**6)
    for allowance in range(size(markdown._skipped(document, 0)), size(whole) + 2):
        lines = markdown._skipped(document, allowance)
        assert size(lines) <= allowance and lines[:2] == ["### Skipped (42)", ""] and lines[-1] == ""
        if lines[2:-1] == markdown.MORE_SKIPPED:
            continue
        first, *second = lines[2:-1]
        assert first.startswith("- no environment matches 'qa': ")
        if allowance >= size([*lines[:3], "- on hold:  and 40 more", ""]):  # the second reason, counted, fits
            assert second != markdown.MORE_SKIPPED, allowance
        if second and second != markdown.MORE_SKIPPED:
            (held,) = second
            shown = len(re.findall(r"`z-\d\d`", held)) + _more([held], r" and (\d+) more")
            assert shown == 40 and held.startswith("- on hold: `z-00`")
            assert allowance - size(lines) < len("`z-00`, ") + 2  # the last reason takes what the first left
    assert markdown._skipped(document, size(whole)) == whole
    page = render(markdown.render(document))
    assert "<li>on hold: <code>z-00</code>" in page.html and page.html.count("<li>") == 2
    assert "<code>z-39</code></li>\n</ul>\n<hr />" in page.html  # the list ends where its names do


def test_reasons_too_long_for_the_allowance_are_left_to_the_json_plan() -> None:
    document = PlanDocument(environment="qa", skipped=[Skipped(merchant=f"m-{n}", reason=f"{n} " + "why " * 40)
                                                       for n in range(4)])
    for allowance in range(size(markdown._skipped(document, 0)), 800):
        lines = markdown._skipped(document, allowance)
        assert size(lines) <= allowance
    lines = markdown._skipped(document, 500)
    assert lines[-2:] == ["- … and more (every skipped merchant is in the JSON plan)", ""] and len(lines) == 6


def test_each_reason_gets_an_equal_share_of_the_skipped_list() -> None:
    reasons = ("first", "second", "third")
    document = PlanDocument(environment="qa", skipped=[Skipped(merchant=f"{reason[0]}-{n:02d}", reason=reason)
                                                       for reason in reasons for n in range(40)])
    lines = markdown._skipped(document, 600)
    assert [line.split(":")[0] for line in lines[2:-1]] == ["- first", "- second", "- third"]
    # a third each of what the heading leaves, less room for the "… and more" line while a reason is to
    # come; the last takes what is left, to a name
    assert all(150 < len(line) < 180 for line in lines[2:4]) and 600 - len("`t-26`, ") < size(lines) <= 600


def test_the_check_line_and_the_counts_are_paragraphs_of_their_own() -> None:
    document = PlanDocument(environment="qa", plans=[_plan("acme", [], [_finding("warning")])])
    html = render(markdown.render(document, fail_on="critical")).html
    assert ("<p>This check passes at <code>--fail-on critical</code>. Policy findings: 0 critical, 1 warning, "
            "0 info.</p>\n<p><strong>1 merchant:</strong>") in html
    assert html.count("<strong>") == 1  # no severity is bold unless a critical finding is there
    empty = render(markdown.render(PlanDocument(environment="qa"))).html
    assert "<p>No merchant was planned.</p>\n<hr />" in empty
    changed = render(markdown.render(PlanDocument(environment="qa", plans=[_plan("acme", [_change("a")])]))).html
    assert re.search(r"</table>\n<p>Change risk \(how carefully to read a change; not what the check acts on\): "
                     r"0 high, 0 medium, 1 low\.</p>\n<h3>", changed)


def test_a_section_with_nothing_to_say_is_left_out() -> None:
    calm = render(markdown.render(PlanDocument(environment="qa", plans=[_plan("acme")]))).html
    assert re.findall(r"<h3>([^<]*)</h3>", calm) == ["No changes (1)"]
    changed = render(markdown.render(PlanDocument(environment="qa", plans=[_plan("acme", [_change("a")])]))).html
    assert re.findall(r"<h3>([^<]*)</h3>", changed) == ["Changes: 1 merchant in 1 group"]


def test_sections_that_could_not_be_read_are_counted_in_the_head() -> None:
    unread = SectionState(state="unknown", message="403 for Order:read")
    plans = [_plan(name) for name in ("acme", "nordwind")]
    for plan in plans:
        plan.sections = {"orders": unread, "tax_groups": SectionState(state="managed")}
    page = render(markdown.render(PlanDocument(environment="qa", plans=plans)))
    assert "<p>2 sections could not be read (unknown).</p>" in page.html


def test_the_head_names_a_shard_only_when_there_is_one_and_counts_are_their_own_paragraph() -> None:
    plain = render(markdown.render(PlanDocument(environment="qa", plans=[_plan("acme")]))).html
    assert "<h2>provision plan · <code>qa</code></h2>\n<p>Policy findings: 0 critical, 0 warning, 0 info.</p>" in plain


def test_a_rule_failing_in_exactly_as_many_merchants_as_a_row_names_counts_no_more() -> None:
    names = [f"m{number}" for number in range(8)]
    document = PlanDocument(environment="qa", plans=[_plan(name, [_change("a")], [_finding("critical")])
                                                     for name in names])
    page = render(markdown.render(document, fail_on="critical"))
    assert f"global-e.webhook: {', '.join(names)}\n" in page.text
