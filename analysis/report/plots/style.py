"""One look for every chart in the reports, with CJK glyphs for Chinese labels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import font_manager

from analysis import text

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


CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")


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
    """Charts must land in the notebook (and so the report) even if MPLBACKEND says otherwise."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")
