"""What a notebook needs to run one period × region: validated params, paths and artifacts.

Each notebook starts with a ``parameters`` cell (papermill replaces it in batch runs) and then calls
:func:`setup`, so the four notebooks share one definition of the run: the same params file, the same
``as_of`` day (the last day of ``period``), the same region filter and the same run folder, through
which they pass artifacts (``transactions.parquet`` → ``customers.parquet`` → …).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.data.clean import CleanResult, clean_transactions
from analysis.data.io import read_transactions, write_json, write_parquet
from analysis.errors import InputError, ParamsError
from analysis.params import PERIOD_RE, RunParams, load_params

ALL_REGIONS = "all"


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a ``YYYY-MM`` period."""
    if not PERIOD_RE.match(str(period)):
        raise ParamsError(f"period '{period}' is not a month; write it as YYYY-MM, e.g. 2024-06")
    p = pd.Period(period, freq="M")
    return p.start_time.normalize(), p.end_time.normalize()


def load_clean(clean_dir: str | Path) -> CleanResult:
    """Read the artifacts written by :meth:`analysis.data.clean.CleanResult.write`."""
    d = Path(clean_dir)
    try:
        return CleanResult(
            clean=pd.read_parquet(d / "clean.parquet"),
            quarantine=pd.read_csv(d / "quarantine.csv", dtype=str, keep_default_na=False),
            returns=pd.read_parquet(d / "returns.parquet"),
            quality=json.loads((d / "quality.json").read_text(encoding="utf-8")),
        )
    except FileNotFoundError as err:
        raise InputError(
            f"{d}: cleaned data not found ({err.filename}); run 'rfmkit clean' or the cleaning notebook"
        ) from None


def clean_from_params(params: RunParams) -> CleanResult:
    """Read the source named in ``params`` and clean it."""
    raw = read_transactions(params.source)
    origin = params.source.path or params.source.url or f"sample(seed={params.source.sample.seed})"
    return clean_transactions(raw, params.columns, params.cleaning, origin=origin)


@dataclass
class RunContext:
    """One run: ``params``, the ``period`` (``YYYY-MM``), ``region`` (or ``all``) and ``run_dir``."""

    params: RunParams
    period: str
    region: str
    run_dir: Path
    clean_dir: Path | None = None

    @property
    def period_start(self) -> pd.Timestamp:
        """First day of the period."""
        return period_bounds(self.period)[0]

    @property
    def as_of(self) -> pd.Timestamp:
        """The day customers are scored on: the last day of the period (inclusive)."""
        return period_bounds(self.period)[1]

    @property
    def previous_period(self) -> str:
        """The month before ``period``."""
        return str(pd.Period(self.period, freq="M") - 1)

    @property
    def previous_as_of(self) -> pd.Timestamp:
        """The last day of the previous period."""
        return self.period_start - pd.Timedelta(days=1)

    @property
    def previous_period_start(self) -> pd.Timestamp:
        """The first day of the previous period."""
        return period_bounds(self.previous_period)[0]

    @property
    def year_ago(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the same period a year before."""
        return period_bounds(str(pd.Period(self.period, freq="M") - 12))

    @property
    def period_days(self) -> int:
        """Length of the period in days."""
        return int((self.as_of - self.period_start).days) + 1

    def recent_period_ends(self, n: int = 6) -> list[pd.Timestamp]:
        """The last days of the ``n`` periods up to and including this one, oldest first."""
        p = pd.Period(self.period, freq="M")
        return [(p - k).end_time.normalize() for k in range(n - 1, -1, -1)]

    @property
    def language(self) -> str:
        return self.params.language

    @property
    def title(self) -> str:
        where = "all regions" if self.region == ALL_REGIONS else self.region
        if self.language == "zh":
            where = "全部地区" if self.region == ALL_REGIONS else self.region
        return f"{self.params.title} · {self.period} · {where}"

    @property
    def subtitle(self) -> str:
        """The line under each report's title: what, where, as of when."""
        if self.language == "zh":
            return f"**{self.title}** · 客户评分日期 **{self.as_of.date()}**"
        return f"**{self.title}** · customers scored as of **{self.as_of.date()}**"

    def text(self, en: str, zh: str, **values: Any) -> str:
        """``en`` or ``zh`` (by the run's language), formatted with ``values``."""
        return (zh if self.language == "zh" else en).format(**values)

    def say(self, en: str, zh: str, **values: Any) -> None:
        """Show a sentence of the report, in the run's language, as Markdown."""
        from IPython.display import Markdown, display

        display(Markdown(self.text(en, zh, **values)))

    def path(self, name: str) -> Path:
        """A file in the run folder."""
        return self.run_dir / name

    def clean_result(self) -> CleanResult:
        """The cleaned log: shared by the batch (``clean_dir``), or cleaned here and cached."""
        if self.clean_dir is not None:
            return load_clean(self.clean_dir)
        result = clean_from_params(self.params)
        result.write(self.run_dir / "clean")
        return result

    def scope(self, clean: pd.DataFrame) -> pd.DataFrame:
        """The transactions this run looks at: its region (unless ``all``), up to ``as_of``."""
        tx = clean[clean["order_date"].dt.normalize() <= self.as_of]
        if self.region != ALL_REGIONS:
            if "region" not in clean:
                raise InputError(
                    "region filter asked for, but the data has no 'region' column; map one under 'columns:'"
                )
            known = sorted(clean["region"].dropna().unique())
            if self.region not in known:
                raise ParamsError(f"region '{self.region}' is not in the data; regions are {known}")
            tx = tx[tx["region"] == self.region]
        return tx.reset_index(drop=True)

    def read(self, name: str) -> pd.DataFrame:
        """Read an artifact of an earlier notebook of this run (Parquet or CSV)."""
        p = self.path(name)
        if not p.exists():
            raise InputError(f"{p}: not found; run the earlier notebooks of this run first (01 → 04)")
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)

    def write(self, df: pd.DataFrame, name: str, index: bool = True) -> Path:
        """Write an artifact into the run folder (Parquet or CSV by extension)."""
        from analysis.data.io import write_table

        return write_table(df, self.path(name), index=index)

    @property
    def clv_holdout(self) -> pd.Timedelta:
        """Length of the holdout used to check the CLV model in reports: 26 weeks."""
        return pd.Timedelta(weeks=26)

    def write_parquet(self, df: pd.DataFrame, name: str) -> Path:
        return write_parquet(df, self.path(name))

    def read_headline(self) -> dict[str, Any]:
        """The headline figures written so far by this run's notebooks."""
        p = self.path("headline.json")
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}

    def update_headline(self, **values: Any) -> dict[str, Any]:
        """Merge headline figures (for the index page) into ``headline.json``."""
        p = self.path("headline.json")
        data = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
        data.update(values)
        write_json(data, p)
        return data


def setup(
    params_path: str | Path,
    period: str,
    region: str = ALL_REGIONS,
    run_dir: str | Path | None = None,
    clean_dir: str | Path | None = None,
) -> RunContext:
    """Validate the notebook's parameters and prepare plotting; returns the run's context.

    ``run_dir`` defaults to ``<output_dir>/<period>/<region>`` of the params file, so a notebook run
    by hand in JupyterLab writes where the batch would.
    """
    params = load_params(params_path)
    period_bounds(period)
    region = str(region or ALL_REGIONS)
    if run_dir in (None, ""):
        run_dir = Path(params.output_dir) / period / region_slug(region)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    from analysis.report.plots.style import use_report_style

    use_report_style(params.language)
    from analysis.report.tables import set_language

    set_language(params.language)
    warnings.filterwarnings("ignore", category=FutureWarning)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    return RunContext(params, str(period), region, run, Path(clean_dir) if clean_dir else None)


def region_slug(region: str) -> str:
    """A folder name for a region (letters, digits, ``-`` and ``_``; other characters become ``_``)."""
    import re

    slug = re.sub(r"[^\w\-]+", "_", str(region), flags=re.UNICODE).strip("_")
    return slug or "unknown"
