"""Playbook loading and validation."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from analysis.errors import ParamsError, PlaybookError
from analysis.strategy.playbook import DEFAULT_PLAYBOOK, SEGMENTS, Playbook, load_playbook, parse_playbook


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "pb.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_default_playbook_covers_every_segment() -> None:
    pb = load_playbook()
    assert isinstance(pb, Playbook)
    assert set(pb.segments) == set(SEGMENTS)
    assert pb.segments["Champions"].action.zh
    assert pb.segments["Champions"].budget_per_customer >= 0
    assert "churn_warning" in pb.warnings


def test_unknown_segment_named_with_file(tmp_path: Path, raw: dict) -> None:
    raw["segments"]["Champs"] = copy.deepcopy(raw["segments"]["Champions"])
    path = _write(tmp_path, raw)
    with pytest.raises(PlaybookError, match="Champs") as ei:
        load_playbook(path)
    assert str(path) in str(ei.value)
    assert isinstance(ei.value, ParamsError)


def test_missing_segment_named(tmp_path: Path, raw: dict) -> None:
    del raw["segments"]["Lost"]
    with pytest.raises(PlaybookError, match=r"\['Lost'\].*every segment must be covered"):
        load_playbook(_write(tmp_path, raw))


def test_unknown_field_named(tmp_path: Path, raw: dict) -> None:
    raw["segments"]["Lost"]["discount"] = 0.1
    with pytest.raises(PlaybookError, match=r"segments\.Lost\.discount: unknown field"):
        load_playbook(_write(tmp_path, raw))


def test_unknown_top_level_and_override_keys(raw: dict) -> None:
    raw["colour"] = "red"
    raw["lifecycle"]["sleepy"] = raw["lifecycle"]["reactivated"]
    with pytest.raises(PlaybookError, match="colour") as ei:
        parse_playbook(raw, source="x.yaml")
    msg = str(ei.value)
    assert "colour" in msg and "sleepy" in msg and "x.yaml" in msg


def test_text_must_be_bilingual(raw: dict) -> None:
    raw["segments"]["Promising"]["offer"] = {"en": "Free shipping"}
    with pytest.raises(PlaybookError, match=r"segments\.Promising\.offer\.zh"):
        parse_playbook(raw)


def test_negative_budget_and_bad_uplift(raw: dict) -> None:
    raw["segments"]["Promising"]["budget_per_customer"] = -1
    raw["segments"]["Lost"]["uplift_rate"] = 1.5
    with pytest.raises(PlaybookError, match="budget_per_customer") as ei:
        parse_playbook(raw)
    assert "uplift_rate" in str(ei.value)


def test_action_id_reuse_only_when_identical(raw: dict) -> None:
    raw["segments"]["Lost"] = copy.deepcopy(raw["segments"]["Hibernating"])
    pb = parse_playbook(raw)  # identical plays may share an id
    assert pb.segments["Lost"].id == pb.segments["Hibernating"].id
    raw["segments"]["Lost"]["budget_per_customer"] = 99
    with pytest.raises(PlaybookError, match="reactivate_hibernating"):
        parse_playbook(raw)


def test_bad_id_slug(raw: dict) -> None:
    raw["segments"]["Lost"]["id"] = "Last Chance!"
    with pytest.raises(PlaybookError, match=r"segments\.Lost\.id"):
        parse_playbook(raw)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="not found"):
        load_playbook(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments: [unclosed", encoding="utf-8")
    with pytest.raises(PlaybookError, match="not valid YAML"):
        load_playbook(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match="mapping"):
        load_playbook(lst)
