# %% [markdown] tags=["text:segmentation.intro"]
# # Customer segments
#
# Two ways of grouping the same customers:
#
# * the **11 RFM segments** (Champions … Lost) from the recency score and the average of the frequency and spend
#   scores;
# * the **8 value classes** of the Chinese RFM value model (重要价值客户 … 一般挽留客户): each customer is above or
#   below the average on recency, frequency and spend.

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

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency

# %%
display(Markdown(ctx.subtitle))

# %% [markdown] tags=["text:segmentation.segments"]
# ## 1. The 11 RFM segments

# %%
seg = ctx.stage("segments")
scored = ctx.stage("score")
money, shares, means = ("revenue", "monetary"), ("customer_share", "revenue_share"), ("recency_days", "frequency")
display(tables.styled(seg.segments, cur, money=money, pct=shares, decimals=means, language=ctx.language))
rfm_plots.segment_bars(seg.segments, cur, "segment", language=ctx.language);
# %% [markdown] tags=["text:segmentation.value_classes"]
# ## 2. The 8 value classes
#
# *Important* classes spend more than average; *value* / *development* / *retention* / *win-back* depend on whether
# they bought recently and often. A customer is 'recent' when their recency is below the average recency of all
# customers here.

# %%
display(tables.styled(seg.value_classes, cur, money=money, pct=shares, decimals=means, language=ctx.language))
rfm_plots.segment_bars(seg.value_classes, cur, "value class", language=ctx.language);
# %% [markdown] tags=["text:segmentation.abc"]
# ## 3. ABC tiers: who makes the revenue
#
# Customers sorted by net spend (what they bought less what they returned, in the scoring window): **A** make the
# first 80 % of net revenue, **B** the next 15 %, **C** the rest (limits in the params).

# %%
from analysis.report.plots import segmentation as seg_plots

display(tables.styled(seg.abc_summary, cur, money=("revenue", "mean_value"), pct=shares, language=ctx.language))
seg_plots.abc_pareto_plot(seg.abc, ctx.params.segmentation.abc, language=ctx.language);
# %% [markdown] tags=["text:segmentation.lifecycle"]
# ## 4. Lifecycle stages
#
# *New*: first purchase this period. *Dormant*: silent for longer than twice their usual gap between purchases (or
# 180 days for one-time buyers). *Lost*: silent four times their usual gap or over a year. *Reactivated*: bought
# this period after being dormant or lost.

# %%
if scored.left_censored:  # the data's first period: first purchases in it are not known to be first
    ctx.say("executive.left_censored", date=str(ctx.window.data_start.date()))
display(tables.styled(seg.lifecycle_stages, language=ctx.language))
seg_plots.lifecycle_chart(seg.lifecycle, language=ctx.language);
# %% [markdown] tags=["text:segmentation.clusters"]
# ## 5. Clusters found in the data
#
# k-means on log recency, frequency and spend finds groups without preset rules; each is named after the value class
# of its centre. The silhouette score (higher is better) chose the number of clusters; the stability (adjusted Rand
# index across seeds, 1 = identical) says how reproducible they are.

# %%
if ctx.has(scored.clusters):
    ctx.say("notebook.segmentation.clusters_found", k=scored.clusters.k, s=scored.clusters.stability)
    profile = scored.clusters.profile.drop(columns=["value_class"])
    if scored.clv is None:  # the CLV column names its method, as the CLV total does
        ctx.say(
            "notebook.segmentation.cluster_clv",
            h=ctx.params.clv.horizon,
            u=ctx.text(f"notebook.units.{ctx.params.clv.time_unit}"),
            method=scored.clv_value.method_label(ctx.language),
        )
    display(tables.styled(profile, cur, money=("monetary", "clv"), pct=shares, decimals=means, language=ctx.language))
    seg_plots.snake_plot(scored.clusters.snake, language=ctx.language)
else:
    ctx.note(scored.clusters)

# %% [markdown] tags=["text:segmentation.migration"]
# ## 6. Movement since last period
#
# Rows: last period's segment; columns: this period's. Customers who were not yet customers appear under *(new)*.

# %%
if ctx.has(seg.migration):
    seg_plots.migration_heatmap(seg.migration.counts, language=ctx.language)
    ctx.say("notebook.segmentation.moved", u=len(seg.migration.moved_up), d=len(seg.migration.moved_down))
    display(tables.styled(ctx.ids(seg.migration.moved_down.head(10)), language=ctx.language))
    ctx.say("notebook.segmentation.revenue_by_movement")
    display(
        tables.styled(seg.migration.revenue, cur, money=tuple(seg.migration.revenue.columns), language=ctx.language)
    )
    ctx.say("notebook.segmentation.value_class_movement")
    display(tables.styled(seg.value_class_migration.counts, language=ctx.language))
else:
    ctx.note(seg.migration)

# %% [markdown] tags=["text:segmentation.cohorts"]
# ## 7. Cohorts: do new customers come back?
#
# Each row is the month customers first bought; each column the months since. Cells: share of the cohort buying in
# that month.

# %%
if ctx.has(seg.cohorts):
    days = (ctx.window.data_start, ctx.window.data_end)  # a month the data cover in part is hatched and labelled
    seg_plots.cohort_heatmap(seg.cohorts.retention.tail(12), language=ctx.language, data_days=days)
else:
    ctx.note(seg.cohorts)

# %% [markdown] tags=["text:segmentation.kpi"]
# ## 8. Graded sales report (分级销售报表)
#
# This period's KPIs by segment, with growth against the previous period and the same period a year before.
# Retention: share of last period's buyers in the group who bought again.

# %%
growth = ("revenue_share", "repeat_rate", "retention_rate", "revenue_growth", "revenue_yoy_growth", "gross_margin_pct")
display(tables.styled(seg.kpi_by_segment, cur, money=("revenue", "aov"), pct=growth, language=ctx.language))
seg_plots.kpi_bar_chart(seg.kpi_by_segment, "revenue", language=ctx.language, currency=cur);
# %%
for dimension, report in seg.kpi_by_dimension.items():
    ctx.say("notebook.segmentation.by_dimension", d=tables.column_label(dimension, ctx.language))
    display(tables.styled(report, cur, money=("revenue", "aov"), pct=growth, language=ctx.language))
if ctx.has(seg.sales_reps):
    ctx.say("notebook.segmentation.sales_reps")
    display(tables.styled(seg.sales_reps, cur, money=("revenue", "aov"), pct=growth, language=ctx.language))

# %%
# who the customers are (an attributes input, params grading.attributes; the dimensions: grading.dimensions)
from IPython.display import HTML

from analysis.grading import view as grading_view
from analysis.grading.satisfaction import window_text

customer_inputs = ctx.stage("inputs")
if ctx.has(customer_inputs.attributes):
    small = customer_inputs.attributes.min_customers
    scoring_window = window_text(customer_inputs.as_of, customer_inputs.since, ctx.language)
    for dimension, parts in customer_inputs.attributes.tables.items():
        name = grading_view.dimension_name(dimension, ctx.language)
        ctx.say("notebook.segmentation.by_attribute", d=name, window=scoring_window, n=small)
        for part in ("profile", "segments"):
            display(grading_view.styled_attribute(parts[part], small, ctx.language, cur))
    if customer_inputs.attributes.drill is not None:
        ctx.say("notebook.segmentation.attribute_drill")
        display(HTML(grading_view.drill_html(customer_inputs.attributes.drill, small, ctx.language, cur)))
    for dimension, report in seg.kpi_by_attribute.items():
        name = grading_view.dimension_name(dimension, ctx.language)
        ctx.say("notebook.segmentation.kpi_by_attribute", d=name, n=small)
        shown = grading_view.attribute_view(report, small, ctx.language)
        display(tables.styled(shown, cur, money=("revenue", "aov"), pct=growth, language=ctx.language))
else:
    ctx.note(customer_inputs.attributes)

# %% [markdown] tags=["text:segmentation.rules"]
# ## 9. How segments are defined
#
# Every combination of scores belongs to exactly one segment. Rows: recency score; columns: the average of the
# frequency and spend scores.

# %%
from analysis.customers.segments import DEFAULT_RULES

display(tables.styled_rule_grid(ctx.params.rfm.segment_rules or DEFAULT_RULES, ctx.language))
