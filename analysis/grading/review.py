"""The criterion review: how much each grading criterion predicts next-period purchase and spend beyond the others.

Measured on the data's own history. A past cut-off ``cutoff = as_of − horizon_days``: each customer who bought on
or before it is described by what was known then — the criteria R (``recency_days``), F (``log1p`` orders), M
(``log1p`` spend), satisfaction (mean score on 0–1 up to the cut-off, with a 0/1 "has feedback" flag; missing scores
are the mean), contacts (``log1p`` contacts in the horizon before the cut-off) and attributes (one-hot age band,
gender, province and industry, the most frequent 8 values each) — and the outcome is what they did in the
``horizon_days`` after it, up to ``as_of``: bought at all (purchase) and ``log1p`` spend.

For each criterion two simple models are compared by ``folds``-fold cross-validation over customers (seeded):
with every criterion, and without that one. Purchase: logistic regression, scored by the AUC; spend: ridge
regression, scored by R². A criterion's **gain** is the mean over folds of (with − without); it *adds* when the gain
in AUC or R² is at least ``min_gain`` and more than twice its standard error over folds, else it is droppable.
Only criteria with data are reviewed (no feedback input: no satisfaction row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import text

CRITERIA: tuple[str, ...] = ("recency", "frequency", "monetary", "satisfaction", "contacts", "attributes")
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("age_band", "gender", "province", "industry")


@dataclass(frozen=True)
class Review:
    """The review's table (index criterion: ``auc_gain``, ``auc_gain_se``, ``r2_gain``, ``r2_gain_se``, ``adds``),
    the cut-off, horizon, customers and base rate (share who bought after the cut-off), and the full models' AUC and
    R²."""

    table: pd.DataFrame
    cutoff: pd.Timestamp
    as_of: pd.Timestamp
    customers: int
    bought_share: float
    auc: float
    r2: float


def review_features(
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp,
    as_of: pd.Timestamp,
    feedback: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The criteria as known at ``cutoff`` (one frame of columns per criterion) and the outcome after it
    (``bought``, ``log_spend``), for every customer who bought on or before ``cutoff``."""
    from analysis.customers.rfm import rfm_summary

    before = rfm_summary(transactions, cutoff)
    idx = before.index.astype(str)
    feats: dict[str, pd.DataFrame] = {
        "recency": pd.DataFrame({"recency_days": before["recency_days"].to_numpy(dtype=float)}, index=idx),
        "frequency": pd.DataFrame({"log_orders": np.log1p(before["frequency"].to_numpy(dtype=float))}, index=idx),
        "monetary": pd.DataFrame({"log_spend": np.log1p(before["monetary"].clip(lower=0).to_numpy(float))}, index=idx),
    }
    if feedback is not None and len(feedback):
        fb = feedback[feedback["date"] <= cutoff]
        mean = fb.groupby("customer_id")["score_01"].mean().reindex(idx)
        feats["satisfaction"] = pd.DataFrame(
            {"score": mean.fillna(mean.mean() if mean.notna().any() else 0.5), "has_feedback": mean.notna() * 1.0,
             "complaints": fb.groupby("customer_id")["complaint"].sum().reindex(idx).fillna(0).clip(upper=3)},
            index=idx,
        )  # fmt: skip
    if interactions is not None and len(interactions):
        start = cutoff - (as_of - cutoff)
        it = interactions[(interactions["date"] <= cutoff) & (interactions["date"] > start)]
        n = it.groupby("customer_id").size().reindex(idx).fillna(0)
        feats["contacts"] = pd.DataFrame({"log_contacts": np.log1p(n)}, index=idx)
    if attributes is not None and len(attributes):
        a = attributes.set_index("customer_id").reindex(idx)
        cols = []
        for col in ATTRIBUTE_COLUMNS:
            if col in a and a[col].notna().any():
                top = a[col].value_counts().index[:8]
                cols.append(pd.get_dummies(a[col].where(a[col].isin(top)), prefix=col, dtype=float))
        if cols:
            feats["attributes"] = pd.concat(cols, axis=1)
    d = pd.to_datetime(transactions["order_date"]).dt.normalize()
    after = transactions[(d > cutoff) & (d <= as_of)]
    spend = after.groupby(after["customer_id"].astype(str))["amount"].sum().reindex(idx).fillna(0.0)
    outcome = pd.DataFrame({"bought": (spend > 0).astype(int), "log_spend": np.log1p(spend.clip(lower=0))}, index=idx)
    return feats, outcome


def _matrix(feats: dict[str, pd.DataFrame], drop: str | None) -> np.ndarray:
    return pd.concat([f for k, f in feats.items() if k != drop], axis=1).to_numpy(dtype=float)


def review_criteria(
    feats: dict[str, pd.DataFrame],
    outcome: pd.DataFrame,
    *,
    folds: int = 5,
    seed: int = 0,
    min_gain: float = 0.01,
) -> pd.DataFrame:
    """Cross-validated gain of each criterion in ``feats`` (see the module docstring)."""
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    y = outcome["bought"].to_numpy()
    z = outcome["log_spend"].to_numpy()
    names = list(feats)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: dict[str | None, list[tuple[float, float]]] = {None: [], **{n: [] for n in names}}
    mats = {d: _matrix(feats, d) for d in [None, *names] if d is None or len(names) > 1}
    with threadpool_limits(limits=1):  # small fits: one thread, no oversubscription beside other runs
        _fit_folds(splitter.split(np.zeros(len(y)), y), mats, y, z, scores)
    full = np.array(scores[None])
    rows = {}
    for name in names:
        if name not in mats:
            continue
        diff = full - np.array(scores[name])
        mean = diff.mean(axis=0)
        se = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
        adds = bool(((mean >= min_gain) & (mean > 2 * se)).any())
        rows[name] = {"auc_gain": mean[0], "auc_gain_se": se[0], "r2_gain": mean[1], "r2_gain_se": se[1], "adds": adds}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "criterion"
    table.attrs["auc"] = float(full[:, 0].mean())
    table.attrs["r2"] = float(full[:, 1].mean())
    return table


def _fit_folds(splits: Any, mats: dict[str | None, np.ndarray], y: np.ndarray, z: np.ndarray,
               scores: dict[str | None, list[tuple[float, float]]]) -> None:  # fmt: skip
    """Fit the purchase (logistic) and spend (ridge) models of every matrix on every fold; append (AUC, R²)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import r2_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for train, test in splits:
        for drop, x in mats.items():
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x[train], y[train])
            auc = roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1])
            reg = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x[train], z[train])
            r2 = r2_score(z[test], reg.predict(x[test]))
            scores[drop].append((float(auc), float(r2)))


def review(
    transactions: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    horizon_days: int = 90,
    feedback: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    folds: int = 5,
    seed: int = 0,
    min_gain: float = 0.01,
) -> Review | None:
    """The criterion review as of ``as_of`` (None when too few customers, or everyone or no one bought after the
    cut-off: there is nothing to predict)."""
    as_of = pd.Timestamp(as_of).normalize()
    cutoff = as_of - pd.Timedelta(days=horizon_days)
    feats, outcome = review_features(transactions, cutoff, as_of, feedback, interactions, attributes)
    n_pos = int(outcome["bought"].sum())
    if len(outcome) < 10 * folds or min(n_pos, len(outcome) - n_pos) < 2 * folds:
        return None
    table = review_criteria(feats, outcome, folds=folds, seed=seed, min_gain=min_gain)
    return Review(table, cutoff, as_of, len(outcome), n_pos / len(outcome), table.attrs["auc"], table.attrs["r2"])


def review_sentences(result: Review, language: str) -> list[str]:
    """One plain sentence per criterion: adds (and how much) or droppable."""
    out = []
    for name, row in result.table.iterrows():
        label = text.t(f"grading.criterion.{name}", language)
        key = "grading.review.adds" if row["adds"] else "grading.review.drop"
        out.append(text.t(key, language, criterion=label, auc=f"{row['auc_gain']:+.3f}", r2=f"{row['r2_gain']:+.3f}"))
    return out
