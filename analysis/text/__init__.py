"""User-facing text: one catalog per language.

Every word a reader sees — notebook explanations, chart titles, axes and legends, table headers, segment, class,
stage and action names, sentences — is looked up here by key, in a language passed explicitly (never module
state). The catalogs are ``en.yaml`` and ``zh.yaml`` beside this file; nested YAML keys are joined with dots
(``segments.Champions``). Both catalogs must hold the same keys (a test checks it). Values are ``str.format``
templates: ``t("summary.customers_scored", "en", n=1200)``. Plural forms are chosen by the count:
``{n:plural:order|orders}`` writes *order* when ``n`` is 1 and *orders* otherwise (``n`` may be a number or a
formatted count such as ``"1,234"``); Chinese templates need no plural.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

from analysis.errors import ParamsError

LANGUAGES: tuple[str, ...] = ("en", "zh")


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = "" if value is None else str(value)
    return out


def check_language(language: str) -> str:
    """``language`` if the kit speaks it, else a :class:`ParamsError` naming the choices."""
    if language not in LANGUAGES:
        raise ParamsError(f"language '{language}' is not available; use one of {list(LANGUAGES)}")
    return language


@cache
def catalog(language: str) -> dict[str, str]:
    """All texts of ``language``, by dotted key."""
    check_language(language)
    raw = resources.files(__name__).joinpath(f"{language}.yaml").read_text(encoding="utf-8")
    return _flatten(yaml.safe_load(raw))


def has(key: str, language: str = "en") -> bool:
    """Whether ``key`` is in the catalog of ``language``."""
    return key in catalog(language)


class _Formatter(string.Formatter):
    """``str.format`` plus the plural spec ``{n:plural:one|other}``."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec.startswith("plural:"):
            one, _, other = format_spec[len("plural:") :].partition("|")
            try:
                count = float(str(value).replace(",", "").replace("\u00a0", "").strip())
            except ValueError:
                return other
            return one if count == 1 else other
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def t(key: str, language: str, /, **values: Any) -> str:
    """The text for ``key`` in ``language``, formatted with ``values``.

    Raises ``KeyError`` naming the key and the catalog file when the key is missing: a missing text is a
    bug of the kit (the catalog test catches it), not something a user can fix.
    """
    try:
        template = catalog(language)[key]
    except KeyError:
        raise KeyError(f"text key '{key}' is missing from analysis/text/{language}.yaml") from None
    return _FORMATTER.format(template, **values) if values else template


def label(key: str, language: str, default: str | None = None) -> str:
    """Like :func:`t` without values, falling back to ``default`` (or the key itself) when missing.

    For names that come from data or params (a user's own segment name): known ones are translated, others
    are shown as they are.
    """
    return catalog(language).get(key, key if default is None else default)


#: Catalog sections whose keys are data values (segment, value-class and lifecycle-stage names, the total row
#: of KPI reports, migration markers and directions, where cut points come from, forecast rows and methods,
#: cleaning reasons), in lookup order.
NAME_SECTIONS: tuple[str, ...] = (
    "segment", "value_class", "stage", "total", "movement", "cut_source", "forecast", "quality.reason",
)  # fmt: skip


def name(value: Any, language: str, sections: tuple[str, ...] = NAME_SECTIONS) -> Any:
    """The display name of a data value: ``name("Champions", "zh")`` → ``"冠军客户"``.

    Data keep their canonical values (segment names in English, value classes in Chinese, lifecycle
    stages as lower-case ids); this translates them at display. A value that is not a known name
    (a region, a user's own segment, a number) is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    texts = catalog(language)
    for section in sections:
        found = texts.get(f"{section}.{value}")
        if found is not None:
            return found
    return value


def column_label(column: Any, language: str = "en") -> str:
    """The reader's label of a column or index name: ``customer_share`` → "share of customers" / "客户占比".

    Names without a catalog entry (``column.<name>``) are shown with spaces for underscores.
    """
    key = "" if column is None else str(column)
    return label(f"column.{key}", language, default=key.replace("_", " "))
