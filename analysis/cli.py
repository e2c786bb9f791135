"""The ``rfmkit`` command. A thin layer: it parses arguments and calls ``analysis``.

Errors the kit raises on purpose (:class:`analysis.errors.RfmkitError`) are printed as one message,
without a traceback, and the command exits with status 2 (1 for a batch with failed runs).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from analysis.errors import BatchError, RfmkitError, format_validation_error


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BatchError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
        except RfmkitError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        except ValidationError as err:
            message = format_validation_error(err, "command line", "option values", "unknown option")
            click.echo(f"error: {message}", err=True)
            sys.exit(2)
        except OSError as err:  # a read-only or missing output folder, a full disk: the file and the fix
            where = err.filename or "the output"
            click.echo(
                f"error: cannot write or read {where}: {err.strerror or err}; choose a folder you can write to "
                "(--out, or output_dir in the params), or fix its permissions or free space",
                err=True,
            )
            sys.exit(2)

    return wrapper


def _parse_maps(maps: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in maps:
        if "=" not in item:
            raise click.BadParameter(
                f"'{item}' is not CANONICAL=YOURS, e.g. customer_id=CustomerID", param_hint="--map"
            )
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _day(text: Any, option: str):
    """The one date parser of every command: ``YYYY-MM-DD``, or ``YYYY-MM`` meaning the month's last day.

    Anything else (``01/02/2024``, ``2024-2-1``, ``yesterday``) is a :class:`ParamsError` naming the option:
    a day written another way is ambiguous (2 January or 1 February?), so it is never guessed.
    """
    import datetime as dt

    import pandas as pd

    from analysis.errors import ParamsError

    if isinstance(text, dt.date):
        return pd.Timestamp(text).normalize()
    value = str(text).strip()
    day, month = _ISO_DAY.match(value), _ISO_MONTH.match(value)
    parsed = None
    try:
        if day:
            parsed = pd.Timestamp(int(day[1]), int(day[2]), int(day[3]))
        elif month and 1 <= int(month[2]) <= 12:
            parsed = pd.Timestamp(int(month[1]), int(month[2]), 1) + pd.offsets.MonthEnd(0)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is not None and pd.Timestamp("1678-01-01") <= parsed <= pd.Timestamp("2261-12-31"):
        return parsed
    raise ParamsError(
        f"{option} '{text}' is not a date: write YYYY-MM-DD (e.g. 2024-02-01), or YYYY-MM for the month's last day "
        "(days from 1678 to 2261)"
    )


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: check a date option while the command line is parsed, before any work; ISO text out."""
    from analysis.errors import ParamsError

    if value is None:
        return None
    try:
        return str(_day(value, "--" + str(param.name).replace("_", "-")).date())
    except ParamsError as err:
        click.echo(f"error: {err}", err=True)
        ctx.exit(2)


def _table_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: an output table's name must end in .csv or .parquet (checked before any work)."""
    if value is not None and Path(value).suffix.lower() not in {".csv", ".parquet", ".pq"}:
        click.echo(
            f"error: --out '{value}': the format follows the extension; choose a .csv or .parquet file name",
            err=True,
        )
        ctx.exit(2)
    return value


def _check_in_data(day: Any, tx: Any, option: str) -> None:
    """Refuse a day before the data's first purchase; note one after its last (recency then counts those days)."""
    import pandas as pd

    if len(tx) == 0:
        return
    dates = pd.to_datetime(tx["order_date"])
    _check_in_bounds(day, dates.min().normalize(), dates.max().normalize(), option)


def _check_in_bounds(day: Any, first: Any, last: Any, option: str) -> None:
    """:func:`_check_in_data` from the data's first and last purchase day (None: no data, nothing to check)."""
    from analysis.errors import ParamsError

    if first is None:
        return
    if day < first:
        raise ParamsError(
            f"{option} {day.date()} is before the data starts ({first.date()}): there is nothing to use; "
            f"choose a day from {first.date()} to {last.date()}"
        )
    if day > last:
        click.echo(
            f"note: {option} {day.date()} is after the data end ({last.date()}, {(day - last).days} days earlier); "
            f"days without data count as days without purchases (use {option} {last.date()} to stop at the data)",
            err=True,
        )


def _input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option(
            "--params",
            "params_file",
            type=click.Path(exists=True, dir_okay=False),
            help="A params YAML whose columns:, source: (sep, header, names) and cleaning: apply.",
        ),
        click.option(
            "--map",
            "maps",
            multiple=True,
            metavar="CANONICAL=YOURS",
            help="Map one of your columns onto a canonical name; repeat, e.g. --map customer_id=CustomerID.",
        ),
        click.option(
            "--sep", default=None, help="Field separator of a text file (default ','; '\\s+' for whitespace)."
        ),
        click.option("--no-header", is_flag=True, help="The text file has no header row (give --names)."),
        click.option(
            "--skiprows",
            type=click.IntRange(min=0),
            default=None,
            help="Rows above the header to skip (a title or notes above the column names), in CSV and Excel.",
        ),
        click.option("--names", default=None, help="Comma-separated column names for a file without header."),
        click.option(
            "--date-format", default=None, help="strftime format of the dates, e.g. %Y%m%d (default: inferred)."
        ),
        click.option(
            "--decimal",
            type=click.Choice([".", ","]),
            default=None,
            help="Decimal mark of amounts in text files (',' for 1.234,56).",
        ),
        click.option("--encoding", default=None, help="Text encoding of the file (default utf-8; e.g. latin-1, gbk)."),
        click.option(
            "--query",
            default=None,
            help="SQL query, when INPUT is a SQLAlchemy URL (sqlite:///x.db, duckdb:///x.duckdb).",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _load_input(
    input_: str,
    params_file: str | None,
    maps: tuple[str, ...],
    sep: str | None,
    no_header: bool,
    names: str | None,
    date_format: str | None,
    query: str | None,
    decimal: str | None = None,
    encoding: str | None = None,
    skiprows: int | None = None,
):
    """Build the source/mapping/cleaning settings from options, read and clean the input."""
    from analysis.data.clean import clean_transactions
    from analysis.data.io import read_transactions
    from analysis.datasets import dataset_name
    from analysis.params import CleaningParams, SourceParams

    source_kw: dict[str, Any] = {}
    columns: dict[str, str] = {}
    cleaning = CleaningParams()
    if params_file:
        p = _load_partial(params_file)
        source_kw = p.source.model_dump(exclude={"path", "url", "query", "format", "sample", "name"})
        columns = dict(p.columns)
        cleaning = p.cleaning
    columns.update(_parse_maps(maps))
    if sep is not None:
        source_kw["sep"] = sep
    if no_header:
        source_kw["header"] = False
    if names:
        source_kw["names"] = [n.strip() for n in names.split(",")]
    if date_format:
        cleaning = CleaningParams.model_validate({**cleaning.model_dump(), "date_format": date_format})
    if decimal:
        cleaning = cleaning.model_copy(update={"decimal": decimal})
    if encoding:
        source_kw["encoding"] = encoding
    if skiprows is not None:
        source_kw["skiprows"] = skiprows
    if (name := dataset_name(input_)) is not None:
        source = SourceParams(format="dataset", name=name, **source_kw)
    elif "://" in input_:
        source = SourceParams(format="sql", url=input_, query=query, **source_kw)
    else:
        source = SourceParams(format="auto", path=input_, **source_kw)
    raw = read_transactions(source)
    return clean_transactions(raw, columns, cleaning, origin=input_)


def _clean_parquet(input_: str) -> bool:
    """Whether INPUT is the clean.parquet of 'rfmkit clean' (recognised by its schema, not read); one with no rows
    is an :class:`InputError` pointing at the quarantine beside it."""
    from analysis.data.io import clean_parquet_rows
    from analysis.errors import InputError

    rows = clean_parquet_rows(input_)
    if rows == 0:
        raise InputError(f"{input_}: the cleaned data has no rows; see quality.json and quarantine.csv beside it")
    return rows is not None


def _transactions(input_: str, opts: dict[str, Any], as_of: Any = None):
    """The net log of INPUT (the clean.parquet of 'rfmkit clean', or a raw log cleaned now): the purchases net of
    the returns matched to them made up to ``as_of`` (a day; None: all), as the batch nets (docs/cancellations.md)."""
    import pandas as pd

    if _clean_parquet(input_):
        clean = pd.read_parquet(input_)
        net = _net_beside(input_, clean, as_of)
        return clean if net is None else net
    return _cleaned_now(input_, opts).net(as_of)


def _cleaned_now(input_: str, opts: dict[str, Any]):
    """The :class:`~analysis.data.clean.CleanResult` of a raw log INPUT, cleaned now (a clear error when no row is
    usable), with a note of what cleaning kept."""
    from analysis.data.clean import require_rows

    result = _load_input(input_, **opts)
    require_rows(result.quality)
    q = result.quality
    click.echo(
        f"cleaned on the fly: {q['rows_clean']:,} of {q['rows_in']:,} rows kept "
        f"({q['rows_quarantined']:,} set aside; run 'rfmkit clean' to see them)",
        err=True,
    )
    return result


def _net_beside(path: str, clean: Any = None, as_of: Any = None) -> Any:
    """The net log of the clean.parquet at ``path`` (returns made up to ``as_of`` netted; None: all) when 'rfmkit
    clean' matched returns to its orders (``returns.parquet`` and a non-empty ``allocations.parquet`` beside it);
    None when there is nothing to net."""
    from pathlib import Path

    import pandas as pd

    from analysis.data.cancellations import net_log

    folder = Path(path).parent
    allocations, returns = folder / "allocations.parquet", folder / "returns.parquet"
    if not (allocations.is_file() and returns.is_file()):
        return None
    alloc = pd.read_parquet(allocations)
    if alloc.empty:
        return None
    clean = pd.read_parquet(path) if clean is None else clean
    return net_log(clean, pd.read_parquet(returns), alloc, as_of).reset_index(drop=True)


def _clean_result(input_: str, opts: dict[str, Any]):
    """The :class:`~analysis.data.clean.CleanResult` of INPUT, so a command nets returns as the batch does
    (:func:`analysis.stages.cleaned`): a folder written by 'rfmkit clean', a clean.parquet (with the returns.parquet
    and allocations.parquet beside it, when there), or a raw log cleaned now."""
    import pandas as pd

    from analysis.data.clean import CleanResult
    from analysis.data.store import load_clean

    if Path(input_).is_dir():
        return load_clean(input_)
    if _clean_parquet(input_):
        folder = Path(input_).parent
        returns, alloc = folder / "returns.parquet", folder / "allocations.parquet"
        return CleanResult(
            clean=pd.read_parquet(input_),
            quarantine=pd.DataFrame(),
            returns=pd.read_parquet(returns) if returns.is_file() else pd.DataFrame(),
            # no returns beside it: nothing to net (an empty match); returns not matched yet: matched on use
            allocations=pd.read_parquet(alloc) if alloc.is_file() else None if returns.is_file() else pd.DataFrame(),
        )
    return _cleaned_now(input_, opts)


def _clean_source(input_: str, opts: dict[str, Any], as_of: Any = None):
    """What ``rfmkit score`` reads, and the returns beside it (None: none known): the path of a clean.parquet
    written by 'rfmkit clean', or of a folder of such Parquet files (e.g. written by Spark; the engine reads it,
    once), else the frame of a raw log cleaned now. A clean.parquet with returns matched to its orders is read as
    its net log (a frame) of the returns made up to ``as_of``, as every run reads it."""
    import pandas as pd

    if _clean_parquet(input_):
        net = _net_beside(input_, as_of=as_of)
        beside = Path(input_).parent / "returns.parquet"
        return (input_ if net is None else net), (pd.read_parquet(beside) if beside.is_file() else None)
    if _clean_parquet_folder(input_):
        return input_, None
    result = _cleaned_now(input_, opts).matched()
    return result.net(as_of), result.returns


def _clean_parquet_folder(input_: str) -> bool:
    """Whether INPUT is a folder whose Parquet files are clean Parquet (the first one's footer says so)."""
    from analysis.data.io import clean_parquet_rows

    folder = Path(input_)
    first = next(iter(sorted(folder.rglob("*.parquet"))), None) if folder.is_dir() else None
    return first is not None and clean_parquet_rows(first) is not None


def _write_table(frame: Any, out: str, index: bool = True) -> Path:
    """A command's output table: Parquet (full precision) or, for .csv, the kit's one spreadsheet-safe CSV writer
    (formula cells neutralised, UTF-8 with BOM, money in cents; :mod:`analysis.data.spreadsheet`)."""
    from analysis.data.io import write_parquet
    from analysis.data.spreadsheet import write_spreadsheet_csv

    if Path(out).suffix.lower() in {".parquet", ".pq"}:
        return write_parquet(frame, out)
    return write_spreadsheet_csv(frame, out, index=index)


def _load_partial(path: str):
    """The params of a file used for its input, scoring or experiment settings: every key validated, with or
    without ``periods`` (a file without them gets a placeholder month; a long range is no error here, as nothing
    runs per month)."""
    from analysis.params import load_params, read_params_file

    has_periods = "periods" in read_params_file(path)
    overrides = None if has_periods else {"periods": {"start": "2000-01", "end": "2000-01"}}
    return load_params(path, overrides=overrides, allow_large=True)


def _params_of(params_file: str | None):
    """The params of ``--params`` (with or without ``periods``), or the defaults without it."""
    from analysis.params import RunParams

    if params_file:
        return _load_partial(params_file)
    return RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}})


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="rfmkit")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log messages on stderr: -v skipped runs, timings, cleaning counts; -vv debug details.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr (no warnings such as kernel retries).")
def main(verbose: int, quiet: bool) -> None:
    """rfmkit: a transaction log → customer segments, lifetime values, actions and HTML reports.

    \b
    Typical use:
      rfmkit sample --out data/sample.csv            # a synthetic log to try things on
      rfmkit clean data/sample.csv --out out/clean   # clean.parquet, quarantine.csv, quality.json
      rfmkit score out/clean/clean.parquet --as-of 2024-12-31 --out customers.csv
      rfmkit clv dataset:cdnow_sample --params params/cdnow.yaml ...  # the bundled CDNOW sample
      rfmkit -v run params/monthly.yaml              # every month × region → reports/index.html
    """
    from analysis.logs import configure_logging

    configure_logging(verbose, quiet)


@main.command()
@_friendly
def datasets() -> None:
    """List the data sets shipped with rfmkit: name, file and description.

    Use one as INPUT with 'dataset:NAME' (e.g. rfmkit clv dataset:cdnow_sample --params params/cdnow.yaml ...)
    or in a params file as source: {format: dataset, name: NAME}.
    """
    from analysis.datasets import DATASETS

    for d in DATASETS.values():
        click.echo(f"{d.name}\t{d.path()}\n    {d.description}")


@main.command()
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    callback=_table_option,
    help="File to write: .csv or .parquet (chosen by the extension).",
)
@click.option(
    "--customers", default=20_000, show_default=True, type=click.IntRange(min=10), help="Number of customers."
)
@click.option("--start", default="2023-01-01", show_default=True, callback=_date_option, help="First day of the log.")
@click.option("--end", default="2024-12-31", show_default=True, callback=_date_option, help="Last day of the log.")
@click.option("--seed", default=42, show_default=True, help="Random seed: the same seed gives the same rows.")
@click.option(
    "--clean/--dirty",
    "clean_only",
    default=False,
    help="--clean leaves out the deliberately broken rows (default: include them).",
)
@click.option(
    "--treated",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A run's actions/assignments.parquet: its treatment group gets extra purchases (with --effect, --window).",
)
@click.option(
    "--effect",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Chance that each treated customer makes one extra purchase in --window (a known action effect).",
)
@click.option(
    "--window", default=None, metavar="START..END", help="Days of the extra purchases, e.g. 2024-12-01..2024-12-31."
)
@_friendly
def sample(
    out: str,
    customers: int,
    start: str,
    end: str,
    seed: int,
    clean_only: bool,
    treated: str | None,
    effect: float,
    window: str | None,
) -> None:
    """Write a deterministic synthetic transaction log (buy-till-you-die behaviour, some dirty rows).

    With --treated, --effect and --window, the treatment group of a run's assignments buys more in the window
    by a known amount, so 'rfmkit evaluate-actions' (or the next month's run) has an effect to find.
    """
    import pandas as pd

    from analysis.data.sample import generate_transactions
    from analysis.errors import ParamsError
    from analysis.params import SampleParams

    spec = SampleParams(
        customers=customers, start=_day(start, "--start"), end=_day(end, "--end"), seed=seed, dirty=not clean_only
    )
    extra: dict[str, Any] = {}
    if treated or effect or window:
        if not (treated and effect and window and ".." in window):
            raise ParamsError("a treatment effect needs --treated ASSIGNMENTS.parquet, --effect P and --window A..B")
        first, last = (part.strip() for part in window.split("..", 1))
        extra = {
            "treated": pd.read_parquet(treated),
            "treatment_effect": effect,
            "treatment_window": (_day(first, "--window").date(), _day(last, "--window").date()),
        }
    df = generate_transactions(**spec.model_dump(), **extra)
    _write_table(df, out, index=False)
    click.echo(f"wrote {len(df):,} rows for {customers:,} customers to {out}")


@main.command()
@click.argument("input_", metavar="INPUT")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the outputs.")
@_input_options
@_friendly
def clean(input_: str, out: str, **opts: Any) -> None:
    """Clean INPUT (CSV, Parquet, Excel file, SQLAlchemy URL with --query, or dataset:NAME of 'rfmkit datasets').

    Writes OUT/clean.parquet, OUT/quarantine.csv (every row set aside, as it came in, with its
    reason), OUT/returns.parquet and OUT/quality.json (rows_in = rows_clean + rows_quarantined).
    """
    result = _load_input(input_, **opts)
    result.write(out)
    q = result.quality
    reasons = ", ".join(f"{k} {v:,}" for k, v in q["reasons"].items() if v)
    click.echo(
        f"{q['rows_in']:,} rows in: {q['rows_clean']:,} clean, {q['rows_quarantined']:,} quarantined"
        f"{' (' + reasons + ')' if reasons else ''}; {q['outliers_flagged']:,} outliers flagged. → {out}"
    )


def empty_clv_column_note(scored: Any) -> None:
    """One line on stderr when a CLV column of ``rfmkit score``'s output is empty for every customer, and why
    (the run-rate fallback has no P(alive): it assumes every customer stays)."""
    from analysis.text import t

    customers, value = scored.customers, scored.clv_value
    if value is None or not len(customers):
        return
    columns = ("p_alive", "expected_purchases", "spend_per_purchase", "expected_spend_horizon", "clv")
    empty = [c for c in columns if c in customers.columns and customers[c].isna().all()]
    if empty:
        why = value.reason_text("en") or t("cli.clv_empty_method", "en", method=value.method_label("en"))
        click.echo(t("cli.clv_empty", "en", columns=", ".join(empty), why=why), err=True)


@main.command()
@click.argument("input_", metavar="INPUT")
@click.option(
    "--as-of",
    "as_of",
    required=True,
    callback=_date_option,
    help="Score as of this day, inclusive: YYYY-MM-DD, or YYYY-MM for the month's last day.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    callback=_table_option,
    help="customers.csv or .parquet to write.",
)
@click.option(
    "--lookback-days", type=click.IntRange(min=1), default=None, help="Only purchases in this many days up to --as-of."
)
@click.option(
    "--no-clv",
    is_flag=True,
    help="Skip the CLV models (p_alive, expected_purchases, spend_per_purchase, expected_spend_horizon, clv).",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "pandas", "duckdb", "spark"]),
    default=None,
    help="Where the per-customer summaries are computed (default: the params' engine, else auto: pandas for small "
    "inputs, DuckDB above; the same customers either way).",
)
@_input_options
@_friendly
def score(
    input_: str, as_of: str, out: str, lookback_days: int | None, no_clv: bool, engine: str | None, **opts: Any
) -> None:
    """Score customers of INPUT: recency, frequency, monetary, 1–5 scores, segment and value class.

    Adds the CLV columns p_alive, expected_purchases (over the params' horizon, 52 weeks by default),
    spend_per_purchase, expected_spend_horizon (expected purchases × spend per purchase) and clv (discounted,
    currency) from BG/NBD + Gamma-Gamma fitted on everything up to --as-of. Also adds abc_class (A/B/C by
    cumulative revenue share), lifecycle_stage (new/active/reactivated/dormant/lost; the period is --as-of's month
    up to --as-of, as in the reports) and cluster (k-means).
    With --params and --as-of the last day of a month (the data's last day when it ends inside the month, as the
    batch scores a partial month), the result equals the batch's customers.parquet.

    INPUT is a raw log (cleaned on the fly, with the same options as 'rfmkit clean') or the
    clean.parquet written by 'rfmkit clean' (read once, by the engine). One row per customer is written to OUT.
    """

    from analysis import stages
    from analysis.params import RunParams

    if opts.get("params_file"):
        params = _load_partial(opts["params_file"])
    else:
        params = RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}})
    update: dict[str, Any] = {}
    if lookback_days:
        update["rfm"] = params.rfm.model_copy(update={"lookback_days": lookback_days})
    if no_clv:
        update["clv"] = params.clv.model_copy(update={"enabled": False})
    if engine:
        update["engine"] = engine
    params = params.model_copy(update=update)
    day = _day(as_of, "--as-of")
    source, returns = _clean_source(input_, opts, day)  # returns made after --as-of are not known on --as-of
    inputs = stages.score_inputs(source, params, day, engine=engine)
    _check_in_bounds(day, inputs.first_day, inputs.last_day, "--as-of")
    # the data's first day: a period starting on or before it calls nobody new; the returns decide the ABC tier
    # of a customer whose net spend is at or below zero, as in the batch
    scored = stages.score(
        source, params, day, clv_check=False, data_start=inputs.first_day, inputs=inputs, previous_scores=False,
        returns=returns,
    )  # fmt: skip
    if scored.clv is not None:
        click.echo(scored.clv.reason("en"), err=True)
    empty_clv_column_note(scored)
    _write_table(scored.customers, out)
    click.echo(f"scored {len(scored.customers):,} customers as of {scored.as_of.date()} → {out}")


@main.command()
@click.argument("input_", metavar="INPUT")
@click.option(
    "--calibration-end",
    required=True,
    callback=_date_option,
    help="Last day of the calibration period (inclusive): YYYY-MM-DD, or YYYY-MM for the month's last day.",
)
@click.option(
    "--holdout-end",
    default=None,
    callback=_date_option,
    help="Last day of the holdout period (YYYY-MM-DD or YYYY-MM): adds the validation tables.",
)
@click.option(
    "--time-unit",
    type=click.Choice(["D", "W", "M"]),
    default="W",
    show_default=True,
    help="Unit of every time, horizon and discount rate (days, weeks, months).",
)
@click.option("--horizon", type=float, default=None, help="CLV horizon in time units (default: one year).")
@click.option(
    "--discount-rate", type=float, default=None, help="Discount rate per time unit (default: 10 % a year, converted)."
)
@click.option(
    "--penalizer",
    default="auto",
    show_default=True,
    help="Penalty on log parameters, the same in any currency or time unit (0 = none); 'auto' uses the one, none "
    "included, with the smallest error predicting held-back purchases of the calibration history.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for params.json, customers.csv, …")
@_input_options
@_friendly
def clv(
    input_: str,
    calibration_end: str,
    holdout_end: str | None,
    time_unit: str,
    horizon: float | None,
    discount_rate: float | None,
    penalizer: str,
    out: str,
    **opts: Any,
) -> None:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma by maximum likelihood and predict every customer.

    Writes OUT/params.json (parameters, log-likelihoods, standard errors, time unit), OUT/customers.csv
    (P(alive), expected purchases, expected spend, CLV) and, with --holdout-end, the holdout
    comparison (holdout_by_frequency.csv, tracking.csv, holdout_errors.json).
    """

    from analysis.clv.pipeline import write_clv
    from analysis.stages import clv_models

    result = _clean_result(input_, opts) if _clean_parquet(input_) else _cleaned_now(input_, opts)
    cal_day = _day(calibration_end, "--calibration-end")
    tx = _clv_log(result, cal_day, _day(holdout_end, "--holdout-end") if holdout_end else None)
    _check_in_data(_day(calibration_end, "--calibration-end"), tx, "--calibration-end")
    if holdout_end:
        _check_in_data(_day(holdout_end, "--holdout-end"), tx, "--holdout-end")
    result = clv_models(
        tx,
        calibration_end,
        holdout_end,
        time_unit=time_unit,
        penalizer=_penalizer(penalizer),
        horizon=horizon,
        discount_rate=discount_rate,
    )
    write_clv(result, out)
    model = result.transaction_model
    shown = " ".join(f"{k}={v:.3f}" for k, v in model.params_.items() if v == v)  # NaN: undefined at a boundary
    click.echo(
        f"{model.display_name} {shown} LL={model.log_likelihood_:.1f} "
        f"({len(result.summary):,} customers, unit {time_unit}) → {out}"
    )
    if result.reason:
        click.echo(result.reason, err=True)
    if result.penalizer_choice is not None:
        click.echo(result.penalizer_choice.describe("en"), err=True)


def _clv_log(result: Any, calibration_end: Any, holdout_end: Any = None) -> Any:
    """The net log ``rfmkit clv`` fits, without look-ahead: the purchases up to ``calibration_end`` net of the
    returns made up to that day, the later ones net of the returns made up to ``holdout_end`` (None: the
    calibration end). ``result`` is a :class:`~analysis.data.clean.CleanResult`."""
    import pandas as pd

    early = result.net(calibration_end)
    late = early if holdout_end is None else result.net(holdout_end)
    in_calibration = early["order_date"].dt.normalize() <= calibration_end
    after = late["order_date"].dt.normalize() > calibration_end
    return pd.concat([early[in_calibration], late[after]]).reset_index(drop=True)


def _penalizer(value: str) -> float | str:
    """``--penalizer``: ``auto`` or a number >= 0."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (number >= 0 and number != float("inf")):
        raise click.BadParameter(f"{value!r}: give a number >= 0 (0 = none) or auto", param_hint="--penalizer")
    return number


@main.command()
@click.argument("params_file", metavar="PARAMS.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--period", default=None, help="Only these months: 2024-01, 2024-01..2024-06, or a comma list.")
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="Only this region (repeat; 'all' = all regions together, 'region:all' = a region named 'all').",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Runs in parallel (default: params, else the number of cores).",
)
@click.option("--force", is_flag=True, help="Re-run even runs whose inputs, params and code are unchanged.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--allow-large",
    is_flag=True,
    help="Accept a period range longer than periods.max_months (default 120 months), and regions: all on data with "
    "more regions than max_regions (default 50).",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail at once, naming the holder, when another batch is writing the output folder (default: wait for it).",
)
@_friendly
def run(
    params_file: str,
    period: str | None,
    regions: tuple[str, ...],
    jobs: int | None,
    force: bool,
    no_progress: bool,
    allow_large: bool,
    no_wait: bool,
) -> None:
    """Run the notebooks for every month × region of PARAMS.yaml and render the HTML reports.

    Reports go to <output_dir>/<period>/<region>/, with <output_dir>/index.html linking every run. One batch at a
    time writes an output folder: a second one waits for the first (saying which batch holds it), or with --no-wait
    fails at once.
    """
    from analysis.batch.runner import run_batch

    periods = _parse_periods(period) if period else None
    result = run_batch(
        params_file,
        periods=periods,
        regions=list(regions) or None,
        jobs=jobs,
        force=force,
        progress=not no_progress,
        allow_large=allow_large,
        wait=not no_wait,
    )
    click.echo(result.summary())


@main.command("evaluate-actions")
@click.option(
    "--assigned",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The run folder whose actions were carried out (REPORTS/PERIOD/REGION, with actions/assignments.parquet).",
)
@click.option(
    "--data",
    "data",
    required=True,
    help="Transactions covering the measurement window: a 'rfmkit clean' folder, its clean.parquet, or a raw log.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for action_results.csv.")
@click.option(
    "--window-months",
    type=click.IntRange(min=1),
    default=None,
    help="Months measured after the assignments (default: the params' experiment.window_months, else 1).",
)
@_input_options
@_friendly
def evaluate_actions(assigned: str, data: str, out: str, window_months: int | None, **opts: Any) -> None:
    """Measure what each action of a run earned: its treatment group against its control group.

    Reads ASSIGNED/actions/assignments.parquet (who was assigned which action, treated or held out) and the
    transactions, and writes OUT/action_results.csv — the batch's evaluation stage and file, the same columns
    and numbers as the action_results.csv of the run experiment.window_months after ASSIGNED: per action the
    customers treated and held out, response rates (bought in the window), revenue per customer, the uplift in
    both with 95 % intervals, incremental revenue against the budget (measured ROI), the power to detect the
    playbook's assumed uplift, and which uplift the next recommendations use. The window is the months after the
    assignments (experiment.window_months, or --window-months), up to the data's last day when the data end
    earlier; only the run's region is counted when the run was for one region. --params applies its
    experiment: settings too.
    """
    import pandas as pd

    from analysis import stages
    from analysis.artifacts import read_sent, write_evaluation
    from analysis.errors import InputError
    from analysis.regions import ALL_REGIONS, parse_region, run_rep
    from analysis.window import period_bounds

    path = Path(assigned) / "actions" / "assignments.parquet"
    if not path.is_file():
        raise InputError(
            f"{path}: not found; --assigned must be a run folder written with control groups (REPORTS/PERIOD/REGION)"
        )
    groups = pd.read_parquet(path)
    periods = sorted(groups["period"].astype(str).unique()) if "period" in groups.columns else []
    if len(periods) != 1:
        raise InputError(f"{path}: expected the assignments of one period in column 'period', found {periods}")
    params = _params_of(opts.get("params_file"))
    if window_months is not None:
        params = params.model_copy(
            update={"experiment": params.experiment.model_copy(update={"window_months": window_months})}
        )
    # the run that measures them: experiment.window_months after the assignments, as in the batch
    period = str(pd.Period(periods[0], freq="M") + params.experiment.window_months)
    region = parse_region(str(groups["region"].iloc[0])) if "region" in groups.columns and len(groups) else ALL_REGIONS
    # the batch's clean stage and window (pipeline.clean, evaluation): the net log up to the period's last day
    region_column = params.columns.get(scoped := "sales_rep" if run_rep(region) is not None else "region", scoped)
    cleaned = stages.cleaned(_clean_result(data, opts), period, region, region_column)
    window = stages.run_window(period, cleaned, params)
    evaluation = stages.evaluation(
        cleaned.transactions, groups, params, period, as_of=window.as_of, sent=read_sent(Path(assigned)),
        data_end=window.data_end,
    )  # fmt: skip
    if not isinstance(evaluation.results, pd.DataFrame):
        raise InputError(f"{path}: nothing measured: {evaluation.results.reason('en')}")
    start, end = evaluation.window
    last, full_end = window.data_end, period_bounds(period)[1]
    if last < full_end:
        cut = (  # as the batch scores a partial month, the window stops at the data's last day
            f"the window stops there ({start.date()}..{end.date()})"
            if end < full_end
            else "purchases after it are not counted"
        )
        click.echo(
            f"note: the data end on {last.date()}, before the window's last day {full_end.date()}: {cut}; "
            f"measure again with data up to {full_end.date()} for the whole window",
            err=True,
        )
    (target,) = write_evaluation(Path(out), evaluation, params.language)
    results = evaluation.results
    click.echo(
        f"{len(results)} action(s) assigned in {periods[0]} measured over {start.date()}..{end.date()}: "
        f"{int(results['treated_customers'].sum()):,} treated, {int(results['control_customers'].sum()):,} "
        f"held out → {target}"
    )


@main.command("confirm-actions")
@click.argument("params_file", metavar="PARAMS.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--period", required=True, help="The month whose actions the CRM sent (YYYY-MM).")
@click.option(
    "--region",
    default=None,
    help="The run's region as params name it ('all' for all regions together); default: every published run of "
    "PERIOD with control groups.",
)
@click.option(
    "--sent",
    "sent_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV of the customers the CRM actually contacted (column customer_id, or customer/pseudonym as in the CRM "
    "lists, or one column without header); without it every treatment customer counts as sent.",
)
@_friendly
def confirm_actions(params_file: str, period: str, region: str | None, sent_file: str | None) -> None:
    """Record that the actions of PERIOD were sent, so that the next period measures them.

    A run publishes its actions' groups as proposed (actions/assignments.parquet: treatment = the CRM lists,
    control = held out). Only actions recorded here as sent are measured in action_results.csv and the report's
    "Did last period's actions work?"; the others say "not measured: no record that it was sent". The record is
    REPORTS/PERIOD/REGION/actions/sent.parquet; confirming again adds to it. Control customers are never counted
    as sent (an id of FILE in a control group is reported and left out).
    """
    import re

    import pandas as pd

    from analysis.artifacts import ASSIGNMENTS, read_assignments, read_sent, write_sent
    from analysis.errors import InputError
    from analysis.regions import parse_region, region_slug
    from analysis.strategy.experiment import GROUPS, confirm_sent, merge_sent

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise InputError(f"--period {period!r}: expected a month written YYYY-MM, e.g. 2024-11")
    params = _load_partial(params_file)
    month = Path(params.output_dir) / period
    if region is not None:
        where = month / region_slug(parse_region(region))
        folders = [where] if (where / ASSIGNMENTS).is_file() else []
    else:
        where = month
        folders = sorted(p.parent.parent for p in month.glob(f"*/{ASSIGNMENTS}"))
    if not folders:
        raise InputError(
            f"{where}: no published run of {period} with control groups ({ASSIGNMENTS}); run "
            f"'rfmkit run {params_file}' for {period} with experiment.enabled first"
        )
    contacted = None
    if sent_file is not None:
        table = pd.read_csv(sent_file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        column = next((c for c in ("customer_id", "customer", "pseudonym") if c in table.columns), None)
        if column is None and len(table.columns) == 1:
            table = pd.read_csv(sent_file, dtype=str, keep_default_na=False, header=None, encoding="utf-8-sig")
            column = table.columns[0]
        if column is None:
            raise InputError(
                f"{sent_file}: no column customer_id (or customer / pseudonym) among {list(table.columns)}; "
                "give the ids the CRM contacted in a column named customer_id"
            )
        contacted = table[column].astype(str).str.strip()
        contacted = contacted[contacted != ""]
    confirmed = [(f, g, confirm_sent(g, contacted)) for f in folders if (g := read_assignments(f)) is not None]
    if contacted is not None and not any(len(c.record) for _, _, c in confirmed):
        raise InputError(
            f"{sent_file}: none of its {contacted.nunique():,} ids is a treatment customer of {period} "
            f"({', '.join(str(f) for f in folders)}); list the customer ids (or the pseudonyms of the CRM lists) "
            "that were contacted"
        )
    known: set[str] = set()
    for folder, groups, conf in confirmed:
        known |= set(groups.index.astype(str))
        if "pseudonym" in groups.columns:
            known |= set(groups["pseudonym"].astype(str))
        record = merge_sent(read_sent(folder), conf.record)
        target = write_sent(folder, record)
        treated = groups[groups["group"] == GROUPS[0]]
        sent_actions = sorted(record["action"].astype(str).unique())
        unsent = sorted(set(treated["action"].astype(str)) - set(sent_actions))
        click.echo(
            f"{folder}: {len(record):,} of {len(treated):,} treatment customers recorded as sent "
            f"(actions: {', '.join(sent_actions) or 'none'}; not sent: {', '.join(unsent) or 'none'}) → {target}"
        )
        if conf.control:
            click.echo(
                f"warning: {conf.control:,} id(s) of {sent_file} are in a control group of {folder}: they stay held "
                "out and do not count as sent (contacting them weakens the measurement)",
                err=True,
            )
    if contacted is not None and (unknown := set(contacted) - known):
        note = f"note: {len(unknown):,} id(s) of {sent_file} are no customer of these assignments: ignored"
        click.echo(note, err=True)


@main.command()
@click.argument("input_", metavar="INPUT")
@click.option("--as-of", "as_of", required=True, help="Summary day (YYYY-MM-DD, inclusive); the BTYD calibration end.")
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    help="customers.parquet (or .csv) to write; with --engine spark a folder (no extension, or ending in /) gets "
    "OUT/customers/, Parquet files written by the Spark executors.",
)
@click.option(
    "--engine",
    default=None,
    help="auto, pandas, duckdb or spark (default: the params' engine, else auto: pandas for small inputs, DuckDB"
    " above).",
)
@click.option(
    "--lookback-days", type=click.IntRange(min=1), default=None, help="RFM columns: only this many days up to --as-of."
)
@click.option("--holdout-end", default=None, help="Add BTYD holdout columns for the days after --as-of up to this day.")
@click.option(
    "--time-unit", type=click.Choice(["D", "W", "M"]), default=None, help="Unit of t_x and T (default: params, else W)."
)
@click.option(
    "--params",
    "params_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A params YAML whose engine:, engine_options:, rfm.lookback_days and clv.time_unit apply (with --clv also "
    "the rest of rfm: and clv:).",
)
@click.option(
    "--clv",
    "with_clv",
    is_flag=True,
    help="With --engine spark and a folder OUT: score every customer in Spark too (1-5 scores, segment, value "
    "class, p_alive, expected_purchases, spend_per_purchase, expected_spend_horizon, clv, as 'rfmkit score'); "
    "models fitted on the distinct (x, t_x, T) rows; OUT/models.json holds them.",
)
@_friendly
def summary(
    input_: str,
    as_of: str,
    out: str,
    engine: str | None,
    lookback_days: int | None,
    holdout_end: str | None,
    time_unit: str | None,
    params_file: str | None,
    with_clv: bool,
) -> None:
    """The transaction → customer step alone, for big logs: RFM and BTYD columns (models only with --clv).

    INPUT must be clean data: the clean.parquet written by 'rfmkit clean', or a folder or glob of
    such Parquet (or CSV) files with customer_id, order_date, amount and optionally order_id. Raw
    logs are not cleaned here (use 'rfmkit clean' first, or 'rfmkit score'). Amounts are as placed, before
    returns: 'rfmkit score' gives the net ones (docs/cancellations.md).

    \b
    Columns: first_purchase, last_purchase, recency_days, frequency (orders), monetary — as in
    'rfmkit score' — then repeat_frequency (repeat purchase days), t_x, T (in --time-unit),
    monetary_value (mean spend of the repeat days) and, with --holdout-end, frequency_holdout,
    monetary_holdout, spend_holdout, duration_holdout.

    \b
    With --engine spark and a folder as OUT nothing per customer comes back to this machine: the
    executors write OUT/customers/ (pandas.read_parquet reads the folder). Add --clv to score every
    customer there too (the columns of 'rfmkit score' up to clv; not abc_class, lifecycle_stage, cluster).
    """
    from analysis.engines import ENGINES, SummaryRequest, customer_summary
    from analysis.errors import ParamsError
    from analysis.params import CLVParams, EngineParams

    full = _load_partial(params_file) if params_file else None
    options = full.engine_options if full else EngineParams()
    name = engine or (full.engine if full else "auto")
    lookback = lookback_days or (full.rfm.lookback_days if full else None)
    unit = time_unit or (full.clv.time_unit if full else CLVParams().time_unit)
    day = _day(as_of, "--as-of")
    hold = _day(holdout_end, "--holdout-end") if holdout_end else None
    folder = out.endswith(("/", os.sep)) or Path(out).is_dir() or not Path(out).suffix  # URLs too (s3a://b/x/)
    can = ENGINES.capabilities(name)  # what each engine can do is declared in its registry
    if with_clv and not (can.folder_score and folder):
        engines = " or ".join(ENGINES.names("folder_score"))
        raise ParamsError(
            f"--clv scores every customer where the data lives: give --engine {engines} and a folder as --out "
            "(e.g. --out scored/); on one machine use 'rfmkit score'"
        )
    if with_clv and hold is not None:
        raise ParamsError("--clv scores as of --as-of without a holdout: leave out --holdout-end")
    if can.folder_summary and folder:
        _folder_summary(name, input_, day, out, full, lookback, hold, unit, with_clv)
        return
    if folder:
        raise ParamsError(
            f"--out '{out}': name a .parquet or .csv file (a folder is for --engine "
            f"{' or '.join(ENGINES.names('folder_summary'))})"
        )
    zone = full.cleaning.timezone if full else None  # zoned order dates on the params' clock, as in a batch run
    result = customer_summary(input_, SummaryRequest(day, lookback, hold, unit, zone), name, options)
    table = result.combined()
    _write_table(table, out)
    click.echo(f"summarised {len(table):,} customers as of {day.date()} → {out}")


def _folder_summary(
    name: str, input_: str, day: Any, out: str, full: Any, lookback: int | None, hold: Any, unit: str, with_clv: bool
) -> None:
    """``rfmkit summary`` into a folder, written by the engine's workers (and scored with ``--clv``)."""
    from analysis.engines import SummaryRequest, get_engine
    from analysis.params import RunParams

    params = full or RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}})
    clv = params.clv
    if clv.time_unit != unit:  # --time-unit: the horizon and discount rate of the params' defaults in that unit
        clv = clv.model_validate({**clv.model_dump(exclude={"horizon", "discount_rate"}), "time_unit": unit})
    params = params.model_copy(update={"rfm": params.rfm.model_copy(update={"lookback_days": lookback}), "clv": clv})
    with get_engine(name, params.engine_options) as engine:
        if with_clv:
            res = engine.score_to_folder(input_, day, out, params)
        else:
            request = SummaryRequest(day, lookback, hold, unit, params.cleaning.timezone)
            written = engine.summary_to_folder(input_, request, out)
    if not with_clv:
        click.echo(f"summarised {written.rows:,} customers as of {day.date()} → {written.path}")
        return
    if res.clv_reason:
        click.echo(f"note: {res.clv_reason}", err=True)
    shown = " ".join(f"{k}={v:.4g}" for p in res.params.values() for k, v in p.items())
    click.echo(
        f"scored {res.rows_written:,} customers as of {day.date()} on {name} "
        f"({res.distinct_rows:,} distinct (x, t_x, T) rows fitted{': ' + shown if shown else ''}) "
        f"→ {res.customers_path}"
    )


def _parse_periods(text: str) -> list[str]:
    import pandas as pd

    from analysis.errors import ParamsError

    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if ".." in part:
                a, b = part.split("..", 1)
                months = [str(p) for p in pd.period_range(a.strip(), b.strip(), freq="M")]
                if not months:
                    raise ParamsError(f"--period '{part}': the end is before the start")
                out += months
            else:
                out.append(str(pd.Period(part, freq="M")))
        except ParamsError:
            raise
        except ValueError:
            raise ParamsError(f"--period '{part}' is not a month or range like 2024-01..2024-06") from None
    return out


@main.command("funnel")
@click.argument("params_file", metavar="PARAMS.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--period", required=True, help="The month (2017-12) or quarter (2017-Q4) to report.")
@click.option(
    "--region", default=None, help="Only this region's deals (default: all regions together); rep:<name>: one rep's."
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the CSVs.")
@click.option(
    "--orders",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the won deals as a transaction log (a CRM-only company's orders; docs/sales.md).",
)
@_friendly
def funnel_command(params_file: str, period: str, region: str | None, out: str, orders: str | None) -> None:
    """The sales side of one period: funnel.csv, rep_scorecard.csv, stalled_deals.csv (docs/sales.md).

    PARAMS.yaml needs 'opportunities' and a 'funnel' block; 'periods' may be left out.
    """
    from analysis.privacy import load_key
    from analysis.regions import ALL_REGIONS, parse_region, run_rep
    from analysis.sales.funnel import loss_sentence
    from analysis.sales.run import sales_stage, write_sales

    params = _load_partial(params_file)  # 'periods' is not needed: --period names the period
    scoped = parse_region(region)
    rep = run_rep(scoped)
    result = sales_stage(params, period, None if scoped == ALL_REGIONS or rep else scoped, reps=[rep] if rep else None)
    key = None if params.privacy.show_customer_ids else load_key(params.privacy.key_file)
    paths = write_sales(result, out, key)
    w = result.window
    click.echo(f"{w.current.period} ({w.current.text()}{', partial' if w.partial else ''}), region {region or 'all'}:")
    click.echo(loss_sentence(result.funnel, params.language))
    click.echo(
        f"{len(result.scorecard)} reps, {len(result.stalled.deals)} stalled deals → "
        + ", ".join(str(p) for name, p in paths.items() if name.endswith(".csv"))
    )
    if orders:
        from analysis.data.spreadsheet import write_spreadsheet_csv
        from analysis.sales.run import won_orders

        log = won_orders(result.data)
        write_spreadsheet_csv(log, orders, index=False, money=["amount"])
        click.echo(f"{len(log):,} won deals with an account → {orders} (a transaction log: point source.path at it)")


if __name__ == "__main__":  # pragma: no cover
    main()
