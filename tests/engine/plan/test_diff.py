"""Field-level differences: dotted paths, set fields as membership, everything else before → after."""

from __future__ import annotations

import pytest

from provisioner.engine.plan.diff import FieldChange, changes

SETS = frozenset({"permissions", "rules.*.countries"})


def test_equal_objects_have_no_changes() -> None:
    same = {"a": 1, "b": {"c": [1, 2]}, "permissions": ["x", "y"]}
    assert changes(same, dict(same), SETS) == []


def test_nested_mappings_are_flattened_to_sorted_dotted_paths() -> None:
    found = changes({"z": 1, "a": {"b": {"c": "new"}}}, {"z": 1, "a": {"b": {"c": "old", "gone": True}}}, SETS)
    assert found == [FieldChange("a.b.c", "old", "new"), FieldChange("a.b.gone", True, None)]


def test_set_fields_compare_membership_and_ignore_order() -> None:
    desired = {"permissions": ["b", "a", "c"], "rules": {"VAT": {"countries": ["SE", "DE"]}}}
    live = {"permissions": ["c", "b", "d"], "rules": {"VAT": {"countries": ["DE", "SE"]}}}
    assert changes(desired, live, SETS) == [FieldChange("permissions", added=["a"], removed=["d"])]


def test_a_set_field_missing_on_one_side_is_all_added_or_all_removed() -> None:
    assert changes({"permissions": ["b", "a"]}, {}, SETS) == [FieldChange("permissions", added=["a", "b"])]
    assert changes({}, {"permissions": ["a"]}, SETS) == [FieldChange("permissions", removed=["a"])]


def test_a_set_of_mappings_lists_its_members_in_one_order_whatever_the_order_given() -> None:
    """Members that `<` cannot order (mappings, mixed types) are listed by their canonical JSON."""
    desired = {"permissions": [{"code": "SE", "vat": 25}, {"code": "DE"}, 3]}
    live = {"permissions": [{"code": "NO"}, {"code": "DE"}, "x"]}
    expected = [FieldChange("permissions", added=[3, {"code": "SE", "vat": 25}], removed=["x", {"code": "NO"}])]
    assert changes(desired, live, SETS) == expected
    reversed_order = {"permissions": list(reversed(desired["permissions"]))}
    assert changes(reversed_order, {"permissions": list(reversed(live["permissions"]))}, SETS) == expected
    assert changes({"permissions": [{"a": 1.0}, 2]}, {"permissions": [2, {"a": 1}]}, SETS) == []
    # beside a real change, 1.0 and 1 are still the same member, inside mappings and lists alike
    assert changes({"permissions": [{"a": 1.0}, [2.0], {"b": 2}]}, {"permissions": [[2], {"a": 1}]}, SETS) == [
        FieldChange("permissions", added=[{"b": 2}], removed=[])]


def test_lists_that_are_not_sets_compare_whole_and_in_order() -> None:
    assert changes({"order": [1, 2]}, {"order": [2, 1]}, SETS) == [FieldChange("order", [2, 1], [1, 2])]


def test_a_set_field_holding_something_else_compares_as_a_value() -> None:
    assert changes({"permissions": "all"}, {"permissions": ["a"]}, SETS) == [FieldChange("permissions", ["a"], "all")]


def test_a_mapping_replaced_by_a_scalar_and_empty_mappings() -> None:
    assert changes({"a": 1}, {"a": {"b": 2}}, SETS) == [FieldChange("a", None, 1), FieldChange("a.b", 2, None)]
    assert changes({"a": {}}, {}, SETS) == [FieldChange("a", None, {})]
    assert changes({"a": {}}, {"a": {}}, SETS) == []


def test_private_keys_are_not_compared() -> None:
    assert changes({"_id": 1, "x": {"_raw": 2, "y": 1}}, {"_id": 9, "x": {"_raw": 3, "y": 1}}, SETS) == []


def test_private_keys_inside_a_created_or_replaced_mapping_are_not_shown() -> None:
    """Ids and raw values the live read keeps (`_id`, `_raw`) never reach a plan, at any depth."""
    assert changes({"x": {"_raw": 1, "y": 2}}, {}, SETS) == [FieldChange("x.y", None, 2)]
    assert changes({}, {"x": {"_id": 7, "y": 2}}, SETS) == [FieldChange("x.y", 2, None)]
    assert changes({"a": 1}, {"a": {"_raw": 1, "b": 2}}, SETS) == [FieldChange("a", None, 1),
                                                                    FieldChange("a.b", 2, None)]


def test_what_the_plan_records_for_each_kind_of_change() -> None:
    """A membership change records only what was added and removed (either may be empty), a value change
    its before and after, and only a sensitive one says so."""
    assert FieldChange("permissions", added=["Order:read"]).as_dict() == {
        "path": "permissions", "added": ["Order:read"], "removed": []}
    assert FieldChange("permissions", removed=["Order:read"]).as_dict() == {
        "path": "permissions", "added": [], "removed": ["Order:read"]}
    assert FieldChange("rate", 19.0, 20.0).as_dict() == {"path": "rate", "before": 19.0, "after": 20.0}
    assert FieldChange("secret", "(attested value differs)", "(sensitive)", sensitive=True).as_dict() == {
        "path": "secret", "before": "(attested value differs)", "after": "(sensitive)", "sensitive": True}
    assert "sensitive" not in FieldChange("uri", "a", "b").as_dict()


def test_integers_and_floats_of_equal_value_are_equal() -> None:
    assert changes({"rate": 20.0}, {"rate": 20}, SETS) == []
    assert changes({"flag": True}, {"flag": 1}, SETS) == []


def test_set_fields_of_names_and_of_other_values_agree() -> None:
    """Names take a set-arithmetic shortcut; other members go through DeepDiff: the same answer."""
    names = changes({"permissions": ["SE", "DE", "NO"]}, {"permissions": ["DK", "SE", "SE"]}, SETS)
    assert names == [FieldChange("permissions", added=["DE", "NO"], removed=["DK"])]
    numbers = changes({"permissions": [3, 1, 2.0]}, {"permissions": [2, 4, 4]}, SETS)
    assert numbers == [FieldChange("permissions", added=[1, 3], removed=[4])]
    assert changes({"permissions": [1]}, {"permissions": [1, 2]}, SETS) == [FieldChange("permissions", removed=[2])]
    assert changes({"permissions": [1, 2]}, {"permissions": [1]}, SETS) == [FieldChange("permissions", added=[2])]
    assert changes({"permissions": ["1"]}, {"permissions": [1]}, SETS) == [
        FieldChange("permissions", added=["1"], removed=[1])]


def test_identical_objects_skip_deepdiff_and_the_rest_still_go_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A converged store's objects are identical to the desired ones; only those skip DeepDiff."""
    import deepdiff  # imported by diff only where two objects differ

    calls: list[object] = []
    real = deepdiff.DeepDiff

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(deepdiff, "DeepDiff", counted)
    same = {"a": 1, "b": {"c": [1, {"d": None}]}, "permissions": ["x", "y"], "_raw": 1}
    assert changes(same, {**same, "_raw": 2}, SETS) == [] and calls == []
    # equal to Python but not in type, in another order, or with a key missing: DeepDiff decides, as before
    assert changes({"flag": True}, {"flag": 1}, SETS) == [] and len(calls) == 1
    assert changes({"permissions": ["y", "x"]}, {"permissions": ["x", "y"]}, SETS) == [] and len(calls) == 2
    assert changes({"a": None}, {"_raw": 1}, SETS) == [] and len(calls) == 3
    assert changes({"order": [True, 2]}, {"order": [1, 2]}, SETS) == [] and len(calls) == 4  # inside a list too
    assert changes({"order": [1, 2]}, {"order": [1, 2, 3]}, SETS) == [FieldChange("order", [1, 2, 3], [1, 2])]


SAMPLES = [{"a": 1, "b": {"c": [1, {"d": None}], "e": {}}, "permissions": ["y", "x"], "_raw": 1},
           {"a": None, "flag": False, "countries": ["GB", "SE"], "nested": {"permissions": [{"k": 1}, {"k": 2}]}},
           {"empty": [], "zero": 0, "text": "", "deep": {"x": {"y": {"z": "w"}}}}]


@pytest.mark.parametrize("sample", SAMPLES)
def test_a_create_or_delete_skips_deepdiff_and_says_what_deepdiff_says(sample: dict[str, object],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Against nothing, every public top-level key is a difference: the same changes as DeepDiff finds
    (reached here through a live side that holds only a private key), without calling it."""
    import deepdiff  # imported by diff only where two objects differ

    through_deepdiff = (changes(sample, {"_private": 0}, SETS), changes({"_private": 0}, sample, SETS))
    assert through_deepdiff[0] and through_deepdiff[1]
    monkeypatch.setattr(deepdiff, "DeepDiff", lambda *args, **kwargs: pytest.fail("DeepDiff was called"))
    assert (changes(sample, {}, SETS), changes({}, sample, SETS)) == through_deepdiff
