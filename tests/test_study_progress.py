"""Study.run's progress bar over its (outcome, design) steps follows effekt.options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.study import Study, Treatment


def _tables() -> dict[str, pd.DataFrame]:
    """Four areas in 2010-2015; a1 and a2 start a youth café in 2012, a3 and a4 never."""
    ids = ["a1", "a2", "a3", "a4"]
    years = list(range(2010, 2016))
    ay = pd.DataFrame(
        {
            "area_id": np.repeat(ids, len(years)),
            "year": np.tile(years, len(ids)),
            "kommune_code": 101,
            "neet_share": np.random.default_rng(3).uniform(0.1, 0.2, len(ids) * len(years)),
            "pop_15_24": 200,
        }
    )
    iv = pd.DataFrame(
        {
            "intervention_id": ["uc-a1", "uc-a2"],
            "area_id": ["a1", "a2"],
            "kommune_code": 101,
            "scope": "area",
            "kind": "ungdomscafe",
            "funder": "kommune",
            "start_year": 2012,
        }
    )
    return {"area_year": ay, "interventions": iv}


STUDY = Study(outcomes=("neet_share",), treatment=Treatment(kinds=("ungdomscafe",)))


@pytest.mark.parametrize("show", [True, False])
def test_progress_shows_the_step_only_when_switched_on(capsys, show):
    with ek.set_options(progress=show):
        STUDY.run(_tables(), designs=("did",), event_window=(-2, 2))
    err = capsys.readouterr().err
    # tqdm writes to stderr; the step's name is the bar's description
    if show:
        assert "neet_share: did" in err and "1/1" in err
    else:
        assert err == ""
