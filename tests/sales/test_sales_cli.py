"""``rfmkit funnel`` with the issue's params file as written: the three CSVs, recomputed from the raw rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from analysis.cli import main


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_rfmkit_funnel_writes_the_three_csvs(issue_folder: Path) -> None:
    out = issue_folder / "out"
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--out", str(out))
    assert code == 0, output
    assert "Only won versus lost and created-to-close can be measured" in output
    card = pd.read_csv(out / "rep_scorecard.csv", encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    # the hand computation from the raw rows: won and lost deals closed 2017-12-01..2017-12-20 per rep
    raw = pd.read_csv(issue_folder / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    raw = raw.drop_duplicates().drop_duplicates("opportunity_id")
    raw = raw.loc[(raw["sales_agent"] != "") & raw["deal_stage"].str.lower().isin(["won", "lost"])]
    raw = raw.loc[raw["close_date"].between("2017-12-01", "2017-12-20") & raw["close_value"].str.isdigit()]
    won = raw.loc[raw["deal_stage"].str.lower() == "won"]
    expected = pd.DataFrame(
        {
            "won_deals": won.groupby("sales_agent").size(),
            "lost_deals": raw.loc[raw["deal_stage"] == "Lost"].groupby("sales_agent").size(),
            "won_value": won["close_value"].astype(float).groupby(won["sales_agent"]).sum(),
        }
    ).fillna(0)
    got = card.set_index("sales_rep").loc[expected.index]
    assert got["won_deals"].tolist() == expected["won_deals"].tolist()
    assert got["lost_deals"].tolist() == expected["lost_deals"].tolist()
    assert got["won_value"].tolist() == expected["won_value"].tolist()
    assert (
        got["win_rate"].tolist() == (expected["won_deals"] / (expected["won_deals"] + expected["lost_deals"])).tolist()
    )
    assert set(card["sales_rep"]) == {"Ann", "Bob", "Cy", "Dee"}  # Dee: in the teams file, no deal
    assert card["window_first"].unique().tolist() == ["2017-12-01"] and card["window_last"].unique().tolist() == [
        "2017-12-20"
    ]
    funnel = pd.read_csv(out / "funnel.csv", encoding="utf-8-sig")
    assert list(funnel.columns[5:]) == [
        "stage", "entered", "advanced", "lost", "open", "conversion_to_next", "cumulative_conversion",
        "median_days_in_stage", "p90_days_in_stage",
    ]  # fmt: skip
    assert set(funnel["by"]) == {"all", "sales_rep", "team", "product"}
    stalled = pd.read_csv(out / "stalled_deals.csv", encoding="utf-8-sig")
    assert "customer" in stalled.columns and "age_days" in stalled.columns
    quality = json.loads((out / "sales_quality.json").read_text(encoding="utf-8"))
    assert quality["partial_period"] and quality["window"] == "2017-12-01..2017-12-20"
    assert quality["inputs"]["opportunities"]["rows_quarantined"] == 6
    assert (out / "quarantine_opportunities.csv").is_file()


def test_csv_cells_cannot_start_a_formula(issue_folder: Path) -> None:
    raw = pd.read_csv(issue_folder / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    raw.loc[raw["opportunity_id"] == "O14", "sales_agent"] = "=HYPERLINK(1)"
    raw.to_csv(issue_folder / "sales_pipeline.csv", index=False)
    out = issue_folder / "out"
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--out", str(out))
    assert code == 0, output
    for name in ("rep_scorecard.csv", "funnel.csv"):
        text = (out / name).read_text(encoding="utf-8-sig")
        assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_errors_are_one_line_naming_the_fix(issue_folder: Path) -> None:
    out = str(issue_folder / "out")
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2018-02", "--out", out)
    assert code == 2 and "starts after the data end (2017-12-20" in output and "Traceback" not in output
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--region", "East",
                        "--out", out)  # fmt: skip
    assert code == 2 and "map opportunities.columns.region or sales_teams.columns.region" in output
    (issue_folder / "sales_teams.csv").unlink()
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--out", out)
    assert code == 2 and "sales_teams.csv" in output and "Traceback" not in output


def test_a_region_holds_only_its_deals(issue_folder: Path) -> None:
    params = (
        (issue_folder / "params.yaml")
        .read_text(encoding="utf-8")
        .replace("team: regional_office", "region: regional_office")
    )
    (issue_folder / "params.yaml").write_text(params, encoding="utf-8")
    out = issue_folder / "west"
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--region", "West",
                        "--out", str(out))  # fmt: skip
    assert code == 0, output
    card = pd.read_csv(out / "rep_scorecard.csv", encoding="utf-8-sig")
    assert card["sales_rep"].tolist() == ["Dee"] and card["won_value"].tolist() == [0]


def test_won_deals_as_the_orders_of_a_crm_only_company(issue_folder: Path) -> None:
    from analysis.data.clean import clean_transactions

    orders = issue_folder / "orders.csv"
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--out",
                        str(issue_folder / "out"), "--orders", str(orders))  # fmt: skip
    assert code == 0, output
    log = pd.read_csv(orders, encoding="utf-8-sig", dtype=str)
    # won deals with an account: O1, O5, O6, O8 (O10-O12 are quarantined)
    assert log["order_id"].tolist() == ["O8", "O1", "O6", "O5"]
    assert log["amount"].astype(float).tolist() == [800, 1000, 500, 2500]
    assert log["product_line"].tolist() == ["GTX Pro"] * 2 + ["MG Special", "GTX Pro"]
    clean = clean_transactions(log).clean  # the kit reads it as any transaction log
    assert len(clean) == 4 and clean["amount"].sum() == 4800


def test_one_reps_deals(issue_folder: Path) -> None:
    out = issue_folder / "ann"
    code, output = _run("funnel", str(issue_folder / "params.yaml"), "--period", "2017-12", "--region", "rep:ann",
                        "--out", str(out))  # fmt: skip
    assert code == 0, output
    card = pd.read_csv(out / "rep_scorecard.csv", encoding="utf-8-sig")
    assert card["sales_rep"].tolist() == ["Ann"] and card[["won_deals", "lost_deals"]].values.tolist() == [[1, 1]]
