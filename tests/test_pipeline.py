"""The runner (analysis.pipeline): one table of stages, dependencies from signatures, a run that owns its cache and
writes every stage's files once, params handed over as validated data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml

from analysis import context
from analysis.data.io import write_json
from analysis.errors import ParamsError
from analysis.params import dump_params, load_params
from analysis.pipeline import RUN_PARAMS, STAGES, open_run, read_run_params, stage, write_run_params
from tests.test_stages import tiny_params


def test_dependencies_are_the_stage_functions_parameters() -> None:
    assert STAGES["score"].needs == ("clean",)
    assert STAGES["strategy"].needs == ("clean", "score", "evaluation", "inputs")
    assert STAGES["summary"].needs == ("clean", "score", "segments", "strategy")
    order = list(STAGES)
    for name, spec in STAGES.items():  # the table's order computes each stage after what it needs
        assert all(order.index(n) < order.index(name) for n in spec.needs)


def test_a_stage_must_take_the_run_and_registered_stages() -> None:
    before = dict(STAGES)
    with pytest.raises(TypeError, match=r"stage orphan needs \['no_such_stage'\]"):

        @stage()
        def orphan(run: object, no_such_stage: object) -> None: ...

    with pytest.raises(TypeError, match="first parameter must be 'run'"):

        @stage()
        def runless(clean: object) -> None: ...

    with pytest.raises(TypeError, match="registered twice"):

        @stage("score")
        def again(run: object) -> None: ...

    assert before == STAGES


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_params(tmp_path_factory.mktemp("pipeline"))


def test_a_run_computes_each_stage_once_and_writes_every_file(tiny: Path, tmp_path: Path) -> None:
    calls: list[int] = []

    def write_probe(run_dir: Path, result: int, language: str, key: object = None) -> list[Path]:
        return [write_json({"customers": result}, run_dir / "probe.json")]

    @stage(write=write_probe)
    def probe(run: object, score: object) -> int:
        calls.append(1)
        return len(score.customers)  # type: ignore[attr-defined]

    try:
        run = open_run(load_params(tiny), "2024-12", "Tiny", tmp_path / "run")
        assert run.get("probe") == 5 and run.get("probe") == 5
        assert set(run.results) == {"clean", "score", "probe"}  # what probe needs, nothing more
        with warnings.catch_warnings():  # the kit raises no deprecation of pandas & co. (nothing silences them)
            warnings.simplefilter("error", FutureWarning)
            results = run.compute_all()
        assert list(results) == list(STAGES) and calls == [1]
        names = {p.relative_to(run.run_dir).as_posix() for p in run.run_dir.rglob("*") if p.is_file()}
        assert {"transactions.parquet", "customers.csv", "actions.csv", "headline.json", "probe.json"} <= names
        assert json.loads((run.run_dir / "headline.json").read_text())["customers"] == 5
        assert run.written["segments"] == []  # a stage without files
        other = open_run(load_params(tiny), "2024-12", "Tiny", tmp_path / "other")
        assert other.results == {}  # the cache is the run's own
    finally:
        STAGES.pop("probe", None)


def test_params_are_handed_over_as_validated_data(tiny: Path, tmp_path: Path) -> None:
    """A run's params.json holds the params as validated with the batch's flags: a range over the cap that only
    --allow-large accepts reads back as it is, where the YAML alone is refused."""
    data = yaml.safe_load(tiny.read_text())
    data["periods"] = {"start": "2024-11", "end": "2024-12", "max_months": 1}
    large = tmp_path / "large.yaml"
    large.write_text(yaml.safe_dump(data))
    with pytest.raises(ParamsError, match="--allow-large"):
        load_params(large)
    params = load_params(large, allow_large=True)
    path = write_run_params(dump_params(params), tmp_path / "run")
    assert path == tmp_path / "run" / RUN_PARAMS
    assert dump_params(read_run_params(path)) == dump_params(params)
    ctx = context.setup(path, "2024-11", "Tiny", tmp_path / "run")
    assert dump_params(ctx.params) == dump_params(params)


def test_notebooks_of_a_run_share_its_open_run(tiny: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        first = context.setup(tiny, "2024-12", "Tiny")
        assert not [f for f in warnings.filters if f[0] == "ignore" and f[2] is FutureWarning]  # nothing hidden
    assert context.setup(tiny, "2024-12", "Tiny").run is first.run is context.KERNEL.run
    other = context.setup(tiny, "2024-12", "Big")
    assert other.run is not first.run and context.KERNEL.run is other.run
    assert other.run_dir == Path(first.params.output_dir) / "_scratch" / "2024-12" / "Big"
    context.close_run()
    assert context.KERNEL.run is None
