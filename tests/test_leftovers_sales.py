"""The sales stage keeps nothing beyond its run (a warm batch kernel runs many runs in one process): a second run
reads the CRM inputs afresh, even when an input was rewritten with the same size and modification time."""

from __future__ import annotations

import os
from pathlib import Path

from analysis.regions import ALL_REGIONS
from analysis.sales import run as sales_run
from analysis.sales.run import sales_for_run
from tests.sales.conftest import TARGETS, TEAMS, crm_params, pipeline


def _won(result) -> dict[str, float]:
    opps = result.data.opportunities
    won = opps[opps["stage"] == "Won"]
    return won["amount"].astype(float).to_dict()  # index opportunity_id


def test_a_second_run_in_the_same_process_reads_the_crm_inputs_again(tmp_path: Path) -> None:
    path = tmp_path / "sales_pipeline.csv"
    pipeline().to_csv(path, index=False)
    TEAMS.to_csv(tmp_path / "sales_teams.csv", index=False)
    TARGETS.to_csv(tmp_path / "targets.csv", index=False)
    params = crm_params(
        opportunities={"source": {"format": "csv", "path": str(path)}},
        sales_teams={"source": {"format": "csv", "path": str(tmp_path / "sales_teams.csv")}},
        targets={"source": {"format": "csv", "path": str(tmp_path / "targets.csv")}},
    )
    first = sales_for_run(params, "2017-12", ALL_REGIONS)
    assert _won(first)["O6"] == 500.0  # O6 writes 'won': a won deal of 500
    # the export corrected in place: O6 closed at 900, same file size, the same modification time kept
    stat = path.stat()
    fixed = path.read_text().replace("2017-12-15,500", "2017-12-15,900")
    assert len(fixed) == len(path.read_text()) and fixed != path.read_text()
    path.write_text(fixed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    second = sales_for_run(params, "2017-12", ALL_REGIONS)
    assert _won(second)["O6"] == 900.0
    assert not hasattr(sales_run, "_CACHE")  # no module state to outlive a run
