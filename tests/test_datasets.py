"""The CDNOW sample shipped in the package: intact, loadable three ways, and usable by name from params and CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.data.io import read_transactions
from analysis.datasets import (
    CDNOW_COLUMNS,
    CDNOW_SAMPLE_SHA256,
    cdnow_sample_path,
    cdnow_sample_sha256,
    dataset_name,
    load_cdnow_sample,
    load_cdnow_transactions,
)
from analysis.errors import InputError, ParamsError
from analysis.params import SourceParams, load_params
from tests.conftest import ROOT


def test_the_bundled_file_is_the_published_sample() -> None:
    assert cdnow_sample_path().name == "CDNOW_sample.txt.gz"
    assert cdnow_sample_sha256() == CDNOW_SAMPLE_SHA256
    assert (cdnow_sample_path().parent / "README.md").read_text(encoding="utf-8").count("Source and terms") == 1


def test_raw_frame_as_documented() -> None:
    raw = load_cdnow_sample()
    assert tuple(raw.columns) == CDNOW_COLUMNS and len(raw) == 6919
    assert raw["sample_id"].nunique() == 2357 and raw["sample_id"].iloc[0] == "0001"  # text: zeros kept
    assert (raw["date"].min(), raw["date"].max()) == ("19970101", "19980630")


def test_transactions_in_canonical_columns() -> None:
    tx = load_cdnow_transactions()
    assert list(tx.columns) == ["customer_id", "order_date", "amount", "quantity"]
    assert str(tx["order_date"].dtype) == "datetime64[ns]" and tx["amount"].dtype == float
    assert tx["customer_id"].nunique() == 2357
    assert tx["amount"].sum() == pytest.approx(pd.to_numeric(load_cdnow_sample()["dollars"]).sum())
    assert tx["quantity"].sum() == pd.to_numeric(load_cdnow_sample()["cds"]).sum()


def test_params_name_the_dataset_and_read_it() -> None:
    params = load_params(ROOT / "params" / "cdnow.yaml")
    assert params.source.format == "dataset" and params.source.path == str(cdnow_sample_path())
    pd.testing.assert_frame_equal(read_transactions(params.source), load_cdnow_sample())
    # a stale path from an earlier dump (another installation) is replaced by the bundled file
    again = SourceParams.model_validate({**params.source.model_dump(), "path": "/elsewhere/CDNOW_sample.txt.gz"})
    assert again.path == str(cdnow_sample_path())


def test_unknown_dataset_and_misplaced_name_are_clear_errors(tmp_path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("source: {format: dataset, name: cdnow_master}\nperiods: {start: 1998-06, end: 1998-06}\n")
    with pytest.raises(ParamsError, match=r"source: .*needs 'name', one of \['cdnow_sample'\]; got 'cdnow_master'"):
        load_params(p)
    p.write_text("source: {format: csv, path: x.csv, name: cdnow_sample}\nperiods: {start: 1998-06, end: 1998-06}\n")
    with pytest.raises(ParamsError, match="'name' is for format 'dataset'"):
        load_params(p)
    with pytest.raises(InputError, match="no bundled data set called 'nope'"):
        read_transactions(SourceParams.model_construct(format="dataset", name="nope"))


def test_cli_lists_and_reads_datasets(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["datasets"])
    assert res.exit_code == 0 and res.output.startswith(f"cdnow_sample\t{cdnow_sample_path()}")
    assert dataset_name("dataset:cdnow_sample") == "cdnow_sample" and dataset_name("cdnow.csv") is None
    out = tmp_path / "clean"
    res = runner.invoke(
        main, ["clean", "dataset:cdnow_sample", "--params", str(ROOT / "params" / "cdnow.yaml"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    quality = json.loads((out / "quality.json").read_text())
    assert quality["rows_in"] == quality["rows_clean"] == 6919
    res = runner.invoke(main, ["clean", "dataset:nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "cdnow_sample" in res.output
