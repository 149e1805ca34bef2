"""The comparison engine: verdicts and the fixed report layout."""

import numpy as np
import pytest

from verify.compare import assert_close, compare, format_number


def test_tolerance_rule_is_atol_plus_rtol_times_desired():
    # |1.09 − 1| = 0.09 ≤ 0.05 + 0.05·1 passes; |1.2 − 1| = 0.2 does not
    assert compare([1.09], [1.0], rtol=0.05, atol=0.05).ok
    assert not compare([1.2], [1.0], rtol=0.05, atol=0.05).ok


def test_per_entry_tolerance_adds_to_the_rule():
    c = compare([1.0, 2.0], [1.0, 2.5], rtol=0.0, tol=[0.0, 0.6])
    assert c.ok
    c = compare([1.0, 2.0], [1.0, 2.5], rtol=0.0, tol=[0.0, 0.4])
    assert not c.ok and c.n_mismatch == 1 and c.worst[0].index == (1,)


def test_report_layout_lists_structure_then_counts_then_worst_then_maxima():
    actual = np.array([[1.0, 2.0], [3.0, np.nan]])
    desired = np.array([[1.0, 2.5], [3.0, 4.0]])
    text = str(compare(actual, desired, rtol=1e-9, header="HEADER"))
    lines = text.splitlines()
    assert lines[0] == "HEADER"
    order = [next(i for i, l in enumerate(lines) if l.startswith(p)) for p in
             ("NaN positions differ", "Mismatched elements: 2 / 4 (50%)", "Worst mismatches:",
              "Max absolute difference: 0.5", "Max relative difference: 0.2")]
    assert order == sorted(order)
    assert "(0, 1)" in text and "2.5" in text


def test_shape_mismatch_is_structural_and_stops_there():
    c = compare(np.ones(3), np.ones((3, 1)))
    assert not c.ok
    assert c.structural == ("Shape mismatch: ACTUAL (3,) vs DESIRED (3, 1)",)


def test_non_numeric_actual_is_reported_not_raised():
    c = compare(None, np.ones(2))
    assert not c.ok and "not numeric" in c.structural[0]
    c = compare([[1, 2], [3]], np.ones(2))
    assert not c.ok


def test_infinities_must_match_in_sign_and_place():
    assert compare([np.inf, 1.0], [np.inf, 1.0]).ok
    assert not compare([np.inf, 1.0], [-np.inf, 1.0]).ok
    assert not compare([1.0, 1.0], [np.inf, 1.0]).ok


def test_assert_close_raises_with_the_report():
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 1"):
        assert_close([2.0], [1.0])


def test_dtype_is_structural_only_when_asked():
    assert compare(np.ones(2, np.float32), np.ones(2)).ok
    c = compare(np.ones(2, np.float32), np.ones(2), check_dtype=True)
    assert not c.ok and "Dtype mismatch" in c.structural[0]


def test_format_number():
    assert format_number(0.5) == "0.5"
    assert format_number(1e-9) == "1.000e-09"
    assert format_number(float("nan")) == "nan"
    assert format_number(3) == "3"


def test_worst_table_lists_failing_entries_behind_larger_tolerated_ones():
    # Entry 0 differs most but has a wide error bar; entry 1 differs less and fails.
    c = compare([10.0, 1.5], [0.0, 1.0], rtol=0.0, tol=[20.0, 0.1])
    assert c.n_mismatch == 1 and [m.index for m in c.worst] == [(1,)]


def test_identical_counts_nan_as_equal_and_compares_shapes():
    from verify.compare import identical

    a = np.array([1.0, np.nan, 3.0])
    assert identical(a, a.copy())                  # an untouched array with a NaN is not "modified"
    b = a.copy()
    b[0] = np.nan
    assert not identical(a, b)                     # writing a NaN is a change
    assert not identical(np.zeros(2), np.zeros(3)) and not identical([1, 2], [1, 3])
    assert identical(np.arange(3), [0, 1, 2])
