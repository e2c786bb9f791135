# %% [markdown] tags=["text:summary.intro"]
# # Executive summary
#
# The month at a glance: the headline figures against the previous period and the same period a year before, and
# the actions worth most.

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

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency

# %%
display(Markdown(ctx.subtitle))

# %%
from IPython.display import HTML

from analysis.report.cards import cards_html

summary = ctx.stage("summary")
display(HTML(cards_html(summary.cards, summary.alerts, summary.top_actions, cur, ctx.language)))

# %% [markdown] tags=["text:summary.headline"]
# ## 1. Headline figures

# %%
from analysis.strategy.executive import format_headline

headline = format_headline(summary.headline_kpis, cur, ctx.language, summary.unavailable_text(ctx.language))
display(tables.styled(headline, language=ctx.language))
display(Markdown("\n\n".join(summary.notes)))  # the windows compared; partial data, its start, flagged orders

# %% [markdown] tags=["text:summary.actions"]
# ## 2. Top actions
#
# From the strategy section: who to contact, with what, and what it is worth.

# %%
display(
    tables.styled(
        summary.top_actions, cur, money=("value_at_stake", "budget", "expected_return"), language=ctx.language
    )
)

# %% [markdown] tags=["text:summary.glance"]
# ## 3. Customers at a glance

# %%
display(Markdown("\n\n".join(summary.glance_notes)))  # which window each column covers
display(
    tables.styled(
        summary.glance, cur, money=("revenue_period", "revenue_to_date"), pct=("customer_share",), language=ctx.language
    )
)
