"""KANO analysis of a feature survey: the evaluation table, the category per feature and Better/Worse coefficients.

Answers (functional: "if the product has the feature", dysfunctional: "if it does not"): 1 like, 2 expect it
(must-be), 3 neutral, 4 can live with it, 5 dislike. Each answer pair is classified with the standard KANO
evaluation table (:data:`EVALUATION`, rows functional, columns dysfunctional):

========  ====  ====  ====  ====  ====
F \\ D     1     2     3     4     5
========  ====  ====  ====  ====  ====
1 like    Q     A     A     A     O
2 expect  R     I     I     I     M
3 neutral R     I     I     I     M
4 live    R     I     I     I     M
5 dislike R     R     R     R     Q
========  ====  ====  ====  ====  ====

A attractive, O performance (one-dimensional), M must-be, I indifferent, R reverse, Q questionable (a
contradictory answer: liking or disliking both having and not having the feature).

Category of a feature: the most frequent of A, O, M, I, R, Q among its answers; ties are broken M > O > A > I > R > Q
(the usual rule: the category that matters more for the product wins). Questionable answers are counted and shown,
and left out of the coefficients. Better = (A + O) / (A + O + M + I) (how much satisfaction the feature adds);
Worse = −(O + M) / (A + O + M + I) (how much dissatisfaction its absence causes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES: tuple[str, ...] = ("M", "O", "A", "I", "R", "Q")  # also the tie-break order
#: The evaluation table: EVALUATION[functional - 1][dysfunctional - 1].
EVALUATION: tuple[str, ...] = ("QAAAO", "RIIIM", "RIIIM", "RIIIM", "RRRRQ")


def classify(functional: pd.Series, dysfunctional: pd.Series) -> pd.Series:
    """The KANO category of each answer pair (answers 1–5)."""
    table = np.array([list(row) for row in EVALUATION], dtype=object)
    f = functional.to_numpy(dtype=int) - 1
    d = dysfunctional.to_numpy(dtype=int) - 1
    return pd.Series(table[f, d], index=functional.index, name="category")


def kano_table(survey: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Answers per category for each feature (and each value of ``by``, e.g. ``segment``), the category, Better and
    Worse.

    Parameters
    ----------
    survey : DataFrame
        Clean survey rows: ``feature``, ``functional``, ``dysfunctional`` (and ``by``).
    by : str, optional
        A column to split by (respondents without a value are left out of the split).

    Returns
    -------
    DataFrame
        Index ``feature`` (or ``by``, ``feature``); columns ``M``, ``O``, ``A``, ``I``, ``R``, ``Q`` (answers),
        ``answers``, ``category``, ``better``, ``worse`` (NaN when a feature has no A, O, M or I answer).
    """
    s = survey.assign(category=classify(survey["functional"], survey["dysfunctional"]))
    keys = [by, "feature"] if by else ["feature"]
    if by:
        s = s[s[by].notna()]
    counts = s.groupby([*keys, "category"]).size().unstack("category", fill_value=0)
    counts = counts.reindex(columns=list(CATEGORIES), fill_value=0).astype(int)
    counts["answers"] = counts[list(CATEGORIES)].sum(axis=1)
    ordered = counts[list(CATEGORIES)]
    # the most frequent category; ties go to the first in CATEGORIES order (idxmax takes the first maximum)
    counts["category"] = ordered.idxmax(axis=1)
    base = counts[["A", "O", "M", "I"]].sum(axis=1)
    counts["better"] = (counts["A"] + counts["O"]) / base.where(base > 0)
    counts["worse"] = -(counts["O"] + counts["M"]) / base.where(base > 0)
    counts.columns.name = None
    return counts
