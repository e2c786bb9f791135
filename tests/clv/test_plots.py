from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from analysis.clv.value import predict_customers
from analysis.report.plots.clv import (
    plot_clv_distribution,
    plot_holdout_by_frequency,
    plot_probability_alive_matrix,
    plot_tracking,
)


def test_plots_draw_on_given_axes(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, cdnow_transactions) -> None:
    from analysis.clv.validation import holdout_by_frequency, tracking_curve

    fig, axes = plt.subplots(2, 2)
    track = tracking_curve(cdnow_bgnbd, cdnow_transactions, "1997-09-30", "1998-06-30")
    assert plot_tracking(track, ax=axes[0, 0]) is axes[0, 0]
    assert len(axes[0, 0].lines) == 3  # actual, expected, calibration end
    assert plot_holdout_by_frequency(holdout_by_frequency(cdnow_bgnbd, cdnow_summary), ax=axes[0, 1]) is axes[0, 1]
    assert plot_probability_alive_matrix(cdnow_bgnbd, T=39, ax=axes[1, 0]) is axes[1, 0]
    pred = predict_customers(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, horizon=52)
    assert plot_clv_distribution(pred, ax=axes[1, 1]) is axes[1, 1]
    plt.close(fig)
    ax = plot_clv_distribution(pd.DataFrame({"clv": [1.0, 2.0, 3.0]}))
    assert ax.get_xlabel() == "CLV"  # the column label from the text catalog
    plt.close("all")


def test_clv_histogram_log_axis_reads_as_money_in_the_report_style() -> None:
    """The report style turns mathtext off, so the log axis must not fall back to "$\\mathdefault{10^{3}}$"."""
    from analysis.report.plots.style import use_report_style

    with matplotlib.rc_context():
        use_report_style("en")
        ax = plot_clv_distribution(pd.DataFrame({"clv": [12.0, 150.0, 2_400.0, 48_000.0]}), currency="GBP")
        ax.figure.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels and not any("mathdefault" in s or "$" in s for s in labels), labels
        assert any(s.startswith("£") for s in labels), labels
        plt.close("all")
