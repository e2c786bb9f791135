"""``rfmkit score`` says in one line when a CLV column is empty for every customer, and why (issue 22 item 7)."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from analysis.cli import main


def test_an_empty_p_alive_is_explained_in_one_line(tmp_path) -> None:
    rows = [{"customer_id": f"c{k}", "order_id": f"o{k}", "order_date": f"2024-05-0{1 + k % 5}", "amount": 10.0 + k}
            for k in range(6)]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "log.csv", index=False)  # nobody bought twice: BG/NBD cannot be fitted
    out = tmp_path / "customers.csv"
    res = CliRunner().invoke(main, ["score", str(tmp_path / "log.csv"), "--as-of", "2024-05-05", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out)["p_alive"].isna().all()
    lines = [line for line in res.output.splitlines() if line.startswith("Column(s) p_alive empty for every customer")]
    assert (
        len(lines) == 1 and "Run-rate estimate used" in lines[0] and "no customer has bought more than once" in lines[0]
    )


def test_no_note_when_p_alive_is_filled(tmp_path) -> None:
    from analysis.data.sample import generate_transactions

    generate_transactions(customers=300, seed=3).to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "customers.csv"
    res = CliRunner().invoke(main, ["score", str(tmp_path / "log.csv"), "--as-of", "2024-06-30", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out)["p_alive"].notna().all()  # BG/NBD fitted on the sample's repeat buyers
    assert "empty for every customer" not in res.output
