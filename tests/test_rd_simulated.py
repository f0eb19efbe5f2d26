"""effekt.rd against the simulator's exact truth (effekt.simulate.listing).

The truth is planted: being in the category on the list of year Y adds exactly
``effect`` to the outcome of year Y + horizon, and nothing else is added
(plant_listing_effect on the world's no-intervention outcomes, or the stand-alone
list_threshold_data). The slow tests check recovery on a simulated Denmark and the
coverage of rdrobust's robust interval over replications (Monte-Carlo standard
errors from effekt.simulate.monte_carlo).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt import lists
from effekt.rd import ListThreshold
from effekt.simulate import monte_carlo
from effekt.simulate.listing import list_threshold_data, plant_listing_effect

pytest.importorskip("rdrobust")


def test_plant_listing_effect_adds_exactly_the_effect_to_listed_areas():
    area_year, _ = list_threshold_data(n_areas=80, effect=0.0, noise_sd=0.0, seed=3)
    panel, truth = plant_listing_effect(
        area_year, outcome="outcome", effect=0.25, category="udsat", horizon=2
    )
    assert truth.effect == 0.25 and truth.horizon == 2
    lists_ = lists.classify(area_year)
    flags = lists_.set_index(["area_id", "year"])["udsat"].fillna(False).astype(bool)
    key = pd.MultiIndex.from_arrays([panel["area_id"], panel["year"] - 2])
    expected = flags.reindex(key, fill_value=False).to_numpy()
    np.testing.assert_array_equal(panel["listed"].to_numpy(), expected)
    diff = panel["outcome"].to_numpy() - area_year["outcome"].to_numpy()
    np.testing.assert_allclose(diff, 0.25 * expected, atol=1e-15)
    assert panel["listed"].any() and not panel["listed"].all()


def test_plant_listing_effect_bad_input():
    area_year, _ = list_threshold_data(n_areas=10, seed=1)
    with pytest.raises(ek.ParameterError, match="'category'"):
        plant_listing_effect(area_year, outcome="outcome", effect=1.0, category="ghettto")
    with pytest.raises(ek.ParameterError, match="'horizon'"):
        plant_listing_effect(area_year, outcome="outcome", effect=1.0, horizon=-1)
    with pytest.raises(ek.ParameterError, match="'effect'"):
        plant_listing_effect(area_year, outcome="outcome", effect=np.nan)
    with pytest.raises(ek.DataError, match="Did you mean 'outcome'"):
        plant_listing_effect(area_year, outcome="outcom", effect=1.0)


@pytest.mark.slow
def test_list_threshold_recovers_listing_effect_on_simulated_denmark():
    world = ek.simulate.denmark(n_areas=300, years=(2014, 2024), seed=5)
    panel, truth = plant_listing_effect(
        world, outcome="outside_work_edu_share", effect=0.05, category="udsat", horizon=1
    )
    with warnings.catch_warnings():
        # few listed areas in a 300-area world: rdrobust's few-clusters warning
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        result = ListThreshold(
            criterion="udsat", outcome="outside_work_edu_share", regime="2021"
        ).fit(world.area_year, outcomes=panel)
    lo, hi = result.ci_robust
    assert lo < truth.effect < hi
    assert result.n_effective["right"] >= 10


@pytest.mark.slow
def test_robust_interval_covers_the_planted_effect():
    def world(rng):
        data, truth = list_threshold_data(
            n_areas=300, years=(2019, 2024), effect=0.04, seed=int(rng.integers(2**31))
        )
        return data, truth.effect

    def estimator(data):
        return ListThreshold(criterion="udsat", outcome="outcome", regime="2021").fit(data)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        mc = monte_carlo((world, estimator), n_reps=80, seed=20, progress=False)
    perf = mc.to_frame().set_index("term")
    robust = perf.loc["robust"]
    assert abs(robust["coverage"] - 0.95) < 4 * max(robust["coverage_mcse"], 0.02)
    assert abs(robust["bias"]) < 4 * robust["bias_mcse"] + 1e-3
