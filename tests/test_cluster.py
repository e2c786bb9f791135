"""RFMClusterer: contract, k choice on well-separated groups, naming, stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.customers.cluster import RFMClusterer
from analysis.customers.segments import VALUE_CLASSES, value_class_flags
from analysis.errors import InputError, NotFittedError, ParamsError


def _three_groups(n: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    # best: recent, frequent, big; middle: moderate; worst: old, one-off, small
    for rec, freq, mon in [(5, 30, 5000), (60, 5, 400), (400, 1, 20)]:
        parts.append(
            pd.DataFrame(
                {
                    "recency_days": rng.normal(rec, rec * 0.1, n).clip(0).round(),
                    "frequency": rng.normal(freq, freq * 0.1, n).clip(1).round(),
                    "monetary": rng.normal(mon, mon * 0.1, n).clip(1),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    df.index = pd.Index([f"c{i:03d}" for i in range(len(df))], name="customer_id")
    return df


def test_init_stores_only() -> None:
    m = RFMClusterer(k_range=(1, 0))  # no validation in __init__
    assert m.k_range == (1, 0)
    with pytest.raises(ParamsError, match="k_range"):
        m.fit(_three_groups())


def test_recovers_three_groups() -> None:
    c = _three_groups()
    m = RFMClusterer(k_range=(2, 6), n_init=3, random_state=0, n_stability_seeds=3)
    assert m.fit(c) is m
    assert m.k_ == 3
    assert set(m.silhouette_scores_.index) == {2, 3, 4, 5, 6}
    assert m.silhouette_scores_.idxmax() == 3
    assert m.labels_.index.equals(c.index)
    # label 0 is the highest-monetary cluster and holds exactly the first group
    assert (m.labels_.iloc[:60] == 0).all() and (m.labels_.iloc[120:] == 2).all()
    p = m.profile_
    assert p["customers"].tolist() == [60, 60, 60]
    assert p["customer_share"].sum() == pytest.approx(1.0)
    assert p["revenue_share"].sum() == pytest.approx(1.0)
    assert p.loc[0, "name"] == "Important Value"
    assert p.loc[0, "value_class"] == "重要价值客户"
    assert p.loc[2, "name"] == "General Win-back"
    assert m.stability_ == pytest.approx(1.0, abs=0.05)
    assert m.centers_.shape == (3, 3)
    assert m.predict(c.iloc[:5]).tolist() == [0] * 5
    assert set(m.names_.unique()) == set(p["name"])


def test_duplicate_names_get_suffix() -> None:
    # k=5 on three groups splits some groups; the halves share a class name
    c = _three_groups()
    m = RFMClusterer(k_range=(5, 5), n_init=3, n_stability_seeds=0).fit(c)
    names = m.profile_["name"]
    assert names.is_unique
    assert {"Important Value 1", "Important Value 2"} <= set(names)  # suffix in monetary order
    assert (m.profile_["value_class_en"] == "Important Value").sum() == 2
    assert np.isnan(m.stability_)


def test_clv_feature_and_sampling() -> None:
    c = _three_groups().assign(clv=lambda d: d["monetary"] * 2)
    m = RFMClusterer(k_range=(2, 4), n_init=2, sample_size=50, n_stability_seeds=2).fit(c)
    assert m.features_ == ["recency_days", "frequency", "monetary", "clv"]
    assert m.profile_["clv"].notna().all()
    m2 = RFMClusterer(k_range=(2, 3), n_init=2, use_clv=False).fit(c)
    assert "clv" not in m2.features_
    snake = m.snake_data(c)
    assert set(snake.columns) == {"cluster", "name", "feature", "value"}
    assert len(snake) == m.k_ * 4


def test_errors() -> None:
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(customers\) first"):
        RFMClusterer().predict(_three_groups())
    with pytest.raises(InputError, match="monetary"):
        RFMClusterer().fit(_three_groups().drop(columns="monetary"))
    with pytest.raises(InputError, match="use_clv=True"):
        RFMClusterer(use_clv=True).fit(_three_groups())


def test_one_value_class_rule_for_customers_and_clusters() -> None:
    assert VALUE_CLASSES[(False, False, False)] == ("一般挽留客户", "General Win-back")
    assert VALUE_CLASSES[(False, True, True)] == ("重要保持客户", "Important Retention")
    means = pd.Series({"recency_days": 30.0, "frequency": 0.3, "monetary": 10.0})
    rows = pd.DataFrame(
        {
            "recency_days": [29.0, 30.0, 31.0],
            "frequency": [0.1 + 0.2, 0.4, 0.2],  # 0.1 + 0.2 is 0.30000000000000004: equal to the mean, not high
            "monetary": [10.0 + 1e-12, 10.5, 9.0],
        }
    )
    flags = value_class_flags(rows, means)
    assert flags.to_numpy().tolist() == [[True, False, False], [False, True, True], [False, False, False]]


def test_snake_plot_smoke() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.segmentation import snake_plot

    c = _three_groups()
    m = RFMClusterer(k_range=(3, 3), n_init=2, n_stability_seeds=0).fit(c)
    ax = snake_plot(m.snake_data(c))
    assert len(ax.get_lines()) >= 3
    plt.close(ax.figure)


def _uniform_customers(n: int, seed: int = 3) -> pd.DataFrame:
    """No real groups: k-means partitions depend on which customers it sees."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "recency_days": rng.integers(0, 540, n).astype(float),
            "frequency": rng.geometric(0.35, n).astype(float),
            "monetary": rng.gamma(2.0, 60.0, n),
        },
        index=pd.Index([f"u{i:05d}" for i in range(n)], name="customer_id"),
    )


def test_fit_on_a_sample_assigns_every_customer() -> None:
    c = _three_groups(n=1700)  # 5,100 customers, fitted on 1,000
    m = RFMClusterer(k_range=(2, 5), n_init=3, n_stability_seeds=2, fit_sample_size=1000).fit(c)
    assert m.n_fit_ == 1000
    assert m.labels_.index.equals(c.index) and m.labels_.notna().all()
    assert m.names_.notna().all()
    assert m.labels_.equals(m.predict(c))  # every customer is at its nearest centre
    assert m.k_ == 3
    assert m.profile_["customers"].tolist() == [1700, 1700, 1700]  # profile over all customers, not the sample
    assert m.profile_.loc[0, "name"] == "Important Value"
    assert m.snake_data(c).groupby("cluster").size().tolist() == [3, 3, 3]
    assert m.stability_ == pytest.approx(1.0, abs=0.05)


def test_snake_data_of_the_fitted_customers_equals_a_fresh_prediction() -> None:
    """With a fit sample the labels are the model's predictions, which snake_data reuses for the same features; other
    customers (or changed features) are predicted."""
    c = _uniform_customers(600)
    m = RFMClusterer(k_range=(2, 4), n_init=2, n_stability_seeds=0, fit_sample_size=200).fit(c)
    reused = m.snake_data(c)
    m._predicted = None  # what snake_data computed before it kept the labels
    pd.testing.assert_frame_equal(reused, m.snake_data(c))
    fitted = RFMClusterer(k_range=(2, 4), n_init=2, n_stability_seeds=0, fit_sample_size=200).fit(c)
    moved = c.assign(monetary=c["monetary"][::-1].to_numpy())  # other features: predicted, not reused
    pd.testing.assert_frame_equal(fitted.snake_data(moved), m.snake_data(moved))


def test_sample_fit_agrees_with_a_full_fit() -> None:
    from sklearn.metrics import adjusted_rand_score

    c = _three_groups(n=1700)
    kw = {"k_range": (2, 5), "n_init": 3, "n_stability_seeds": 0}
    full = RFMClusterer(**kw, fit_sample_size=None).fit(c)
    part = RFMClusterer(**kw, fit_sample_size=1000).fit(c)
    assert full.n_fit_ == len(c) and part.n_fit_ == 1000
    assert part.k_ == full.k_
    assert adjusted_rand_score(full.labels_, part.labels_) > 0.8


def test_sample_fit_is_seeded() -> None:
    c = _uniform_customers(5000)
    kw = {"k_range": (4, 4), "n_init": 2, "n_stability_seeds": 0, "fit_sample_size": 1000}
    a = RFMClusterer(**kw, random_state=7).fit(c)
    b = RFMClusterer(**kw, random_state=7).fit(c)
    assert a.labels_.equals(b.labels_)
    assert a.centers_.equals(b.centers_)
    other = RFMClusterer(**kw, random_state=8).fit(c)
    assert not np.allclose(other.centers_.to_numpy(), a.centers_.to_numpy())  # the seed picks the sample


def test_at_or_below_the_fit_sample_size_every_customer_is_used() -> None:
    c = _uniform_customers(1200)
    kw = {"k_range": (2, 5), "n_init": 2, "n_stability_seeds": 2}
    full = RFMClusterer(**kw, fit_sample_size=None).fit(c)
    edge = RFMClusterer(**kw, fit_sample_size=len(c)).fit(c)
    below = RFMClusterer(**kw, fit_sample_size=len(c) - 1).fit(c)
    assert edge.n_fit_ == full.n_fit_ == len(c) and below.n_fit_ == len(c) - 1
    assert edge.labels_.equals(full.labels_)
    assert edge.silhouette_scores_.equals(full.silhouette_scores_)
    assert edge.stability_ == full.stability_
    pd.testing.assert_frame_equal(edge.profile_, full.profile_)
    with pytest.raises(ParamsError, match="fit_sample_size"):
        RFMClusterer(k_range=(2, 5), fit_sample_size=5).fit(c)


def test_fit_sample_size_param() -> None:
    from pydantic import ValidationError

    from analysis.params import ClusterParams

    cp = ClusterParams()
    assert (cp.fit_sample_size, cp.sample_size) == (50_000, 5000)
    assert ClusterParams(fit_sample_size=1000).fit_sample_size == 1000
    with pytest.raises(ValidationError, match="fit_sample_size"):
        ClusterParams(fit_sample_size=999)


def test_stability_reuses_the_chosen_fit() -> None:
    # the first stability seed is the chosen model's own seed on the same rows: its labels are reused, and the
    # index equals the one from refitting every seed
    from itertools import combinations

    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    df = _three_groups(n=40, seed=3)
    m = RFMClusterer(k_range=(2, 4), n_init=3, random_state=5, n_stability_seeds=3).fit(df)
    x = StandardScaler().fit_transform(np.log1p(df[["recency_days", "frequency", "monetary"]].to_numpy(float)))
    labels = [KMeans(n_clusters=m.k_, n_init=3, random_state=5 + i).fit_predict(x) for i in range(3)]
    assert m.stability_ == pytest.approx(np.mean([adjusted_rand_score(a, b) for a, b in combinations(labels, 2)]))
