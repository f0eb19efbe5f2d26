"""Summary rendering, tidy effect tables and provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import effekt as ek
from effekt.results import Provenance, Summary, tidy_effects


def test_tidy_effects_normal_intervals():
    t = tidy_effects({"term": ["a", "b"], "outcome": "y"}, [1.0, -2.0], [0.5, 1.0], level=0.9)
    assert t.columns.tolist() == [
        "outcome",
        "term",
        "estimate",
        "std_error",
        "ci_lower",
        "ci_upper",
        "ci_level",
        "p_value",
    ]
    z = stats.norm.ppf(0.95)  # 1.6449
    np.testing.assert_allclose(t["ci_lower"], [1.0 - z * 0.5, -2.0 - z * 1.0])
    np.testing.assert_allclose(t["p_value"], 2 * stats.norm.sf([2.0, 2.0]))
    ek.validate(t, "effect_table")


def test_tidy_effects_rejects_unknown_keys():
    with pytest.raises(ek.DataError, match=r"key columns \['colour'\]"):
        tidy_effects({"colour": ["x"]}, [1.0], [1.0], level=0.95)


def test_summary_renders_three_ways():
    table = pd.DataFrame({"estimate": [0.123456], "note": ["a_b & c"]})
    s = Summary("Title 50%", (("N", "10"),), (("Estimates", table),), ("a note",))
    text = s.as_text()
    assert text.splitlines()[0] == "Title 50%" and "0.1235" in text and "Note: a note" in text
    assert "<h4>Title 50%</h4>" in s.as_html() and s._repr_html_() == s.as_html()
    latex = s.as_latex()
    assert "\\begin{tabular}" in latex and "a\\_b \\& c" in latex and "0.1235" in latex


def test_provenance_line():
    p = Provenance("X", {"a": 1}, 7, "abc123")
    assert p.effekt_version == ek.__version__
    assert "X · seed 7 · data abc123" in p.describe()
