"""One formatter for every pydantic validation error: params files, playbooks and command-line options."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.errors import ParamsError, PlaybookError
from analysis.params import parse_params
from analysis.strategy.playbook import parse_playbook


def test_params_and_playbook_errors_share_one_layout() -> None:
    with pytest.raises(ParamsError, match=r"p\.yaml: invalid parameters") as params_err:
        parse_params({"periods": {"start": "2024-13", "end": "2024-12"}, "regionz": ["North"]}, origin="p.yaml")
    lines = str(params_err.value).splitlines()
    assert lines[0] == "p.yaml: invalid parameters:"
    assert "  - regionz: unknown key (check its spelling; see params/monthly.yaml for the keys)" in lines
    assert any(line.startswith("  - periods.start: '2024-13' is not a month") for line in lines)
    with pytest.raises(PlaybookError, match=r"pb\.yaml: invalid playbook") as playbook_err:
        parse_playbook({"segments": {}, "colour": "red"}, source="pb.yaml")
    lines = str(playbook_err.value).splitlines()
    assert lines[0] == "pb.yaml: invalid playbook:"
    assert "  - colour: unknown field; remove it or check its spelling" in lines


def test_a_bad_option_value_is_one_message_in_the_same_layout(tmp_path) -> None:
    res = CliRunner().invoke(
        main, ["sample", "--out", str(tmp_path / "s.csv"), "--start", "2024-06-01", "--end", "2024-01-01"]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "error: command line: invalid option values:\n  - " in res.output
