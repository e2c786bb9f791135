"""Charts render Chinese labels with a real CJK font (no tofu boxes)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from analysis.report.plots.style import cjk_font, use_report_style


@pytest.mark.parametrize("language", ["en", "zh"])
def test_chinese_glyphs_have_a_font(language: str, tmp_path) -> None:
    assert cjk_font() is not None, "install fonts-noto-cjk (make setup does: scripts/system-packages.sh)"
    use_report_style(language)
    fig, ax = plt.subplots()
    ax.set_title("重要价值客户 Important Value")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "t.png")
    plt.close(fig)
    assert not [w for w in caught if "missing from font" in str(w.message)]
