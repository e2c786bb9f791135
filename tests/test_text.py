"""The text catalogs: every key in every language, and every template formats with the same fields."""

from __future__ import annotations

import string

import pytest

from analysis import text


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogs_have_the_same_keys():
    from tests.test_notebooks import markdown_keys

    en, zh = set(text.catalog("en")), set(text.catalog("zh"))
    markdown = set(markdown_keys())  # notebook explanations: English in the notebooks, checked by test_notebooks
    assert not en - zh, f"missing in zh.yaml: {sorted(en - zh)}"
    assert not zh - en - markdown, f"missing in en.yaml: {sorted(zh - en - markdown)}"


def test_templates_use_the_same_fields():
    en, zh = text.catalog("en"), text.catalog("zh")
    differ = {k: (_fields(en[k]), _fields(zh[k])) for k in en if k in zh and _fields(en[k]) != _fields(zh[k])}
    assert not differ, differ


def test_missing_key_and_unknown_language_are_named():
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        text.t("no.such.key", "en")
    with pytest.raises(ValueError, match="fr"):
        text.catalog("fr")


# ---- figures: analysis.text.format ----

from analysis.text import format as fmt  # noqa: E402


@pytest.mark.parametrize(
    ("value", "currency", "language", "shown"),
    [
        (-593, "$", "en", "-$593"),
        (1234, "¥", "zh", "¥1,234"),
        (1234, "CNY", "zh", "¥1,234"),
        (1234, "CNY", "en", "¥1,234"),
        (-1234.4, "EUR", "en", "-€1,234"),
        (2776, "£", "en", "£2,776"),
        (1234, "CHF", "en", "CHF 1,234"),
        (-5, "CHF", "zh", "-CHF 5"),
        (-0.2, "$", "en", "$0"),  # no "-$0"
        (float("nan"), "$", "en", "–"),
        (None, "¥", "zh", "–"),
    ],
)
def test_money_symbol_and_sign(value, currency, language, shown) -> None:
    assert fmt.money(value, currency, language) == shown


def test_money_decimals_chosen_for_sentences() -> None:
    assert fmt.money(728.0, "$", decimals=None) == "$728"  # not "728.00 $"
    assert fmt.money(1.5, "$", decimals=None) == "$1.50"
    assert fmt.money(2776.4, "$", decimals=None) == "$2,776"
    assert fmt.money_short(-1_250_000, "$") == "-$1.2M" and fmt.money_short(950, "¥") == "¥950"


def test_integers_dates_percentages_and_changes() -> None:
    assert fmt.integer(1.0) == "1" and fmt.integer(1234.0) == "1,234"  # ranks and counts without decimals
    assert fmt.date("2024-10-02 00:00:00") == "2024-10-02"  # never 00:00:00
    assert fmt.date_long("2011-12-09", "en") == "9 Dec 2011" and fmt.date_long("2011-12-09", "zh") == "2011年12月9日"
    assert fmt.percent(0.123) == "12.3%" and fmt.change(0.2) == "+20.0%" and fmt.change(-0.586) == "-58.6%"
    assert fmt.change(954.692) == "new" and fmt.change(954.692, "zh") == "新增"  # not "+95469.2%"
    assert fmt.points(0.05) == "+5.0 pt" and fmt.points(-0.01, "zh") == "-1.0 个百分点"
    with pytest.raises(ValueError, match="fr"):
        fmt.money(1, "$", "fr")


def test_names_are_translated_at_display_only() -> None:
    assert text.name("Champions", "zh") == "冠军客户" and text.name("Champions", "en") == "Champions"
    assert text.name("重要价值客户", "en") == "Important Value" and text.name("重要价值客户", "zh") == "重要价值客户"
    assert text.name("lost", "zh") == "流失" and text.name("Lost", "zh") == "已流失客户"
    assert text.name("North", "zh") == "North" and text.name(3, "zh") == 3  # not a name: unchanged
    assert text.column_label("customer_share", "zh") == "客户占比"
    assert text.column_label("some_new_column", "en") == "some new column"


def test_value_class_english_names_come_from_the_catalog() -> None:
    from analysis.customers.segments import VALUE_CLASS_EN, VALUE_CLASS_ORDER

    assert [VALUE_CLASS_EN[v] for v in VALUE_CLASS_ORDER[:2]] == ["Important Value", "Important Development"]
    assert all(text.t(f"value_class.{v}", "zh") == v for v in VALUE_CLASS_ORDER)  # zh names are the data values


def test_every_cleaning_reason_and_headline_field_has_words() -> None:
    from analysis.contract import REASONS
    from analysis.strategy.executive import HEADLINE_FIELDS

    for language in text.LANGUAGES:
        assert all(text.has(f"quality.reason.{r}", language) for r in REASONS), language
        assert all(text.has(f"executive.kpi.{f}", language) for f, _ in HEADLINE_FIELDS), language
        assert text.name("(all)", language) == text.t("total.(all)", language)
