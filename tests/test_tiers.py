"""ABC tiers at exact boundaries, hand-computed."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.customers.tiers import abc_classes, abc_summary, pareto_curve
from analysis.errors import InputError, ParamsError
from tests.conftest import examples


def _s(values: dict[str, float]) -> pd.Series:
    return pd.Series(values, name="monetary").rename_axis("customer_id")


def test_exact_boundaries() -> None:
    # total 100: share before = 0, .50, .80, .95 -> A, A, B (starts exactly at 80 %), C (exactly 95 %)
    t = abc_classes(_s({"w": 50.0, "x": 30.0, "y": 15.0, "z": 5.0}))
    assert t["abc_class"].to_dict() == {"w": "A", "x": "A", "y": "B", "z": "C"}
    assert t["share_before"].tolist() == pytest.approx([0.0, 0.5, 0.8, 0.95])
    assert t["cum_share"].tolist() == pytest.approx([0.5, 0.8, 0.95, 1.0])


def test_customer_crossing_the_line_is_a() -> None:
    # before: 0, .70 (<.80 -> A, crosses to .90), .90 (<.95 -> B), .96 -> C
    t = abc_classes(_s({"a": 70.0, "b": 20.0, "c": 6.0, "d": 4.0}))
    assert t["abc_class"].tolist() == ["A", "A", "B", "C"]


def test_ties_broken_by_customer_id_and_input_order_kept() -> None:
    s = _s({"b": 40.0, "a": 40.0, "c": 20.0})
    t = abc_classes(s)
    assert list(t.index) == ["b", "a", "c"]  # input order preserved
    assert t.loc["a", "rank"] == 1 and t.loc["b", "rank"] == 2
    # a: before 0 -> A; b: before .40 -> A; c: before .80 -> B
    assert t["abc_class"].to_dict() == {"b": "A", "a": "A", "c": "B"}
    t2 = abc_classes(s.iloc[::-1])
    assert t2.loc[["a", "b", "c"], "abc_class"].tolist() == t.loc[["a", "b", "c"], "abc_class"].tolist()


def test_custom_thresholds_and_zero_values() -> None:
    t = abc_classes(_s({"a": 60.0, "b": 40.0, "c": 0.0}), thresholds=(0.5, 0.9))
    assert t["abc_class"].tolist() == ["A", "B", "C"]
    frame = pd.DataFrame({"clv": [1.0, 9.0]}, index=pd.Index(["p", "q"], name="customer_id"))
    assert abc_classes(frame, column="clv")["abc_class"].tolist() == ["B", "A"]


def test_errors() -> None:
    with pytest.raises(ParamsError, match="0 < a <= b <= 1"):
        abc_classes(_s({"a": 1.0}), thresholds=(0.9, 0.8))
    with pytest.raises(InputError, match="negative"):
        abc_classes(_s({"a": 1.0, "b": -1.0}))
    with pytest.raises(InputError, match="'monetary' missing"):
        abc_classes(pd.DataFrame({"x": [1.0]}))


def test_summary_and_pareto() -> None:
    t = abc_classes(_s({"w": 50.0, "x": 30.0, "y": 15.0, "z": 5.0}))
    s = abc_summary(t)
    assert s["customers"].tolist() == [2, 1, 1]
    assert s["revenue_share"].tolist() == pytest.approx([0.8, 0.15, 0.05])
    p = pareto_curve(t)
    assert p["customer_share"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert p["cum_share"].tolist() == pytest.approx([0, 0.5, 0.8, 0.95, 1.0])
    big = abc_classes(pd.Series(range(1, 1001), dtype=float, index=[f"c{i}" for i in range(1000)]))
    assert len(pareto_curve(big, max_points=100)) <= 101


@settings(max_examples=examples(50), deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=1, max_size=40))
def test_a_tier_reaches_threshold(values: list[float]) -> None:
    s = pd.Series(values, index=[f"c{i:03d}" for i in range(len(values))])
    t = abc_classes(s)
    a_share = t.loc[t["abc_class"] == "A", "value"].sum() / s.sum()
    assert a_share >= 0.80 - 1e-9  # A always covers at least 80 % of revenue
    # the A tier without its last member is below 80 %
    a = t[t["abc_class"] == "A"].sort_values("rank")
    assert (a["value"].sum() - a["value"].iloc[-1]) / s.sum() < 0.80 + 1e-9
    tier_by_rank = t.sort_values("rank")["abc_class"].map({"A": 0, "B": 1, "C": 2})
    assert (tier_by_rank.diff().dropna() >= 0).all()  # tiers never go back up the ranking


def test_pareto_plot_smoke() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.segmentation import abc_pareto_plot

    t = abc_classes(pd.Series(range(1, 1001), dtype=float, index=[f"c{i}" for i in range(1000)]))
    fig, ax = plt.subplots()
    assert abc_pareto_plot(t, ax=ax) is ax
    assert len(ax.get_lines()[0].get_xdata()) <= 201
    plt.close(fig)


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.5, 2.5, 10.0, 40.0]), min_size=1, max_size=30),
    st.sampled_from(["string", "str", object]),
    st.randoms(use_true_random=False),
)
def test_sorted_ids_rank_as_shuffled_ids(values: list[float], dtype: object, rnd) -> None:
    # ties on the value are broken by the id's text order: the same classes and ranks whether the ids arrive
    # sorted (as the engines return them: ranked by position) or shuffled (ranked by sorting the text)
    ids = sorted(f"c{i}" for i in range(len(values)))  # 'c10' < 'c2': text order, not numbers
    ordered = pd.Series(values, index=pd.Index(ids, dtype=dtype, name="customer_id"))
    perm = list(range(len(values)))
    rnd.shuffle(perm)
    shuffled = ordered.iloc[perm]
    a, b = abc_classes(ordered), abc_classes(shuffled)
    pd.testing.assert_frame_equal(a.loc[shuffled.index], b, check_index_type=False)
    by_rank = a.sort_values("rank")
    keys = list(zip(-by_rank["value"], by_rank.index.astype(str), strict=True))
    assert keys == sorted(keys)  # value descending, then id ascending as text
