"""Windows device names: one list (analysis.filenames) used by region folders and CRM list names."""

from __future__ import annotations

import pytest

from analysis.filenames import is_device_name
from analysis.regions import region_folder
from analysis.strategy.actions import safe_filename


@pytest.mark.parametrize("name", ["CON", "con", "Nul", "com1", "LPT9", "con.csv", "Aux.North", "prn.tar.gz"])
def test_device_names_in_any_case_and_with_an_extension(name: str) -> None:
    assert is_device_name(name)
    assert region_folder(name) != name and "~" in region_folder(name)  # a slug and a hash, never the device


@pytest.mark.parametrize("name", ["console", "com10", "North", "connection.csv", "lpt"])
def test_other_names_are_not_devices(name: str) -> None:
    assert not is_device_name(name)


def test_crm_list_names_avoid_devices() -> None:
    assert safe_filename("NUL") == "nul_" and safe_filename("com1") == "com1_" and safe_filename("call") == "call"
