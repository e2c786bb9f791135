"""Awkward real-world inputs: each either cleans correctly or fails with a one-line message."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from analysis.cli import main
from analysis.customers.rfm import score_customers
from analysis.data.clean import clean_transactions, parse_dates, parse_numbers
from analysis.params import CleaningParams
from tests.conftest import tx


def test_decimal_comma_and_ambiguous_amounts() -> None:
    assert parse_numbers(pd.Series(["10,50", "1.234,56", "12"]), ",").tolist() == [10.5, 1234.56, 12.0]
    got = parse_numbers(pd.Series(["10,50", "1,234.56", "$3.5"])).tolist()
    assert pd.isna(got[0]) and got[1:] == [1234.56, 3.5]  # "10,50" is not silently 1050
    raw = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "amount": ["10,50"]})
    assert clean_transactions(raw).quality["reasons"]["bad_amount"] == 1
    assert clean_transactions(raw, params=CleaningParams(decimal=",")).clean.amount.item() == 10.5


def test_day_first_dates_and_mixed_time_zones() -> None:
    days = parse_dates(pd.Series(["31/12/2024", "05/01/2024", "13/02/2024"]))
    assert days.dt.strftime("%Y-%m-%d").tolist() == ["2024-12-31", "2024-01-05", "2024-02-13"]
    tz = parse_dates(pd.Series(["2024-01-09T10:00:00Z", "2024-01-09T23:00:00-05:00"]))
    assert tz.tolist() == [pd.Timestamp("2024-01-09 10:00"), pd.Timestamp("2024-01-10 04:00")]


def test_mapping_onto_a_column_that_already_has_the_name() -> None:
    raw = pd.DataFrame({"customer_id": ["1"], "order_date": ["2024-01-01"], "amount": ["5"], "net": ["4"]})
    assert clean_transactions(raw, {"amount": "net"}).clean.amount.item() == 4.0


def test_float_noise_does_not_split_equal_values() -> None:
    log = tx(
        [("P", "p1", "2024-12-01", 0.1), ("P", "p1", "2024-12-01", 0.2)] + [(c, c, "2024-12-01", 0.3) for c in "QRST"]
    )
    c = score_customers(log, "2024-12-31").customers
    assert c.m_score.nunique() == 1
    same = tx([(c, c, "2024-12-01", 0.7) for c in "ABC"])
    assert set(score_customers(same, "2024-12-31").customers.value_class) == {"一般挽留客户"}


def test_excel_ids_keep_leading_zeros(tmp_path) -> None:
    from analysis.data.io import read_transactions
    from analysis.params import SourceParams

    pd.DataFrame({"customer_id": ["007", "08"], "order_date": ["2024-01-01", "2024-01-02"], "amount": [1, 2]}).to_excel(
        tmp_path / "z.xlsx", index=False
    )
    clean = clean_transactions(read_transactions(SourceParams(path=str(tmp_path / "z.xlsx")))).clean
    assert clean.customer_id.tolist() == ["007", "08"]


def test_cli_errors_are_one_line(tmp_path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("customer_id,order_date,amount\na,2024-01-01,5\n")
    runner = CliRunner()
    for args, text in [
        (["score", str(f), "--as-of", "notadate", "--out", str(tmp_path / "o.csv")], "not a date"),
        (["sample", "--out", str(tmp_path / "s.csv"), "--start", "2024-12-31", "--end", "2024-01-01"], "after start"),
        (["run", "params/monthly.yaml", "--period", "2024-12..2024-10"], "end is before the start"),
    ]:
        res = runner.invoke(main, args)
        assert res.exit_code == 2 and text in res.output and "Traceback" not in res.output, res.output


def test_bad_playbook_fails_before_any_kernel(tmp_path) -> None:
    from tests.conftest import ROOT
    from tests.test_batch import small_params

    (tmp_path / "pb.yaml").write_text(
        (ROOT / "analysis" / "strategy" / "playbook.yaml").read_text().replace("  Champions:", "  Champs:", 1)
    )
    params = small_params(tmp_path, playbook=str(tmp_path / "pb.yaml"))
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    assert res.exit_code == 2 and "Champs" in res.output
    assert not (tmp_path / "reports" / "2024-11").exists()


def test_tsv_and_encoding(tmp_path) -> None:
    from analysis.data.io import read_transactions
    from analysis.errors import InputError
    from analysis.params import SourceParams

    (tmp_path / "t.tsv").write_text("customer_id\torder_date\tamount\nA\t2024-01-01\t5\n")
    assert clean_transactions(read_transactions(SourceParams(path=str(tmp_path / "t.tsv")))).quality["rows_clean"] == 1
    (tmp_path / "l.csv").write_bytes("customer_id,order_date,amount\nJosé,2024-01-01,5\n".encode("latin-1"))
    try:
        read_transactions(SourceParams(path=str(tmp_path / "l.csv")))
        raise AssertionError("latin-1 read as utf-8 must fail")
    except InputError as err:
        assert "source.encoding" in str(err) and "--encoding" in str(err)
    res = CliRunner().invoke(
        main, ["clean", str(tmp_path / "l.csv"), "--encoding", "latin-1", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(tmp_path / "o" / "clean.parquet").customer_id.tolist() == ["José"]
