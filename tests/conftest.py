"""Shared test setup: quiet BLAS, headless plots, small shared fixtures."""

from __future__ import annotations

import os

# Before numpy/matplotlib are imported by any test module.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import effekt as ek  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _restore_options():
    """A test that changes effekt.options for the session must not leak into the next."""
    saved = dict(ek.options)
    yield
    ek.set_options(**saved)


@pytest.fixture
def mpdta() -> pd.DataFrame:
    return ek.datasets.load_dataset("mpdta")


@pytest.fixture
def mpdta_panel(mpdta: pd.DataFrame) -> ek.Panel:
    return ek.Panel.from_frame(
        mpdta, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """Three units, four periods: unit 'a' treated from 2, 'b' from 3, 'c' never."""
    return pd.DataFrame(
        {
            "unit": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
            "time": [1, 2, 3, 4] * 3,
            "y": [1.0, 2.0, 3.0, 4.0, 2.0, 2.5, 3.5, 5.0, 0.5, 1.0, 1.5, 2.0],
            "d": [0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0],
            "g": [2, 2, 2, 2, 3, 3, 3, 3, 0, 0, 0, 0],
            "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2],
            "w": [1.0] * 12,
            "k": [101] * 8 + [751] * 4,
        }
    )
