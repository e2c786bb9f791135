# %% [markdown] tags=["text:cleaning.intro"]
# # Data quality
#
# Before any number is computed, every row of the raw transaction log is checked. Rows that cannot be used are
# **set aside with a reason, never silently dropped**, so the counts below always add up: rows in = clean rows +
# rows set aside.

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
from analysis.regions import ALL_REGIONS
from analysis.report import tables
from analysis.report.plots import rfm as rfm_plots

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency

# %%
display(Markdown(ctx.subtitle))

# %% [markdown] tags=["text:cleaning.accounting"]
# ## 1. Row accounting
#
# What came in, what was kept, and why the rest was set aside. *Returns* are cancellations or negative amounts:
# they are not purchases; each is matched to the order it undoes and netted from it (a fully cancelled order is no
# purchase), and every money figure of this report is net. The accounting covers the whole input file (cleaning runs
# once for all regions); section 4 narrows it to this report's region and period.

# %%
cleaned = ctx.stage("clean")
quality = cleaned.result.quality
ctx.say("notebook.cleaning.whole_input", n=quality["rows_in"])
display(tables.styled(tables.quality_table(quality, ctx.language), language=ctx.language))
if (anonymous := quality.get("anonymous_sales") or {}).get("rows"):  # sales without a customer id, reconciled
    total = quality["revenue"] + anonymous["revenue"]
    ctx.say("notebook.cleaning.anonymous", missing=quality["reasons"]["missing_customer_id"], n=anonymous["rows"],
            amount=anonymous["revenue"], clean=quality["revenue"], total=total, share=anonymous["revenue"] / total,
            cur=cur)  # fmt: skip
if (anon_returns := quality.get("anonymous_returns") or {}).get("rows"):  # netted from the sales without an id
    total = quality["revenue"] + (quality.get("anonymous_sales") or {}).get("revenue", 0.0) - anon_returns["value"]
    ctx.say("notebook.cleaning.anonymous_returns", n=anon_returns["rows"], value=anon_returns["value"], total=total,
            cur=cur)  # fmt: skip
if (matched := quality.get("returns_matched") or {}).get("rows"):  # returns matched to their orders, reconciled
    ctx.say("notebook.cleaning.returns_matched", cur=cur, **matched)
rfm_plots.quarantine_reasons(quality, language=ctx.language);
# %% [markdown] tags=["text:cleaning.examples"]
# ## 2. Examples of rows set aside
#
# The rows set aside of this report's region (every row in the all-regions report), up to three per reason, as
# they came in but with the customer shown by pseudonym (*row id* is the row's position in the input file). The
# full list is in `quarantine.csv` of the cleaned data.

# %%
scope = "set_aside_all" if ctx.region == ALL_REGIONS else "set_aside_region"
ctx.say(f"notebook.cleaning.{scope}", n=len(cleaned.quarantined), m=cleaned.quarantined_elsewhere)
examples = cleaned.quarantined.groupby("reason", sort=True).head(3)
display(tables.styled(ctx.raw_ids(examples).set_index(["reason", "row_id"]), language=ctx.language))
ctx.privacy_note()

# %% [markdown] tags=["text:cleaning.outliers"]
# ## 3. Unusually large or small purchases
#
# These purchases of this report's region and period (up to its last day) are far from the typical amount (more
# than the configured number of robust standard deviations on a log scale). They are **kept** and flagged, because
# large orders are often real; check the biggest ones.

# %%
outliers = cleaned.outliers.nlargest(10, "amount")
display(
    tables.styled(
        ctx.ids(outliers[["customer_id", "order_date", "amount"]].set_index("customer_id")),
        cur,
        money=("amount",),
        language=ctx.language,
    )
)

# %% [markdown] tags=["text:cleaning.transactions"]
# ## 4. Transactions in this report
#
# The clean purchases of this report's region, up to the last day of the period. Revenue per month shows the trend
# the scores below are built on.

# %%
tx = cleaned.transactions
ctx.say("notebook.cleaning.lines", n=len(tx), c=tx.customer_id.nunique(), a=tx.order_date.min(), b=tx.order_date.max())
rfm_plots.monthly_revenue(tx, cur, language=ctx.language, data_days=(cleaned.data_start, cleaned.data_end));
