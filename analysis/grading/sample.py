"""Sample customer inputs with a known structure, made from the sample transaction log (``format: sample``).

All deterministic given the log and ``seed``. Raw text columns, as an export would give them.

``feedback``
    About 35 % of customers answer 1–3 times, each time a few days after one of their orders (CSAT 1–5 mostly, NPS
    0–10 for a quarter of the answers, a few 5-star reviews). **Known structure**: with ``predicts`` (params
    ``grading.sample_satisfaction_predicts``) a customer's score is high when they buy again within 120 days of the
    answer and low when they do not, so satisfaction foretells churn beyond R, F and M; without it scores are drawn
    independently of what the customer does. Low scores come with a complaint (probability 0.6) naming the order's
    product line. A few rows are broken on purpose (an empty id, a score off its scale, an unreadable date).
``interactions``
    Contacts (call, e-mail, visit, chat; inbound or outbound; a rep) for about half of the customers, more for those
    who buy more, plus contacts of 40 ids that never bought (leads).
``attributes``
    Birth year, gender, country, province and city (a province per region of the log), industry, employees and
    revenue band for 90 % of customers (the rest have no row), one duplicated row.
``kano``
    A survey of 300 respondents (80 % of them customers) about five features with known categories: ``Free
    delivery`` must-be, ``Loyalty points`` performance, ``Personal stylist`` attractive, ``Gift wrapping``
    indifferent, ``Pop-up ads`` reverse; 3 % of answer pairs are contradictory (questionable).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.params import RunParams

PROVINCES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "North": (("Beijing", ("Beijing",)), ("Hebei", ("Shijiazhuang", "Tangshan"))),
    "South": (("Guangdong", ("Guangzhou", "Shenzhen", "Dongguan")),),
    "East": (("Shanghai", ("Shanghai",)), ("Zhejiang", ("Hangzhou", "Ningbo"))),
    "West": (("Sichuan", ("Chengdu", "Mianyang")),),
}
INDUSTRIES = ("Retail", "Manufacturing", "Services", "Technology", "Education")
#: Feature -> (functional answer weights, dysfunctional answer weights), answers 1–5.
KANO_FEATURES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "Free delivery": ((0.15, 0.6, 0.15, 0.1, 0.0), (0.0, 0.0, 0.05, 0.15, 0.8)),  # must-be
    "Loyalty points": ((0.8, 0.1, 0.1, 0.0, 0.0), (0.0, 0.0, 0.1, 0.1, 0.8)),  # performance
    "Personal stylist": ((0.85, 0.05, 0.1, 0.0, 0.0), (0.0, 0.05, 0.7, 0.25, 0.0)),  # attractive
    "Gift wrapping": ((0.1, 0.1, 0.7, 0.1, 0.0), (0.0, 0.1, 0.7, 0.2, 0.0)),  # indifferent
    "Pop-up ads": ((0.0, 0.0, 0.1, 0.1, 0.8), (0.7, 0.1, 0.2, 0.0, 0.0)),  # reverse
}
KANO_TRUTH: dict[str, str] = {
    "Free delivery": "M", "Loyalty points": "O", "Personal stylist": "A", "Gift wrapping": "I", "Pop-up ads": "R",
}  # fmt: skip


def _orders(log: pd.DataFrame) -> pd.DataFrame:
    """One row per order: customer, day, main product line."""
    tx = log[log["amount"] > 0] if "amount" in log else log
    tx = tx.sort_values("amount", ascending=False).drop_duplicates(["customer_id", "order_id"])
    cols = ["customer_id", "order_id", "order_date"] + (["product_line"] if "product_line" in tx else [])
    out = tx[cols].copy()
    out["customer_id"] = out["customer_id"].astype(str)
    out["day"] = pd.to_datetime(out["order_date"]).dt.normalize()
    return out.sort_values(["customer_id", "day"]).reset_index(drop=True)


def sample_feedback(log: pd.DataFrame, seed: int = 0, predicts: bool = True) -> pd.DataFrame:
    """Feedback rows (see the module docstring)."""
    rng = np.random.default_rng(seed + 101)
    orders = _orders(log)
    customers = orders["customer_id"].unique()
    answering = customers[rng.random(len(customers)) < 0.35]
    pick = orders[orders["customer_id"].isin(answering)].copy()
    wanted = pd.Series(rng.integers(1, 4, len(answering)), index=answering)
    pick["_key"] = rng.random(len(pick))
    pick["_rank"] = pick.groupby("customer_id")["_key"].rank(method="first")
    pick = pick[pick["_rank"] <= pick["customer_id"].map(wanted).astype(float)].drop(columns=["_key", "_rank"])
    pick = pick.sort_values(["customer_id", "day"]).reset_index(drop=True)
    pick["answer_day"] = pick["day"] + pd.to_timedelta(rng.integers(1, 8, len(pick)), unit="D")
    day = pick["answer_day"]
    # does the customer buy again within 120 days after answering?
    later = orders[["customer_id", "day"]].rename(columns={"day": "next_day"}).sort_values("next_day")
    nearest = pd.merge_asof(
        pick.reset_index().sort_values("answer_day"), later, left_on="answer_day", right_on="next_day",
        by="customer_id", direction="forward", allow_exact_matches=False,
    ).set_index("index").sort_index()  # fmt: skip
    again = ((nearest["next_day"] - nearest["answer_day"]).dt.days <= 120).to_numpy()
    u = rng.random(len(pick))
    happy01 = np.clip(rng.normal(0.8, 0.15, len(pick)), 0, 1)
    unhappy01 = np.clip(rng.normal(0.3, 0.15, len(pick)), 0, 1)
    s01 = np.where(again, happy01, unhappy01) if predicts else np.where(u < 0.55, happy01, unhappy01)
    scale = rng.choice(["csat", "nps", "stars"], size=len(pick), p=[0.65, 0.25, 0.10])
    low = np.where(scale == "nps", 0, 1)
    high = np.where(scale == "nps", 10, 5)
    score = np.round(low + s01 * (high - low)).astype(int)
    complaint = (s01 < 0.4) & (rng.random(len(pick)) < 0.6)
    out = pd.DataFrame(
        {
            "customer_id": pick["customer_id"].to_numpy(),
            "date": day.dt.strftime("%Y-%m-%d").to_numpy(),
            "score": score.astype(str),
            "scale": scale,
            "complaint": np.where(complaint, "yes", "no"),
            "order_id": pick["order_id"].astype(str).to_numpy(),
            "product_line": pick["product_line"].to_numpy() if "product_line" in pick else "",
            "text": np.where(complaint, "late delivery", ""),
        }
    )
    if len(out) > 10:  # a few broken rows for the quarantine
        out.loc[0, "customer_id"] = ""
        out.loc[1, "score"] = "11"
        out.loc[1, "scale"] = "csat"
        out.loc[2, "date"] = "not a date"
    return out


def sample_interactions(log: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Contacts (see the module docstring)."""
    rng = np.random.default_rng(seed + 202)
    orders = _orders(log)
    per = orders.groupby("customer_id").agg(n=("day", "size"), first=("day", "min"), last=("day", "max"))
    talk = per[rng.random(len(per)) < 0.5]
    k = rng.poisson(0.5 + 0.5 * np.minimum(talk["n"].to_numpy(), 10))
    cid = np.repeat(talk.index.to_numpy(), k)
    first = np.repeat(talk["first"].to_numpy(), k)
    last_day = orders["day"].max()
    span = np.maximum((last_day - pd.to_datetime(first)).days.to_numpy(), 1)
    day = pd.to_datetime(first) + pd.to_timedelta((rng.random(len(cid)) * span).astype(int), unit="D")
    leads = np.repeat([f"L{900000 + i}" for i in range(40)], 2)
    lead_day = last_day - pd.to_timedelta(rng.integers(0, 200, len(leads)), unit="D")
    ids = np.concatenate([cid, leads])
    days = np.concatenate([day.to_numpy(), lead_day.to_numpy()])
    n = len(ids)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.to_datetime(days).strftime("%Y-%m-%d"),
            "type": rng.choice(["call", "e-mail", "visit", "chat"], size=n, p=[0.35, 0.35, 0.1, 0.2]),
            "direction": rng.choice(["inbound", "outbound"], size=n),
            "sales_rep": rng.choice(["rep1", "rep2", "rep3"], size=n),
            "outcome": rng.choice(["resolved", "follow-up", "order"], size=n, p=[0.6, 0.3, 0.1]),
        }
    )


def sample_attributes(log: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Customer attributes (see the module docstring)."""
    rng = np.random.default_rng(seed + 303)
    first = log.assign(customer_id=log["customer_id"].astype(str)).drop_duplicates("customer_id")
    first = first[rng.random(len(first)) < 0.9]
    n = len(first)
    region = first["region"].astype(str).to_numpy() if "region" in first else np.array(["North"] * n)
    prov, city = [], []
    for r in region:
        options = PROVINCES.get(r, PROVINCES["North"])
        p, cities = options[int(rng.integers(len(options)))]
        prov.append(p)
        city.append(cities[int(rng.integers(len(cities)))])
    out = pd.DataFrame(
        {
            "customer_id": first["customer_id"].to_numpy(),
            "birth_year": rng.integers(1950, 2005, n).astype(str),
            "gender": rng.choice(["F", "M"], size=n),
            "country": "CN",
            "province": prov,
            "city": city,
            "industry": rng.choice(INDUSTRIES, size=n),
            "employees": rng.integers(1, 5000, n).astype(str),
            "revenue_band": rng.choice(["<1M", "1M-10M", "10M+"], size=n, p=[0.6, 0.3, 0.1]),
        }
    )
    if n > 5:
        out = pd.concat([out, out.iloc[[3]]], ignore_index=True)  # a duplicated customer
    return out


def sample_kano(log: pd.DataFrame, seed: int = 0, respondents: int = 300) -> pd.DataFrame:
    """A KANO survey with known categories (:data:`KANO_TRUTH`; see the module docstring)."""
    rng = np.random.default_rng(seed + 404)
    ids = log["customer_id"].astype(str).drop_duplicates().to_numpy()
    is_customer = rng.random(respondents) < 0.8
    cust = np.where(is_customer, rng.choice(ids, size=respondents), "")
    rows = []
    for i in range(respondents):
        for feature, (fw, dw) in KANO_FEATURES.items():
            f = int(rng.choice(5, p=fw)) + 1
            d = int(rng.choice(5, p=dw)) + 1
            if rng.random() < 0.03:
                f, d = (1, 1) if rng.random() < 0.5 else (5, 5)  # contradictory: questionable
            rows.append((f"R{i + 1:04d}", cust[i], feature, str(f), str(d)))
    return pd.DataFrame(rows, columns=["respondent_id", "customer_id", "feature", "functional", "dysfunctional"])


def sample_input(name: str, params: RunParams, clean_log: pd.DataFrame | None) -> pd.DataFrame:
    """The bundled sample of input ``name``, made from ``clean_log`` (the run's whole cleaned log)."""
    from analysis.errors import InputError

    if clean_log is None:
        raise InputError(f"grading.{name}: format 'sample' needs the cleaned transaction log to make the sample from")
    seed = params.source.sample.seed + params.grading.seed
    if name == "feedback":
        return sample_feedback(clean_log, seed, params.grading.sample_satisfaction_predicts)
    if name == "interactions":
        return sample_interactions(clean_log, seed)
    if name == "attributes":
        return sample_attributes(clean_log, seed)
    return sample_kano(clean_log, seed)
