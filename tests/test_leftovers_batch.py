"""Small checks of the batch runner's interface and of what a failed run keeps (no kernel started here)."""

from __future__ import annotations

import inspect

from analysis.batch.runner import execute_run


def test_execute_run_takes_the_validated_params_only() -> None:
    # the notebooks read the params as validated once (_executed/params.json), never the YAML file: no path to it
    assert list(inspect.signature(execute_run).parameters) == [
        "spec", "params_data", "clean_dir", "fingerprint", "on_event", "keep_kernel",
    ]  # fmt: skip


def _failed_notebook() -> dict:
    """A failed run's executed notebook as the kernels write it: the error banner first, a cell that printed a
    pseudonymous table (stdout), warned on stderr, and raised with a customer id in its message and traceback."""
    from analysis.batch.kernels import _error_banner

    banner = dict(_error_banner("02_scoring", 2, "KeyError: 'C1001'"))
    return {
        "cells": [
            banner,
            {"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "source": "x", "outputs": [
                {"name": "stdout", "output_type": "stream", "text": "c-4f2a 12\n"},
                {"name": "stderr", "output_type": "stream",
                 "text": ["UserWarning: customer 'C1002' read from ", "postgresql://ana:hunter2@db/crm\n"]},
            ]},
            {"cell_type": "code", "execution_count": 2, "id": "b", "metadata": {}, "source": "y", "outputs": [
                {"ename": "KeyError", "evalue": "'C1001'", "output_type": "error", "traceback": [
                    "\x1b[0;31mKeyError\x1b[0m Traceback (most recent call last)",
                    "Cell \x1b[0;32mIn[2], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m frame\x1b[38;5;241m.\x1b[39mloc["
                    "\x1b[38;5;124m'C1001'\x1b[39m]",
                    "\x1b[0;31mKeyError\x1b[0m: 'C1001'",
                ]},
            ]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip


def test_a_failed_runs_kept_notebook_shows_no_customer_id_or_secret(tmp_path, monkeypatch) -> None:
    import json

    import pandas as pd

    from analysis.batch.runner import _redacted_failure
    from analysis.params import parse_params
    from analysis.privacy import KEY_ENV, load_key, pseudonym

    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / "key").write_text("k" * 32)
    pd.DataFrame({"customer_id": ["C1001", "C1002", "C1003"]}).to_parquet(tmp_path / "clean.parquet")
    params = parse_params(
        {
            "source": {"format": "sample"},
            "periods": {"start": "2024-12", "end": "2024-12"},
            "privacy": {"key_file": str(tmp_path / "key")},
        }
    )
    key = load_key(str(tmp_path / "key"), create=False)
    text = json.dumps(_failed_notebook(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    kept = _redacted_failure(text, str(tmp_path), params)
    assert "C1001" not in kept and "C1002" not in kept and "hunter2" not in kept
    nb = json.loads(kept)
    c1, c2 = pseudonym("C1001", key), pseudonym("C1002", key)
    assert nb["cells"][0]["source"].endswith(f"KeyError: {c1}</span>")  # the banner, as the report's banner says it
    error = nb["cells"][2]["outputs"][0]
    assert error["evalue"] == c1 and error["traceback"][2] == f"\x1b[0;31mKeyError\x1b[0m: {c1}"
    assert f"\x1b[38;5;124m{c1}\x1b[39m" in error["traceback"][1]  # the id in the source line shown, too
    assert nb["cells"][1]["outputs"][1]["text"] == f"UserWarning: customer {c2} read from postgresql://ana:***@db/crm\n"
    assert nb["cells"][1]["outputs"][0]["text"] == "c-4f2a 12\n"  # what the notebook showed on purpose stays
    # raw ids allowed by the params: the ids stay, the secret does not
    shown = parse_params(
        {
            "source": {"format": "sample"},
            "periods": {"start": "2024-12", "end": "2024-12"},
            "privacy": {"show_customer_ids": True},
        }
    )
    raw = _redacted_failure(text, str(tmp_path), shown)
    assert "'C1001'" in raw and "hunter2" not in raw
