"""Recovery of planted effects in a simulated Denmark (effekt.simulate.denmark).

The simulated world knows every area's untreated outcome, so the truth for exactly the
estimand each estimator targets is available: the mean true effect over the treated
(area, post-year) cells. Slow: the world is a person-level microsimulation.
"""

from __future__ import annotations

import numpy as np
import pytest

import effekt as ek

pytestmark = pytest.mark.slow
OUTCOME = "outside_work_edu_share"


@pytest.fixture(scope="module")
def world_round():
    world = ek.simulate.denmark(n_areas=250, years=(2005, 2024), seed=5)
    df = world.area_panel("lbf_helhedsplan", outcomes=[OUTCOME], round="2011-2014")
    first = df.groupby("area_id")["first_treated"].first()
    treated = first[(first >= 2011) & (first <= 2014)].index.tolist()
    panel = ek.Panel.from_frame(
        df, unit="area_id", time="year", outcome=OUTCOME, cohort="first_treated", never_treated=0
    )
    truth = world.truth.att(kind="lbf_helhedsplan", outcome=OUTCOME, by="unit_time")
    truth = truth.loc[truth["unit"].astype(str).isin(treated) & (truth["event_time"] >= 0)]
    return panel, treated, truth


def test_helhedsplan_round_staggered_sdid_recovers_truth(world_round):
    panel, treated, truth = world_round
    assert len(treated) >= 5
    res = ek.synth.SyntheticDiD(treated=treated, n_reps=100, seed=1).fit(panel)
    target = float(truth["estimate"].mean())  # the N_g T_post,g weighting = mean over cells
    assert abs(res.att - target) < 3 * res.se
    assert target < 0  # the planted effect lowers the share outside work and education


def test_single_area_synthetic_control_recovers_truth(world_round):
    panel, treated, truth = world_round
    area = treated[0]
    res = ek.synth.SyntheticControl(treated=area, n_starts=2).fit(panel)
    table = res.to_frame()
    att = table.loc[table["term"] == "att", "estimate"].item()
    target = float(truth.loc[truth["unit"].astype(str) == area, "estimate"].mean())
    # one area: the error is of the order of the pre-treatment fit
    assert abs(att - target) < 3 * res.rmspe_pre + 0.01
    assert np.isfinite(res.rmspe_pre)
