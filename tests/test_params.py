"""Parameters are validated before any work, and errors name the key."""

from __future__ import annotations

import pytest
import yaml

from analysis.errors import ParamsError
from analysis.params import load_params

ROOT_PARAMS = ["params/monthly.yaml", "params/cdnow.yaml", "params/online_retail.yaml"]


@pytest.mark.parametrize("name", ROOT_PARAMS)
def test_shipped_params_are_valid(name: str) -> None:
    from tests.conftest import ROOT

    p = load_params(ROOT / name)
    assert p.periods.months()


def write(tmp_path, data) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_unknown_key_is_named(tmp_path) -> None:
    with pytest.raises(ParamsError, match=r"rfm.lookback_dayz: unknown key"):
        load_params(write(tmp_path, {"periods": {"start": "2024-01", "end": "2024-02"}, "rfm": {"lookback_dayz": 3}}))


def test_bad_period_is_named(tmp_path) -> None:
    with pytest.raises(ParamsError, match=r"periods.start: .*'2024-1' is not a month"):
        load_params(write(tmp_path, {"periods": {"start": "2024-1", "end": "2024-02"}}))


def test_unknown_canonical_column(tmp_path) -> None:
    with pytest.raises(ParamsError, match="unknown canonical column"):
        load_params(write(tmp_path, {"periods": {"start": "2024-01", "end": "2024-01"}, "columns": {"kunde": "x"}}))


def test_relative_paths_resolve_against_the_file(tmp_path) -> None:
    p = load_params(
        write(
            tmp_path,
            {"periods": {"start": "2024-01", "end": "2024-03"}, "source": {"format": "csv", "path": "data/x.csv"}},
        )
    )
    assert p.source.path == str(tmp_path / "data" / "x.csv")
    assert p.periods.months() == ["2024-01", "2024-02", "2024-03"]


def test_thresholds_must_be_four_ascending(tmp_path) -> None:
    with pytest.raises(ParamsError, match="4 non-decreasing"):
        load_params(
            write(
                tmp_path,
                {"periods": {"start": "2024-01", "end": "2024-01"}, "rfm": {"thresholds": {"frequency": [3, 2, 1]}}},
            )
        )
