"""Batch-level safety (issue 19): nothing silently dropped, nothing of the user's deleted, secrets not written.

Each batch here fails or finishes before any notebook runs, so the file costs seconds, not minutes (the checks
that need executed reports share the one hostile batch of tests/test_browser_payloads.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from analysis.cli import main
from tests.test_batch import small_params


def test_a_run_that_cannot_be_written_is_a_failed_run(tmp_path: Path) -> None:
    """Issue 19 failure 9: a period folder the batch cannot write (here a file of the user's in its place, which
    root cannot write through either) gave '0 runs: 0 ok, 0 failed' and exit 0."""
    params = small_params(tmp_path, periods={"start": "2024-12", "end": "2024-12"}, regions=["North"])
    blocker = tmp_path / "reports" / "2024-12"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("the user's file", encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    assert res.exit_code != 0, res.output
    assert "1 failed" in res.output or "failed" in res.output.lower(), res.output
    assert "2024-12" in res.output
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "failed" in index.lower() and "North" in index  # the index shows the run that could not be written
    assert blocker.read_text(encoding="utf-8") == "the user's file"  # and nothing of the user's was touched


def test_another_params_file_of_the_same_name_is_refused(tmp_path: Path) -> None:
    """Issue 19 failure 8: another team's monthly.yaml in another folder overwrote a run (ownership was by name)."""
    out = tmp_path / "shared"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours = small_params(tmp_path / "a", output_dir=str(out), periods={"start": "2024-12", "end": "2024-12"})
    theirs = small_params(tmp_path / "b", output_dir=str(out), periods={"start": "2024-12", "end": "2024-12"})
    assert ours.name == theirs.name
    (out / "2024-12").parent.mkdir(parents=True)
    (out / "2024-12").write_text("blocks every run, so the first batch costs seconds", encoding="utf-8")
    CliRunner().invoke(main, ["run", str(ours), "--no-progress"])
    owner = json.loads((out / "rfmkit-owner.json").read_text(encoding="utf-8"))
    assert owner["params"] == str(ours.resolve()) and owner["id"]
    res = CliRunner().invoke(main, ["run", str(theirs), "--no-progress"])
    assert res.exit_code != 0
    assert str(theirs.resolve()) in res.output and str(ours.resolve()) in res.output, res.output
    assert "Traceback" not in res.output


def test_the_clean_cache_is_keyed_by_the_plausible_dates_and_force_rebuilds_it(tmp_path: Path, monkeypatch) -> None:
    """Issue 19 failure 10: cleaned with the clock a year behind, the cached data kept dropping the last days of
    December after the clock was right, even with --force."""
    import datetime as dt
    import types

    import analysis.params
    from analysis.data import store
    from analysis.params import load_params

    params = small_params(tmp_path, periods={"start": "2024-12", "end": "2024-12"}, regions=["North"])
    loaded = load_params(params)
    right = store.source_key(loaded)

    class YearBehind(dt.date):
        @classmethod
        def today(cls) -> dt.date:
            return dt.date.today() - dt.timedelta(days=365)

    monkeypatch.setattr(analysis.params, "dt", types.SimpleNamespace(date=YearBehind, datetime=dt.datetime))
    assert store.source_key(loaded) != right  # the plausible dates as of today are part of the key
    monkeypatch.undo()
    assert store.source_key(loaded) == right
    blocker = tmp_path / "reports" / "2024-12"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("blocks every run, so each batch costs seconds", encoding="utf-8")
    CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    (quality,) = (tmp_path / "reports" / "_data").glob("clean-*/quality.json")
    stale = json.loads(quality.read_text(encoding="utf-8"))
    quality.write_text(json.dumps({**stale, "stale": True}), encoding="utf-8")
    CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    assert json.loads(quality.read_text(encoding="utf-8")).get("stale")  # reused without --force
    CliRunner().invoke(main, ["run", str(params), "--no-progress", "--force"])
    assert "stale" not in json.loads(quality.read_text(encoding="utf-8"))  # --force cleaned again


def test_a_password_in_the_source_url_is_written_nowhere(tmp_path: Path) -> None:
    """Issue 19 failure 11: a password in the SQL source URL was copied into manifest.json and quality.json."""
    import sqlite3

    import pandas as pd

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        pd.DataFrame(
            {"customer_id": ["a", "b", "a"], "order_date": ["2024-11-05", "2024-12-02", "2024-12-09"],
             "amount": [3.0, 4.0, 5.0], "region": "North"}
        ).to_sql("orders", conn, index=False)  # fmt: skip
    secret = "hunter2-s3cret"
    url = f"sqlite:///{db}?password={secret}&token={secret}"
    import nbformat

    (tmp_path / "nb").mkdir()  # one notebook that stops at once: the run fails fast, its manifest still written
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("raise SystemExit('stop here')")]
    nbformat.write(book, tmp_path / "nb" / "01_cleaning.ipynb")
    params = small_params(
        tmp_path,
        source={"format": "sql", "url": url, "query": "select * from orders"},
        periods={"start": "2024-12", "end": "2024-12"},
        regions=["North"],
        notebooks_dir=str(tmp_path / "nb"),
        notebooks=["01_cleaning"],
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    written = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert secret not in res.output, res.output
    assert {"manifest.json", "quality.json"} <= {p.name for p in written}, (res.output, written)
    assert [p for p in written if secret.encode() in p.read_bytes()] == []
    assert secret not in res.output
    manifest = json.loads(next((tmp_path / "reports").rglob("manifest.json")).read_text(encoding="utf-8"))
    assert manifest["params"]["source"]["url"] == f"sqlite:///{db}?password=***&token=***"


def test_a_failed_runs_error_shows_pseudonyms_not_ids(tmp_path: Path) -> None:
    """A notebook's error (e.g. ``KeyError: 'C-7'``) reaches the report's banner, the index and the log."""
    import pandas as pd

    from analysis.batch.runner import _without_ids
    from analysis.params import load_params
    from analysis.privacy import load_key, pseudonym

    pd.DataFrame({"customer_id": ["C-7", "<b>x</b>"]}).to_parquet(tmp_path / "clean.parquet")
    params = load_params(small_params(tmp_path))
    text = _without_ids("KeyError: 'C-7' (and '<b>x</b>', 'order_date')", str(tmp_path), params)
    key = load_key(params.privacy.key_file, create=False)
    assert text == f"KeyError: {pseudonym('C-7', key)} (and {pseudonym('<b>x</b>', key)}, 'order_date')"
