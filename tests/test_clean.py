"""Cleaning: every row is accounted for, each rejected row with its reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.data.clean import REASONS, clean_transactions, map_columns, net_returns, normalise_ids
from analysis.errors import MissingColumnError
from analysis.params import CleaningParams
from tests.acceptance.retail import MAPPING  # the Online Retail export's column mapping


def online_retail_rows() -> pd.DataFrame:
    """Rows in the UCI Online Retail layout, one of each kind of problem."""
    return pd.DataFrame(
        {
            "InvoiceNo": ["536365", "536365", "C536379", "536366", "536367", "536368", "536369", "536370", "536371"],
            "StockCode": ["85123A", "85123A", "D", "71053", "84406B", "22752", "21730", "22633", "22632"],
            "Quantity": ["6", "6", "-1", "6", "8", "abc", "2", "0", "6"],
            "InvoiceDate": [
                "12/1/2010 8:26",
                "12/1/2010 8:26",
                "12/1/2010 9:41",
                "12/1/2010 8:28",
                "12/1/2010 8:34",
                "12/1/2010 8:34",
                "not a date",
                "12/1/2010 8:35",
                "12/1/2010 8:35",
            ],
            "UnitPrice": ["2.55", "2.55", "27.5", "3.39", "2.75", "7.65", "4.25", "1.85", "1.85"],
            "CustomerID": ["17850.0", "17850.0", "14527.0", " 17850 ", "", "13047.0", "13047.0", "13047.0", "12583"],
            "Country": ["United Kingdom"] * 8 + ["France"],
        }
    )


def test_online_retail_mapping_reasons_and_reconciliation() -> None:
    raw = online_retail_rows()
    res = clean_transactions(raw, MAPPING)
    q = res.quality
    assert q["rows_in"] == 9 == q["rows_clean"] + q["rows_quarantined"]
    assert dict(zip(res.quarantine["row_id"], res.quarantine["reason"], strict=True)) == {
        1: "duplicate",
        2: "return",
        4: "missing_customer_id",
        5: "bad_amount",
        6: "bad_date",
        7: "bad_amount",
    }
    assert q["reasons"] == {
        "duplicate": 1,
        "missing_customer_id": 1,
        "bad_customer_id": 0,
        "bad_date": 1,
        "return": 1,
        "bad_amount": 2,
        "text_too_long": 0,
    }
    assert q["missing_tokens"] == {"customer_id": {"": 1}}
    # float ids from Excel and padded ids become one customer
    assert sorted(res.clean["customer_id"]) == ["12583", "17850", "17850"]
    assert res.clean.loc[res.clean.row_id == 0, "amount"].item() == pytest.approx(6 * 2.55)
    assert res.clean["order_date"].dt.month.eq(12).all() and res.clean["order_date"].dt.day.eq(1).all()
    # quarantine keeps the row exactly as it came in
    bad = res.quarantine.set_index("row_id").loc[5]
    assert bad["Quantity"] == "abc" and bad["CustomerID"] == "13047.0"
    assert set(res.clean["region"]) == {"United Kingdom", "France"}


def test_every_row_accounted_for_on_dirty_sample(small_sample: pd.DataFrame) -> None:
    res = clean_transactions(small_sample)
    q = res.quality
    assert q["rows_in"] == len(small_sample) == q["rows_clean"] + q["rows_quarantined"]
    assert sum(q["reasons"].values()) == q["rows_quarantined"]
    # the sample has every kind of problem (ids are text, so none is a bad number)
    assert set(res.quarantine["reason"]) == set(REASONS) - {"bad_customer_id", "text_too_long"}
    ids = set(res.clean["row_id"]) | set(res.quarantine["row_id"])
    assert ids == set(range(len(small_sample))) and len(ids) == q["rows_in"]
    assert (res.clean["amount"] > 0).all()
    assert q["outliers_flagged"] >= 1 and res.clean["is_outlier"].sum() == q["outliers_flagged"]


def test_missing_required_column_names_it_and_the_fix() -> None:
    raw = online_retail_rows().drop(columns="CustomerID")
    with pytest.raises(MissingColumnError, match=r"retail\.csv") as err:
        clean_transactions(raw, {k: v for k, v in MAPPING.items() if k != "customer_id"}, origin="retail.csv")
    msg = str(err.value)
    assert "retail.csv" in msg and "'customer_id'" in msg and "columns:" in msg and "--map customer_id=" in msg


def test_mapping_to_a_column_that_does_not_exist() -> None:
    with pytest.raises(MissingColumnError, match=r"'Kunde' .*mapped to customer_id"):
        map_columns(online_retail_rows(), {"customer_id": "Kunde"}, "x.csv")


def test_amount_needs_amount_or_quantity_and_price() -> None:
    raw = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "quantity": ["1"]})
    with pytest.raises(MissingColumnError, match="unit_price"):
        clean_transactions(raw)


def test_zero_amount_kept_when_asked() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "order_date": ["2024-01-01"] * 2, "amount": ["0", "3"]})
    assert clean_transactions(raw).quality["reasons"]["bad_amount"] == 1
    kept = clean_transactions(raw, params=CleaningParams(zero_amount="keep"))
    assert kept.quality["rows_clean"] == 2


def test_duplicates_kept_when_asked() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "a"], "order_date": ["2024-01-01"] * 2, "amount": ["3", "3"]})
    assert clean_transactions(raw).quality["rows_clean"] == 1
    assert clean_transactions(raw, params=CleaningParams(drop_duplicates=False)).quality["rows_clean"] == 2


def test_normalise_ids_from_floats_and_text() -> None:
    s = pd.Series([12346.0, float("nan"), 7.0])
    assert normalise_ids(s).tolist()[0] == "12346" and pd.isna(normalise_ids(s)[1])
    t = pd.Series([" x1 ", "NULL", "17850.0", "nan"])
    out = normalise_ids(t)
    assert out[0] == "x1" and pd.isna(out[1]) and out[2] == "17850" and pd.isna(out[3])


def test_written_files_reconcile(tmp_path, small_sample: pd.DataFrame) -> None:
    res = clean_transactions(small_sample)
    res.write(tmp_path)
    quality = json.loads((tmp_path / "quality.json").read_text())
    clean = pd.read_parquet(tmp_path / "clean.parquet")
    quarantine = pd.read_csv(tmp_path / "quarantine.csv", dtype=str, keep_default_na=False)
    assert len(clean) + len(quarantine) == quality["rows_in"] == len(small_sample)
    assert quarantine["reason"].value_counts().to_dict() == {k: v for k, v in quality["reasons"].items() if v}
    # rows set aside are the input rows, verbatim
    original = small_sample.iloc[quarantine["row_id"].astype(int)].reset_index(drop=True)
    pd.testing.assert_frame_equal(quarantine.drop(columns=["row_id", "reason"]), original, check_dtype=False)


def test_net_returns_reduces_spend_not_frequency() -> None:
    from analysis.customers.rfm import rfm_summary

    raw = pd.DataFrame(
        {
            "order_id": ["1", "2", "C2"],
            "customer_id": ["a"] * 3,
            "order_date": ["2024-01-01", "2024-01-05", "2024-01-06"],
            "amount": ["10", "30", "-5"],
        }
    )
    res = clean_transactions(raw)
    assert res.quality["reasons"]["return"] == 1
    netted = net_returns(res.clean, res.returns)
    s = rfm_summary(netted, "2024-01-31")
    assert s.loc["a", "monetary"] == pytest.approx(35.0) and s.loc["a", "frequency"] == 2
