"""A small invoice export shaped like the UK online retailer's (UCI "Online Retail"), for the acceptance tests.

One row per invoice line: ``InvoiceNo``, ``StockCode``, ``Quantity``, ``InvoiceDate`` (``M/D/YYYY H:MM``, as the
export writes it), ``UnitPrice``, ``CustomerID`` (``17850.0``: read through a spreadsheet), ``Country``. Every
real-world shape of issue 10 is in it, deterministic (no random numbers), so each test can compute what a manager
should read by hand from the rows, independently of the kit:

- **short history**: the first invoice is on :data:`FIRST_DAY` (March 2011), less than a year before the reported
  months (October – December 2011);
- **a partial last month**: the last invoice is on :data:`LAST_DAY` (9 December 2011);
- **a month with no sales**: the shop is closed in August 2011 (:data:`CLOSED_MONTH`), and the three-customer
  region buys nothing in November;
- **missing ids written as text**: lines of walk-in buyers carry ``(blank)``, ``NULL``, ``N/A`` or an empty cell
  (:data:`NULL_TOKENS`); ``(blank)`` alone would be the biggest "customer";
- **cancellations**: ``C…`` invoices with negative quantities, among them a £168k order of :data:`CANCELLED_BUYER`
  cancelled the same day (he would otherwise be the first churn warning and top customer);
- **outliers**: that order and a genuine £60k wholesale order of :data:`WHOLESALE_BUYER` in November;
- **a region with three customers**: :data:`TINY_REGION`;
- **a valuable customer about to leave**: :data:`LAPSING_BUYER` bought every two weeks until mid-September.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

FIRST_DAY = dt.date(2011, 3, 1)
LAST_DAY = dt.date(2011, 12, 9)
CLOSED_MONTH = "2011-08"
#: The reported months (the batch of the acceptance suite).
REPORTED = ("2011-10", "2011-11", "2011-12")
#: Regions and their customer counts.
REGIONS: dict[str, int] = {"United Kingdom": 60, "Germany": 16, "France": 10, "Iceland": 3}
TINY_REGION = "Iceland"
#: How the export writes a missing customer id, and on how many invoices each occurs.
NULL_TOKENS: dict[str, int] = {"(blank)": 40, "NULL": 3, "N/A": 2, "": 2}
CANCELLED_BUYER = "16446"
LAPSING_BUYER = "14911"
WHOLESALE_BUYER = "12346"
#: The params' column mapping (canonical → export), as in ``params/online_retail.yaml``.
MAPPING: dict[str, str] = {
    "order_id": "InvoiceNo",
    "order_date": "InvoiceDate",
    "customer_id": "CustomerID",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
    "region": "Country",
}
DATE_FORMAT = "%m/%d/%Y %H:%M"
COLUMNS = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
_PRICES = (0.85, 1.25, 1.65, 2.10, 2.95, 3.75, 4.95, 7.95)


def _customers() -> list[tuple[str, str]]:
    """(customer id, country) of every customer with an id, UK first."""
    out, next_id = [], 12347
    for country, n in REGIONS.items():
        for _ in range(n):
            out.append((str(next_id), country))
            next_id += 1
    return out


def _open_days() -> list[dt.date]:
    """The days the shop sold on: every day from :data:`FIRST_DAY` to :data:`LAST_DAY` except August."""
    days = pd.date_range(FIRST_DAY, LAST_DAY, freq="D")
    return [d.date() for d in days if d.strftime("%Y-%m") != CLOSED_MONTH]


def _stamp(day: dt.date, minute: int) -> str:
    """``M/D/YYYY H:MM`` as the export writes it (no leading zeros in month, day and hour)."""
    h, m = divmod(8 * 60 + minute % 600, 60)
    return f"{day.month}/{day.day}/{day.year} {h}:{m:02d}"


def retail_log() -> pd.DataFrame:
    """The export, one row per invoice line, every cell as text (as a reader gets it from the CSV)."""
    rows: list[list[str]] = []
    invoice = 536365
    days = _open_days()

    def add(customer: str, country: str, day: dt.date, lines: list[tuple[str, int, float]], k: int) -> str:
        nonlocal invoice
        number = str(invoice)
        invoice += 1
        for code, qty, price in lines:
            rows.append([number, code, str(qty), _stamp(day, 37 * k), f"{price:.2f}", customer, country])
        return number

    customers = _customers()
    tiny = [cid for cid, country in customers if country == TINY_REGION]
    for i, (cid, country) in enumerate(customers):
        # the three customers of the tiny region buy in October and December only
        if country == TINY_REGION:
            j = tiny.index(cid)
            own = [dt.date(2011, 6, 10 + j), dt.date(2011, 10, 4 + 7 * j), dt.date(2011, 12, 2 + 2 * j)]
        else:
            gap = 9 + (i * 7) % 40  # days between visits: 9 … 48
            first = (i * 13) % 150  # first visit, days after the first open day
            own = days[first::gap]
            if i % 5 == 4:  # one in five stops buying after June
                own = [d for d in own if d < dt.date(2011, 7, 1)] or own[:1]
        for k, day in enumerate(own):
            n_lines = 1 + (i + k) % 4
            lines = [
                (f"2{(i * 31 + j * 7) % 900 + 100:03d}", 1 + (i + j + k) % 12, _PRICES[(i + j) % len(_PRICES)])
                for j in range(n_lines)
            ]
            add(f"{cid}.0", country, day, lines, i + k)
            if (i + k) % 17 == 3:  # now and then a customer returns part of an invoice
                code, qty, price = lines[0]
                rows.append([f"C{invoice}", code, str(-qty), _stamp(day, 37 * (i + k) + 30), f"{price:.2f}",
                             f"{cid}.0", country])  # fmt: skip
                invoice += 1

    # walk-in buyers: no customer id, written as the export writes it
    k = 0
    for token, n in NULL_TOKENS.items():
        for j in range(n):
            day = days[(k * 29) % len(days)]
            add(token, "United Kingdom", day, [("85123A", 24 + 6 * (j % 5), 2.55), ("71053", 12, 3.39)], k)
            k += 1

    # a £168,469.60 order cancelled the same day (UCI's 80,995 paper birds), and a genuine wholesale order
    add(f"{CANCELLED_BUYER}.0", "United Kingdom", dt.date(2011, 5, 18), [("22423", 2, 12.75)], 1)
    add(f"{CANCELLED_BUYER}.0", "United Kingdom", dt.date(2011, 12, 9), [("23843", 80995, 2.08)], 2)
    rows.append([f"C{invoice}", "23843", "-80995", _stamp(dt.date(2011, 12, 9), 100), "2.08",
                 f"{CANCELLED_BUYER}.0", "United Kingdom"])  # fmt: skip
    invoice += 1
    # a big regular: every 14 days from 7 March to 12 September (the shop is closed in August), then silence
    for k, day in enumerate(pd.date_range("2011-03-07", "2011-09-12", freq="14D")):
        if day.strftime("%Y-%m") != CLOSED_MONTH:
            add(f"{LAPSING_BUYER}.0", "United Kingdom", day.date(), [("22197", 120, 2.10), ("21212", 48, 3.75)], k)
    add(f"{WHOLESALE_BUYER}.0", "United Kingdom", dt.date(2011, 4, 12), [("22138", 24, 4.95)], 3)
    add(f"{WHOLESALE_BUYER}.0", "United Kingdom", dt.date(2011, 11, 15), [("23166", 12000, 5.00)], 4)

    frame = pd.DataFrame(rows, columns=COLUMNS)
    order = pd.to_datetime(frame["InvoiceDate"], format=DATE_FORMAT)
    frame = frame.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    # invoice numbers in date order, as the shop's till gives them (a cancellation keeps its C prefix)
    number = frame["InvoiceNo"].str.removeprefix("C")
    renumbered = {old: str(536365 + k) for k, old in enumerate(dict.fromkeys(number))}
    prefix = frame["InvoiceNo"].str[0].where(frame["InvoiceNo"].str.startswith("C"), "")
    return frame.assign(InvoiceNo=prefix + number.map(renumbered))


def write_retail_log(path: Path) -> Path:
    """Write :func:`retail_log` as the CSV export (UTF-8, a header row)."""
    retail_log().to_csv(path, index=False)
    return path


# -------------------------------------------------------------------------------- what a manager should read


def _is_missing(ids: pd.Series) -> pd.Series:
    return ids.str.strip().str.casefold().isin({t.casefold() for t in NULL_TOKENS})


def hand_lines(raw: pd.DataFrame) -> pd.DataFrame:
    """The export's lines with ``customer``, ``day``, ``value`` (quantity × price) and ``cancelled``, computed with
    plain pandas (no kit code): the reference the acceptance tests compare the kit's numbers with."""
    value = raw["Quantity"].astype(int) * raw["UnitPrice"].astype(float)
    ids = raw["CustomerID"].fillna("")
    return pd.DataFrame(
        {
            "invoice": raw["InvoiceNo"],
            "customer": ids.where(_is_missing(ids), ids.str.removesuffix(".0")).where(~_is_missing(ids), None),
            "region": raw["Country"],
            "day": pd.to_datetime(raw["InvoiceDate"], format=DATE_FORMAT).dt.normalize(),
            "value": value.round(2),
            "cancelled": raw["InvoiceNo"].str.startswith("C"),
        }
    )


def hand_gross(raw: pd.DataFrame, first: str, last: str, region: str | None = None) -> float:
    """Purchases as placed by known customers from ``first`` to ``last`` (inclusive), before returns: the sum of
    quantity × price over lines that are not cancellations and have a customer id."""
    lines = hand_lines(raw)
    keep = ~lines["cancelled"] & lines["customer"].notna() & lines["day"].between(first, last)
    if region is not None:
        keep &= lines["region"] == region
    return round(float(lines.loc[keep, "value"].sum()), 2)


def hand_revenue(raw: pd.DataFrame, first: str, last: str, region: str | None = None) -> float:
    """Net revenue of known customers from ``first`` to ``last`` (inclusive): purchases minus cancellations. Every
    ``C…`` line of this export undoes a line its customer bought minutes earlier the same day, so the cancellation
    lands in the window of the order it undoes: the window's net revenue is its purchase lines minus its
    cancellation lines."""
    lines = hand_lines(raw)
    keep = lines["customer"].notna() & lines["day"].between(first, last)
    if region is not None:
        keep &= lines["region"] == region
    signed = lines["value"].abs().where(~lines["cancelled"], -lines["value"].abs())
    return round(float(signed[keep].sum()), 2)


def hand_customers(raw: pd.DataFrame, last: str, region: str | None = None) -> set[str]:
    """Customers with a purchase up to ``last`` that they did not cancel (in ``region`` when given): a customer
    whose every purchase was cancelled never bought. In this export a cancellation undoes one whole line, so a
    customer kept something exactly when their purchases minus cancellations are positive."""
    lines = hand_lines(raw)
    keep = lines["customer"].notna() & (lines["day"] <= last)
    if region is not None:
        keep &= lines["region"] == region
    signed = lines["value"].abs().where(~lines["cancelled"], -lines["value"].abs())
    net = signed[keep].groupby(lines.loc[keep, "customer"]).sum()
    return set(net[net > 0.005].index)


def hand_kept_lines(raw: pd.DataFrame) -> pd.DataFrame:
    """:func:`hand_lines`'s purchases of known customers that no cancellation undid: each ``C…`` line is paired with
    the purchase line of the same customer, stock code, quantity and day (one each in this export)."""
    lines = hand_lines(raw).assign(code=raw["StockCode"], qty=raw["Quantity"].astype(int).abs())
    known = lines[lines["customer"].notna()]
    bought, undone = known[~known["cancelled"]], known[known["cancelled"]]
    pairs = bought.reset_index().merge(undone, on=["customer", "code", "qty", "day"], suffixes=("", "_c"))
    assert len(pairs) == len(undone) and pairs["index"].is_unique  # every cancellation undoes exactly one line
    return bought.drop(index=pairs["index"])


def hand_net_spend(raw: pd.DataFrame, last: str) -> pd.Series:
    """Each known customer's purchases minus cancellations up to ``last`` (currency), highest first."""
    lines = hand_lines(raw)
    keep = lines["customer"].notna() & (lines["day"] <= last)
    signed = lines.loc[keep, "value"].abs().where(~lines.loc[keep, "cancelled"], -lines.loc[keep, "value"].abs())
    return signed.groupby(lines.loc[keep, "customer"]).sum().round(2).sort_values(ascending=False)
