"""The text catalogs: every key in every language, and every template formats with the same fields."""

from __future__ import annotations

import string

import pytest

from analysis import text


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogs_have_the_same_keys():
    en, zh = set(text.catalog("en")), set(text.catalog("zh"))
    assert not en - zh, f"missing in zh.yaml: {sorted(en - zh)}"
    assert not zh - en, f"missing in en.yaml: {sorted(zh - en)}"


def test_templates_use_the_same_fields():
    en, zh = text.catalog("en"), text.catalog("zh")
    differ = {k: (_fields(en[k]), _fields(zh[k])) for k in en if k in zh and _fields(en[k]) != _fields(zh[k])}
    assert not differ, differ


def test_missing_key_and_unknown_language_are_named():
    with pytest.raises(KeyError, match="no.such.key"):
        text.t("no.such.key", "en")
    with pytest.raises(ValueError, match="fr"):
        text.catalog("fr")
