"""The customers contract: the vectorised check (analysis.contract._customers_pass) gives pandera's frame on good
input and leaves every bad input to pandera, which names what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import contract
from analysis.customers.rfm import score_summary
from analysis.errors import InputError


def _scored(n: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    last = pd.Timestamp("2024-06-30") - pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    summary = pd.DataFrame(
        {
            "first_purchase": (last - pd.Timedelta(days=30)).to_numpy(dtype="datetime64[ns]"),
            "last_purchase": last.to_numpy(dtype="datetime64[ns]"),
            "recency_days": (pd.Timestamp("2024-06-30") - last).days.to_numpy(dtype="int64"),
            "frequency": rng.integers(1, 6, n).astype("int64"),
            "monetary": rng.gamma(2.0, 50.0, n).round(2),
        },
        index=pd.Index([f"c{i:03d}" for i in range(n)], dtype="string", name="customer_id"),
    )
    return score_summary(summary, "2024-06-30").customers


def test_the_contract_types_are_the_schemas_coercions() -> None:
    schema = contract._schemas()["CUSTOMERS"]
    assert {c: schema.columns[c].dtype.type for c in contract.CUSTOMER_TYPES} == contract.CUSTOMER_TYPES
    assert schema.index.dtype.type == contract._TEXT


def test_a_scored_frame_passes_the_vectorised_check_as_pandera_validates_it() -> None:
    scored = _scored()
    fast = contract._customers_pass(scored)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, contract._validate("CUSTOMERS", scored, "x"))
    # the same frame with Python text columns and a "string" index: pandera coerces it to the same frame
    loose = scored.astype({c: object for c in ("rfm_code", "segment", "value_class", "value_class_en")})
    loose.index = loose.index.astype("string")
    assert contract._customers_pass(loose) is None
    pd.testing.assert_frame_equal(contract.validate_customers(loose), fast)


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("recency_days", -1, "greater_than_or_equal_to"),
        ("frequency", 0, "greater_than_or_equal_to"),
        ("r_score", 6, "isin"),
        ("m_score", 0, "isin"),
        ("rfm_code", "12x", "str_matches"),
        ("monetary", np.nan, "not_nullable"),
        ("last_purchase", pd.NaT, "not_nullable"),
        ("segment", None, "not_nullable"),
    ],
)
def test_a_bad_value_is_left_to_pandera_which_names_it(column: str, value: object, check: str) -> None:
    scored = _scored()
    bad = scored.copy()
    bad.iloc[3, bad.columns.get_loc(column)] = value
    assert contract._customers_pass(bad) is None
    with pytest.raises(InputError, match=rf"customers contract violated:[\s\S]*column {column}: {check}"):
        contract.validate_customers(bad, "scored")


def test_a_repeated_customer_id_is_left_to_pandera() -> None:
    scored = _scored()
    ids = scored.index.to_numpy(dtype=object)
    ids[1] = ids[0]
    bad = scored.set_axis(pd.Index(ids, dtype=contract._TEXT, name="customer_id"), axis=0)
    assert contract._customers_pass(bad) is None
    with pytest.raises(InputError, match="customers contract violated"):
        contract.validate_customers(bad)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(min_value=1, max_value=40), seed=st.integers(min_value=0, max_value=10**6))
def test_the_vectorised_check_equals_pandera_on_any_scored_frame(n: int, seed: int) -> None:
    scored = _scored(n, seed)
    fast = contract._customers_pass(scored)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, contract._validate("CUSTOMERS", scored, "x"))
