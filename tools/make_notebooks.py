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

from analysis import context as notebook
from analysis.report import tables
from analysis.report.plots import rfm as rfm_plots

ctx = notebook.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.params.currency"""


#: Chinese text of every markdown cell, keyed by the cell's first line. Each markdown cell is written
#: twice, tagged ``lang-en`` and ``lang-zh``; the report renderer keeps the one in the run's language.
ZH: dict[str, str] = {
    "# Data quality": "# 数据质量\n\n在计算任何指标之前，原始交易记录的每一行都会被检查。无法使用的行会**连同原因被单独存放，绝不会被悄悄丢弃**，因此下面的计数总能对上：输入行数 = 清洗后行数 + 隔离行数。",
    "## 1. Row accounting": "## 1. 行数核对\n\n输入了多少行、保留了多少行，以及其余行被隔离的原因。*退货*是取消的订单或负金额：它们不是购买，因此不计入客户的购买频次和消费金额。核对范围是整个输入文件（清洗对所有地区只做一次）；第 4 节再缩小到本报告的地区和期间。",
    "## 2. Examples of rows set aside": "## 2. 被隔离行的示例\n\n每种原因最多三行，与输入时完全一致（`row_id` 是该行在输入文件中的位置）。完整列表见 `quarantine.csv`。",
    "## 3. Unusually large or small purchases": "## 3. 异常大或异常小的购买\n\n这些购买的金额远离常见水平（在对数尺度上超过设定的稳健标准差倍数）。它们被**保留**并标记，因为大额订单往往是真实的；请核查最大的几笔。",
    "## 4. Transactions in this report": "## 4. 本报告使用的交易\n\n本报告所属地区、截至本期最后一天的清洗后购买记录。每月收入展示了下面评分所依据的趋势。",
    "# RFM scores": "# RFM 评分\n\n每位客户用本期最后一天的三个数字来描述：\n\n* **最近一次消费（R）**：距上次购买的天数（越少越好）；\n* **消费频次（F）**：不同订单的数量；\n* **消费金额（M）**：累计消费。\n\n每个数字都被换算成 1 到 5 分，**5 分最好**。",
    "## 1. Scoring the customers": "## 1. 客户评分\n\n除 RFM 评分外，每位客户还会得到 ABC 等级（收入贡献）、生命周期阶段（新客、活跃、回流、沉睡、流失）和聚类；同时按上期末对同一批客户评分，以显示客户的变化。",
    "## 2. Where the scores are cut": "## 2. 评分的分界点\n\n分界点是客户数值的 20%、40%、60% 和 80% 分位数（或参数中设定的阈值）。频次或金额每高于一个分界点加一分；最近一次消费天数每低于一个分界点加一分。数值相同的客户得分总是相同：当大多数客户只购买过一次时，他们共享最低的频次得分，而不是被随机拆分。",
    "## 3. Recency × frequency": "## 3. 最近一次消费 × 消费频次\n\n右上角的客户最近购买且购买频繁；左下角的客户很久没有回来，购买也很少。",
    "## 4. Customer lifetime value": "## 4. 客户生命周期价值（CLV）\n\n每位客户从现在起预计还值多少：BG/NBD 模型估计客户仍然“活跃”的概率（P(alive)）及其在预测期内的购买次数，Gamma-Gamma 模型估计每次购买的金额；CLV 是两者的乘积并经过折现。**读者须知**：在 BG/NBD 中只购买过一次的客户 P(alive) = 1，因为该模型只允许客户在复购之后流失；但他们预计的购买次数很低，因此 CLV 仍然很小。修正的 BG/NBD 模型（`analysis.clv.ModifiedBGNBD`）没有这个特点。",
    "## 5. How well does the model predict?": "## 5. 模型预测得准吗？\n\n为了检验模型，我们用截至半年前的数据重新拟合，并让它预测最近半年的购买——这些我们已经知道。两条曲线和柱子越接近，上面的生命周期价值就越可信。",
    "## 6. Top customers by spend": "## 6. 消费最高的客户",
    "# Customer segments": "# 客户分群\n\n对同一批客户的两种分组方式：\n\n* **11 个 RFM 客户群**（冠军客户……已流失客户），依据最近一次消费得分以及频次和金额得分的平均值；\n* **RFM 八类客户价值模型**（重要价值客户……一般挽留客户）：每位客户在最近一次消费、频次和金额上高于或低于平均值。",
    "## 1. The 11 RFM segments": "## 1. 11 个 RFM 客户群",
    "## 2. The 8 value classes": "## 2. 八类客户价值\n\n*重要*类客户的消费高于平均；*价值/发展/保持/挽留*取决于客户是否最近购买、是否经常购买。当客户的最近一次消费天数低于所有客户的平均值时，即视为“最近”。",
    "## 3. ABC tiers: who makes the revenue": "## 3. ABC 分级：谁贡献了收入\n\n按消费从高到低排序：**A** 类客户贡献前 80% 的收入，**B** 类贡献其后的 15%，**C** 类为其余客户（界限可在参数中设定）。",
    "## 4. Lifecycle stages": "## 4. 生命周期阶段\n\n*新客*：本期首次购买。*沉睡*：沉默时间超过其通常购买间隔的两倍（仅购买一次的客户为 180 天）。*流失*：沉默超过通常间隔的四倍或超过一年。*回流*：曾经沉睡或流失、本期又购买。",
    "## 5. Clusters found in the data": "## 5. 数据中发现的聚类\n\n对取对数的最近一次消费、频次和金额做 k-means 聚类，无需预设规则即可找到客户群；每个聚类以其中心所在的价值类别命名。轮廓系数（越高越好）决定聚类数量；稳定性（不同随机种子间的调整兰德指数，1 表示完全一致）说明结果的可重复程度。",
    "## 6. Movement since last period": "## 6. 与上期相比的迁移\n\n行：上期所在客户群；列：本期所在客户群。上期尚不是客户的人显示在 *(new)* 中。",
    "## 7. Cohorts: do new customers come back?": "## 7. 同期群：新客户会回来吗？\n\n每一行是客户首次购买的月份，每一列是此后经过的月数。单元格：该同期群在该月购买的客户占比。",
    "## 8. Graded sales report (分级销售报表)": "## 8. 分级销售报表\n\n本期按客户群统计的关键指标，以及与上期和去年同期相比的增长。留存率：上期在该组购买的客户中本期再次购买的比例。",
    "## 9. How segments are defined": "## 9. 客户群的定义\n\n每一种得分组合都恰好属于一个客户群。行：最近一次消费得分；列：频次与金额得分的平均值。",
    "# Strategy": "# 策略建议\n\n依据策略手册（`analysis/strategy/playbook.yaml`）为每组客户给出的行动：目标、行动、渠道和优惠，以及涉及的客户和收入。",
    "## 1. Recommendations, most valuable first": "## 1. 行动建议（按价值排序）",
    "## 2. Valuable customers about to leave": "## 2. 即将流失的高价值客户\n\nA 类（或 CLV 最高的）客户中沉默时间远超平时的客户，按涉及价值排序，并附原因。",
    "## 3. Per segment: customers, revenue, share and action": "## 3. 各客户群：客户数、收入、占比与行动",
    "## 4. Customer lists for the CRM": "## 4. 供 CRM 导入的客户名单\n\n运行目录（`actions/`）中每个行动一个 CSV 文件，按涉及价值排序，可直接导入。",
    "## 5. Next period's forecast": "## 5. 下期预测\n\n各客户群下一期的预计购买次数和收入，以及上一期预测与实际结果的对比。未运行 CLV 模型时使用简单的速率外推（迄今每天的购买次数 × 天数），它忽略了部分客户已经流失。",
    "# Executive summary": "# 管理摘要\n\n本月概览：关键指标与上期及去年同期的对比，以及最有价值的行动。",
    "## 1. Headline figures": "## 1. 关键指标",
    "## 2. Top actions": "## 2. 首要行动\n\n来自策略部分：联系谁、用什么方式、价值多少。",
    "## 3. Customers at a glance": "## 3. 客户概览",
}


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
        code("display(Markdown(ctx.subtitle))"),
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
            "count towards a customer's frequency or spend. The accounting covers the whole input file (cleaning "
            "runs once for all regions); section 4 narrows it to this report's region and period."
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
            "ctx.say('{n:,} purchase lines of {c:,} customers, {a:%Y-%m-%d} to {b:%Y-%m-%d}.',\n"
            "        '{c:,} 位客户的 {n:,} 条购买记录，{a:%Y-%m-%d} 至 {b:%Y-%m-%d}。',\n"
            "        n=len(tx), c=tx.customer_id.nunique(), a=tx.order_date.min(), b=tx.order_date.max())\n"
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
            "from analysis.customers.enrich import add_clv, add_segmentation\nfrom analysis.customers.rfm import score_customers\n"
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
            "ctx.say('**{n:,} customers** scored as of {d}.', '共对 **{n:,} 位客户**评分，评分日期 {d}。', n=len(customers), "
            "d=res.as_of.date())"
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
            "    from analysis.report.plots import clv as clv_plots\n"
            "    ctx.update_headline(clv_total=round(float(customers.clv.sum()), 2))\n"
            "    unit = ctx.text(dict(D='days', W='weeks', M='months')[ctx.params.clv.time_unit], "
            "dict(D='天', W='周', M='个月')[ctx.params.clv.time_unit])\n"
            "    ctx.say('Expected value of these customers over the next {h:g} {u}: **{cur}{v:,.0f}**.',\n"
            "            '这些客户在未来 {h:g} {u}内的预期价值：**{cur}{v:,.0f}**。',\n"
            "            h=ctx.params.clv.horizon, u=unit, cur=cur, v=customers.clv.sum())\n"
            "    top_clv = customers.nlargest(15, 'clv')[['segment', 'recency_days', 'frequency', 'monetary', 'p_alive', "
            "'expected_purchases', 'clv']]\n"
            "    display(tables.styled(top_clv, cur, money=('monetary', 'clv'), pct=('p_alive',), "
            "decimals=('expected_purchases',)))\n"
            "    clv_plots.plot_clv_distribution(customers);"
        ),
        md("## 5. How well does the model predict?\n\nTo check the model, it is fitted again on the data up to "
           "half a year ago and asked to predict the purchases of the last half year, which we know. The closer "
           "the two lines and bars, the more the lifetime values above can be trusted."),
        code("from analysis.clv.pipeline import fit_clv\nfrom analysis.errors import ModelError\n"
             "from analysis.report.plots import clv as clv_plots\nimport matplotlib.pyplot as plt\n"
             "try:\n"
             "    check = fit_clv(tx, ctx.as_of - ctx.clv_holdout, ctx.as_of, time_unit=ctx.params.clv.time_unit, "
             "penalizer=ctx.params.clv.penalizer)\n"
             "except ModelError as err:\n    check = None\n    display(Markdown(f'*Model check skipped: {err}*'))\n"
             "if check is not None:\n"
             "    e = check.holdout_errors['bgnbd']\n"
             "    ctx.say('Predicted **{p:,.0f}** repeat purchases in the check period, actual **{a:,.0f}** ({pct:+.1f} %); '\n"
             "            'per customer the typical error is {mae:.2f} purchases (MAE).',\n"
             "            '检验期内预测复购 **{p:,.0f}** 次，实际 **{a:,.0f}** 次（{pct:+.1f}%）；每位客户的平均误差为 {mae:.2f} 次（MAE）。',\n"
             "            p=e['expected_total'], a=e['actual_total'], pct=e['total_error_pct'], mae=e['mae'])\n"
             "    fig, axes = plt.subplots(1, 3, figsize=(15, 4))\n"
             "    clv_plots.plot_tracking(check.tracking, ax=axes[0])\n"
             "    clv_plots.plot_holdout_by_frequency(check.holdout_by_frequency, ax=axes[1])\n"
             "    clv_plots.plot_probability_alive_matrix(check.bgnbd, ax=axes[2])\n    fig.tight_layout()"),
        md("## 6. Top customers by spend"),
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
            "from analysis.customers import tiers\nfrom analysis.report.plots import segmentation as seg_plots\n"
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
            "from analysis.customers.lifecycle import lifecycle_over_periods, stage_counts\n"
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
            "ctx.say('**{k} clusters**, stability {s:.2f}', '**{k} 个聚类**，稳定性 {s:.2f}', k=head['cluster_k'], "
            "s=head['cluster_stability'])\n"
            "display(tables.styled(profile.drop(columns=['value_class']), cur, money=('monetary', 'clv'), "
            "pct=('customer_share', 'revenue_share'), decimals=('recency_days', 'frequency')))\n"
            "seg_plots.snake_plot(ctx.read('cluster_snake.csv'));"
        ),
        md(
            "## 6. Movement since last period\n\nRows: last period's segment; columns: this period's. "
            "Customers who were not yet customers appear under *(new)*."
        ),
        code(
            "from analysis.customers.migration import migration\nprevious = ctx.read('customers_previous.parquet')\n"
            "mig = migration(previous, customers, 'segment')\nseg_plots.migration_heatmap(mig.counts);\n"
            "ctx.say('{u:,} customers moved up, {d:,} moved down.', '{u:,} 位客户升级，{d:,} 位客户降级。', "
            "u=len(mig.moved_up), d=len(mig.moved_down))\n"
            "display(tables.styled(mig.moved_down.head(10)))\n"
            "display(Markdown('**Revenue by movement** (this period\\'s spend; *(gone)*: last period\\'s)'))\n"
            "display(tables.styled(mig.revenue, cur, money=tuple(mig.revenue.columns)))\n"
            "vc_mig = migration(previous, customers, 'value_class')\n"
            "display(Markdown('**Value classes: last period (rows) → this period (columns)**'))\n"
            "display(tables.styled(vc_mig.counts))"
        ),
        md(
            "## 7. Cohorts: do new customers come back?\n\nEach row is the month customers first bought; each column "
            "the months since. Cells: share of the cohort buying in that month."
        ),
        code(
            "from analysis.customers.cohorts import cohort_table\n"
            "cohorts = cohort_table(tx, as_of=ctx.as_of, max_months=12)\n"
            "seg_plots.cohort_heatmap(cohorts.retention.tail(12));"
        ),
        md(
            "## 8. Graded sales report (分级销售报表)\n\nThis period's KPIs by segment, with growth against the "
            "previous period and the same period a year before. Retention: share of last period's buyers in the "
            "group who bought again."
        ),
        code(
            "from analysis.customers import kpi\n"
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
            "    ctx.say('**By ABC tier × {d}**', '**按 ABC 等级 × {d}**', d=dim)\n"
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
            "from analysis.customers.segments import DEFAULT_RULES\n"
            "display(tables.rule_grid(ctx.params.rfm.segment_rules or DEFAULT_RULES))"
        ),
    ],
    "04_strategy": header(
        "Strategy",
        "What to do with each group of customers, from the playbook (`analysis/strategy/playbook.yaml`): the "
        "objective, the action, the channel and the offer, with the customers and revenue at stake.",
    )
    + [
        md("## 1. Recommendations, most valuable first"),
        code(
            "customers = ctx.read('customers.parquet')\ntx = ctx.read('transactions.parquet')\n"
            "from analysis.strategy.churn import churn_warnings\nfrom analysis.strategy.playbook import load_playbook\n"
            "from analysis.strategy.actions import apply_playbook, write_action_csvs\n"
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
            "ctx.say('**{n:,} valuable customers** carry a warning.', '**{n:,} 位高价值客户**有流失预警。', n=len(flagged))\n"
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
            "ctx.write(strategy.actions, 'actions.csv')\nctx.write(strategy.recommendations, 'recommendations.csv', index=False)\n"
            "display(tables.styled(strategy.actions[['customers', 'budget', 'expected_return', 'net_return']], "
            "cur, money=('budget', 'expected_return', 'net_return')))"
        ),
    ],
    "05_summary": header(
        "Executive summary",
        "The month at a glance: the headline figures against the previous period and the same period a year "
        "before, and the actions worth most.",
    )
    + [
        md("## 1. Headline figures"),
        code("from analysis.customers import kpi\nfrom analysis.strategy.executive import format_headline, headline_kpis, top_actions\n"
             "tx = ctx.read('transactions.parquet')\n"
             "totals = kpi.kpi_totals(tx, ctx.period_start, ctx.as_of)\n"
             "previous = kpi.kpi_totals(tx, ctx.previous_period_start, ctx.previous_as_of)\n"
             "year_ago = kpi.kpi_totals(tx, *ctx.year_ago)\n"
             "head = headline_kpis(totals, previous, year_ago, language=ctx.language)\n"
             "ctx.update_headline(revenue_period=float(totals['revenue']) if len(totals) else 0.0)\n"
             "display(format_headline(head, cur))"),
        md("## 2. Top actions\n\nFrom the strategy section: who to contact, with what, and what it is worth."),
        code("actions = ctx.read('actions.csv').set_index('action_id')\n"
             "rec = ctx.read('recommendations.csv')\n"
             "display(tables.styled(top_actions(actions, rec, 5, ctx.language), cur, "
             "money=('value_at_stake', 'budget', 'expected_return')))"),
        md("## 3. Customers at a glance"),
        code("customers = ctx.read('customers.parquet')\n"
             "seg = tables.segment_summary(customers)[['customers', 'customer_share', 'revenue', 'revenue_share']]\n"
             "display(tables.styled(seg, cur, money=('revenue',), pct=('customer_share', 'revenue_share')))"),
    ],
}


def bilingual(cells: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Each markdown cell twice: English (tag ``lang-en``) and Chinese (tag ``lang-zh``)."""
    out = []
    for cell in cells:
        if cell.cell_type != "markdown":
            out.append(cell)
            continue
        key = cell.source.splitlines()[0]
        if key not in ZH:
            raise KeyError(f"no Chinese text for markdown cell {key!r}: add it to ZH")
        cell.metadata["tags"] = ["lang-en"]
        zh_cell = new_markdown_cell(ZH[key])
        zh_cell.metadata["tags"] = ["lang-zh"]
        out += [cell, zh_cell]
    return out


def build() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=bilingual(cells))
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, ROOT / "notebooks" / f"{name}.ipynb")


if __name__ == "__main__":
    build()
