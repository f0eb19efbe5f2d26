"""CallawaySantAnna on repeated cross-sections and unbalanced panels, against csdid.

R did's ``panel = FALSE`` and ``allow_unbalanced_panel = TRUE`` paths use DRDID's
repeated cross-section estimators (``drdid_rc``, ``std_ipw_did_rc``, ``reg_did_rc``).
The reference values below were produced with csdid 0.4.3 (drdid 1.1.7) in the peer
environment (/work/refvenv; tests/reference/did/requirements.txt) by::

    from csdid.att_gt import ATTgt
    df = pd.read_csv("src/effekt/datasets/data/mpdta.csv")
    rc = df.assign(obs=df.countyreal * 10000 + df.year)           # one id per row
    unb = df[~((df.countyreal % 7 == 0) & (df.year == 2005))
             & ~((df.countyreal % 11 == 3) & (df.year == 2007))]  # 121 rows removed
    ATTgt(yname="lemp", tname="year", idname="obs" | "countyreal", gname="first.treat",
          data=rc | unb, control_group=..., xformla="~ lpop" | None,
          panel=False | True, allow_unbalanced_panel=False | True, cband=False
          ).fit(est_method=..., bstrap=False); .aggte(typec=..., bstrap=False, cband=False)

csdid and drdid (Python) compute the exact influence function of ``drdid_rc``; R
DRDID's code adds the base-period regression term with the opposite sign, so R's
standard errors for ``est_method="dr"`` with covariates on these paths differ slightly
(effekt follows the exact influence function, which test_callaway.py checks against
numerical derivatives). Tolerances: estimates rtol 1e-6, standard errors rtol 1e-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek

REFERENCE = {
    "rc_never_dr_lpop": {
        # (cohort, time, ATT, SE)
        "att_gt": [
            (2004, 2004, -0.014529668304900238, 0.08974036380131561),
            (2004, 2005, -0.0764218817347887, 0.09243755176652192),
            (2004, 2006, -0.1404483368101236, 0.09545195443439856),
            (2004, 2007, -0.10690389811146066, 0.08905090371774489),
            (2006, 2004, -0.00047214608848591575, 0.09964182846351344),
            (2006, 2005, -0.006202524579796403, 0.09429713165694993),
            (2006, 2006, 0.0009605737466986571, 0.09360404728594439),
            (2006, 2007, -0.041293865588180705, 0.09282236323836461),
            (2007, 2004, 0.026727796203701082, 0.07641222268839609),
            (2007, 2005, -0.0045765707635256805, 0.07651066904461534),
            (2007, 2006, -0.028447487197560035, 0.0771197492371926),
            (2007, 2007, -0.028781361039487148, 0.07908945191926402),
        ],
        # overall (ATT, SE) of simple, dynamic, group, calendar
        "overall": {
            "simple": (-0.04175177205861705, 0.046046197754961195),
            "event_time": (-0.08035394974402534, 0.051394920451343945),
            "cohort": (-0.03281959716130274, 0.05715085058755556),
            "calendar": (-0.04417735775655508, 0.04902981192812247),
        },
        # event time: (e, ATT, SE)
        "event_time": [
            (-3, 0.026727796203701082, 0.07641222268839609),
            (-2, -0.0036164714243350927, 0.06066461359829504),
            (-1, -0.023243987170012987, 0.06063022239276602),
            (0, -0.02106035975080039, 0.055948651309571794),
            (1, -0.05300320430371671, 0.06638639057434628),
            (2, -0.1404483368101236, 0.09545195443439858),
            (3, -0.10690389811146066, 0.0890509037177449),
        ],
    },
    "rc_notyet_dr_lpop": {
        # (cohort, time, ATT, SE)
        "att_gt": [
            (2004, 2004, -0.02118305347875924, 0.08637840547259518),
            (2004, 2005, -0.08160318585568094, 0.089053011722665),
            (2004, 2006, -0.13819182260842844, 0.0923524488048029),
            (2004, 2007, -0.10690389811146066, 0.08905090371774489),
            (2006, 2004, -0.007455236111948297, 0.09708977358015876),
            (2006, 2005, -0.004563376993305812, 0.09138249439285745),
            (2006, 2006, 0.008660699867713628, 0.08990667873814434),
            (2006, 2007, -0.041293865588180705, 0.09282236323836461),
            (2007, 2004, 0.02693265290065861, 0.07525341793903562),
            (2007, 2005, -0.004200980469979495, 0.07515119803583462),
            (2007, 2006, -0.028447487197560035, 0.0771197492371926),
            (2007, 2007, -0.028781361039487148, 0.07908945191926402),
        ],
        # overall (ATT, SE) of simple, dynamic, group, calendar
        "overall": {
            "simple": (-0.0413516292992374, 0.047445148814229454),
            "event_time": (-0.07999262095930842, 0.051351771945557054),
            "cohort": (-0.0322640388002817, 0.058382013787439804),
            "calendar": (-0.04566463287659914, 0.04864850649921271),
        },
        # event time: (e, ATT, SE)
        "event_time": [
            (-3, 0.02693265290065861, 0.07525341793903562),
            (-2, -0.004962209859913718, 0.06318413862003351),
            (-1, -0.022860560833991794, 0.06252226911778043),
            (0, -0.02014445743999715, 0.057766142661739565),
            (1, -0.054730305677347456, 0.0678681327918016),
            (2, -0.13819182260842844, 0.0923524488048029),
            (3, -0.10690389811146066, 0.0890509037177449),
        ],
    },
    "rc_never_ipw_lpop": {
        # (cohort, time, ATT, SE)
        "att_gt": [
            (2004, 2004, -0.014548431154142172, 0.47984800299914576),
            (2004, 2005, -0.07644986075866456, 0.4861938892591111),
            (2004, 2006, -0.1404646026554941, 0.48956240483520147),
            (2004, 2007, -0.10693255710571847, 0.4829486658191742),
            (2006, 2004, -0.0008685602909430656, 0.324148457346012),
            (2006, 2005, -0.006397240343387622, 0.326474914022696),
            (2006, 2006, 0.0012080452397338348, 0.3307336523556886),
            (2006, 2007, -0.04130823173872056, 0.331846910807653),
            (2007, 2004, 0.026556103623584626, 0.23008607526105979),
            (2007, 2005, -0.004660904906024221, 0.23127709337528038),
            (2007, 2006, -0.02834030380483643, 0.23167594082277376),
            (2007, 2007, -0.028894766614560474, 0.2313175887295297),
        ],
        # overall (ATT, SE) of simple, dynamic, group, calendar
        "overall": {
            "simple": (-0.04177708219913153, 0.16722623216499322),
            "event_time": (-0.08037688664584368, 0.2565986023185741),
            "cohort": (-0.0328753686641741, 0.17417280833614904),
            "calendar": (-0.04417010104981289, 0.2506237007316787),
        },
        # event time: (e, ATT, SE)
        "event_time": [
            (-3, 0.026556103623584626, 0.23008607526105979),
            (-2, -0.003773806750449682, 0.18257385631999823),
            (-1, -0.02320742346297706, 0.18307207478412715),
            (0, -0.02108827874346027, 0.17144661429991065),
            (1, -0.05302210807870189, 0.2654324672803868),
            (2, -0.1404646026554941, 0.48956240483520147),
            (3, -0.10693255710571847, 0.4829486658191743),
        ],
    },
    "unbal_never_dr_lpop": {
        # (cohort, time, ATT, SE)
        "att_gt": [
            (2004, 2004, -0.014529668304900238, 0.022129157238335383),
            (2004, 2005, -0.08536831802258614, 0.032482626426594295),
            (2004, 2006, -0.1404483368101236, 0.03537815471009605),
            (2004, 2007, -0.1066713499678884, 0.04300473512245719),
            (2006, 2004, -0.00047214608848591575, 0.022223437036658435),
            (2006, 2005, -0.030849409828172962, 0.025692050466053443),
            (2006, 2006, 0.025498665273027868, 0.0267141465745733),
            (2006, 2007, -0.03973781761359367, 0.027948533913216656),
            (2007, 2004, 0.026727796203701082, 0.014065660764396432),
            (2007, 2005, 0.02136628372505569, 0.03027784223533655),
            (2007, 2006, -0.05460699499080675, 0.030911967189859772),
            (2007, 2007, -0.024463631877094875, 0.02308191555791997),
        ],
        # overall (ATT, SE) of simple, dynamic, group, calendar
        "overall": {
            "simple": (-0.03682012141454304, 0.01534469125715634),
            "event_time": (-0.07875694728958837, 0.021628799208577687),
            "cohort": (-0.027353964336325847, 0.017297755606029804),
            "calendar": (-0.041496385166443925, 0.015923076001106467),
        },
        # event time: (e, ATT, SE)
        "event_time": [
            (-3, 0.026727796203701082, 0.01406566076439643),
            (-2, 0.016257879090309114, 0.023641050351498823),
            (-1, -0.04904966512820236, 0.022954243000867184),
            (0, -0.012960117963750357, 0.016651798659400675),
            (1, -0.05494798441659117, 0.019814875129602637),
            (2, -0.1404483368101236, 0.03537815471009605),
            (3, -0.1066713499678884, 0.04300473512245719),
        ],
    },
    "unbal_notyet_reg_nocov": {
        # (cohort, time, ATT, SE)
        "att_gt": [
            (2004, 2004, -0.01937236367592287, 0.022310112883680414),
            (2004, 2005, -0.1404542955458723, 0.05991314654112363),
            (2004, 2006, -0.13627434632867885, 0.03540338496890969),
            (2004, 2007, -0.278067679958129, 0.17029846991628245),
            (2006, 2004, -0.002562550942612596, 0.02253023514533895),
            (2006, 2005, -0.036239584582103745, 0.05589882712811672),
            (2006, 2006, 0.038961214806290556, 0.053121203388727334),
            (2006, 2007, -0.016565728921583478, 0.06459105512610235),
            (2007, 2004, 0.02975936476103147, 0.014533541638651464),
            (2007, 2005, -0.05707583970837237, 0.0712335048555082),
            (2007, 2006, 0.020576358270901096, 0.07143717010854463),
            (2007, 2007, -0.02846447105433203, 0.06332890586240737),
        ],
        # overall (ATT, SE) of simple, dynamic, group, calendar
        "overall": {
            "simple": (-0.049197250800348015, 0.036912199258392626),
            "event_time": (-0.12139894988123925, 0.04938992538678875),
            "cohort": (-0.0322082692040124, 0.046363831820967406),
            "calendar": (-0.057846586919412545, 0.02442412590065593),
        },
        # event time: (e, ATT, SE)
        "event_time": [
            (-3, 0.02975936476103147, 0.014533541638651464),
            (-2, -0.044324193213457805, 0.05477967781930004),
            (-1, 0.007286079240958445, 0.057515184013221116),
            (0, -0.013391855441802781, 0.044450485015896886),
            (1, -0.057861917796346425, 0.04565415355526353),
            (2, -0.13627434632867885, 0.03540338496890969),
            (3, -0.278067679958129, 0.17029846991628245),
        ],
    },
}


CONFIGS = {
    "rc_never_dr_lpop": ("repeated_cross_section", "never_treated", "dr", ["lpop"]),
    "rc_notyet_dr_lpop": ("repeated_cross_section", "not_yet_treated", "dr", ["lpop"]),
    "rc_never_ipw_lpop": ("repeated_cross_section", "never_treated", "ipw", ["lpop"]),
    "unbal_never_dr_lpop": ("unbalanced_panel", "never_treated", "dr", ["lpop"]),
    "unbal_notyet_reg_nocov": ("unbalanced_panel", "not_yet_treated", "reg", []),
}


def _frames() -> dict[str, pd.DataFrame]:
    df = ek.datasets.load_dataset("mpdta")
    unbalanced = df[
        ~((df["countyreal"] % 7 == 0) & (df["year"] == 2005))
        & ~((df["countyreal"] % 11 == 3) & (df["year"] == 2007))
    ]
    return {
        "repeated_cross_section": df.assign(obs=df["countyreal"] * 10000 + df["year"]),
        "unbalanced_panel": unbalanced,
    }


@pytest.fixture(scope="module")
def fits():
    frames = _frames()
    out = {}
    for name, (data, control, method, covs) in CONFIGS.items():
        panel = ek.Panel.from_frame(
            frames[data],
            unit="obs" if data == "repeated_cross_section" else "countyreal",
            time="year",
            outcome="lemp",
            cohort="first.treat",
            never_treated=0,
            covariates=covs,
        )
        est = ek.did.CallawaySantAnna(control_group=control, method=method, data=data)
        out[name] = est.fit(panel)
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_att_gt_and_aggregates_match_csdid(fits, name):
    res, ref = fits[name], REFERENCE[name]
    expected = pd.DataFrame(ref["att_gt"], columns=["cohort", "time", "att", "se"])
    np.testing.assert_array_equal(res.att_gt["cohort"], expected["cohort"])
    np.testing.assert_array_equal(res.att_gt["time"], expected["time"])
    np.testing.assert_allclose(res.att_gt["estimate"], expected["att"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(res.att_gt["std_error"], expected["se"], rtol=1e-4)
    for kind, (att, se) in ref["overall"].items():
        agg = res.aggregate(kind)
        assert agg.overall["estimate"] == pytest.approx(att, rel=1e-6, abs=1e-10)
        assert agg.overall["std_error"] == pytest.approx(se, rel=1e-4)
    es = pd.DataFrame(ref["event_time"], columns=["e", "att", "se"])
    got = res.aggregate("event_time").estimates
    np.testing.assert_array_equal(got["event_time"], es["e"])
    np.testing.assert_allclose(got["estimate"], es["att"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(got["std_error"], es["se"], rtol=1e-4)


def test_units_and_observations(fits):
    rc = fits["rc_never_dr_lpop"]
    assert rc.n_units == 2500 and rc.units.name == "obs"  # every row its own observation
    assert "Observations" in rc.summary().as_text()
    unb = fits["unbal_never_dr_lpop"]
    assert unb.n_units == 500 and unb.n_obs == len(_frames()["unbalanced_panel"]) == 2379
    assert unb.influence_function.shape == (500, 12)


def test_unbalanced_panel_equals_balanced_panel_when_complete():
    # the unbalanced-panel path uses the cross-section estimators, whose point estimates
    # without covariates coincide with the panel ones on a balanced panel
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    a = ek.did.CallawaySantAnna().fit(panel).att_gt
    b = ek.did.CallawaySantAnna(data="unbalanced_panel").fit(panel).att_gt
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-10, atol=1e-12)


def test_repeated_ids_refused_for_cross_sections():
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    with pytest.raises(ek.DataError, match="(?s)share a .countyreal.*unbalanced_panel"):
        ek.did.CallawaySantAnna(data="repeated_cross_section").fit(panel)


def test_cohort_missing_in_a_period_names_cohort_and_period():
    df = _frames()["repeated_cross_section"]
    df = df[~((df["first.treat"] == 0) & (df["year"] == 2005))]  # no comparison rows in 2005
    panel = ek.Panel.from_frame(
        df, unit="obs", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    est = ek.did.CallawaySantAnna(data="repeated_cross_section")
    with pytest.raises(
        ek.IdentificationError, match="cohort 2004 has no valid comparison units in period 2005"
    ):
        est.fit(panel)
    gone = df[~((df["first.treat"] == 2006) & (df["year"] == 2004))]
    panel = ek.Panel.from_frame(
        gone, unit="obs", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    with pytest.raises(
        ek.IdentificationError, match="cohort 2006 has no observations in period 2004"
    ):
        ek.did.CallawaySantAnna(data="repeated_cross_section", control_group="not_yet_treated").fit(
            panel
        )


def test_person_level_panel_with_area_clusters():
    # persons move in and out (unbalanced), clustered by area: the estimand for the
    # area population runs through the same estimator
    rng = np.random.default_rng(4)
    n_areas, years = 60, np.arange(2010, 2016)
    area_g = np.where(np.arange(n_areas) < 20, 2012, np.where(np.arange(n_areas) < 35, 2014, 0))
    persons = 3000
    area = rng.integers(0, n_areas, persons)
    rows = pd.DataFrame(
        {"person": np.repeat(np.arange(persons), len(years)), "year": np.tile(years, persons)}
    )
    rows["area"] = area[rows["person"]]
    rows["g"] = area_g[rows["area"]]
    rows = rows[rng.random(len(rows)) < 0.8]  # 20% of person-years unobserved
    effect = np.where((rows["g"] > 0) & (rows["year"] >= rows["g"]), 1.0, 0.0)
    rows["y"] = 0.2 * rows["area"] % 3 + 0.1 * (rows["year"] - 2010) + effect
    rows["y"] += rng.normal(size=len(rows))
    panel = ek.Panel.from_frame(
        rows, unit="person", time="year", outcome="y", cohort="g", never_treated=0, cluster="area"
    )
    res = ek.did.CallawaySantAnna(
        data="unbalanced_panel", bootstrap=ek.did.MultiplierBootstrap(reps=199, seed=1)
    ).fit(panel)
    assert res.n_clusters == 60
    overall = res.aggregate("simple").overall
    assert abs(overall["estimate"] - 1.0) < 4 * overall["std_error"]
