# %% [markdown] tags=["text:grading.intro"]
# # Customer grading
#
# One row per customer with every grade the kit gives (segment, value class, ABC tier, lifecycle stage, cluster and
# the overall grade), the reason for each grade in one sentence and what would move the customer up. With the
# optional inputs (feedback, contacts, attributes, a KANO survey) the grades also use satisfaction and contacts,
# segments are shown by who the customers are, and each criterion is reviewed for what it adds.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell in batch runs (`rfmkit run`).
params_path = "../params/monthly.yaml"  # the run's params file (validated before anything runs)
period = "2024-12"  # the month reported on, YYYY-MM; customers are scored as of its last day
region = "all"  # a region in the data, or "all" for all regions together ("region:all": a region named "all")
run_dir = ""  # where artifacts go; empty means a scratch folder <output_dir>/_scratch/<period>/<region>
clean_dir = ""  # cleaned data shared by the batch; empty means clean here (cached under <output_dir>/_data)

# %% tags=["setup"]
from IPython.display import Markdown, display

from analysis import context
from analysis.grading import view
from analysis.grading.satisfaction import window_text
from analysis.report import tables

ctx = context.setup(params_path, period, region, run_dir, clean_dir)
cur = ctx.currency
lang = ctx.language

# %%
display(Markdown(ctx.subtitle))
grading = ctx.stage("grading")
table = grading.table
window = window_text(grading.as_of, grading.since, lang)

# %% [markdown] tags=["text:grading.table"]
# ## 1. Every customer's grades, the reason and what would move them up
#
# Each reason is built from the rule that gave the grade (the segment's score ranges, the value class's comparison
# with the means, the ABC tier's revenue share, the lifecycle rule that fired, the cluster's profile), so it always
# agrees with the grade. "What would move them up" names the nearest better grade and the smallest change that
# reaches it at this period's cut points.

# %%
cap = ctx.params.grading.shown_customers
shown = view.customer_view(table, cap)
key, values = view.shown_note(len(table), len(shown), cap, grading.as_of.date(), window)
ctx.say(key, **values)
ctx.privacy_note()
display(tables.styled(view.labelled(ctx.ids(shown), lang), cur, language=lang))

# %%
ctx.say("grading.notebook.by_segment", window=window)
display(tables.styled(view.labelled(view.segment_moves(table), lang), cur, language=lang))

# %% [markdown] tags=["text:grading.overall"]
# ## 2. The overall grade
#
# R, F and M scores, satisfaction and contacts, each put on 0–1 and weighted by the params: grade A from 0.75, B
# from 0.5, C from 0.25, else D. A customer without feedback is graded on the other criteria.

# %%
ctx.say("grading.notebook.overall", weights=view.weights_text(ctx.params.grading.weights, lang), window=window)
display(tables.styled(view.labelled(view.overall_counts(table), lang), cur, language=lang))

# %% [markdown] tags=["text:grading.satisfaction"]
# ## 3. Satisfaction, complaints and contacts
#
# Scores on any scale (CSAT 1–5, NPS 0–10, stars) are put on 0–1. A customer is unhappy with a mean score below
# the params' limit or a complaint in the window. Valuable (tier A) but unhappy customers get the playbook's
# service-recovery play, one of the strategy's actions: a personal call from their account manager to fix what went
# wrong before any offer.

# %%
if ctx.has(grading.grid):
    ctx.say("grading.notebook.grid", window=window)
    display(tables.styled(view.labelled(grading.grid, lang), cur, language=lang))
    view.plot_grid(grading.grid, lang)
    ctx.say("grading.notebook.sat_by_segment", window=window)
    display(tables.styled(view.labelled(grading.by_segment, lang), cur, language=lang))
    ctx.say("grading.notebook.complaints", window=window)
    display(tables.styled(view.labelled(grading.complaints, lang), cur, language=lang))
else:
    ctx.note(grading.grid)

# %%
if ctx.has(grading.recovery):
    ctx.say("grading.notebook.recovery", window=window)
    display(tables.styled(view.labelled(ctx.ids(view.recovery_view(grading.recovery)), lang), cur, language=lang))
    playbook = ctx.stage("strategy").plan.playbook
    ctx.say("grading.notebook.recovery_play", **view.recovery_play(grading.recovery, playbook, lang))
elif ctx.has(grading.grid):
    ctx.note(grading.recovery)
cited = view.churn_with_satisfaction(table)
if len(cited):
    ctx.say("grading.notebook.churn", window=window)
    display(tables.styled(view.labelled(ctx.ids(cited.head(30)), lang), cur, language=lang))

# %%
if ctx.has(grading.leads):
    ctx.say("grading.notebook.leads", n=len(grading.leads), window=window)
else:
    ctx.note(grading.leads)

# %% [markdown] tags=["text:grading.review"]
# ## 4. Which criteria matter
#
# From the data's own history: customers as they were a while ago, and whether they bought afterwards. Two simple
# models (buying at all, and how much) are compared with every criterion and without each one; a criterion whose
# removal costs nothing does not change outcomes and can be dropped from the grading.

# %%
if ctx.has(grading.review):
    r = grading.review
    ctx.say("grading.notebook.review_title", cutoff=r.cutoff.date(), as_of=r.as_of.date())
    ctx.say(
        "grading.review.intro",
        cutoff=r.cutoff.date(),
        n=r.customers,
        share=f"{r.bought_share:.0%}",
        as_of=r.as_of.date(),
        auc=f"{r.auc:.3f}",
        r2=f"{r.r2:.3f}",
    )
    display(tables.styled(view.labelled(view.review_view(r.table, lang), lang), language=lang))
    display(Markdown("\n".join(f"- {s}" for s in view.review_sentences(r, lang))))
else:
    ctx.note(grading.review)

# %% [markdown] tags=["text:grading.attributes"]
# ## 5. Who the customers are
#
# Segments, spend, CLV and retention by age band, gender, province and industry, and a drill-down from province to
# city. Retention: of the customers who first bought before this period, the share who bought in it.

# %%
small = ctx.params.report.min_customers  # rows of fewer customers show no figures
if ctx.has(grading.attributes):
    for dim, parts in grading.attributes.items():
        ctx.say("grading.notebook.attributes", dimension=view.dimension_name(dim, lang), window=window)
        for part in ("profile", "segments"):
            display(view.styled_attribute(parts[part], small, lang, cur))
else:
    ctx.note(grading.attributes)

# %%
from IPython.display import HTML

if ctx.has(grading.drill):
    ctx.say("grading.notebook.drill", window=window)
    display(HTML(view.drill_html(grading.drill, small, lang, cur)))

# %% [markdown] tags=["text:grading.kano"]
# ## 6. KANO: which features customers expect, value or would be delighted by
#
# Each answer pair (with the feature / without it) is classified with the standard KANO table: must-be (M),
# performance (O), attractive (A), indifferent (I), reverse (R) or questionable (Q). Better is the share of answers
# that gain satisfaction from the feature, Worse the share that lose it without the feature.

# %%
if ctx.has(grading.kano):
    answers = int(grading.kano["answers"].sum())
    ctx.say("grading.notebook.kano", n=answers, respondents=view.respondents(grading))
    display(tables.styled(view.labelled(view.kano_view(grading.kano, lang), lang), language=lang))
    view.plot_kano(grading.kano, lang)
else:
    ctx.note(grading.kano)

# %%
if ctx.has(grading.kano_by_segment):
    ctx.say("grading.notebook.kano_by_segment")
    display(tables.styled(view.labelled(view.kano_view(grading.kano_by_segment, lang), lang), language=lang))
elif ctx.has(grading.kano):
    ctx.note(grading.kano_by_segment)

# %% [markdown] tags=["text:grading.inputs"]
# ## 7. The optional inputs
#
# Every row of each optional input ends in the clean data or is set aside with its reason.

# %%
quality = view.inputs_quality(grading.inputs, lang)
if len(quality):
    ctx.say("grading.notebook.inputs")
    display(tables.styled(view.labelled(quality, lang), language=lang))
else:
    ctx.note(grading.inputs["feedback"])
