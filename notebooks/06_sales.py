# %% [markdown] tags=["text:sales.intro"]
# # Sales
#
# The sales side of the period, from the CRM export (params `opportunities`, optional `stage_history`, `targets`,
# `sales_teams` and the `funnel` block; see docs/sales.md): where deals are lost on the way to a won order, which
# open deals are stuck, and how each sales rep is doing against target.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell in batch runs (`rfmkit run`).
params_path = "../params/monthly.yaml"  # the run's params file (validated before anything runs)
period = "2024-12"  # the month reported on, YYYY-MM
region = "all"  # a region in the data, or "all" for all regions together ("region:all": a region named "all")
run_dir = ""  # where artifacts go; empty means a scratch folder <output_dir>/_scratch/<period>/<region>
clean_dir = ""  # cleaned data shared by the batch; empty means clean here (cached under <output_dir>/_data)

# %% tags=["setup"]
from IPython.display import Markdown, display

from analysis import context
from analysis.report import sales as view

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency
sales = ctx.stage("sales")

# %%
display(Markdown(ctx.subtitle))
if ctx.has(sales):
    display(Markdown(view.windows_text(sales, ctx.language)))
else:
    ctx.note(sales)

# %% [markdown] tags=["text:sales.funnel"]
# ## 1. Funnel
#
# For each stage: the deals that entered it, advanced to a later stage or were lost in the period, and those still
# in it at the period's end; the conversion to the next stage (of the deals that left the stage, the share that went
# forward) beside the period before and a year before; the days deals stayed in the stage. Without stage history the
# export only tells each deal's current stage, so only won versus lost and created-to-close are measured.

# %%
if ctx.has(sales):
    display(Markdown(view.headline(sales, ctx.language)))
    display(Markdown(view.closed_text(sales, ctx.language)))
    display(view.styled_funnel(sales, ctx.language))
    for by in view.breakdowns(sales):  # per rep, and per segment when the log was scored
        display(view.styled_funnel(sales, ctx.language, by=by))

# %% [markdown] tags=["text:sales.stalled"]
# ## 2. Stalled deals
#
# Open deals that have been in their stage longer than 90 % of the deals that left it, most overdue first: the ones
# to call about now.

# %%
if ctx.has(sales):
    display(Markdown(view.stalled_text(sales, ctx.language)))
    display(view.styled_stalled(sales, cur, ctx.language, ctx.pseudonym_key, ctx.show_customer_ids))
    ctx.privacy_note()

# %% [markdown] tags=["text:sales.scorecard"]
# ## 3. Rep scorecards
#
# Each sales rep's period against target: deals won and lost, won value, win rate, sales cycle, open pipeline, new
# customers, retention of the rep's own customers, attainment and, in a partial period, pace; rank and its change.

# %%
if ctx.has(sales):
    display(Markdown(view.scorecard_text(sales, ctx.language)))
    display(view.styled_scorecard(sales, cur, ctx.language))
    display(Markdown(ctx.text("sales.teams")))
    display(view.styled_teams(sales, cur, ctx.language))
    display(Markdown(view.quality_text(sales, ctx.language)))
