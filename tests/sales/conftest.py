"""Hand-made CRM exports for the sales tests: a current-stage-only export with the quirks of a real one, and a small
stage-history export, each small enough that every figure is computed by hand in the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.params import parse_params

#: A current-stage export shaped like the public B2B pipeline file (report period 2017-12; the export ends
#: 2017-12-20, so December is partial). Rows O10, O11, O12, the copy of O1, the second O5 and O7 (a stage typo) are
#: quarantined; O3 is a prospecting deal without engage date or account, O2 spells GTX Pro as GTXPro, O6 writes 'won'.
PIPELINE_ROWS = [
    # opportunity_id, sales_agent, product, account, deal_stage, engage_date, close_date, close_value
    ("O1", "Ann", "GTX Pro", "Acme", "Won", "2017-10-01", "2017-12-05", "1000"),
    ("O2", "Ann", "GTXPro", "Beta", "Lost", "2017-11-01", "2017-12-10", "0"),
    ("O3", "Bob", "MG Special", "", "Prospecting", "", "", ""),
    ("O4", "Bob", "MG Special", "(blank)", "Engaging", "2017-11-20", "", ""),
    ("O5", "Bob", "GTX Pro", "Dyn", "Won", "2017-09-01", "2017-12-20", "2500"),
    ("O6", "Cy", "MG Special", "Echo", "won", "2017-12-01", "2017-12-15", "500"),
    ("O7", "Ann", "GTX Pro", "Acme", "Engagng", "2017-12-02", "", ""),
    ("O8", "Ann", "GTX Pro", "Fox", "Won", "2017-08-01", "2017-11-15", "800"),
    ("O9", "Cy", "GTX Pro", "Gulf", "Lost", "2017-10-01", "2017-11-12", "0"),
    ("O10", "", "MG Special", "Hill", "Won", "2017-11-01", "2017-12-03", "100"),
    ("O11", "Bob", "GTX Pro", "Ice", "Won", "2017-11-01", "", "300"),
    ("O12", "Bob", "GTX Pro", "Jet", "Won", "2017-11-01", "2017-12-04", "abc"),
    ("O1", "Ann", "GTX Pro", "Acme", "Won", "2017-10-01", "2017-12-05", "1000"),
    ("O5", "Bob", "GTX Pro", "Dyn", "Won", "2017-09-01", "2017-12-19", "2400"),
    ("O14", "Bob", "GTX Pro", "Kilo", "Engaging", "2017-06-01", "", ""),
    ("O15", "Bob", "GTX Pro", "Acme", "Lost", "2016-11-01", "2016-12-05", "0"),
]
PIPELINE_COLUMNS = [
    "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date", "close_value",
]  # fmt: skip
TEAMS = pd.DataFrame(
    {
        "sales_agent": ["Ann", "Bob", "Dee"],
        "manager": ["Mia", "Mia", "Max"],
        "regional_office": ["East", "East", "West"],
    }
)
TARGETS = pd.DataFrame(
    {"rep": ["Ann", "Bob", "Dee"], "period": ["2017-12", "2017-Q4", "2017-12"], "target": ["2000", "6000", "1000"]}
)

#: The issue's params file, as written (paths beside it).
ISSUE_PARAMS = """\
opportunities:
  source: {format: csv, path: sales_pipeline.csv}
  columns: {opportunity_id: opportunity_id, sales_rep: sales_agent, customer_id: account, stage: deal_stage,
            created_date: engage_date, close_date: close_date, amount: close_value, product: product}
sales_teams:
  source: {format: csv, path: sales_teams.csv}
  columns: {sales_rep: sales_agent, manager: manager, team: regional_office}
funnel: {stages: [Prospecting, Engaging, Won], won: Won, lost: [Lost]}
"""

PIPELINE_MAP = {
    "opportunity_id": "opportunity_id", "sales_rep": "sales_agent", "customer_id": "account", "stage": "deal_stage",
    "created_date": "engage_date", "close_date": "close_date", "amount": "close_value", "product": "product",
}  # fmt: skip


def pipeline() -> pd.DataFrame:
    """The current-stage export as read from CSV (all text)."""
    return pd.DataFrame(PIPELINE_ROWS, columns=PIPELINE_COLUMNS)


def crm_params(**extra: Any) -> Any:
    """Params for the current-stage export with teams and targets (files are passed to load_sales as frames)."""
    data = {
        "periods": {"start": "2017-12", "end": "2017-12"},
        "opportunities": {"source": {"format": "csv", "path": "sales_pipeline.csv"}, "columns": PIPELINE_MAP},
        "sales_teams": {
            "source": {"format": "csv", "path": "sales_teams.csv"},
            "columns": {"sales_rep": "sales_agent", "manager": "manager", "team": "regional_office"},
        },
        "targets": {
            "source": {"format": "csv", "path": "targets.csv"},
            "columns": {"sales_rep": "rep", "period": "period", "revenue_target": "target"},
        },
        "funnel": {"stages": ["Prospecting", "Engaging", "Won"], "won": "Won", "lost": ["Lost"]},
    }
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_params(data)


def crm_frames() -> dict[str, pd.DataFrame]:
    return {"opportunities": pipeline(), "sales_teams": TEAMS.copy(), "targets": TARGETS.copy()}


#: A stage-history export (stages Lead, Qualified, Proposal, Won; lost: Lost), report period 2024-03 (the history
#: reaches 2024-04-05, so March is whole). H6's history lacks its close (taken from the close date); H7 has none.
HISTORY_OPPORTUNITIES = pd.DataFrame(
    [
        ("H1", "A", "c1", "Won", "2024-02-20", "2024-03-25", "100"),
        ("H2", "A", "c2", "Lost", "2024-03-05", "2024-03-20", "0"),
        ("H3", "B", "c3", "Proposal", "2024-03-02", "", ""),
        ("H4", "B", "c4", "Lost", "2024-01-10", "2024-03-15", "0"),
        ("H5", "B", "", "Qualified", "2024-03-28", "", "50"),
        ("H6", "A", "c6", "Won", "2024-02-01", "2024-03-03", "300"),
        ("H7", "B", "c7", "Qualified", "2024-03-01", "", ""),
    ],
    columns=["opportunity_id", "sales_rep", "customer_id", "stage", "created_date", "close_date", "amount"],
)
HISTORY_ROWS = pd.DataFrame(
    [
        ("H1", "Lead", "2024-02-20 09:00"), ("H1", "Qualified", "2024-03-01 10:00"),
        ("H1", "Proposal", "2024-03-10 11:00"), ("H1", "Won", "2024-03-25 12:00"),
        ("H2", "Lead", "2024-03-05"), ("H2", "qualified", "2024-03-08"), ("H2", "Lost", "2024-03-20"),
        ("H3", "Lead", "2024-03-02"), ("H3", "Qualified", "2024-03-12"), ("H3", "Proposal", "2024-04-02"),
        ("H4", "Lead", "2024-01-10"), ("H4", "Lost", "2024-03-15"),
        ("H5", "Lead", "2024-03-28"), ("H5", "Qualifed", "2024-04-05"),
        ("H6", "Lead", "2024-02-01"), ("H6", "Qualified", "2024-02-10"), ("H6", "Proposal", "2024-02-20"),
        ("H6", "Proposal", "2024-02-25"),
        ("H9", "Lead", "2024-03-01"),
        ("H1", "Lead", "not a date"),
    ],
    columns=["opportunity_id", "stage", "entered_at"],
)  # fmt: skip


def history_params(**funnel: Any) -> Any:
    return parse_params(
        {
            "periods": {"start": "2024-03", "end": "2024-03"},
            "opportunities": {"source": {"format": "csv", "path": "opps.csv"}},
            "stage_history": {
                "source": {"format": "csv", "path": "history.csv"},
                "aliases": {"stage": {"Qualifed": "Qualified"}},
            },
            "funnel": {"stages": ["Lead", "Qualified", "Proposal", "Won"], "won": "Won", "lost": ["Lost"], **funnel},
        }
    )


def history_frames() -> dict[str, pd.DataFrame]:
    return {"opportunities": HISTORY_OPPORTUNITIES.copy(), "stage_history": HISTORY_ROWS.copy()}


@pytest.fixture
def issue_folder(tmp_path: Path) -> Path:
    """A folder with the issue's params file, the pipeline export and the teams file."""
    pipeline().to_csv(tmp_path / "sales_pipeline.csv", index=False)
    TEAMS.to_csv(tmp_path / "sales_teams.csv", index=False)
    (tmp_path / "params.yaml").write_text(ISSUE_PARAMS, encoding="utf-8")
    return tmp_path
