"""Segment rule sets: exact coverage, clear errors for gaps and overlaps."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from analysis.customers.segments import DEFAULT_RULES, SEGMENT_ORDER, assign_segments, rule_table, validate_rules
from analysis.errors import SegmentRuleError


def test_default_rules_cover_every_combination_once() -> None:
    table = rule_table(DEFAULT_RULES)
    assert len(table) == 125
    assert set(table.segment) == set(SEGMENT_ORDER)  # all 11 segments are reachable


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "Champions"),
        (5, 4, 4, "Champions"),
        (4, 5, 5, "Loyal Customers"),
        (5, 3, 3, "Potential Loyalist"),
        (5, 1, 1, "New Customers"),
        (4, 1, 2, "Promising"),
        (3, 3, 3, "Need Attention"),
        (3, 1, 2, "About to Sleep"),
        (2, 4, 4, "At Risk"),
        (1, 5, 4, "Cannot Lose Them"),
        (2, 1, 1, "Hibernating"),
        (1, 1, 1, "Lost"),
    ],
)
def test_default_rules_hand_checked(r: int, f: int, m: int, segment: str) -> None:
    scores = pd.DataFrame({"r_score": [r], "f_score": [f], "m_score": [m]})
    assert assign_segments(scores).iloc[0] == segment


def test_gap_is_named() -> None:
    rules = {k: v for k, v in DEFAULT_RULES.items() if k != "Lost"}
    with pytest.raises(SegmentRuleError, match="in no segment") as err:
        validate_rules(rules)
    msg = str(err.value)
    assert "in no segment" in msg and "111" in msg and "several" not in msg


def test_overlap_is_named() -> None:
    rules = {**DEFAULT_RULES, "Everyone recent": {"r": [5, 5]}}
    with pytest.raises(SegmentRuleError, match=r"555 \(Champions & Everyone recent\)") as err:
        validate_rules(rules)
    assert "555 (Champions & Everyone recent)" in str(err.value)


def test_rules_on_f_and_m_separately() -> None:
    rules = {f"F{f}": {"f": [f, f]} for f in range(1, 6)}
    table = rule_table(validate_rules(rules))
    for r, f, m in itertools.product(range(1, 6), repeat=3):  # noqa: B007 - used in the query string
        assert table.query("r_score == @r and f_score == @f and m_score == @m").segment.item() == f"F{f}"
