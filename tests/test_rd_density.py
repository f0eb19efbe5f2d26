"""The density (manipulation) test of effekt.rd: rddensity's numbers, and its absence.

Reference: rddensity 3.0 (Cattaneo, Jansson & Ma), called directly on the same data.
rddensity is part of the ``rd`` extra; where it is not installed (the development
environment may predate the extra) the comparison tests are skipped and only the
clear-error test runs. Data: the Senate margins shipped with rdrobust (see
tests/test_rd.py). Tolerance: relative 1e-12 (the same function on the same array).
"""

from __future__ import annotations

import builtins
import warnings

import numpy as np
import pytest
from matplotlib.axes import Axes

import effekt as ek
from effekt.rd import SharpRD, density_test

rdrobust = pytest.importorskip("rdrobust")


@pytest.fixture(scope="module")
def margin() -> np.ndarray:
    return rdrobust.rdrobust_RDsenate()["margin"].to_numpy(dtype=float)


def test_density_test_equals_rddensity(margin):
    rddensity = pytest.importorskip("rddensity")
    result = density_test(margin)
    direct = rddensity.rddensity(X=margin)
    assert result.statistic == pytest.approx(float(direct.test["t_jk"]), rel=1e-12)
    assert result.p_value == pytest.approx(float(direct.test["p_jk"]), rel=1e-12)
    assert result.density["left"] == pytest.approx(float(direct.hat["left"]), rel=1e-12)
    assert result.bandwidths["right"] == pytest.approx(float(direct.h["right"]), rel=1e-12)
    assert result.n_effective == {
        "left": int(direct.n["eff_left"]),
        "right": int(direct.n["eff_right"]),
    }
    table = result.to_frame()
    ek.validate(table, "effect_table")
    assert table["term"].tolist() == ["density_left", "density_right", "difference"]
    assert isinstance(result.plot(), Axes)
    assert "T = " in result.summary().as_text()


def test_density_test_from_a_result(margin):
    pytest.importorskip("rddensity")
    frame = rdrobust.rdrobust_RDsenate().dropna(subset=["vote"])
    fitted = SharpRD(running="margin", outcome="vote").fit(frame)
    direct = density_test(frame["margin"].to_numpy(dtype=float))
    assert fitted.density_test().p_value == pytest.approx(direct.p_value, rel=1e-12)


def test_density_test_without_rddensity_says_how_to_install(monkeypatch, margin):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "rddensity" or name.startswith("rddensity."):
            raise ImportError("No module named 'rddensity'", name="rddensity")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ek.OptionalDependencyError, match=r"pip install 'effekt\[rd\]'"):
        density_test(margin)


def test_density_test_bad_input(margin):
    with pytest.raises(ek.ParameterError, match="finite values"):
        density_test(np.r_[margin, np.inf])
    with pytest.raises(ek.IdentificationError, match="only 0 observation"):
        density_test(np.abs(margin) + 1.0)


def test_rddensity_import_leaves_warning_filters_alone():
    pytest.importorskip("rddensity")
    from effekt.rd._deps import rddensity

    before = list(warnings.filters)
    rddensity()
    assert warnings.filters == before
