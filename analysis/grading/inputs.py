"""The optional customer inputs: feedback, interactions (contacts), attributes and a KANO survey.

Each is read like the transaction log (:func:`analysis.data.io.read_transactions`: CSV, Excel, Parquet, SQL; or
``format: sample``, the bundled sample of :mod:`analysis.grading.sample` made from the run's own sample log), its
columns renamed by the input's mapping (canonical name -> your column, :data:`analysis.params.GRADING_COLUMNS`) and
cleaned. Every row ends in the clean frame or in the quarantine frame with its reason (:data:`REASONS`), so
``rows_in == rows_clean + rows_quarantined`` (``InputResult.quality``).

Clean frames
------------
``feedback``
    ``customer_id``, ``date`` (day), ``score`` (as given), ``scale`` (``csat``, ``nps``, ``stars`` or ``LO-HI``),
    ``scale_low``/``scale_high``, ``score_01`` (the score on 0–1: ``(score − low) / (high − low)``), ``complaint``
    (bool; yes/no, true/false, 1/0, 是/否; empty = no), optional ``order_id``, ``product_line``, ``text``.
``interactions``
    ``customer_id``, ``date``, ``type`` (call, e-mail, visit, chat … as written, lower case), ``direction``
    (``inbound``/``outbound``/NA), optional ``sales_rep``, ``outcome``.
``attributes``
    One row per customer: ``customer_id``, ``age_band`` (from ``birth_year`` as of the run's day when not given:
    under 25, 25–34, 35–44, 45–54, 55–64, 65+), ``gender``, ``country``, ``province``, ``city``, ``postcode``,
    ``industry``, ``employees`` (number), ``revenue_band``. A second row of a customer is quarantined.
``kano``
    ``respondent_id``, ``customer_id`` (NA for respondents who are not customers), ``feature``, ``functional`` and
    ``dysfunctional`` (integers 1–5: like, expect, neutral, can live with, dislike). Answers outside 1–5 are
    quarantined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.clean import normalise_ids, parse_dates, parse_numbers
from analysis.data.io import read_transactions
from analysis.errors import MissingColumnError, ParamsError
from analysis.params import GRADING_COLUMNS, GRADING_REQUIRED, CustomerInputParams, RunParams

#: Why a row of an optional input is set aside (each row gets the first that applies).
REASONS: dict[str, str] = {
    "missing_customer_id": "the customer id is empty",
    "missing_respondent_id": "the respondent id is empty",
    "bad_date": "a date that cannot be read",
    "bad_score": "a score that is not a number",
    "unknown_scale": "a scale that is not csat, nps, stars or LO-HI (e.g. 1-7)",
    "score_off_scale": "a score outside its scale",
    "missing_feature": "the feature is empty",
    "bad_answer": "a KANO answer that is not 1–5",
    "duplicate_customer": "a second row for a customer already read (the first row is kept)",
}
#: Named scales: (lowest, highest) score.
SCALES: dict[str, tuple[float, float]] = {"csat": (1, 5), "nps": (0, 10), "stars": (1, 5)}
AGE_BANDS: tuple[tuple[int, str], ...] = ((25, "<25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
_TRUE = {"1", "y", "yes", "true", "t", "是", "投诉", "complaint"}


@dataclass(frozen=True)
class InputResult:
    """One input cleaned: ``clean`` rows, ``quarantine`` (the rows as read, with ``row_id`` and ``reason``)."""

    name: str
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    origin: str = ""
    quality: dict[str, Any] = field(default_factory=dict)


def parse_scale(name: str | None) -> tuple[float, float] | None:
    """(lowest, highest) of a scale name (``csat``, ``nps``, ``stars``, or ``LO-HI``), None when unknown."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    key = str(name).strip().casefold()
    if key in SCALES:
        return SCALES[key]
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*[-–~]\s*(-?\d+(?:\.\d+)?)", key)
    if m and float(m.group(1)) < float(m.group(2)):
        return float(m.group(1)), float(m.group(2))
    return None


def _text(values: pd.Series) -> pd.Series:
    return normalise_ids(values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v)))


def _map_columns(raw: pd.DataFrame, name: str, spec: CustomerInputParams, origin: str) -> pd.DataFrame:
    theirs = {c: c for c in GRADING_COLUMNS[name]} | dict(spec.columns)
    present = {canon: col for canon, col in theirs.items() if col in raw.columns}
    missing = [c for c in GRADING_REQUIRED[name] if c not in present]
    if missing:
        raise MissingColumnError(
            f"{origin}: {name} has no column for {missing} (its columns are {list(raw.columns)[:20]}); map them under "
            f"grading.{name}.columns in the params, e.g. columns: {{{missing[0]}: <your column>}}"
        )
    return pd.DataFrame({canon: raw[col].to_numpy() for canon, col in present.items()}, index=raw.index)


def _split(name: str, raw: pd.DataFrame, clean: pd.DataFrame, reason: pd.Series, origin: str) -> InputResult:
    bad = reason.notna()
    q = raw.loc[bad.to_numpy()].copy()
    q.insert(0, "row_id", np.flatnonzero(bad.to_numpy()))
    q["reason"] = reason[bad].to_numpy()
    good = clean.loc[~bad.to_numpy()].reset_index(drop=True)
    quality = {
        "rows_in": len(raw),
        "rows_clean": len(good),
        "rows_quarantined": int(bad.sum()),
        "reasons": {str(k): int(v) for k, v in reason[bad].value_counts().sort_index().items()},
    }
    return InputResult(name, good, q.reset_index(drop=True), origin, quality)


def _first(reason: pd.Series, mask: pd.Series, why: str) -> pd.Series:
    return reason.where(reason.notna() | ~mask.fillna(False).astype(bool), why)


def clean_feedback(raw: pd.DataFrame, spec: CustomerInputParams, origin: str = "feedback") -> InputResult:
    """Map and clean a feedback input (see the module docstring)."""
    default = parse_scale(spec.scale) if spec.scale else None
    if spec.scale and default is None:
        raise ParamsError(f"grading.feedback.scale '{spec.scale}' is not csat, nps, stars or LO-HI such as 1-7")
    df = _map_columns(raw, "feedback", spec, origin)
    out = pd.DataFrame(index=df.index)
    out["customer_id"] = _text(df["customer_id"])
    out["date"] = parse_dates(df["date"]).dt.normalize()
    score_text = _text(df["score"])
    out["score"] = parse_numbers(score_text.astype(object).where(score_text.notna(), None)).astype(float)
    scale_name = _text(df["scale"]) if "scale" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    fallback = spec.scale or "csat"
    named = scale_name.fillna(fallback).astype(str)
    bounds = named.map(parse_scale)
    out["scale"] = named.str.casefold()
    out["scale_low"] = bounds.map(lambda b: b[0] if b else np.nan).astype(float)
    out["scale_high"] = bounds.map(lambda b: b[1] if b else np.nan).astype(float)
    out["score_01"] = (out["score"] - out["scale_low"]) / (out["scale_high"] - out["scale_low"])
    flag = _text(df["complaint"]) if "complaint" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    out["complaint"] = flag.fillna("").str.casefold().isin(_TRUE).to_numpy()
    for col in ("order_id", "product_line", "text"):
        if col in df:
            out[col] = _text(df[col])
    reason = pd.Series(pd.NA, index=df.index, dtype=object)
    reason = _first(reason, out["customer_id"].isna(), "missing_customer_id")
    reason = _first(reason, out["date"].isna(), "bad_date")
    reason = _first(reason, out["score"].isna() | ~np.isfinite(out["score"].fillna(0)), "bad_score")
    reason = _first(reason, bounds.isna(), "unknown_scale")
    reason = _first(reason, (out["score_01"] < 0) | (out["score_01"] > 1), "score_off_scale")
    return _split("feedback", raw, out, reason, origin)


def clean_interactions(raw: pd.DataFrame, spec: CustomerInputParams, origin: str = "interactions") -> InputResult:
    """Map and clean an interactions (contacts) input."""
    df = _map_columns(raw, "interactions", spec, origin)
    out = pd.DataFrame(index=df.index)
    out["customer_id"] = _text(df["customer_id"])
    out["date"] = parse_dates(df["date"]).dt.normalize()
    kind = _text(df["type"]).str.casefold() if "type" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    out["type"] = kind.str.replace(r"^e[\s-]?mail$", "email", regex=True)
    if "direction" in df:
        d = _text(df["direction"]).str.casefold()
        out["direction"] = d.map(
            lambda v: "inbound" if str(v).startswith(("in", "呼入", "来")) else
            ("outbound" if str(v).startswith(("out", "呼出", "去")) else pd.NA) if pd.notna(v) else pd.NA
        )  # fmt: skip
    else:
        out["direction"] = pd.NA
    for col in ("sales_rep", "outcome"):
        if col in df:
            out[col] = _text(df[col])
    reason = pd.Series(pd.NA, index=df.index, dtype=object)
    reason = _first(reason, out["customer_id"].isna(), "missing_customer_id")
    reason = _first(reason, out["date"].isna(), "bad_date")
    return _split("interactions", raw, out, reason, origin)


def age_band(age: pd.Series) -> pd.Series:
    """Age (years) → band (:data:`AGE_BANDS`, 65+ above); NA stays NA."""
    out = pd.Series(pd.NA, index=age.index, dtype=object)
    known = age.notna()
    labels = np.full(len(age), "65+", dtype=object)
    a = age.fillna(0).to_numpy(dtype=float)
    for limit, name in reversed(AGE_BANDS):
        labels = np.where(a < limit, name, labels)
    out[known] = labels[known.to_numpy()]
    return out


def clean_attributes(
    raw: pd.DataFrame, spec: CustomerInputParams, as_of: pd.Timestamp, origin: str = "attributes"
) -> InputResult:
    """Map and clean a customer-attributes input (one row per customer, fixed per customer, read as of ``as_of``)."""
    df = _map_columns(raw, "attributes", spec, origin)
    out = pd.DataFrame(index=df.index)
    out["customer_id"] = _text(df["customer_id"])
    if "age_band" in df:
        out["age_band"] = _text(df["age_band"]).astype(object)
    else:
        out["age_band"] = pd.Series(pd.NA, index=df.index, dtype=object)
    if "birth_year" in df:
        year = parse_numbers(_text(df["birth_year"]).astype(object)).astype(float)
        year = year.where((year > 1900) & (year <= as_of.year))
        out["age_band"] = out["age_band"].where(out["age_band"].notna(), age_band(as_of.year - year))
    for col in ("gender", "country", "province", "city", "postcode", "industry", "revenue_band"):
        out[col] = _text(df[col]).astype(object) if col in df else pd.Series(pd.NA, index=df.index, dtype=object)
    emp = _text(df["employees"]) if "employees" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    out["employees"] = parse_numbers(emp.astype(object).where(emp.notna(), None)).astype(float)
    reason = pd.Series(pd.NA, index=df.index, dtype=object)
    reason = _first(reason, out["customer_id"].isna(), "missing_customer_id")
    dup = out["customer_id"].duplicated(keep="first") & out["customer_id"].notna()
    reason = _first(reason, dup, "duplicate_customer")
    return _split("attributes", raw, out, reason, origin)


def clean_kano(raw: pd.DataFrame, spec: CustomerInputParams, origin: str = "kano") -> InputResult:
    """Map and clean a KANO survey input (one row per respondent and feature)."""
    df = _map_columns(raw, "kano", spec, origin)
    out = pd.DataFrame(index=df.index)
    out["respondent_id"] = _text(df["respondent_id"])
    out["customer_id"] = _text(df["customer_id"]) if "customer_id" in df else pd.Series(pd.NA, index=df.index)
    out["feature"] = _text(df["feature"])
    bad_answer = pd.Series(False, index=df.index)
    for col in ("functional", "dysfunctional"):
        v = parse_numbers(_text(df[col]).astype(object)).astype(float)
        ok = v.isin([1.0, 2.0, 3.0, 4.0, 5.0])
        bad_answer |= ~ok
        out[col] = v.where(ok).astype("Int64")
    reason = pd.Series(pd.NA, index=df.index, dtype=object)
    reason = _first(reason, out["respondent_id"].isna(), "missing_respondent_id")
    reason = _first(reason, out["feature"].isna(), "missing_feature")
    reason = _first(reason, bad_answer, "bad_answer")
    return _split("kano", raw, out, reason, origin)


def read_input(
    name: str, params: RunParams, clean_log: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None
) -> InputResult | None:
    """Read, map and clean the optional input ``name`` of the params (None when the params name none).

    ``clean_log``: the whole cleaned transaction log, which the bundled sample inputs are made from
    (``format: sample``); ``as_of``: the run's day (attributes' ages).
    """
    spec: CustomerInputParams | None = getattr(params.grading, name)
    if spec is None:
        return None
    src = spec.source
    if src.format == "sample":
        from analysis.grading.sample import sample_input

        raw = sample_input(name, params, clean_log)
        origin = f"sample {name}"
    else:
        raw = read_transactions(src)
        origin = src.path or src.url or name
    if name == "feedback":
        return clean_feedback(raw, spec, origin)
    if name == "interactions":
        return clean_interactions(raw, spec, origin)
    if name == "attributes":
        return clean_attributes(raw, spec, pd.Timestamp(as_of or pd.Timestamp.today()).normalize(), origin)
    return clean_kano(raw, spec, origin)
