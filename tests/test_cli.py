"""The rfmkit command: each subcommand end to end on real files, and errors without tracebacks."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.cli import main
from tests.conftest import CDNOW


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_everywhere() -> None:
    for cmd in ([], ["sample"], ["clean"], ["score"], ["run"]):
        res = invoke(*cmd, "--help")
        assert res.exit_code == 0 and "Usage:" in res.output


def test_sample_clean_score(tmp_path) -> None:
    log = tmp_path / "log.csv"
    assert invoke("sample", "--out", str(log), "--customers", "400", "--seed", "3").exit_code == 0
    res = invoke("clean", str(log), "--out", str(tmp_path / "c"))
    assert res.exit_code == 0, res.output
    q = json.loads((tmp_path / "c" / "quality.json").read_text())
    assert q["rows_in"] == len(pd.read_csv(log, dtype=str)) == q["rows_clean"] + q["rows_quarantined"]
    out = tmp_path / "customers.csv"
    res = invoke("score", str(tmp_path / "c" / "clean.parquet"), "--as-of", "2024-06-30", "--out", str(out))
    assert res.exit_code == 0, res.output
    c = pd.read_csv(out)
    for col in (
        "customer_id",
        "first_purchase",
        "last_purchase",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_code",
        "segment",
        "value_class",
        "abc_class",
        "lifecycle_stage",
        "cluster",
    ):
        assert col in c.columns
    assert c.customer_id.is_unique and (pd.to_datetime(c.last_purchase) <= "2024-06-30").all()


def test_score_raw_cdnow_with_mapping_equals_plain_pandas(tmp_path) -> None:
    out = tmp_path / "cdnow.csv"
    res = invoke(
        "score",
        str(CDNOW),
        "--as-of",
        "1998-06-30",
        "--out",
        str(out),
        "--sep",
        r"\s+",
        "--no-header",
        "--names",
        "cohort,cust,date,cds,dollars",
        "--map",
        "customer_id=cust",
        "--map",
        "order_date=date",
        "--map",
        "amount=dollars",
        "--date-format",
        "%Y%m%d",
    )
    assert res.exit_code == 0, res.output
    c = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["cohort", "cust", "date", "cds", "dollars"],
        dtype={"cust": str, "date": str},
    )
    raw = raw.drop_duplicates()
    raw = raw[raw.dollars > 0]
    raw["date"] = pd.to_datetime(raw.date, format="%Y%m%d")
    g = raw.groupby("cust")
    assert c.frequency.sort_index().tolist() == g.date.nunique().sort_index().tolist()
    assert c.monetary.sort_index().round(2).tolist() == g.dollars.sum().sort_index().round(2).tolist()
    rec = (pd.Timestamp("1998-06-30") - g.date.max()).dt.days
    assert c.recency_days.sort_index().tolist() == rec.sort_index().tolist()


def test_missing_column_is_a_message_not_a_traceback(tmp_path) -> None:
    f = tmp_path / "x.csv"
    pd.DataFrame({"CustomerID": ["1"], "InvoiceDate": ["2024-01-01"]}).to_csv(f, index=False)
    res = CliRunner().invoke(
        main,
        [
            "clean",
            str(f),
            "--out",
            str(tmp_path / "o"),
            "--map",
            "customer_id=CustomerID",
            "--map",
            "order_date=InvoiceDate",
        ],
    )
    assert res.exit_code == 2
    assert "required column 'amount' is missing" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()  # failed before any work


def test_bad_params_fail_before_any_kernel(tmp_path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("periods: {start: 2024-01, end: 2024-02}\nregionz: [North]\n")
    res = CliRunner().invoke(main, ["run", str(p)])
    assert res.exit_code == 2 and "regionz: unknown key" in res.output


def test_clv_command_reproduces_the_published_bgnbd_fit(tmp_path) -> None:
    from tests.conftest import ROOT

    out = tmp_path / "clv"
    res = invoke(
        "clv",
        "dataset:cdnow_sample",  # the README's example: the CDNOW sample shipped in the package
        "--params",
        str(ROOT / "params" / "cdnow.yaml"),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--time-unit",
        "W",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    params = json.loads((out / "params.json").read_text())
    bg = params["bgnbd"]
    for key, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert abs(bg["params"][key] / published - 1) < 0.01
    assert abs(bg["log_likelihood"] + 9582.4) < 0.5
    assert set(params["gamma_gamma"]["params"]) == {"p", "q", "v"} and "standard_errors" in params["gamma_gamma"]
    from analysis.clv.persist import model_from_dict  # each block is the one fitted-model format

    assert model_from_dict(params["bgnbd"]).params_["r"] == bg["params"]["r"]
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 2357 and (customers.clv >= 0).all()
    assert (out / "holdout_by_frequency.csv").exists() and (out / "tracking.csv").exists()


# ------------------------------------------------------------------ dates on the command line (issue 10, item 11)


def test_day_accepts_iso_days_and_months_only() -> None:
    import pytest

    from analysis.cli import _day
    from analysis.errors import ParamsError

    assert _day("2024-02-01", "--as-of") == pd.Timestamp("2024-02-01")
    assert _day("2024-02", "--as-of") == pd.Timestamp("2024-02-29")  # a month means its last day
    assert _day("2023-12", "--as-of") == pd.Timestamp("2023-12-31")
    for bad in ("01/02/2024", "2024-2-1", "2024-02-30", "2024-13", "20240201", "yesterday", "2024", "9999-12-31", ""):
        with pytest.raises(ParamsError, match="is not a date: write YYYY-MM-DD"):
            _day(bad, "--as-of")


def test_bad_dates_and_outputs_are_rejected_before_any_work(tmp_path) -> None:
    missing = str(tmp_path / "does-not-exist.csv")  # never opened: the options fail first
    for args, text in [
        (["score", missing, "--as-of", "01/02/2024", "--out", str(tmp_path / "c.csv")], "--as-of '01/02/2024'"),
        (["score", missing, "--as-of", "2024-07-32", "--out", str(tmp_path / "c.csv")], "YYYY-MM-DD"),
        (["score", missing, "--as-of", "2024-07-31", "--out", str(tmp_path / "c.txt")], "choose a .csv or .parquet"),
        (["clv", missing, "--calibration-end", "06/30/2024", "--out", str(tmp_path / "v")], "--calibration-end"),
        (["clv", missing, "--calibration-end", "2024-06", "--holdout-end", "2024-13", "--out", str(tmp_path / "v")],
         "--holdout-end '2024-13'"),
        (["sample", "--out", str(tmp_path / "s.txt")], ".csv or .parquet"),
        (["sample", "--out", str(tmp_path / "s.csv"), "--start", "2024/01/01"], "--start '2024/01/01'"),
    ]:  # fmt: skip
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and text in res.output, (args, res.output)
        assert "does-not-exist" not in res.output.replace(text, "") and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_as_of_month_and_as_of_outside_the_data(tmp_path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("customer_id,order_date,amount\na,2024-06-03,10\nb,2024-07-09,20\na,2024-07-20,5\n")
    out = tmp_path / "c.csv"
    res = invoke("score", str(log), "--as-of", "2024-07", "--out", str(out), "--no-clv")
    assert res.exit_code == 0 and "as of 2024-07-31" in res.output, res.output
    c = pd.read_csv(out).set_index("customer_id")
    assert c.loc["a", "recency_days"] == 11 and c.loc["b", "recency_days"] == 22  # counted to 31 July
    res = CliRunner().invoke(main, ["score", str(log), "--as-of", "2024-05-31", "--out", str(out), "--no-clv"])
    assert res.exit_code == 2 and "before the data starts (2024-06-03)" in res.output, res.output
    res = CliRunner().invoke(main, ["score", str(log), "--as-of", "2024-12-31", "--out", str(out), "--no-clv"])
    assert res.exit_code == 0, res.output
    assert "after the data end (2024-07-20, 164 days earlier)" in res.output
    res = CliRunner().invoke(main, ["clv", str(log), "--calibration-end", "2024-01", "--out", str(tmp_path / "v")])
    assert res.exit_code == 2 and "--calibration-end 2024-01-31 is before the data starts" in res.output


def test_score_on_a_file_named_parquet_that_is_not_parquet_names_the_file(tmp_path) -> None:
    fake = tmp_path / "export.parquet"  # a CSV export renamed
    fake.write_text("customer_id,order_date,amount\n1,2024-01-01,5\n")
    res = CliRunner().invoke(main, ["score", str(fake), "--as-of", "2024-01-31", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 2, res.output
    assert str(fake) in res.output and "parquet" in res.output.lower()
    assert "Traceback" not in res.output


# ------------------------------------------------------------------ params files a person may hand over (issue 19)

#: Params files that cannot be read, and what the one error line must say.
UNREADABLE_PARAMS = {
    "latin1": ("title: Café\nperiods: {start: 2024-01, end: 2024-02}\n".encode("latin-1"), "not UTF-8 text"),
    "utf16": ("periods: {start: 2024-01, end: 2024-02}\n".encode("utf-16"), "UTF-16"),
    "utf16-no-bom": ("periods: {start: 2024-01, end: 2024-02}\n".encode("utf-16-le"), "UTF-16"),
    "binary": (bytes(range(256)) * 4, "binary"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(100), "binary"),
    "deep-list": (b"periods: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested"),
    "deep-map": (b"".join(b"  " * i + b"k:\n" for i in range(200)) + b"  " * 200 + b"v: 1\n", "nested"),
    "huge-int": (
        b"periods: {start: 2024-01, end: 2024-02}\nexperiment: {seed: " + b"9" * 5000 + b"}\n",
        "thousands of digits",
    ),
    "big-int": (b"periods: {start: 2024-01, end: 2024-02}\nexperiment: {seed: " + b"9" * 40 + b"}\n", "40 digits"),
    "huge-int-list": (b"periods: {start: 2024-01, end: 2024-02}\nregions: [1]\nx: [" + b"7" * 5000 + b"]\n", "digits"),
    "not-yaml": (b"periods: [2024-01\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE_PARAMS))
def test_unreadable_params_are_one_error_line(tmp_path, case: str) -> None:
    content, expected = UNREADABLE_PARAMS[case]
    p = tmp_path / "p.yaml"
    p.write_bytes(content)
    for args in (["run", str(p)], ["score", str(CDNOW), "--as-of", "1997-12-31", "--out", "x.csv", "--params", str(p)]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, (case, res.output)
        assert "Traceback" not in res.output and isinstance(res.exception, SystemExit), (case, res.exception)
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(p) in lines[0], (case, res.output)
        assert expected in lines[0], (case, lines[0])


def test_region_numbers_in_params_are_region_names(tmp_path) -> None:
    from analysis.params import load_params

    p = tmp_path / "p.yaml"
    p.write_text("periods: {start: 2024-01, end: 2024-02}\nregions: [367, 0406, 1.50, North]\n")
    assert load_params(p).regions == ["367", "0406", "1.50", "North"]  # as written, not 406 or 1.5
    p.write_text("periods: {start: 2024-01, end: 2024-02}\nregions: 367\n")
    assert load_params(p).regions == ["367"]
    p.write_text("periods: {start: 2024-01, end: 2024-02}\nregions: [SE, NO]\n")
    res = CliRunner().invoke(main, ["run", str(p)])
    assert res.exit_code == 2 and "regions.list[str]" not in res.output and "quote the name ('NO')" in res.output


def test_regions_all_with_too_many_regions_stops_before_any_run(tmp_path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        "source: {format: sample, sample: {customers: 200, seed: 1}}\nperiods: {start: 2024-11, end: 2024-11}\n"
        f"regions: all\nmax_regions: 2\noutput_dir: {tmp_path / 'reports'}\n"
    )
    res = CliRunner().invoke(main, ["run", str(p), "--no-progress"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "more than max_regions (2)" in res.output and "--allow-large" in res.output
    assert not list((tmp_path / "reports").glob("2024-11*"))  # no run started


def test_kit_warnings_are_one_line_of_its_own_words(tmp_path) -> None:
    """rfmkit score on a log where Gamma-Gamma's independence check fires: one 'warning:' line, no file path."""
    log = tmp_path / "s.csv"
    invoke("sample", "--out", str(log), "--customers", "300")
    res = CliRunner().invoke(main, ["score", str(log), "--as-of", "2024-12-31", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.output
    shown = [line for line in res.output.splitlines() if "Gamma-Gamma" in line]
    assert shown and all(line.startswith("warning: Gamma-Gamma") for line in shown), res.output
    assert "UserWarning" not in res.output and ".py:" not in res.output and "gg = GammaGamma" not in res.output
    res = CliRunner().invoke(main, ["-q", "score", str(log), "--as-of", "2024-12-31", "--out", str(tmp_path / "d.csv")])
    assert "warning:" not in res.output


@pytest.mark.slow
def test_currency_and_title_are_text_not_format_templates(tmp_path) -> None:
    """currency: "{}" once crashed the batch after every run (the index's money axis was a format template)."""
    from tests.test_batch import small_params

    p = small_params(
        tmp_path,
        source={"format": "sample", "sample": {"customers": 900, "seed": 11}},  # any sample; a smaller CLV fit
        currency="{}",
        title="{0} %s {x}",
        regions=["North"],
        periods={"start": "2024-12", "end": "2024-12"},
        notebooks=["05_summary"],
    )
    res = CliRunner().invoke(main, ["run", str(p), "--no-progress"])
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "{0} %s {x}" in index and "{}0" in index  # the axis' first tick: the currency as written, then 0


def test_a_playbook_that_is_not_utf8_is_one_error_line(tmp_path) -> None:
    """The playbook a params file names is read by the same reader: latin-1 or nested aliases are one error line."""
    playbook = tmp_path / "playbook.yaml"
    playbook.write_bytes("currency: £\n".encode("latin-1"))
    p = tmp_path / "p.yaml"
    p.write_text(f"periods: {{start: 2024-01, end: 2024-01}}\nplaybook: {playbook}\n")
    res = CliRunner().invoke(main, ["run", str(p)])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert res.output.startswith(f"error: {playbook}: not UTF-8 text") and len(res.output.strip().splitlines()) == 1
    # nine levels of nine aliases: 9**9 values if expanded; read in an instant, refused as nesting
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 20)
    ]
    p.write_text("periods: {start: 2024-01, end: 2024-01}\n" + "\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["run", str(p)])
    assert res.exit_code == 2 and "nested more than 16 levels" in res.output, res.output


def test_an_empty_clean_parquet_is_one_message_for_every_command(tmp_path) -> None:
    """One check tells a clean.parquet from a raw log (its footer's columns): score and clv read it the same way."""
    empty = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=str),
            "order_date": pd.Series([], dtype="datetime64[ns]"),
            "amount": pd.Series([], dtype=float),
            "is_outlier": pd.Series([], dtype=bool),
            "row_id": pd.Series([], dtype="int64"),
        }
    )
    path = tmp_path / "clean.parquet"
    empty.to_parquet(path)
    for args in (
        ["score", str(path), "--as-of", "2024-01-31", "--out", str(tmp_path / "x.csv")],
        ["clv", str(path), "--calibration-end", "2024-01-31", "--out", str(tmp_path / "v")],
    ):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and "the cleaned data has no rows" in res.output, res.output
