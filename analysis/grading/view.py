"""What the grading notebook shows: the stage's frames cut and labelled for a reader (no computation of figures).

Columns are labelled from the catalog (``grading.column.<name>``, else the kit's ``column.<name>``); grade names are
translated by the report's table styler.
"""

from __future__ import annotations

import pandas as pd

from analysis import text


def labelled(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """``frame`` with its columns (and index name) labelled in ``language`` where the grading catalog names them."""

    def name(col: object) -> object:
        key = f"grading.column.{col}"
        return text.t(key, language) if isinstance(col, str) and text.has(key, language) else col

    out = frame.rename(columns=name)
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = pd.MultiIndex.from_tuples([tuple(name(c) for c in t) for t in out.columns])
    out.index = out.index.set_names([name(n) if n is not None else None for n in out.index.names])
    return out


def customer_view(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` customers with the most spend in the scoring window (params ``grading.shown_customers``): grades,
    the reasons and what would move them up (index ``customer_id``: the notebook shows pseudonyms through
    ``ctx.ids``)."""
    cols = ["segment", "value_class", "abc_class", "lifecycle_stage", "grade", "reason", "move_up", "grade_move_up"]
    top = table.sort_values(["monetary"], ascending=False, kind="stable").head(n)
    return top[[c for c in cols if c in top.columns]]


def shown_note(total: int, shown: int, cap: int, as_of: object, window: str) -> tuple[str, dict[str, object]]:
    """The catalog key and values of the sentence above the per-customer table: how many customers are graded, how
    many are shown (those with the most spend), the cap (params ``grading.shown_customers``) and that
    ``grading.csv`` holds the rest (``ctx.say(*note[:1], **note[1])``)."""
    values = {"n": total, "shown": shown, "cap": cap, "rest": total - shown, "as_of": as_of, "window": window}
    return ("grading.notebook.table_note" if shown < total else "grading.notebook.table_note_all"), values


def segment_moves(table: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, the most common next segment and the median orders it takes (top segment: none)."""
    orders = table["orders_to_next"].astype(float)
    df = pd.DataFrame({"segment": table["segment"], "next": table["next_grade"], "orders": orders})
    g = df.groupby("segment", sort=False)
    nxt = g["next"].agg(lambda s: s[s != ""].mode().iloc[0] if (s != "").any() else "")
    out = pd.DataFrame({"customers": g.size(), "next_grade": nxt, "orders_to_next": g["orders"].median()})
    from analysis.customers.segments import order_like

    return out.loc[order_like(out.index, "segment")]


def overall_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Customers and spend per overall grade (A–D)."""
    g = table.groupby("grade")
    out = pd.DataFrame({"customers": g.size(), "revenue": g["monetary"].sum()}).reindex(list("ABCD"), fill_value=0)
    out["customer_share"] = out["customers"] / max(len(table), 1)
    out.index.name = "grade"
    return out


def weights_text(weights: object, language: str) -> str:
    """``recency 1, frequency 1, …`` in ``language``."""
    parts = [f"{text.t('grading.criterion.' + k, language)} {v:g}" for k, v in weights.model_dump().items()]  # type: ignore[attr-defined]
    return ", ".join(parts)


def inputs_quality(inputs: dict[str, object], language: str) -> pd.DataFrame:
    """Rows in, clean and set aside (with the reasons) per optional input that was read."""
    rows = {}
    for name, res in inputs.items():
        q = getattr(res, "quality", None)
        if not q:
            continue
        reasons = "; ".join(f"{text.t('grading.input_reason.' + k, language)}: {v:,}" for k, v in q["reasons"].items())
        rows[name] = {"rows_in": q["rows_in"], "rows_clean": q["rows_clean"],
                      "rows_quarantined": q["rows_quarantined"], "reasons": reasons}  # fmt: skip
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "input"
    return out


def churn_with_satisfaction(table: pd.DataFrame) -> pd.DataFrame:
    """Churn-warned customers whose warning can cite a bad score or a complaint."""
    if "churn_satisfaction_reason" not in table:
        return table.iloc[:0]
    cited = table[table["churn_satisfaction_reason"].fillna("").ne("")]
    return cited[["segment", "abc_class", "monetary", "churn_satisfaction_reason"]].sort_values(
        "monetary", ascending=False
    )


def review_sentences(result: object, language: str) -> list[str]:
    """The criterion review's plain sentences (:func:`analysis.grading.review.review_sentences`)."""
    from analysis.grading.review import review_sentences as sentences

    return sentences(result, language)  # type: ignore[arg-type]


def respondents(grading: object) -> int:
    """Respondents behind the KANO table (a region's run: its customers who answered)."""
    return int(getattr(grading, "kano_respondents", 0))


def review_view(table: pd.DataFrame, language: str) -> pd.DataFrame:
    """The criterion review's table for reading: criteria named in ``language``, gains with three decimals and a
    sign, and whether the criterion adds (yes / no)."""
    out = pd.DataFrame(index=[text.t(f"grading.criterion.{c}", language) for c in table.index])
    out.index.name = "criterion"
    for col in ("auc_gain", "auc_gain_se", "r2_gain", "r2_gain_se"):
        sign = "+" if not col.endswith("_se") else ""
        out[col] = [f"{v:{sign}.3f}" for v in table[col]]
    out["adds"] = [text.t("grading.answer_yes" if a else "grading.answer_no", language) for a in table["adds"]]
    return out


def kano_view(table: pd.DataFrame, language: str) -> pd.DataFrame:
    """The KANO table with the category named in ``language``."""
    out = table.copy()
    out["category"] = out["category"].map(lambda c: f"{c} {text.t('grading.kano.' + c, language)}")
    return out


def plot_kano(table: pd.DataFrame, language: str) -> object:
    """The Better/Worse chart (:func:`analysis.grading.plots.plot_better_worse`)."""
    from analysis.grading.plots import plot_better_worse

    return plot_better_worse(table, language=language)


def dimension_name(dimension: str, language: str) -> str:
    """An attribute's name in ``language`` (``age_band`` → "age band")."""
    return text.label(f"grading.dimension.{dimension}", language, default=dimension)


def recovery_view(recovery: pd.DataFrame, n: int = 30) -> pd.DataFrame:
    """The service-recovery action's first ``n`` customers (most value at stake first)."""
    return recovery.head(n)


def recovery_play(recovery: pd.DataFrame, playbook: object, language: str) -> dict[str, object]:
    """The service-recovery play's texts in ``language`` (from the playbook), the customers it reaches and, when
    some are held out, the sentence naming its control group (``control``)."""
    from analysis.strategy.actions import play_texts

    texts = play_texts(playbook, language).loc[recovery.attrs.get("action_id", "service_recovery")]  # type: ignore[arg-type]
    held = int(recovery.attrs.get("control", 0))
    control = text.t("grading.notebook.recovery_control", language, n=held) if held else ""
    return {"n": len(recovery), "control": control, **texts.to_dict()}


def plot_grid(grid: pd.DataFrame, language: str) -> object:
    """The value × satisfaction chart (:func:`analysis.grading.plots.plot_value_satisfaction`)."""
    from analysis.grading.plots import plot_value_satisfaction

    return plot_value_satisfaction(grid, language=language)


def attribute_view(frame: pd.DataFrame, min_customers: int, language: str) -> pd.DataFrame:
    """An attribute table (:func:`analysis.grading.attributes.suppress_small`) for reading: the rows of fewer than
    ``min_customers`` customers say so in a ``note`` column (their figures are blank); no note column when none is
    small."""
    out = frame.drop(columns="small")
    if frame["small"].any():
        note = text.t("grading.small_cell", language, n=min_customers)
        out["note"] = [note if s else "" for s in frame["small"]]
    return out


def drill_html(drill: pd.DataFrame, min_customers: int, language: str, currency: str | None = None) -> str:
    """The province → city drill-down as HTML: one collapsed ``<details>`` per province (largest first), its summary
    naming the province, its customers and cities, its body the city table (small cells marked). Every data value
    is escaped (:func:`analysis.report.markdown.escape`; the tables by :func:`analysis.report.tables.styled`)."""
    from analysis.report.markdown import escape

    parts = []
    for province, cities in drill.groupby(level=0, sort=False):
        n = int(cities["customers"].sum())
        summary = text.t("grading.drill_summary", language, province=escape(province), n=n, cities=len(cities))
        html = styled_attribute(cities.droplevel(0), min_customers, language, currency).to_html()
        parts.append(f"<details><summary>{summary}</summary>\n{html}\n</details>")
    return "\n".join(parts)


def styled_attribute(frame: pd.DataFrame, min_customers: int, language: str, currency: str | None = None) -> object:
    """An attribute table as a reader sees it (:func:`attribute_view`, labelled): spend and CLV per customer in the
    currency, retention and segment shares as percentages (:func:`analysis.report.tables.styled`)."""
    from analysis.customers.segments import SEGMENT_ORDER
    from analysis.report.tables import styled

    shown = attribute_view(frame, min_customers, language)
    money = [c for c in ("spend_per_customer", "clv_per_customer") if c in shown.columns]
    pct = [c for c in shown.columns if c == "retention" or c in SEGMENT_ORDER]
    out = labelled(shown, language)
    name = dict(zip(shown.columns, out.columns, strict=True))
    return styled(out, currency, money=tuple(name[c] for c in money), pct=tuple(name[c] for c in pct),
                  language=language)  # fmt: skip
