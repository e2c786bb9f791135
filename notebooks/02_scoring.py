# %% [markdown] tags=["text:scoring.intro"]
# # RFM scores
#
# Each customer is described by three numbers, measured on the last day of the period:
#
# * **Recency**: days since the last purchase (fewer is better);
# * **Frequency**: number of distinct orders;
# * **Monetary**: total spend.
#
# Each is turned into a score from 1 to 5, where **5 is best**.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell in batch runs (`rfmkit run`).
params_path = "../params/monthly.yaml"  # a params file (a batch run passes its validated params.json)
period = "2024-12"  # the month reported on, YYYY-MM; customers are scored as of its last day
region = "all"  # a region in the data, or "all" for all regions together ("region:all": a region named "all")
run_dir = ""  # where artifacts go; empty means a scratch folder <output_dir>/_scratch/<period>/<region>
clean_dir = ""  # cleaned data shared by the batch; empty means clean here (cached under <output_dir>/_data)

# %% tags=["setup"]
from IPython.display import Markdown, display

from analysis import context
from analysis.report import tables
from analysis.report.plots import rfm as rfm_plots
from analysis.text import format as fmt

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency

# %%
display(Markdown(ctx.subtitle))

# %% [markdown] tags=["text:scoring.scoring"]
# ## 1. Scoring the customers
#
# Besides the RFM scores, each customer gets an ABC tier (share of revenue), a lifecycle stage (new, active,
# reactivated, dormant, lost; "this period" is the report's month) and a cluster; the same customers are also
# scored as of the end of the previous period, to show who moved.

# %%
scored = ctx.stage("score")
customers = scored.customers
ctx.say("notebook.scoring.scored", n=len(customers), d=scored.as_of.date())
ctx.privacy_note()

# %% [markdown] tags=["text:scoring.cuts"]
# ## 2. Where the scores are cut
#
# The cut points are the 20 %, 40 %, 60 % and 80 % marks of the customers' values (or thresholds set in the
# params). A value above a frequency or spend cut point earns one more score point; a recency below a cut point
# earns one more. Customers with equal values always get equal scores: when most customers bought only once, they
# all share the lowest frequency score instead of being split at random.

# %%
display(tables.styled(scored.cut_points, decimals=("q20", "q40", "q60", "q80"), language=ctx.language))
rfm_plots.score_distribution(customers, language=ctx.language);
# %% [markdown] tags=["text:scoring.rf"]
# ## 3. Recency × frequency
#
# Customers in the top-right bought recently and often; the bottom-left have not been back for a long time and
# bought rarely.

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
rfm_plots.rf_heatmap(customers, "count", ax=axes[0], language=ctx.language)
rfm_plots.rf_heatmap(customers, "monetary", cur, ax=axes[1], language=ctx.language)
fig.tight_layout()

# %% [markdown] tags=["text:scoring.clv"]
# ## 4. Customer lifetime value
#
# What each customer is expected to be worth from now on: the BG/NBD model estimates how likely a customer is still
# 'alive' (P(alive)) and how often they will buy over the horizon, the Gamma-Gamma model how much they spend per
# purchase; CLV is their product, discounted. **Note for readers:** a customer who bought only once has
# P(alive) = 1 in BG/NBD, because the model only lets customers drop out right after a repeat purchase; their low
# expected purchases still keep their CLV small. The modified BG/NBD model does not do this.

# %%
from analysis.report.plots import clv as clv_plots

if scored.clv is None:
    unit = ctx.text(f"notebook.units.{ctx.params.clv.time_unit}")
    method = scored.clv_value.method_label(ctx.language)
    ctx.say(
        "notebook.scoring.clv_total", h=ctx.params.clv.horizon, u=unit, cur=cur, v=customers.clv.sum(), method=method
    )
    choice = scored.clv_value.penalizer_choice
    for clv_note in (
        scored.clv_value.reason_text(ctx.language),
        scored.clv_value.p_alive_reason_text(ctx.language),
        choice.describe(ctx.language) if choice is not None and scored.clv_value.method != "run_rate" else None,
    ):
        if clv_note:
            ctx.say("clv_fit.note", note=clv_note)
    top_clv = customers.nlargest(15, "clv")
    columns = ["segment", "recency_days", "frequency", "monetary", "p_alive", "expected_purchases", "clv"]
    display(
        tables.styled(
            ctx.ids(top_clv[columns]),
            cur,
            money=("monetary", "clv"),
            pct=("p_alive",),
            decimals=("expected_purchases",),
            language=ctx.language,
        )
    )
    clv_plots.plot_clv_distribution(customers, language=ctx.language, currency=cur)
else:
    ctx.note(scored.clv)

# %% [markdown] tags=["text:scoring.check"]
# ## 5. How well does the model predict?
#
# To check the model, it is fitted again on the data up to half a year ago (half the history when that is shorter)
# and asked to predict each customer's purchases since, which we know; the run-rate estimate used when no model can
# be fitted is made on the same day and checked the same way. The closer the two lines and bars, the more the
# lifetime values above can be trusted.

# %%
if ctx.has(scored.clv_check):
    check, rr = scored.clv_check.fit, scored.clv_check.run_rate_errors
    cal, start = scored.clv_check.calibration_end.date(), scored.clv_check.holdout_start.date()
    if check is None:  # no purchase model up to the holdout's start: the run-rate fallback is still checked
        ctx.say("notebook.scoring.check_no_model", cal=cal)
    else:
        e = scored.clv_check.errors
        ctx.say("notebook.scoring.check_result", model=ctx.text(f"clv_fit.model.{check.method}"), cal=cal,
                start=start, end=ctx.as_of.date(), p=e["expected_total"], a=e["actual_total"],
                pct=fmt.signed_percent(e["total_error_share"], ctx.language), mae=e["mae"])  # fmt: skip
    ctx.say("notebook.scoring.check_run_rate", cal=cal, p=rr["expected_total"],
            pct=fmt.signed_percent(rr["total_error_share"], ctx.language), mae=rr["mae"])  # fmt: skip
    by_bucket = scored.clv_check.by_frequency()
    per_bucket = tuple(c for c in by_bucket.columns if c.startswith("holdout_"))
    display(tables.styled(by_bucket, decimals=per_bucket, language=ctx.language))
    if check is not None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        clv_plots.plot_tracking(check.tracking, ax=axes[0], language=ctx.language)
        clv_plots.plot_holdout_by_frequency(check.holdout_by_frequency, ax=axes[1], language=ctx.language)
        clv_plots.plot_probability_alive_matrix(check.transaction_model, ax=axes[2], language=ctx.language)
        fig.tight_layout()
else:
    ctx.note(scored.clv_check)

# %% [markdown] tags=["text:scoring.top"]
# ## 6. Top customers by spend

# %%
value_class = "value_class_en" if ctx.language == "en" else "value_class"
net = ctx.stage("strategy").value.monetary_net  # spend net of returns and cancellations (analysis.strategy.value)
shown = ["recency_days", "frequency", "monetary", "monetary_net", "rfm_code", "segment", value_class]
top = customers.assign(monetary_net=net).nlargest(15, "monetary_net")[shown]
display(tables.styled(ctx.ids(top), cur, money=("monetary", "monetary_net"), language=ctx.language))
