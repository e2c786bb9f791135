"""Write the four report notebooks from this file (the notebooks are committed; this keeps them tidy).

Run ``python tools/make_notebooks.py`` after editing; the notebooks are written without outputs.
Notebook cells call ``analysis`` only: no function definitions live in notebooks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]

PARAMS = """# Parameters: papermill replaces this cell in batch runs (`rfmkit run`).
params_path = "../params/monthly.yaml"  # the run's params file (validated before anything runs)
period = "2024-12"                      # the month reported on, YYYY-MM; customers are scored as of its last day
region = "all"                          # a region in the data, or "all"
run_dir = ""                            # where artifacts go; empty means <output_dir>/<period>/<region>
clean_dir = ""                          # cleaned data shared by the batch; empty means clean here"""

SETUP = """from IPython.display import Markdown, display

from analysis import notebook, tables
from analysis.plots import rfm as rfm_plots

ctx = notebook.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.params.currency"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = tags
    return cell


def header(title: str, intro: str) -> list[nbformat.NotebookNode]:
    return [
        md(f"# {title}\n\n{intro}"),
        code(PARAMS, ["parameters"]),
        code(SETUP, ["setup"]),
        code('display(Markdown(f"**{ctx.title}** · customers scored as of **{ctx.as_of.date()}**"))'),
    ]


NOTEBOOKS = {
    "01_cleaning": header(
        "Data quality",
        "Before any number is computed, every row of the raw transaction log is checked. Rows that "
        "cannot be used are **set aside with a reason, never silently dropped**, so the counts below "
        "always add up: rows in = clean rows + rows set aside.",
    )
    + [
        md(
            "## 1. Row accounting\n\nWhat came in, what was kept, and why the rest was set aside. "
            "*Returns* are cancellations or negative amounts: they are not purchases, so they do not "
            "count towards a customer's frequency or spend."
        ),
        code(
            "result = ctx.clean_result()\nq = result.quality\n"
            "display(tables.styled(tables.quality_table(q)))\n"
            "rfm_plots.quarantine_reasons(q);"
        ),
        md(
            "## 2. Examples of rows set aside\n\nUp to three rows per reason, exactly as they came in "
            "(`row_id` is the row's position in the input file). The full list is in `quarantine.csv`."
        ),
        code("display(result.quarantine.groupby('reason', sort=True).head(3).set_index(['reason', 'row_id']))"),
        md(
            "## 3. Unusually large or small purchases\n\nThese purchases are far from the typical amount "
            "(more than the configured number of robust standard deviations on a log scale). They are "
            "**kept** and flagged, because large orders are often real; check the biggest ones."
        ),
        code(
            "outliers = result.clean[result.clean['is_outlier']].nlargest(10, 'amount')\n"
            "display(tables.styled(outliers[['customer_id', 'order_date', 'amount']].set_index('customer_id'), "
            "cur, money=('amount',)))"
        ),
        md(
            "## 4. Transactions in this report\n\nThe clean purchases of this report's region, up to the last day "
            "of the period. Revenue per month shows the trend the scores below are built on."
        ),
        code(
            "tx = ctx.scope(result.clean)\nctx.write(tx, 'transactions.parquet')\n"
            "ctx.update_headline(rows=len(tx), revenue_period=round(float(tx.loc[tx.order_date >= ctx.period_start, "
            "'amount'].sum()), 2))\n"
            "display(Markdown(f'{len(tx):,} purchase lines of {tx.customer_id.nunique():,} customers, '\n"
            "                 f'{tx.order_date.min():%Y-%m-%d} to {tx.order_date.max():%Y-%m-%d}.'))\n"
            "rfm_plots.monthly_revenue(tx, cur);"
        ),
    ],
    "02_scoring": header(
        "RFM scores",
        "Each customer is described by three numbers, measured on the last day of the period:\n\n"
        "* **Recency**: days since the last purchase (fewer is better);\n"
        "* **Frequency**: number of distinct orders;\n"
        "* **Monetary**: total spend.\n\n"
        "Each is turned into a score from 1 to 5, where **5 is best**.",
    )
    + [
        md(
            "## 1. Scoring the customers\n\nBesides the RFM scores, each customer gets an ABC tier (share of revenue), "
            "a lifecycle stage (new, active, reactivated, dormant, lost) and a cluster; the same customers are "
            "also scored as of the end of the previous period, to show who moved."
        ),
        code(
            "tx = ctx.read('transactions.parquet')\n"
            "from analysis.enrich import add_clv, add_segmentation\nfrom analysis.rfm import score_customers\n"
            "res = score_customers(tx, ctx.as_of, ctx.params.rfm)\n"
            "customers, clv_note = add_clv(res.customers, tx, ctx.as_of, ctx.params.clv)\n"
            "seg = add_segmentation(customers, tx, ctx.as_of, ctx.previous_as_of, ctx.params.segmentation)\n"
            "customers = seg.customers\n"
            "previous = score_customers(tx, ctx.previous_as_of, ctx.params.rfm).customers\n"
            "ctx.write(customers, 'customers.parquet')\nctx.write(customers, 'customers.csv')\n"
            "ctx.write(previous, 'customers_previous.parquet')\nctx.write(res.cut_points, 'cut_points.csv')\n"
            "if seg.clusterer is not None:\n"
            "    ctx.write(seg.clusterer.profile_, 'cluster_profile.csv')\n"
            "    ctx.write(seg.clusterer.silhouette_scores_.to_frame(), 'cluster_silhouette.csv')\n"
            "    ctx.write(seg.clusterer.snake_data(customers), 'cluster_snake.csv')\n"
            "    ctx.update_headline(cluster_k=int(seg.clusterer.k_), cluster_stability=round(float(seg.clusterer.stability_), 3))\n"
            "ctx.update_headline(customers=len(customers), revenue=round(float(customers.monetary.sum()), 2))\n"
            "display(Markdown(f'**{len(customers):,} customers** scored as of {res.as_of.date()}.'))"
        ),
        md(
            "## 2. Where the scores are cut\n\nThe cut points are the 20 %, 40 %, 60 % and 80 % marks of "
            "the customers' values (or thresholds set in the params). A value above a frequency or "
            "spend cut point earns one more score point; a recency below a cut point earns one more. "
            "Customers with equal values always get equal scores: when most customers bought only once, "
            "they all share the lowest frequency score instead of being split at random."
        ),
        code(
            "display(tables.styled(res.cut_points, decimals=('q20', 'q40', 'q60', 'q80')))\n"
            "rfm_plots.score_distribution(customers);"
        ),
        md(
            "## 3. Recency × frequency\n\nCustomers in the top-right bought recently and often; "
            "the bottom-left have not been back for a long time and bought rarely."
        ),
        code(
            "import matplotlib.pyplot as plt\nfig, axes = plt.subplots(1, 2, figsize=(12, 4.5))\n"
            "rfm_plots.rf_heatmap(customers, 'count', ax=axes[0])\n"
            "rfm_plots.rf_heatmap(customers, 'monetary', cur, ax=axes[1])\nfig.tight_layout()"
        ),
        md(
            "## 4. Customer lifetime value\n\nWhat each customer is expected to be worth from now on: the BG/NBD model "
            "estimates how likely a customer is still 'alive' (P(alive)) and how often they will buy over the horizon, "
            "the Gamma-Gamma model how much they spend per purchase; CLV is their product, discounted. "
            "**Note for readers:** a customer who bought only once has P(alive) = 1 in BG/NBD, because the model only "
            "lets customers drop out right after a repeat purchase; their low expected purchases still keep their "
            "CLV small. The modified BG/NBD (`analysis.clv.ModifiedBGNBD`) does not do this."
        ),
        code(
            "if clv_note:\n    display(Markdown(f'*{clv_note}*'))\nelse:\n"
            "    from analysis.plots import clv as clv_plots\n"
            "    ctx.update_headline(clv_total=round(float(customers.clv.sum()), 2))\n"
            "    display(Markdown(f'Expected value of these customers over the next {ctx.params.clv.horizon:g} '\n"
            '                     f\'{dict(D="days", W="weeks", M="months")[ctx.params.clv.time_unit]}: \'\n'
            "                     f'**{cur}{customers.clv.sum():,.0f}**.'))\n"
            "    top_clv = customers.nlargest(15, 'clv')[['segment', 'recency_days', 'frequency', 'monetary', 'p_alive', "
            "'expected_purchases', 'clv']]\n"
            "    display(tables.styled(top_clv, cur, money=('monetary', 'clv'), pct=('p_alive',), "
            "decimals=('expected_purchases',)))\n"
            "    clv_plots.plot_clv_distribution(customers);"
        ),
        md("## 5. Top customers by spend"),
        code(
            "top = customers.nlargest(15, 'monetary')[['recency_days', 'frequency', 'monetary', 'rfm_code', "
            "'segment', 'value_class_en' if ctx.language == 'en' else 'value_class']]\n"
            "display(tables.styled(top, cur, money=('monetary',)))"
        ),
    ],
    "03_segmentation": header(
        "Customer segments",
        "Two ways of grouping the same customers:\n\n"
        "* the **11 RFM segments** (Champions … Lost) from the recency score and the average of the "
        "frequency and spend scores;\n"
        "* the **8 value classes** of the Chinese RFM value model (重要价值客户 … 一般挽留客户): each "
        "customer is above or below the average on recency, frequency and spend.",
    )
    + [
        md("## 1. The 11 RFM segments"),
        code(
            "customers = ctx.read('customers.parquet')\ntx = ctx.read('transactions.parquet')\nseg = tables.segment_summary(customers)\n"
            "display(tables.styled(seg, cur, money=('revenue', 'monetary'), pct=('customer_share', 'revenue_share'), "
            "decimals=('recency_days', 'frequency')))\n"
            "rfm_plots.segment_bars(seg, cur, 'segment');"
        ),
        md(
            "## 2. The 8 value classes\n\n*Important* classes spend more than average; *value* / "
            "*development* / *retention* / *win-back* depend on whether they bought recently and "
            "often. A customer is 'recent' when their recency is below the average recency of all "
            "customers here."
        ),
        code(
            "vc = tables.value_class_summary(customers, ctx.language)\n"
            "display(tables.styled(vc, cur, money=('revenue', 'monetary'), pct=('customer_share', 'revenue_share'), "
            "decimals=('recency_days', 'frequency')))\n"
            "rfm_plots.segment_bars(vc, cur, 'value class');"
        ),
        md(
            "## 3. ABC tiers: who makes the revenue\n\nCustomers sorted by spend: **A** make the first 80 % of "
            "revenue, **B** the next 15 %, **C** the rest (limits in the params)."
        ),
        code(
            "from analysis import tiers\nfrom analysis.plots import segmentation as seg_plots\n"
            "abc = tiers.abc_classes(customers, ctx.params.segmentation.abc)\n"
            "display(tables.styled(tiers.abc_summary(abc), cur, money=('revenue', 'mean_value'), "
            "pct=('customer_share', 'revenue_share')))\n"
            "seg_plots.abc_pareto_plot(abc, ctx.params.segmentation.abc);"
        ),
        md(
            "## 4. Lifecycle stages\n\n*New*: first purchase this period. *Dormant*: silent for longer than twice "
            "their usual gap between purchases (or 180 days for one-time buyers). *Lost*: silent four times their usual "
            "gap or over a year. *Reactivated*: bought this period after being dormant or lost."
        ),
        code(
            "from analysis.lifecycle import lifecycle_over_periods, stage_counts\n"
            "display(tables.styled(customers['lifecycle_stage'].value_counts().rename('customers').to_frame()))\n"
            "lc = ctx.params.segmentation.lifecycle\n"
            "wide = lifecycle_over_periods(tx, ctx.recent_period_ends(6), dormant_multiple=lc.dormant_multiple, "
            "dormant_days=lc.dormant_days, lost_multiple=lc.lost_multiple, lost_days=lc.lost_days)\n"
            "seg_plots.lifecycle_chart(stage_counts(wide));"
        ),
        md(
            "## 5. Clusters found in the data\n\nk-means on log recency, frequency and spend finds groups without "
            "preset rules; each is named after the value class of its centre. The silhouette score (higher is "
            "better) chose the number of clusters; the stability (adjusted Rand index across seeds, 1 = identical) "
            "says how reproducible they are."
        ),
        code(
            "profile = ctx.read('cluster_profile.csv').set_index('cluster')\n"
            "head = ctx.read_headline()\n"
            "display(Markdown(f\"**{head['cluster_k']} clusters**, stability {head['cluster_stability']:.2f}\"))\n"
            "display(tables.styled(profile.drop(columns=['value_class']), cur, money=('monetary', 'clv'), "
            "pct=('customer_share', 'revenue_share'), decimals=('recency_days', 'frequency')))\n"
            "seg_plots.snake_plot(ctx.read('cluster_snake.csv'));"
        ),
        md(
            "## 6. Movement since last period\n\nRows: last period's segment; columns: this period's. "
            "Customers who were not yet customers appear under *(new)*."
        ),
        code(
            "from analysis.migration import migration\nprevious = ctx.read('customers_previous.parquet')\n"
            "mig = migration(previous, customers, 'segment')\nseg_plots.migration_heatmap(mig.counts);\n"
            "display(Markdown(f'{len(mig.moved_up):,} customers moved up, {len(mig.moved_down):,} moved down.'))\n"
            "display(tables.styled(mig.moved_down.head(10)))"
        ),
        md(
            "## 7. Cohorts: do new customers come back?\n\nEach row is the month customers first bought; each column "
            "the months since. Cells: share of the cohort buying in that month."
        ),
        code(
            "from analysis.cohorts import cohort_table\n"
            "cohorts = cohort_table(tx, as_of=ctx.as_of, max_months=12)\n"
            "seg_plots.cohort_heatmap(cohorts.retention.tail(12));"
        ),
        md(
            "## 8. Graded sales report (分级销售报表)\n\nThis period's KPIs by segment, with growth against the "
            "previous period and the same period a year before. Retention: share of last period's buyers in the "
            "group who bought again."
        ),
        code(
            "from analysis import kpi\n"
            "cols = ['revenue', 'revenue_share', 'orders', 'customers', 'new_customers', 'aov', 'repeat_rate', "
            "'retention_rate', 'revenue_growth', 'revenue_yoy_growth']\n"
            "by_segment = kpi.sales_report(tx, ctx.period_start, ctx.as_of, by=('segment',), customers=customers)\n"
            "display(tables.styled(by_segment[[c for c in cols if c in by_segment]], cur, money=('revenue', 'aov'), "
            "pct=('revenue_share', 'repeat_rate', 'retention_rate', 'revenue_growth', 'revenue_yoy_growth')))\n"
            "seg_plots.kpi_bar_chart(by_segment, 'revenue');"
        ),
        code(
            "dims = [d for d in ('abc_class', 'region', 'channel', 'product_line') if d == 'abc_class' or d in tx]\n"
            "for dim in dims[1:]:\n"
            "    rep = kpi.sales_report(tx, ctx.period_start, ctx.as_of, by=('abc_class', dim), customers=customers)\n"
            "    display(Markdown(f'**By ABC tier × {dim}**'))\n"
            "    display(tables.styled(rep[[c for c in cols + ['gross_margin_pct'] if c in rep]], cur, "
            "money=('revenue', 'aov'), pct=('revenue_share', 'repeat_rate', 'retention_rate', 'revenue_growth', "
            "'revenue_yoy_growth', 'gross_margin_pct')))\n"
            "if 'sales_rep' in tx:\n"
            "    display(Markdown('**Sales reps**'))\n"
            "    reps = kpi.sales_rep_report(tx, ctx.period_start, ctx.as_of)\n"
            "    display(tables.styled(reps[[c for c in ['rank'] + cols if c in reps]], cur, money=('revenue', 'aov'), "
            "pct=('revenue_share', 'repeat_rate', 'retention_rate', 'revenue_growth', 'revenue_yoy_growth')))"
        ),
        md(
            "## 9. How segments are defined\n\nEvery combination of scores belongs to exactly one segment. "
            "Rows: recency score; columns: the average of the frequency and spend scores."
        ),
        code(
            "from analysis.segments import DEFAULT_RULES\n"
            "display(tables.rule_grid(ctx.params.rfm.segment_rules or DEFAULT_RULES))"
        ),
    ],
    "04_strategy": header(
        "Strategy",
        "What to do with each group of customers, from the playbook (`params/playbook.yaml`): the "
        "objective, the action, the channel and the offer, with the customers and revenue at stake.",
    )
    + [
        md("## 1. Recommendations, most valuable first"),
        code(
            "customers = ctx.read('customers.parquet')\ntx = ctx.read('transactions.parquet')\n"
            "from analysis.churn import churn_warnings\nfrom analysis.playbook import load_playbook\n"
            "from analysis.strategy import apply_playbook, write_action_csvs\n"
            "warnings = churn_warnings(customers, transactions=tx, as_of=ctx.as_of)\n"
            "playbook = load_playbook(ctx.params.playbook)\n"
            "strategy = apply_playbook(customers, playbook, stages=customers['lifecycle_stage'], warnings=warnings, "
            "currency=cur)\n"
            "rec = strategy.recommendations\n"
            "text = rec['sentence_zh' if ctx.language == 'zh' else 'sentence_en']\n"
            "display(Markdown('\\n'.join(f'{p}. {s}' for p, s in zip(rec['priority'], text))))\n"
            "for note in strategy.notes:\n    display(Markdown(f'*{note}*'))"
        ),
        md(
            "## 2. Valuable customers about to leave\n\nA-tier (or top-CLV) customers who have been silent for "
            "much longer than usual, ranked by the value at stake, with the reason."
        ),
        code(
            "flagged = warnings[warnings['churn_warning']]\n"
            "display(Markdown(f'**{len(flagged):,} valuable customers** carry a warning.'))\n"
            "reason = 'reason_zh' if ctx.language == 'zh' else 'reason'\n"
            "display(tables.styled(flagged.head(15)[['segment', 'abc_class', 'recency_days', 'value_at_stake', reason]], "
            "cur, money=('value_at_stake',)))"
        ),
        md("## 3. Per segment: customers, revenue, share and action"),
        code(
            "display(tables.styled(tables.strategy_by_segment(strategy.by_segment, ctx.language, strategy.actions), cur, "
            "money=('revenue', 'value_at_stake', 'budget', 'expected_return'), pct=('customer_share', 'revenue_share')))"
        ),
        md(
            "## 4. Customer lists for the CRM\n\nOne CSV per action in the run folder (`actions/`), "
            "sorted by value at stake, ready to import."
        ),
        code(
            "files = write_action_csvs(strategy.assignments, ctx.path('actions'), language=ctx.language)\n"
            "ctx.write(strategy.actions, 'actions.csv')\n"
            "display(tables.styled(strategy.actions[['customers', 'budget', 'expected_return', 'net_return']], "
            "cur, money=('budget', 'expected_return', 'net_return')))"
        ),
    ],
}


def build() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, ROOT / "notebooks" / f"{name}.ipynb")


if __name__ == "__main__":
    build()
