"""Two batches on one folder, awkward region names, region scoping and pseudonyms, through real batches (issue 11).

Regions ``a/b`` and ``a b`` (one slug apart) and a region literally named ``all``, plus the all-regions run; two
``rfmkit run … --force`` on the same output folder as subprocesses, the second (one region: its subject is the
lock) started once the first holds the folder's lock, with the pseudonym key in a key file (the environment
variable unset), so the kernels find the key the way a user's batch does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.batch.lock import read_holder
from analysis.data.sample import generate_transactions
from analysis.regions import region_folder
from analysis.stages import quarantined_in
from tests.test_batch import ROOT, small_params

pytestmark = pytest.mark.slow

REGIONS = {"North": "a/b", "South": "a b", "East": "all", "West": "a b"}
KEY = "a pseudonym key that must never be written anywhere 7f3a"
ARTIFACTS = ("customers.parquet", "customers.csv", "transactions.parquet", "report.html", "manifest.json",
             "headline.json")  # fmt: skip
NOTEBOOKS = ("01_cleaning", "02_scoring", "03_segmentation", "04_strategy", "05_summary")
#: The one region the second batch runs (a name two source regions map to, a slug apart from "a/b").
SECOND_RUN = "a b"
WAIT_S = 900  # how long the test waits for the first batch to take the lock before calling it a hang


def _batch(params: Path, log: Path, *only: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RFMKIT_PSEUDONYM_KEY"}
    cmd = [sys.executable, "-m", "analysis.cli", "-v", "run", str(params), "--force", "--no-progress", *only]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)


def _wait_until_it_holds_the_lock(proc: subprocess.Popen, out: Path, log: Path) -> None:
    """Until the batch ``proc`` holds the output folder's lock (its pid in the holder file): the second batch then
    starts while the first one runs, however slow the machine (no fixed sleep); a hang fails after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while (read_holder(out) or {}).get("pid") != proc.pid:
        assert proc.poll() is None, f"the first batch ended before it took the lock: {log.read_text()}"
        assert time.monotonic() < deadline, f"the first batch did not take the lock in {WAIT_S} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def two_batches(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("safety")
    df = generate_transactions(customers=300, seed=3)
    df["region"] = df["region"].replace(REGIONS)
    ids = df["customer_id"].astype("string")
    df["customer_id"] = ids.where(~ids.str.fullmatch(r"C\d+").fillna(False), "CID-" + ids + "-QX")  # distinctive
    df.to_csv(tmp / "log.csv", index=False)
    (tmp / "pseudonym.key").write_text(KEY + "\n")
    params = small_params(
        tmp,
        source={"path": str(tmp / "log.csv")},
        periods={"start": "2024-12", "end": "2024-12"},
        regions="all",
        include_all_regions=True,
        privacy={"key_file": str(tmp / "pseudonym.key")},
    )
    first = _batch(params, tmp / "first.log")
    _wait_until_it_holds_the_lock(first, tmp / "reports", tmp / "first.log")
    # the second batch's subject is the lock, not its runs: one run (forced, so the run the first batch has just
    # published unchanged is made again, not skipped) is enough to write the folder after waiting for the first
    second = _batch(params, tmp / "second.log", "--region", SECOND_RUN)
    for proc in (first, second):
        proc.wait()
    for name, proc in (("first", first), ("second", second)):
        assert proc.returncode == 0, (tmp / f"{name}.log").read_text()
    return tmp


def _runs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("2024-12/*/manifest.json"))


def test_two_concurrent_batches_lose_nothing(two_batches: Path) -> None:
    out = two_batches / "reports"
    logs = [(two_batches / f"{n}.log").read_text() for n in ("first", "second")]
    assert "4 runs: 4 ok" in logs[0] and "1 runs: 1 ok, 0 skipped" in logs[1], logs  # --force: made again
    assert "waiting for it to finish" in logs[1]  # the second batch waited for the first, saying so
    runs = _runs(out)
    assert [r.name for r in runs] == sorted(["all", region_folder("a/b"), region_folder("a b"), region_folder("all")])
    for run in runs:
        missing = [a for a in ARTIFACTS if not (run / a).is_file()]
        missing += [nb for nb in NOTEBOOKS if not (run / "_executed" / f"{nb}.ipynb").is_file()]
        assert missing == [] and list((run / "actions").glob("*.csv")), (run, missing)
        assert json.loads((run / "manifest.json").read_text())["status"] == "ok"
    assert list(out.glob("2024-12/.*")) == []  # no staging or old folder left behind
    index = (out / "index.html").read_text(encoding="utf-8")
    for run in runs:
        customers = json.loads((run / "headline.json").read_text())["customers"]
        assert f"{customers:,}" in index  # the index keeps each run's KPIs


def test_distinct_regions_get_distinct_folders_and_all_is_its_own_region(two_batches: Path) -> None:
    out = two_batches / "reports" / "2024-12"
    expected = {"a/b": region_folder("a/b"), "a b": region_folder("a b"), "all": region_folder("all")}
    assert len(set(expected.values())) == 3 and "all" not in expected.values()
    for region, folder in expected.items():
        tx = pd.read_parquet(out / folder / "transactions.parquet")
        assert set(tx["region"]) == {region}, folder
        manifest = json.loads((out / folder / "manifest.json").read_text())
        assert manifest["region"] == ("region:all" if region == "all" else region)
    everyone = pd.read_parquet(out / "all" / "transactions.parquet")
    assert set(everyone["region"]) == {"a/b", "a b", "all"}
    assert json.loads((out / "all" / "manifest.json").read_text())["region"] == "all"
    titles = {f: (out / f / "report.html").read_text(encoding="utf-8") for f in ("all", region_folder("all"))}
    assert "· all regions</title>" in titles["all"] and "· all</title>" in titles[region_folder("all")]


def test_region_reports_show_only_their_rows_and_pseudonyms(two_batches: Path) -> None:
    out = two_batches / "reports"
    clean_dir = next(out.glob("_data/clean-*"))
    quarantine = pd.read_csv(clean_dir / "quarantine.csv", dtype=str, keep_default_na=False)
    raw_ids = {i for i in pd.read_csv(two_batches / "log.csv", dtype=str)["customer_id"].dropna() if "CID-" in i}
    for run in _runs(out):
        region = {"all": None, **{region_folder(r): r for r in ("a/b", "a b", "all")}}[run.name]
        page = (run / "report.html").read_text(encoding="utf-8")
        if region is None:
            assert f"{len(quarantine):,} rows set aside, from every region" in page
        else:
            mine = quarantined_in(quarantine, region)
            assert 0 < len(mine) < len(quarantine)
            assert f"{len(mine):,} rows set aside in this region; the other {len(quarantine) - len(mine):,}" in page
            customers = pd.read_parquet(run / "customers.parquet").index
            tx = pd.read_parquet(run / "transactions.parquet")
            assert set(customers) <= set(tx["customer_id"])
        assert raw_ids and "CID-" not in page  # pseudonyms only: no raw id (each starts "CID-"), in one pass
        assert "Customers are shown by pseudonym" in page
        crm = pd.concat(pd.read_csv(f, dtype=str) for f in (run / "actions").glob("*.csv"))
        assert crm["customer_id"].str.startswith("CID-").all() and crm["customer"].str.startswith("c-").all()


def test_the_key_is_written_nowhere(two_batches: Path) -> None:
    files = [p for p in two_batches.rglob("*") if p.is_file() and p.name != "pseudonym.key"]
    assert len(files) > 50
    assert [p for p in files if KEY.encode() in p.read_bytes()] == []  # reports, notebooks, manifests, logs
    manifest = json.loads(next((two_batches / "reports").glob("2024-12/*/manifest.json")).read_text())
    assert manifest["params"]["privacy"]["key_file"] == str(two_batches / "pseudonym.key")
    params = yaml.safe_load((two_batches / "small.yaml").read_text())
    assert params["privacy"] == {"key_file": str(two_batches / "pseudonym.key")}


def test_no_wait_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from analysis.batch.lock import batch_lock
    from analysis.cli import main

    params = small_params(tmp_path)
    with batch_lock(tmp_path / "reports"):  # this process holds the folder
        res = CliRunner().invoke(main, ["run", str(params), "--no-wait", "--no-progress"])
    assert res.exit_code == 1, res.output
    assert f"another rfmkit batch is writing this folder: pid {os.getpid()} on host" in res.output
    assert not (tmp_path / "reports" / "_data").exists()  # nothing was cleaned or run


def test_staging_folders_of_a_killed_batch_are_removed(tmp_path: Path) -> None:
    """Only the kit's own staging and old-run folders (named like them *and* marked) go; the user's stay (issue 19,
    failure 7: hidden folders whose names contain .old or .partial were deleted)."""
    from analysis.batch.runner import mark_stage, remove_stale_staging, staging_dir

    run = tmp_path / "2024-12" / "North"
    mine, stale = staging_dir(run, "b2"), staging_dir(run, "b1")
    for d in (mine, stale, tmp_path / "2024-12" / ".North.old-b1", tmp_path / "_data" / ".x.partial-b1"):
        mark_stage(d, "b1")
    run.mkdir(parents=True)
    users = [tmp_path / "2024-12" / n for n in (".North.old-b0", ".my.partial-x1", ".backup.old", ".notes.partial")]
    for d in users[:3]:
        (d / "keep.txt").parent.mkdir(parents=True)
        (d / "keep.txt").write_text("mine")
    users[3].write_text("a file")
    removed = remove_stale_staging(tmp_path, keep_batch="b2")
    assert sorted(p.name for p in removed) == [".North.old-b1", ".North.partial-b1"]
    assert mine.is_dir() and run.is_dir() and (tmp_path / "_data" / ".x.partial-b1").is_dir()
    assert all((d / "keep.txt").read_text() == "mine" for d in users[:3]) and users[3].read_text() == "a file"


def test_a_file_added_to_a_run_folder_survives_the_next_run(tmp_path: Path) -> None:
    """The kit deletes only what it wrote: a previous run folder goes, the user's notes in it move to the new one."""
    from analysis.batch.runner import mark_stage, publish, staging_dir

    run = tmp_path / "2024-12" / "North"
    for batch, text in (("b1", "first"), ("b2", "second")):
        stage = staging_dir(run, batch)
        mark_stage(stage, batch)
        (stage / "report.html").write_text(text)
        (stage / "actions").mkdir()
        (stage / "actions" / "list.csv").write_text(text)
        publish(stage, run, batch)
        if batch == "b1":
            (run / "notes.txt").write_text("the user's")
            (run / "actions" / "mine.csv").write_text("the user's")
    assert (run / "report.html").read_text() == "second" and (run / "actions" / "list.csv").read_text() == "second"
    assert (run / "notes.txt").read_text() == (run / "actions" / "mine.csv").read_text() == "the user's"
    assert sorted(p.name for p in run.parent.iterdir()) == ["North"]  # the old run folder is gone
