"""The docstring examples run (numpydoc Examples sections are doctests)."""

from __future__ import annotations

import doctest

import pytest

import analysis.clv.bgnbd
import analysis.clv.summary


@pytest.mark.parametrize("module", [analysis.clv.summary, analysis.clv.bgnbd])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
