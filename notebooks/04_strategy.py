# %% [markdown] tags=["text:strategy.intro"]
# # Strategy
#
# What to do with each group of customers, from the playbook (`analysis/strategy/playbook.yaml` unless the params
# name another): the objective, the action, the channel and the offer, with the customers and revenue at stake.

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
from analysis.missing import Missing
from analysis.report import tables
from analysis.report.markdown import escape_texts

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency

# %%
display(Markdown(ctx.subtitle))

# %% [markdown] tags=["text:strategy.recommendations"]
# ## 1. Recommendations, most valuable first

# %%
strategy = ctx.stage("strategy")
plan = strategy.plan
# each sentence holds playbook texts, names and the currency: escaped as a whole, shown literally (never as markup)
sentences = escape_texts(plan.sentences(ctx.language))
display(Markdown("\n".join(f"{i}. {s}" for i, s in enumerate(sentences, start=1))))
display(Markdown("\n\n".join(f"*{note}*" for note in plan.note_texts(ctx.language))))

# %% [markdown] tags=["text:strategy.churn"]
# ## 2. Valuable customers about to leave
#
# A-tier (or top-CLV) customers who have been silent for much longer than usual, ranked by the value at stake, with
# the reason. With a feedback input, the reason also cites a bad latest score and the complaints in the scoring
# window.

# %%
from analysis.strategy.churn import churn_reasons

flagged = strategy.warnings[strategy.warnings["churn_warning"]]
flagged = flagged.assign(reason=churn_reasons(flagged, ctx.language))
ctx.say("notebook.strategy.flagged", n=len(flagged))
columns = ["segment", "abc_class", "recency_days", "monetary_net", "value_at_stake", "reason"]
money = ("monetary_net", "value_at_stake")
display(tables.styled(ctx.ids(flagged.head(15)[columns]), cur, money=money, language=ctx.language))

# %% [markdown] tags=["text:strategy.per_segment"]
# ## 3. Per segment: customers, revenue, share and action

# %%
per_segment = tables.strategy_by_segment(plan, ctx.language)
money = ("revenue", "value_at_stake", "budget", "expected_return")
display(tables.styled(per_segment, cur, money=money, pct=("customer_share", "revenue_share"), language=ctx.language))

# %% [markdown] tags=["text:strategy.crm"]
# ## 4. Customer lists for the CRM
#
# One CSV per action in the run folder (`actions/`), sorted by value at stake, ready to import.

# %%
from analysis.strategy.actions import play_texts

ctx.privacy_note()
budget = plan.actions[["customers", "budget", "expected_return", "net_return"]]
budget = budget.rename(index=play_texts(plan.playbook, ctx.language)["action"]).rename_axis("action")
display(tables.styled(budget, cur, money=("budget", "expected_return", "net_return"), language=ctx.language))

# %% [markdown] tags=["text:strategy.forecast"]
# ## 5. Next period's forecast
#
# Expected purchases and revenue per segment in the next period: each customer's expected purchases × their spend
# per order net of returns. The purchases come from the fitted purchase model (its expected purchases given each
# customer's history, which allows for customers who have left) or, where no model fits, from the run rate
# (purchases per day of tenure so far × the days of the next period). Both are made at the end of the previous
# period and checked against what customers actually bought this period; the one that erred less is used. Below it,
# that method's check (net of returns): by segment, then by how many orders customers had then.

# %%
from analysis.strategy.forecast import describe_choice

start, end = strategy.forecast_window
ctx.say("notebook.strategy.forecast_window", a=start.date(), b=end.date())
display(Markdown(describe_choice(strategy.forecast_method, strategy.forecast_methods, ctx.language, ctx.period_start,
                                 ctx.as_of)))  # fmt: skip
if ctx.has(strategy.forecast_methods):
    display(tables.styled(strategy.forecast_methods, decimals=("forecast_purchases", "segment_error"),
                          language=ctx.language))  # fmt: skip
if not isinstance(strategy.forecast, Missing):
    display(
        tables.styled(
            strategy.forecast,
            cur,
            money=("expected_revenue",),
            pct=("revenue_share",),
            decimals=("expected_purchases",),
            language=ctx.language,
        )
    )
else:
    ctx.note(strategy.forecast)
ctx.say("notebook.strategy.backtest", a=ctx.period_start.date(), b=ctx.as_of.date())
if not isinstance(strategy.backtest, Missing):
    display(tables.styled_backtest(strategy.backtest, cur, ctx.language, ctx.params.report.min_customers))
else:
    ctx.note(strategy.backtest)

# %%
ctx.say("notebook.strategy.backtest_frequency", a=ctx.period_start.date(), b=ctx.as_of.date())
if not isinstance(strategy.backtest_by_frequency, Missing):
    display(tables.styled_backtest(strategy.backtest_by_frequency, cur, ctx.language, ctx.params.report.min_customers))
else:
    ctx.note(strategy.backtest_by_frequency)

# %% [markdown] tags=["text:strategy.experiment"]
# ## 6. Did last period's actions work?
#
# Each action's customers are split at random: most get the action (the CRM lists), a control group does not. The
# next period compares the two groups, so the difference is what the action earned. Once the evidence is strong
# enough, the expected returns above use the measured uplift instead of the playbook's assumption.

# %%
from analysis.report.experiment import MONEY_COLUMNS, PERCENT_COLUMNS, learning_table, response_table, revenue_table
from analysis.report.plots.experiment import plot_uplift
from analysis.strategy.actions import play_texts
from analysis.text import format as fmt

if not isinstance(strategy.groups, Missing):
    n_assigned = len(strategy.groups)
    share = fmt.percent(strategy.held_out / max(n_assigned, 1), ctx.language)
    ctx.say("experiment.split", held=strategy.held_out, n=n_assigned, share=share)
else:
    ctx.note(strategy.groups)
evaluation = ctx.stage("evaluation")
names = play_texts(plan.playbook, ctx.language)["action"].to_dict()
a, b = (d.date() for d in evaluation.window)

# %%
if not isinstance(evaluation.results, Missing):
    results = evaluation.results
    treated, held = int(results["treated_customers"].sum()), int(results["control_customers"].sum())
    ctx.say("experiment.measured", period=evaluation.period_assigned, a=a, b=b, treated=treated, held=held)
    plot_uplift(results, labels=names, language=ctx.language)
    if evaluation.not_sent:  # assigned, but no record that the CRM sent them (rfmkit confirm-actions)
        unsent = ", ".join(str(names.get(x, x)) for x in evaluation.not_sent)
        ctx.say("experiment.not_sent", actions=unsent, period=evaluation.period_assigned)
else:
    ctx.note(evaluation.results)

# %%
if not isinstance(evaluation.results, Missing):
    ctx.say("experiment.response_title", a=a, b=b)
    display(tables.styled(response_table(results, names), pct=PERCENT_COLUMNS, language=ctx.language))
    ctx.say("experiment.revenue_title", a=a, b=b, currency=cur)
    display(tables.styled(revenue_table(results, names), cur, money=MONEY_COLUMNS, language=ctx.language))
    ctx.say("experiment.how")
    if not results["detectable"].all():
        ctx.say("experiment.underpowered", n=int((~results["detectable"]).sum()), total=len(results))

# %%
if not isinstance(evaluation.learned, Missing):
    ex = ctx.params.experiment
    ctx.say("experiment.learned_title")
    halfwidth = fmt.percent(ex.min_halfwidth, ctx.language)
    prior = fmt.percent(ex.prior_sd, ctx.language)
    ctx.say("experiment.learned_how", min=ex.min_group_customers, halfwidth=halfwidth, prior=prior)
    learned = learning_table(evaluation.learned, ctx.language, names, ex.min_group_customers)
    display(tables.styled(learned, pct=PERCENT_COLUMNS, language=ctx.language))
    measured = evaluation.learned.index[evaluation.learned["uplift_basis"] == "measured"]
    if len(measured):
        ctx.say("experiment.used_measured", actions=", ".join(str(names.get(x, x)) for x in measured))
    else:
        ctx.say("experiment.used_none")
