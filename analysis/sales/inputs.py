"""CRM inputs: opportunities, stage history, targets and sales teams, read, mapped and cleaned with nothing lost.

Each input is read like the transaction log (:func:`analysis.data.io.read_transactions`: CSV, Excel, Parquet, SQL,
or ``format: sample`` for the bundled CRM sample), its columns renamed by the params mapping (canonical name -> your
column), then cleaned. Every input row ends either in the clean frame or in the quarantine frame with its reason;
``quality[name]`` reconciles: ``rows_in == rows_clean + rows_quarantined``.

Matching of names: stages, reps, products, sources, teams and regions are compared by a *key* that ignores case,
spaces and punctuation (``GTX Pro`` = ``GTXPro`` = ``gtx-pro``), so an export that spells a product differently in two
files still joins; the spelling shown is the most frequent one. Real typos (``Engagng``) are fixed by the input's
``aliases`` (``{stage: {Engagng: Engaging}}``); a stage that is still unknown is quarantined as ``unknown_stage``, and
near-identical category values are listed in ``quality[name]["suspected_typos"]`` so the user can add an alias.

Definitions of the clean opportunities frame (one row per deal, ``opportunity_id`` unique):

* ``stage``: the funnel's spelling of the current stage; ``status`` is ``won``, ``lost`` or ``open``;
* ``created_date`` (may be missing: prospecting deals are often exported without one), ``close_date`` (missing for
  open deals; an open deal's close date is an expected date and is kept as ``expected_close_date``);
* ``amount`` in the source's currency (missing for many open deals; a lost deal's 0 is kept as exported);
* ``customer_id`` may be missing (open deals without an account).
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.clean import parse_numbers
from analysis.data.io import read_transactions
from analysis.errors import InputError, MissingColumnError
from analysis.params import DEFAULT_MISSING_TOKENS, SALES_COLUMNS, SALES_REQUIRED, RunParams, SalesInputParams

log = logging.getLogger(__name__)

#: Reasons a CRM row is quarantined (each row gets the first that applies).
REASONS: dict[str, str] = {
    "missing_id": "the opportunity id is empty",
    "duplicate_row": "an exact copy of an earlier row",
    "duplicate_id": "a second row for an opportunity id already read (the first row is kept)",
    "missing_sales_rep": "the sales rep is empty",
    "unknown_stage": "the stage is not one of funnel.stages or funnel.lost (add it, or an alias)",
    "bad_date": "a date that cannot be read",
    "missing_close_date": "a won or lost deal without a close date (it cannot be placed in a period)",
    "close_before_created": "the close date is before the created date",
    "bad_amount": "an amount that is not a number, or is negative",
    "missing_amount": "a won deal without an amount",
    "unknown_opportunity": "a stage change of an opportunity that is not among the clean opportunities",
    "bad_period": "a period that is not YYYY-MM or YYYY-Qn",
    "missing_owner": "neither a sales rep nor a team",
    "bad_target": "a target that is not a number, or is negative",
}

_MISSING = {t.strip().casefold() for t in DEFAULT_MISSING_TOKENS}


def name_key(values: pd.Series) -> pd.Series:
    """The matching key of names: case-folded, without spaces or punctuation (``'GTX Pro'`` -> ``'gtxpro'``)."""
    return values.astype("string").str.replace(r"[\W_]+", "", regex=True).str.casefold()


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


def _text(values: pd.Series) -> pd.Series:
    """Trimmed text with every missing token (``(blank)``, ``NULL``, ``N/A``, …) as NA."""
    text = values.astype("string").str.strip()
    missing = text.isna() | text.str.casefold().isin(_MISSING)
    return text.mask(missing)


def _dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates (normalised to days) and a flag of the cells that hold text but no readable date."""
    from analysis.data.clean import parse_dates

    text = _text(values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v)))
    parsed = parse_dates(text.astype(object).where(text.notna(), None)).dt.normalize()
    return parsed, text.notna() & parsed.isna()


def _numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers and a flag of the cells that hold text but no readable, finite, non-negative number."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        num = pd.to_numeric(values, errors="coerce").astype(float)
        bad = pd.Series(False, index=values.index)
    else:
        text = _text(values.astype(object).map(lambda v: v if v is None or pd.isna(v) else str(v)))
        num = parse_numbers(text.astype(object).where(text.notna(), None)).astype(float)
        bad = text.notna() & num.isna()
    bad = bad | (num < 0).fillna(False) | np.isinf(num)
    return num.where(~bad), bad


def _display(values: pd.Series) -> pd.Series:
    """Each name replaced by the most frequent spelling of its key (ties: the first in sorted order)."""
    keys = name_key(values)
    frame = pd.DataFrame({"key": keys, "name": values}).dropna()
    if frame.empty:
        return values
    counts = frame.groupby(["key", "name"]).size().reset_index(name="n")
    counts = counts.sort_values(["key", "n", "name"], ascending=[True, False, True])
    best = counts.drop_duplicates("key").set_index("key")["name"]
    return keys.map(best).astype("string").where(values.notna())


def suspected_typos(values: pd.Series, cutoff: float = 0.85) -> list[list[str]]:
    """Pairs of distinct names whose keys differ but look alike (the same letters in another order, or a difflib
    ratio >= ``cutoff``), rarer one first."""
    counts = values.dropna().value_counts()
    names = list(counts.index)
    pairs = []
    for i, a in enumerate(names):
        for b in names[:i]:
            ka, kb = _key(a), _key(b)
            if ka != kb and (sorted(ka) == sorted(kb) or difflib.SequenceMatcher(None, ka, kb).ratio() >= cutoff):
                pairs.append([str(a), str(b)])
    return pairs


def map_input(raw: pd.DataFrame, given: SalesInputParams, name: str) -> pd.DataFrame:
    """The raw rows with canonical column names (mapped columns, or canonical names already in the file).

    Raises
    ------
    MissingColumnError
        A required column is not there, naming the input, the columns found and the fix.
    """
    where = given.source.path or given.source.format
    renamed: dict[str, str] = {}
    for canonical, theirs in given.columns.items():
        if theirs not in raw.columns:
            raise MissingColumnError(
                f"{name} ({where}): column '{theirs}' (mapped to {canonical}) is not in the file; its columns are "
                f"{list(raw.columns)[:30]}; fix {name}.columns in the params"
            )
        renamed[theirs] = canonical
    mapped = raw.rename(columns=renamed)
    keep = [c for c in SALES_COLUMNS[name] if c in mapped.columns]
    missing = [c for c in SALES_REQUIRED[name] if c not in keep]
    if name == "targets" and not ({"sales_rep", "team"} & set(keep)):
        missing.append("sales_rep or team")
    if missing:
        raise MissingColumnError(
            f"{name} ({where}): no column for {missing}; its columns are {list(raw.columns)[:30]}; map them in "
            f"{name}.columns (canonical name: your column name)"
        )
    return mapped[keep].reset_index(drop=True)


def _apply_aliases(values: pd.Series, aliases: dict[str, str]) -> pd.Series:
    if not aliases:
        return values
    lookup = {_key(k): v for k, v in aliases.items()}
    keys = name_key(values)
    return values.where(~keys.isin(list(lookup)), keys.map(lookup))


@dataclass(frozen=True)
class SalesData:
    """The clean CRM inputs of a run.

    Attributes
    ----------
    opportunities : DataFrame
        One row per deal (see the module docstring), indexed by ``opportunity_id``.
    stage_history : DataFrame or None
        One row per stage entered: ``opportunity_id``, ``stage``, ``entered_at`` (day); consecutive repeats of a
        stage are merged. None when the export has no stage history.
    targets : DataFrame or None
        ``sales_rep`` or ``team``, ``period`` (``YYYY-MM`` or ``YYYY-Qn``), ``revenue_target`` (currency),
        ``new_customer_target`` and ``deal_target`` (counts, may be missing).
    teams : DataFrame or None
        Indexed by ``sales_rep``: ``manager``, ``team``, ``region``.
    quarantine : dict of DataFrame
        Per input, the rows set aside: ``row_id`` (0-based position in the input), the raw row, ``reason``.
    quality : dict
        Per input: ``rows_in``, ``rows_clean``, ``rows_quarantined``, ``reasons``, plus notes (deals without a
        created date or an account, suspected typos).
    stages : list of str
        The funnel's stages in order (the last is the won stage); ``lost`` the lost stages.
    data_end : Timestamp
        The export's day: ``funnel.export_date``, else the last day any date of the CRM inputs reaches.
    data_start : Timestamp
        The first day any date of the CRM inputs reaches (a window ending before it has no data: not reported).
    """

    opportunities: pd.DataFrame
    stage_history: pd.DataFrame | None
    targets: pd.DataFrame | None
    teams: pd.DataFrame | None
    quarantine: dict[str, pd.DataFrame]
    quality: dict[str, dict[str, Any]]
    stages: list[str]
    lost: list[str]
    data_end: pd.Timestamp
    data_start: pd.Timestamp | None = None

    @property
    def has_history(self) -> bool:
        """Whether stage changes are known (otherwise only won vs lost and created-to-close can be measured)."""
        return self.stage_history is not None and not self.stage_history.empty


def _split(raw: pd.DataFrame, reason: pd.Series, name: str) -> tuple[pd.Series, pd.DataFrame, dict[str, Any]]:
    keep = reason.isna()
    quarantine = raw.loc[~keep].copy()
    quarantine.insert(0, "row_id", np.flatnonzero(~keep.to_numpy()))
    quarantine["reason"] = reason[~keep].to_numpy()
    counts = reason[~keep].value_counts()
    quality = {
        "rows_in": len(raw),
        "rows_clean": int(keep.sum()),
        "rows_quarantined": int((~keep).sum()),
        "reasons": {k: int(counts.get(k, 0)) for k in REASONS if counts.get(k, 0)},
    }
    if quality["rows_in"] != quality["rows_clean"] + quality["rows_quarantined"]:  # pragma: no cover
        raise AssertionError(f"{name}: rows do not reconcile: {quality}")
    return keep, quarantine.reset_index(drop=True), quality


def _first(reason: pd.Series, condition: pd.Series | np.ndarray, code: str) -> pd.Series:
    cond = pd.Series(np.asarray(condition, dtype=bool), index=reason.index)
    return reason.mask(reason.isna() & cond, code)


def clean_opportunities(
    raw: pd.DataFrame, given: SalesInputParams, stages: list[str], lost: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Clean mapped opportunity rows: (clean frame indexed by ``opportunity_id``, quarantine, quality)."""
    mapped = map_input(raw, given, "opportunities")
    reason = pd.Series(pd.NA, index=mapped.index, dtype="object")
    oid = _text(mapped["opportunity_id"].astype(object).map(lambda v: v if v is None or pd.isna(v) else str(v)))
    oid = oid.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    reason = _first(reason, oid.isna(), "missing_id")
    reason = _first(reason, mapped.astype(str).duplicated(keep="first"), "duplicate_row")
    reason = _first(reason, oid.duplicated(keep="first") & oid.notna(), "duplicate_id")
    text = {c: _text(_apply_aliases(mapped[c].astype("string"), given.aliases.get(c, {})))
            for c in ("customer_id", "sales_rep", "product", "source", "region", "lost_reason", "stage")
            if c in mapped.columns}  # fmt: skip
    reason = _first(reason, text["sales_rep"].isna(), "missing_sales_rep")
    order = {_key(s): s for s in [*stages, *lost]}
    stage = name_key(text["stage"]).map(order)
    reason = _first(reason, stage.isna(), "unknown_stage")
    status = pd.Series(
        np.where(stage == stages[-1], "won", np.where(stage.isin(lost), "lost", "open")), index=mapped.index
    )
    dates = {}
    for col in ("created_date", "close_date"):
        if col in mapped.columns:
            dates[col], bad = _dates(mapped[col])
            reason = _first(reason, bad, "bad_date")
        else:
            dates[col] = pd.Series(pd.NaT, index=mapped.index, dtype="datetime64[ns]")
    closed = status.isin(["won", "lost"])
    reason = _first(reason, closed & dates["close_date"].isna(), "missing_close_date")
    reason = _first(
        reason, closed & (dates["close_date"] < dates["created_date"]).fillna(False), "close_before_created"
    )
    if "amount" in mapped.columns:
        amount, bad = _numbers(mapped["amount"])
        reason = _first(reason, bad, "bad_amount")
    else:
        amount = pd.Series(np.nan, index=mapped.index)
    reason = _first(reason, (status == "won") & amount.isna(), "missing_amount")
    keep, quarantine, quality = _split(raw, reason, "opportunities")
    clean = pd.DataFrame(
        {
            "opportunity_id": oid,
            "customer_id": text.get("customer_id", pd.Series(pd.NA, index=mapped.index, dtype="string")),
            "sales_rep": _display(text["sales_rep"][keep]).reindex(mapped.index),
            "stage": stage,
            "status": status,
            "created_date": dates["created_date"],
            "close_date": dates["close_date"].where(closed),
            "expected_close_date": dates["close_date"].where(~closed),
            "amount": amount,
        }
    )
    for col in ("product", "source", "region", "lost_reason"):
        if col in text:
            clean[col] = _display(text[col][keep]).reindex(mapped.index)
    clean = clean.loc[keep].set_index("opportunity_id")
    quality.update(
        {
            "won": int((clean["status"] == "won").sum()),
            "lost": int((clean["status"] == "lost").sum()),
            "open": int((clean["status"] == "open").sum()),
            "without_created_date": int(clean["created_date"].isna().sum()),
            "without_account": int(clean["customer_id"].isna().sum()),
            "open_without_amount": int(((clean["status"] == "open") & clean["amount"].isna()).sum()),
            "suspected_typos": {
                c: pairs
                for c in ("sales_rep", "product", "source", "region")
                if c in text
                for pairs in [suspected_typos(text[c][keep])]
                if pairs
            },
        }
    )
    return clean, quarantine, quality


def clean_stage_history(
    raw: pd.DataFrame, given: SalesInputParams, opportunities: pd.DataFrame, stages: list[str], lost: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Clean stage changes: one row per stage entered (``opportunity_id``, ``stage``, ``entered_at``), sorted.

    The first entry of each run of consecutive entries of the same stage is kept (a re-saved stage is no change).
    """
    mapped = map_input(raw, given, "stage_history")
    reason = pd.Series(pd.NA, index=mapped.index, dtype="object")
    oid = _text(mapped["opportunity_id"].astype(object).map(lambda v: v if v is None or pd.isna(v) else str(v)))
    oid = oid.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    reason = _first(reason, oid.isna(), "missing_id")
    reason = _first(reason, mapped.astype(str).duplicated(keep="first"), "duplicate_row")
    reason = _first(reason, ~oid.isin(list(opportunities.index)), "unknown_opportunity")
    order = {_key(s): s for s in [*stages, *lost]}
    stage = name_key(_text(_apply_aliases(mapped["stage"].astype("string"), given.aliases.get("stage", {})))).map(order)
    reason = _first(reason, stage.isna(), "unknown_stage")
    entered, bad = _dates(mapped["entered_at"])
    reason = _first(reason, bad | entered.isna(), "bad_date")
    keep, quarantine, quality = _split(raw, reason, "stage_history")
    hist = pd.DataFrame({"opportunity_id": oid, "stage": stage, "entered_at": entered}).loc[keep]
    rank = {s: i for i, s in enumerate([*stages, *lost])}
    hist = hist.assign(_r=hist["stage"].map(rank)).sort_values(["opportunity_id", "entered_at", "_r"], kind="stable")
    repeat = (hist["opportunity_id"] == hist["opportunity_id"].shift()) & (hist["stage"] == hist["stage"].shift())
    quality["repeated_stage_entries"] = int(repeat.sum())
    hist = hist.loc[~repeat].drop(columns="_r").reset_index(drop=True)
    return hist, quarantine, quality


_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-\d{1,2})?(?:[ T].*)?$")


def parse_period(text: object) -> str | None:
    """``YYYY-MM`` or ``YYYY-Qn`` from a period cell (``2017-12``, ``2017-12-01``, ``2017Q4``, ``2017-q4``), or None."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    value = str(text.date() if isinstance(text, pd.Timestamp) else text).strip()
    if m := _QUARTER.match(value):
        return f"{m.group(1)}-Q{m.group(2)}"
    if (m := _MONTH.match(value)) and 1 <= int(m.group(2)) <= 12:
        return f"{m.group(1)}-{int(m.group(2)):02d}"
    return None


def clean_targets(raw: pd.DataFrame, given: SalesInputParams) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Clean targets: ``sales_rep``, ``team``, ``period``, ``revenue_target``, ``new_customer_target``,
    ``deal_target`` (missing optional targets stay missing)."""
    mapped = map_input(raw, given, "targets")
    reason = pd.Series(pd.NA, index=mapped.index, dtype="object")
    owner = {c: _text(_apply_aliases(mapped[c].astype("string"), given.aliases.get(c, {})))
             for c in ("sales_rep", "team") if c in mapped.columns}  # fmt: skip
    none = pd.Series(True, index=mapped.index)
    for values in owner.values():
        none &= values.isna()
    reason = _first(reason, none, "missing_owner")
    period = mapped["period"].map(parse_period)
    reason = _first(reason, period.isna(), "bad_period")
    numbers = {}
    for col in ("revenue_target", "new_customer_target", "deal_target"):
        if col in mapped.columns:
            numbers[col], bad = _numbers(mapped[col])
            reason = _first(reason, bad, "bad_target")
        else:
            numbers[col] = pd.Series(np.nan, index=mapped.index)
    keep, quarantine, quality = _split(raw, reason, "targets")
    clean = pd.DataFrame(
        {
            "sales_rep": owner.get("sales_rep", pd.Series(pd.NA, index=mapped.index, dtype="string")),
            "team": owner.get("team", pd.Series(pd.NA, index=mapped.index, dtype="string")),
            "period": period,
            **numbers,
        }
    ).loc[keep]
    return clean.reset_index(drop=True), quarantine, quality


def clean_teams(raw: pd.DataFrame, given: SalesInputParams) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Clean the team list: one row per rep (the first row of a rep listed twice), indexed by ``sales_rep``."""
    mapped = map_input(raw, given, "sales_teams")
    reason = pd.Series(pd.NA, index=mapped.index, dtype="object")
    text = {c: _text(_apply_aliases(mapped[c].astype("string"), given.aliases.get(c, {})))
            for c in ("sales_rep", "manager", "team", "region") if c in mapped.columns}  # fmt: skip
    reason = _first(reason, text["sales_rep"].isna(), "missing_sales_rep")
    reason = _first(reason, mapped.astype(str).duplicated(keep="first"), "duplicate_row")
    reason = _first(reason, name_key(text["sales_rep"]).duplicated(keep="first") & text["sales_rep"].notna(),
                    "duplicate_id")  # fmt: skip
    keep, quarantine, quality = _split(raw, reason, "sales_teams")
    clean = pd.DataFrame({c: text.get(c, pd.Series(pd.NA, index=mapped.index, dtype="string"))
                          for c in ("sales_rep", "manager", "team", "region")}).loc[keep]  # fmt: skip
    for c in ("manager", "team", "region"):
        clean[c] = _display(clean[c])
    quality["suspected_typos"] = {
        c: pairs for c in ("manager", "team", "region") for pairs in [suspected_typos(clean[c])] if pairs
    }
    return clean.set_index("sales_rep"), quarantine, quality


def read_input(given: SalesInputParams, name: str) -> pd.DataFrame:
    """The raw rows of one CRM input (``format: sample``: the bundled CRM sample of :mod:`analysis.sales.generate`)."""
    if given.source.format == "sample":
        from analysis.sales.generate import sample_crm

        return sample_crm(**given.source.sample.model_dump())[name].copy()
    raw = read_transactions(given.source)
    if raw.empty and raw.shape[1] == 0:
        raise InputError(f"{name} ({given.source.path}): the file is empty (no header, no rows)")
    return raw


def _align_reps(data: pd.Series, reference: pd.Series) -> pd.Series:
    """``data`` names spelled as in ``reference`` where their keys match (a rep written differently in two files)."""
    lookup = dict(zip(name_key(reference).tolist(), reference.tolist(), strict=True))
    keys = name_key(data)
    return data.where(~keys.isin(list(lookup)), keys.map(lookup)).astype("string")


def load_sales(params: RunParams, raw: dict[str, pd.DataFrame] | None = None) -> SalesData:
    """Read and clean every CRM input of ``params`` (``raw``: frames already read, by input name, for tests).

    Raises
    ------
    InputError
        When the params have no ``opportunities`` or an input cannot be read or mapped (naming file and fix).
    """
    if params.opportunities is None or params.funnel is None:
        raise InputError(
            "no 'opportunities' input in the params: add opportunities (source, columns) and a funnel block; "
            "see docs/sales.md"
        )
    raw = dict(raw or {})
    stages, lost = list(params.funnel.stages), list(params.funnel.lost)

    def frame(name: str) -> pd.DataFrame | None:
        given = getattr(params, name)
        if given is None:
            return None
        return raw[name] if name in raw else read_input(given, name)

    quarantine: dict[str, pd.DataFrame] = {}
    quality: dict[str, dict[str, Any]] = {}
    opps, quarantine["opportunities"], quality["opportunities"] = clean_opportunities(
        frame("opportunities"), params.opportunities, stages, lost
    )
    teams = targets = history = None
    if (t := frame("sales_teams")) is not None:
        teams, quarantine["sales_teams"], quality["sales_teams"] = clean_teams(t, params.sales_teams)
        opps["sales_rep"] = _align_reps(opps["sales_rep"], pd.Series(teams.index, dtype="string"))
        teams.index = pd.Index(teams.index, name="sales_rep")
    if (t := frame("targets")) is not None:
        targets, quarantine["targets"], quality["targets"] = clean_targets(t, params.targets)
        targets["sales_rep"] = _align_reps(targets["sales_rep"], opps["sales_rep"].dropna().drop_duplicates())
    if (t := frame("stage_history")) is not None:
        history, quarantine["stage_history"], quality["stage_history"] = clean_stage_history(
            t, params.stage_history, opps, stages, lost
        )
    if opps.empty:
        raise InputError(
            f"opportunities ({params.opportunities.source.path or 'sample'}): none of its "
            f"{quality['opportunities']['rows_in']:,} rows is a usable deal ({quality['opportunities']['reasons']}); "
            "check the column mapping and funnel.stages"
        )
    columns = [opps["created_date"], opps["close_date"]]
    if history is not None and not history.empty:
        columns.append(history["entered_at"])
    data_end = max(d for d in (c.max() for c in columns) if pd.notna(d))
    data_start = min(d for d in (c.min() for c in columns) if pd.notna(d))
    if params.funnel.export_date is not None:  # the export's own day: later dates are plans, not events
        data_end = pd.Timestamp(params.funnel.export_date)
    return SalesData(
        opportunities=opps,
        stage_history=history,
        targets=targets,
        teams=teams,
        quarantine=quarantine,
        quality=quality,
        stages=stages,
        lost=lost,
        data_end=pd.Timestamp(data_end),
        data_start=pd.Timestamp(data_start),
    )
