"""One look for every chart in the reports, with CJK glyphs for Chinese labels, and one way to label an axis.

**Tick labels** (:func:`format_axis`, :func:`finish`): every numeric axis of every chart is labelled by
:class:`TickFormatter` — money with the currency and a k/M/B suffix (``$250``, ``$2.5k``, ``$1.25M``), counts and
measures with thousands separators (``12,000``, ``2.5M``), shares as percentages (``25%``) — with as many decimals as
the ticks need to differ and no more (a log axis over a fraction of a cent to 100k reads ``$0.0001 … $1 … $100k``),
never scientific notation or an offset the reader must apply. Its locators (:class:`SpacedLocator`,
:class:`SpacedLogLocator`) put only as many ticks on a horizontal axis as their labels fit side by side.
``tests/test_chart_ticks.py`` draws every chart on awkward data and checks the labels are distinct, readable and
apart.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.axis import Axis, XAxis
from matplotlib.figure import Figure
from matplotlib.ticker import (
    AutoLocator,
    Formatter,
    LogFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    ScalarFormatter,
)

from analysis import text
from analysis.text import format as fmt

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "AR PL UMing CN",
)


CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)


def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None.

    Fonts installed after matplotlib built its font cache are registered from their files.
    """
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        from pathlib import Path

        for path in CJK_FONT_FILES:
            if Path(path).exists():
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
    return found


def use_report_style(language: str = "en") -> None:
    """Seaborn's clean theme, compact figures sized for e-mail, and a CJK font when one is installed.

    The CJK font comes first for languages written in CJK script (``chart.script`` in the catalog), after
    the Latin font otherwise (so Latin text keeps its look and Chinese glyphs still render).
    """
    _inline_in_notebooks()
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    fonts = ["DejaVu Sans"]
    cjk = cjk_font()
    if cjk:
        fonts = [cjk, *fonts] if text.t("chart.script", language) == "cjk" else [*fonts, cjk]
    plt.rcParams.update(
        {
            "figure.figsize": (8, 4),
            "figure.dpi": 80,
            "savefig.dpi": 80,
            "font.family": fonts,  # a list of names: matplotlib falls back glyph by glyph (CJK after Latin)
            "axes.unicode_minus": False,
            "axes.titleweight": "bold",
            "svg.hashsalt": "rfmkit",
            "text.parse_math": False,  # data in labels ("a$b$", "\\frac{") is text, never mathtext to parse
        }
    )


def _inline_in_notebooks() -> None:
    """Charts must land in the notebook (and so the report) even if MPLBACKEND says otherwise.

    Each chart is drawn once after its cell, as the PNG the notebook shows. The inline backend's hook that sends and
    closes the cell's figures (``flush_figures``) is made to run before pyplot's REPL hook, which otherwise first
    redraws every changed figure on its screen canvas (a whole draw per chart that nobody sees: about a tenth of a
    batch kernel's CPU) and then finds them closed.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")
        _flush_before_redraw(shell)


def _flush_before_redraw(shell: Any) -> None:
    """Put pyplot's post-execute REPL hook after the inline backend's ``flush_figures`` (see
    :func:`_inline_in_notebooks`); a no-op when it is already there or either hook is missing."""
    hooks = shell.events.callbacks.get("post_execute", [])
    names = [getattr(h, "__name__", "") for h in hooks]
    if "flush_figures" not in names or "_draw_all_if_interactive" not in names:
        return
    if names.index("_draw_all_if_interactive") > names.index("flush_figures"):
        return
    plt.uninstall_repl_displayhook()  # public pyplot API: unregisters the REPL hook ...
    plt.install_repl_displayhook()  # ... and registers it again, now after flush_figures


# ------------------------------------------------------------------------------------------------ tick labels

#: Tick label kinds: ``money`` (with the currency), ``number`` (counts and measures), ``percent`` (shares 0–1).
KINDS: tuple[str, ...] = ("money", "number", "percent")
#: Suffixes by size: money from a thousand (as :func:`analysis.text.format.money_short`), numbers from a million.
_SUFFIXES = {"money": ((1e9, "B"), (1e6, "M"), (1e3, "k")), "number": ((1e9, "B"), (1e6, "M"))}
#: The most decimals a label gets (a log axis down to a fraction of a cent needs a few).
_MAX_DECIMALS = 12


def _decimals(value: float, tolerance: float) -> int:
    """The fewest decimals that write ``value`` to within ``tolerance``."""
    for d in range(_MAX_DECIMALS + 1):
        if abs(round(value, d) - value) <= tolerance:
            return d
    return _MAX_DECIMALS


class TickFormatter(Formatter):
    """Tick labels of one kind (:data:`KINDS`) in ``language``, formatted all together (``format_ticks``) so that
    they differ: on a linear axis the labels with the same suffix share their number of decimals (``$0.50 $1.00
    $1.50``; money below a thousand with cents when it has decimals at all), on a log axis each label has its own
    (``$0.01 $1 $100``). Never scientific notation, never an offset.
    """

    def __init__(self, kind: str = "number", currency: str | None = None, language: str = "en") -> None:
        if kind not in KINDS:
            raise ValueError(f"tick label kind {kind!r}: use one of {list(KINDS)}")
        self.kind, self.currency, self.language = kind, currency, text.check_language(language)

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        values = [float(v) for v in values]
        log = self.axis is not None and self.axis.get_scale() in ("log", "symlog")
        if log or len(set(values)) < len(values):  # a log axis' labels have their own decimals each; the same value
            return self._labels(values, log, 0)  # twice: no number of decimals tells them apart
        for extra in range(7):  # more decimals until no two labels read the same
            labels = self._labels(values, log, extra)
            if len(set(labels)) == len(labels):
                break
        return labels

    def _split(self, v: float) -> tuple[float, str]:
        if self.kind == "percent":
            return v * 100.0, "%"
        for div, suffix in _SUFFIXES.get(self.kind, ()):
            if abs(v) >= div * (1 - 1e-12):
                return v / div, suffix
        return v, ""

    def _labels(self, values: list[float], log: bool, extra: int) -> list[str]:
        parts = [self._split(v) for v in values]
        finite = sorted(v for v in values if math.isfinite(v))
        steps = [b - a for a, b in itertools.pairwise(finite) if b > a]
        step = min(steps) if steps else max(abs(finite[0]) if finite else 1.0, 1.0)
        decimals = []
        for v, (scaled, _) in zip(values, parts, strict=True):
            if not math.isfinite(scaled) or v == 0:
                decimals.append(0)
                continue
            # a log tick is written to 1 ppm of itself; a linear one to 1 ppm of the step between ticks
            tolerance = 1e-6 * (abs(scaled) if log else step * abs(scaled / v))
            decimals.append(_decimals(scaled, tolerance))
        if not log:  # one number of decimals per suffix on a linear axis
            most: dict[str, int] = {}
            for (_, suffix), d in zip(parts, decimals, strict=True):
                most[suffix] = max(most.get(suffix, 0), d)
            decimals = [most[suffix] for _, suffix in parts]
            if self.kind == "money":  # cents, not dimes: $0.50
                decimals = [2 if suffix == "" and 0 < d < 2 else d for (_, suffix), d in zip(parts, decimals,
                                                                                          strict=True)]  # fmt: skip
        return [self._one(scaled, suffix, d + extra) for (scaled, suffix), d in zip(parts, decimals, strict=True)]

    def _one(self, scaled: float, suffix: str, decimals: int) -> str:
        if not math.isfinite(scaled):
            return ""
        if round(scaled, decimals) == 0:
            scaled = 0.0  # no "-0" (a tick at -5.6e-17 from float steps is zero)
        if self.kind == "money":
            if self.currency:
                return fmt.money(scaled, self.currency, self.language, decimals=decimals) + suffix
            return f"{scaled:,.{decimals}f}{suffix}"
        return f"{scaled:,.{decimals}f}{suffix}"


def _label_points(axis: Axis) -> float:
    ticks = axis.get_major_ticks(1)
    return float(ticks[0].label1.get_fontsize()) if ticks else float(plt.rcParams["font.size"])


def _fits(axis: Axis, ticks: np.ndarray) -> bool:
    """Whether the labels of ``ticks`` (those in view) fit side by side along a horizontal axis: each about 0.62
    of the font size per character, one font size apart (widths in points)."""
    if not isinstance(axis, XAxis) or axis.axes is None:
        return True
    lo, hi = sorted(axis.get_view_interval())
    shown = [t for t in ticks if lo - 1e-9 * abs(hi - lo) <= t <= hi + 1e-9 * abs(hi - lo)]
    labels = axis.major.formatter.format_ticks(shown)
    size = _label_points(axis)
    length = axis.axes.bbox.width * 72.0 / axis.axes.get_figure(root=True).dpi
    return sum(len(label) * 0.62 * size + size for label in labels) <= length


def _fewest_that_fit(
    locator: Any, count: str, ticks_of: Callable[[float, float], np.ndarray], vmin: float, vmax: float
) -> np.ndarray:
    """Ticks of ``locator`` (its automatic count first, then one fewer at a time, down to 2) until their labels fit
    along its axis; ``count`` names the locator's parameter for the number of ticks (``nbins``, ``numticks``)."""
    locator.set_params(**{count: "auto"})
    ticks = ticks_of(vmin, vmax)
    n = len(ticks)
    while n > 2 and locator.axis is not None and not _fits(locator.axis, ticks):
        n -= 1
        locator.set_params(**{count: n})
        ticks = ticks_of(vmin, vmax)
    return ticks


class SpacedLocator(MaxNLocator):
    """Matplotlib's automatic ticks (1, 2, 2.5, 5 × 10ⁿ), as many as the labels fit along a horizontal axis."""

    def __init__(self) -> None:
        super().__init__(nbins="auto", steps=[1, 2, 2.5, 5, 10], min_n_ticks=2)

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:
        return _fewest_that_fit(self, "nbins", super().tick_values, vmin, vmax)


class SpacedLogLocator(LogLocator):
    """Decades on a log axis (every decade, or every second, third …), as many as the labels fit."""

    def __init__(self) -> None:
        super().__init__(base=10.0, subs=(1.0,), numticks="auto")

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:
        return _fewest_that_fit(self, "numticks", super().tick_values, vmin, vmax)


def format_axis(axis: Axis, kind: str = "number", currency: str | None = None, language: str = "en") -> None:
    """Label ``axis`` the kit's way (:class:`TickFormatter` of ``kind``, spaced ticks; on a log axis decades and no
    minor labels). Call it after the axis' scale is set. Ticks placed on purpose (``set_xticks``, a colour bar's
    short side without any) stay where they are: only matplotlib's automatic locators are replaced."""
    axis.set_major_formatter(TickFormatter(kind, currency, language))
    locator = type(axis.get_major_locator())
    if axis.get_scale() == "log":
        axis.set_minor_formatter(NullFormatter())
        if locator is LogLocator:
            axis.set_major_locator(SpacedLogLocator())
    elif axis.get_scale() == "linear" and locator is AutoLocator:
        axis.set_major_locator(SpacedLocator())


def _default_numeric(axis: Axis) -> bool:
    """Whether ``axis`` still shows matplotlib's default number labels (not words, not the kit's)."""
    formatter = axis.get_major_formatter()
    return type(formatter) is ScalarFormatter or (isinstance(formatter, LogFormatter) and axis.get_scale() == "log")


def finish(target: Axes | Figure, language: str = "en") -> None:
    """Give every numeric axis of the figure of ``target`` that still shows matplotlib's default labels the kit's
    number labels (:func:`format_axis`, kind ``number``), colour bars included. Axes labelled already (money,
    percent, category names) keep theirs. Every chart function calls this before it returns."""
    fig = target if isinstance(target, Figure) else target.get_figure(root=True)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if _default_numeric(axis):
                format_axis(axis, "number", None, language)
