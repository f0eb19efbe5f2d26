"""effekt.study: the declarative study spec, its validation, the multi-design run and reports."""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.study import Comparison, Study, StudyResult, Treatment, load_study, study_schema

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "src" / "effekt" / "study" / "flagship.toml"
OUTCOME = "youth_charged_per_1000"
KIND = "lbf_helhedsplan"


@pytest.fixture(scope="module")
def world():
    return ek.simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)


def _run(study, data, **kw):
    kw.setdefault("designs", ("did", "synth"))
    kw.setdefault("synth_reps", 30)
    kw.setdefault("event_window", (-3, 3))  # HonestDiD's cost grows with the window
    return study.run(data, **kw)


@pytest.fixture(scope="module")
def plan_study():
    return Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,)), title="Plans")


@pytest.fixture(scope="module")
def result(world, plan_study):
    return _run(plan_study, world)


# ------------------------------------------------------------------------- the spec
def test_spec_round_trips_and_is_immutable():
    study = Study(
        outcomes=("neet_share", OUTCOME),
        treatment=Treatment(kinds=("ungdomscafe",), base=KIND, funder="kommune"),
        comparison=Comparison(group="not_yet_treated", donors="most_similar", n_donors=5),
        population="area",
        period=(2006, 2016),
        title="T",
        question="Q?",
    )
    assert Study.from_dict(study.to_dict()) == study
    # to_dict is plain JSON (TOML-ready)
    assert Study.from_dict(json.loads(json.dumps(study.to_dict()))) == study
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.population = "stayers"  # type: ignore[misc]
    defaults = Study.from_dict({"outcomes": ["neet_share"], "treatment": {"kinds": ["x"]}})
    assert defaults.comparison == Comparison("never_treated", "all", 10)
    assert defaults.population == "area" and defaults.period is None


def test_flagship_file_loads_with_the_intended_question():
    study = load_study(FLAGSHIP)
    assert Study.from_toml(FLAGSHIP) == study
    assert study.outcomes == ("neet_share",)
    assert study.treatment.kinds == ("ungdomscafe", "lommepengeprojekt")
    assert study.treatment.base == "lbf_helhedsplan"
    assert study.comparison.group == "never_treated"
    assert study.period == (2005, 2024)


def test_toml_round_trip(tmp_path):
    study = load_study(FLAGSHIP)
    d = study.to_dict()
    # a minimal TOML writer for this shape (stdlib tomllib only reads)
    lines = []
    for key, value in d.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    for key, value in d.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    path = tmp_path / "again.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_study(path) == study


def test_schema_file_is_valid_json_schema_and_bad_values_name_their_key():
    import jsonschema

    schema = study_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    good = load_study(FLAGSHIP).to_dict()
    jsonschema.validate(good, schema)
    bad = {**good, "population": "everyone"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(
        ek.ParameterError, match=r"population: 'everyone' is not one of \['area', 'stayers'\]"
    ):
        Study.from_dict(bad)


def test_unknown_key_in_toml_names_the_path_and_the_file(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('outcomes = ["neet_share"]\n[treatment]\nkind = ["ungdomscafe"]\n')
    with pytest.raises(ek.ParameterError, match=r"typo\.toml") as err:
        load_study(path)
    text = str(err.value)
    assert "treatment: unknown key(s) 'kind' (did you mean 'kinds'?)" in text
    assert "treatment: 'kinds' is a required property" in text


def test_invalid_toml_says_where(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('outcomes = ["neet_share"]\npopulation = area\n')
    with pytest.raises(ek.ParameterError, match=r"is not valid TOML: .*at line 2, column"):
        load_study(path)


def test_missing_file():
    with pytest.raises(ek.ParameterError, match="does not exist"):
        load_study("no/such/study.toml")


@pytest.mark.parametrize(
    ("d", "message"),
    [
        (
            {"outcomes": "neet_share", "treatment": {"kinds": ["x"]}},
            r"outcomes: 'neet_share' is not of type 'array'",
        ),
        ({"outcomes": [], "treatment": {"kinds": ["x"]}}, r"outcomes: \[\] should be non-empty"),
        (
            {"outcomes": ["y"], "treatment": {"kinds": ["x"]}, "period": [2010]},
            r"period: \[2010\] is too short",
        ),
        (
            {"outcomes": ["y"], "treatment": {"kinds": ["x"], "funder": "state"}},
            r"treatment\.funder: 'state' is not one of \['lbf', 'kommune', 'both'\]",
        ),
        (
            {"outcomes": ["y"], "treatment": {"kinds": ["x"]}, "comparison": {"n_donors": 1}},
            r"comparison\.n_donors: 1 is less than the minimum of 2",
        ),
        (
            {"outcomes": ["y"], "treatment": {"kinds": ["x", "x"]}},
            r"treatment\.kinds: .* has non-unique elements",
        ),
        (
            {"outcomes": ["y"], "treatment": {"kinds": [3]}},
            r"treatment\.kinds\[0\]: 3 is not of type 'string'",
        ),
    ],
)
def test_schema_violations_are_listed_with_their_path(d, message):
    with pytest.raises(ek.ParameterError, match=message):
        Study.from_dict(d)


def test_other_spec_errors():
    with pytest.raises(ek.ParameterError, match=r"first < last. Got \[2015, 2010\]"):
        Study(outcomes=("y",), treatment=Treatment(kinds=("x",)), period=(2015, 2010))
    with pytest.raises(ek.ParameterError, match="the base must be a different kind"):
        Treatment(kinds=("x",), base="x")
    with pytest.raises(ek.ParameterError, match=r"comparison.group: 'everyone' is not one of"):
        Comparison(group="everyone")
    with pytest.raises(ek.ParameterError, match="must be a mapping"):
        Study.from_dict(["outcomes"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------- bad data
def test_unknown_kind_lists_the_kinds_present(world):
    study = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=("ungdomscaf",)))
    with pytest.raises(ek.DataError, match=r"'ungdomscaf'.*Kinds present: .*ungdomscafe"):
        _run(study, world)
    base = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,), base="lbf"))
    with pytest.raises(ek.DataError, match=r"treatment\.base names the intervention kind 'lbf'"):
        _run(base, world)


def test_outcome_absent_lists_the_columns(world):
    study = Study(outcomes=("neet",), treatment=Treatment(kinds=(KIND,)))
    with pytest.raises(ek.DataError, match=r"'neet' is not a column.*Did you mean 'neet_share'"):
        _run(study, world)


def test_period_outside_the_data(world):
    study = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,)), period=(2000, 2016))
    with pytest.raises(ek.DataError, match=r"period \[2000, 2016\] lies outside.*2005-2016"):
        _run(study, world)


def test_funder_absent(world):
    study = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,), funder="kommune"))
    with pytest.raises(ek.DataError, match=r"funder == 'kommune'.*Values present.*'lbf'"):
        _run(study, world)


def test_unknown_design_and_bad_settings(world, plan_study):
    with pytest.raises(ek.ParameterError, match=r"'designs' parameter of Study.run.*'rdd'"):
        plan_study.run(world, designs=("did", "rdd"))
    with pytest.raises(ek.ParameterError, match="'event_window'"):
        plan_study.run(world, designs=("did",), event_window=(0, 5))
    with pytest.raises(ek.ParameterError, match="'synth_reps'"):
        plan_study.run(world, designs=("synth",), synth_reps=1)
    with pytest.raises(ek.ParameterError, match="must be an effekt.simulate.World or a mapping"):
        plan_study.run([1, 2], designs=("did",))


def _tiny_tables(treated_all: bool) -> dict[str, pd.DataFrame]:
    """Three areas in 2010-2015; all of them, or two, start a youth café in 2012."""
    ids = ["a1", "a2", "a3"]
    years = list(range(2010, 2016))
    ay = pd.DataFrame(
        {
            "area_id": np.repeat(ids, len(years)),
            "year": np.tile(years, 3),
            "kommune_code": 101,
            "neet_share": np.linspace(0.1, 0.2, 18),
            "pop_15_24": 200,
        }
    )
    started = ids if treated_all else ids[:2]
    iv = pd.DataFrame(
        {
            "intervention_id": [f"uc-{a}" for a in started],
            "area_id": started,
            "kommune_code": 101,
            "scope": "area",
            "kind": "ungdomscafe",
            "funder": "kommune",
            "start_year": 2012,
        }
    )
    return {"area_year": ay, "interventions": iv}


def test_empty_comparison_group():
    study = Study(outcomes=("neet_share",), treatment=Treatment(kinds=("ungdomscafe",)))
    with pytest.raises(ek.IdentificationError, match="comparison group is empty"):
        study.run(_tiny_tables(treated_all=True), designs=("did",))


def test_tables_are_validated():
    tables = _tiny_tables(treated_all=False)
    tables["area_year"] = tables["area_year"].rename(columns={"neet_share": "neet_shar"})
    study = Study(outcomes=("neet_share",), treatment=Treatment(kinds=("ungdomscafe",)))
    with pytest.raises(ek.SchemaError, match="did you mean 'neet_share'"):
        study.run(tables, designs=("did",))


# ------------------------------------------------------------------------- running
def test_to_frame_follows_the_effect_table(result):
    t = result.to_frame()
    ek.validate(t, "effect_table")
    assert list(t.columns) == [
        "outcome",
        "design",
        "estimator",
        "population",
        "aggregation",
        "term",
        "event_time",
        "estimate",
        "std_error",
        "ci_lower",
        "ci_upper",
        "ci_level",
        "p_value",
        "truth",
        "n_units",
        "n_persons",
    ]
    assert set(t["design"]) == {"did", "synth"}
    overall = t[t["aggregation"] == "overall"]
    assert len(overall) == 2 and overall["event_time"].isna().all()
    # event window (-5, 5) by default
    e = t[t["aggregation"] == "event_time"]["event_time"]
    assert e.min() >= -5 and e.max() <= 5
    assert isinstance(result, StudyResult) and isinstance(result, ek.results.Result)


def test_truth_is_the_simulators_att(world, result):
    # Plans start in 2006 or later, so no area is dropped for lacking a pre-period and the
    # study's estimand is exactly the simulator's ATT for the kind (Truth.att).
    t = result.to_frame()
    overall = world.truth.att(kind=KIND, outcome=OUTCOME, by="overall")["estimate"].iloc[0]
    assert np.allclose(t.loc[t["aggregation"] == "overall", "truth"], overall)
    by_e = world.truth.att(kind=KIND, outcome=OUTCOME, by="event_time").set_index("event_time")
    e = t[(t["design"] == "did") & (t["aggregation"] == "event_time")]
    expected = by_e.loc[e["event_time"].astype(int), "estimate"].to_numpy()
    assert np.allclose(e["truth"].to_numpy(float), expected)
    assert result.n_treated == int((world.truth.cohorts[KIND] > 0).sum())


def test_n_units_and_persons_count_the_treated_areas(world, result):
    t = result.to_frame()
    panel = world.area_panel(KIND, outcomes=[OUTCOME])
    treated = panel[panel["first_treated"] > 0]
    at0 = treated[treated["year"] == treated["first_treated"]]
    row = t[(t["design"] == "did") & (t["event_time"] == 0)].iloc[0]
    assert row["n_units"] == len(at0)
    assert row["n_persons"] == int(
        world.area_year.set_index(["area_id", "year"])
        .loc[list(zip(at0["area_id"], at0["year"], strict=True)), "pop_15_25"]
        .sum()
    )


def test_synth_standard_error_matches_synthetic_did(world, result):
    # The study computes the placebo draws itself (for the rank p-value); its standard
    # error must be SyntheticDiD's own placebo standard error on the same sample.
    panel_frame = world.area_panel(KIND, outcomes=[OUTCOME])
    panel = ek.Panel.from_frame(
        panel_frame,
        unit="area_id",
        time="year",
        outcome=OUTCOME,
        cohort="first_treated",
        never_treated=0,
    )
    sdid = ek.synth.SyntheticDiD(se="placebo", n_reps=30, seed=0).fit(panel)
    row = result.overall().set_index("design").loc["synth"]
    assert row["estimate"] == pytest.approx(sdid.att, rel=1e-10)
    assert row["std_error"] == pytest.approx(sdid.se, rel=1e-10)
    # the rank p-value of the study is the peer fit's: |ATT| among its placebo draws
    draws = sdid.replicates["att"].to_numpy()
    rank_p = (1 + np.sum(np.abs(draws) >= abs(sdid.att))) / (1 + len(draws))
    assert row["p_value"] == pytest.approx(rank_p, rel=1e-12)


def test_diagnostics_frame(result):
    d = result.diagnostics
    assert list(d.columns) == ["design", "outcome", "diagnostic", "value", "flag", "reason"]
    assert set(d["diagnostic"]) == {
        "pretrend_p",
        "honest_breakdown_mbar",
        "pre_rmspe",
        "placebo_p",
        "designs_agree",
        "cooccurring_share",
    }
    assert set(d["flag"]) <= {"pass", "caution", "not available"}
    assert d["reason"].str.len().gt(10).all()
    # the agreement row says what the overall intervals do
    o = result.overall()
    overlap = o["ci_lower"].max() <= o["ci_upper"].min()
    agree = d[d["diagnostic"] == "designs_agree"].iloc[0]
    assert agree["flag"] == ("pass" if overlap else "caution")


@pytest.fixture(scope="module")
def flagship_result():
    world = ek.simulate.denmark(n_areas=60, years=(2005, 2018), seed=2)
    study = Study.from_dict({**load_study(FLAGSHIP).to_dict(), "period": [2005, 2018]})
    return _run(study, world, designs=("synth",))


def test_flagship_like_question_has_the_planted_sign(flagship_result):
    # default_effects() plants small NEET reductions for youth cafés and pocket-money
    # projects (negative sizes), so the true effect after the start is negative and
    # before it exactly 0 (no anticipation in the simulator).
    effects = ek.simulate.default_effects()
    assert effects["ungdomscafe", "neet_share"].size < 0
    assert effects["lommepengeprojekt", "neet_share"].size < 0
    t = flagship_result.to_frame().dropna(subset=["event_time"])
    assert (t.loc[t["event_time"] < 0, "truth"] == 0).all()
    assert (t.loc[t["event_time"] >= 1, "truth"] < 0).all()
    assert flagship_result.n_treated >= 2 and flagship_result.n_comparison >= 2
    # and the estimate: the overall effect has the planted (negative) sign and its interval
    # covers the overall truth. The effect is small against its standard error (about a
    # tenth of a NEET point for 60 areas), so the sign is all this world can show.
    overall = flagship_result.to_frame().query("aggregation == 'overall'").iloc[0]
    assert overall["truth"] < 0
    assert overall["estimate"] < 0
    assert overall["ci_lower"] <= overall["truth"] <= overall["ci_upper"]


def test_donor_rules_restrict_the_comparison(world):
    base = {"outcomes": [OUTCOME], "treatment": {"kinds": [KIND]}}
    n_all = _run(Study.from_dict(base), world, designs=("synth",)).n_comparison
    similar = Study.from_dict({**base, "comparison": {"donors": "most_similar", "n_donors": 2}})
    res = _run(similar, world, designs=("synth",))
    assert res.n_comparison <= min(n_all, 2 * res.n_treated)
    region = Study.from_dict({**base, "comparison": {"donors": "same_region"}})
    areas = world.areas.set_index("area_id")["region_code"]
    cohorts = world.truth.cohorts.set_index("area_id")[KIND]
    regions = set(areas[cohorts[cohorts > 0].index])
    expected = int(sum(areas[cohorts[cohorts == 0].index].isin(regions)))
    assert _run(region, world, designs=("synth",)).n_comparison == expected


def test_callers_tables_are_not_mutated(world, plan_study):
    tables = {
        "area_year": world.area_year,
        "interventions": world.interventions,
        "areas": world.areas,
    }
    before = {k: v.copy() for k, v in tables.items()}
    res = _run(plan_study, tables, designs=("synth",))
    for k in tables:
        pd.testing.assert_frame_equal(tables[k], before[k])
    assert res.to_frame()["truth"].isna().all()  # no world, no truth


def test_same_seed_same_result(world, plan_study, result):
    # the random parts are the synthetic DiD's placebo draws (and HonestDiD's critical values)
    again = _run(plan_study, world, designs=("synth",))
    synth = result.to_frame().query("design == 'synth'").reset_index(drop=True)
    pd.testing.assert_frame_equal(synth, again.to_frame())
    other = _run(plan_study, world, designs=("synth",), seed=1)
    se = {
        s: r.overall().set_index("design").loc["synth", "std_error"]
        for s, r in ((0, again), (1, other))
    }
    assert se[0] != se[1]  # different placebo draws


def test_bayes_skipped_without_pymc(world, plan_study, monkeypatch):
    monkeypatch.setitem(sys.modules, "effekt.bayes", None)  # import now fails
    res = _run(plan_study, world, designs=("synth", "bayes"))
    assert res.designs == ("synth",)
    assert any("Bayesian design was skipped" in n for n in res.notes)
    with pytest.raises(ek.OptionalDependencyError, match=r"pip install 'effekt\[bayes\]'"):
        _run(plan_study, world, designs=("bayes",))


@pytest.mark.slow
def test_bayes_design_runs(world, plan_study):
    pytest.importorskip("pymc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.SamplingWarning)
        res = _run(plan_study, world, designs=("bayes",), bayes_draws=200, bayes_tune=200)
    d = res.diagnostics.set_index("diagnostic")
    assert {"rhat_max", "ess_min", "divergences"} <= set(d.index)
    assert res.overall()["estimator"].tolist() == ["HierarchicalDiD"]


# ------------------------------------------------------------------------- text, plots
def test_narrative_in_both_languages(result):
    en = result.narrative("en")
    assert "average effect on the treated areas (ATT)" in en
    assert "parallel trends" in en and "the area population" in en
    assert "In the simulated world the true effect is" in en
    da = result.narrative("da")
    assert "gennemsnitlige effekt for de behandlede områder (ATT)" in da
    assert "parallelle trends" in da and "I den simulerede verden er den sande effekt" in da
    est = result.overall().set_index("design").loc["did", "estimate"]
    assert f"{est:.3g}".replace(".", ",").replace("-", "−") in da  # Danish decimal comma
    with ek.set_options(language="da"):
        assert result.narrative() == da
    with pytest.raises(ek.ParameterError, match="'language'"):
        result.narrative("de")


def test_narrative_explains_the_base_kind(flagship_result):
    assert "on top of an LBF helhedsplan" in flagship_result.narrative("en")
    assert "oven på en boligsocial helhedsplan (LBF)" in flagship_result.narrative("da")


def test_summary_and_repr(result):
    text = str(result.summary())
    assert "Overall effect by design" in text and "Credibility diagnostics" in text
    assert "<table" in result._repr_html_()


def test_triangulation_plot(result):
    import matplotlib.pyplot as plt

    ax = result.plot()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == [
        "DiD (Callaway & Sant'Anna)",
        "Synthetic DiD",
        "True effect (simulation)",
    ]
    assert ax.get_xticklabels()[-1].get_text() == "Overall"
    plt.close(ax.figure)
    with ek.set_options(language="da"):
        ax = result.plot(kind="triangulation")
        assert ax.get_xlabel() == "Perioder siden indsatsens start"
        plt.close(ax.figure)
    with pytest.raises(ek.ParameterError, match="'kind'"):
        result.plot(kind="forest")


# ------------------------------------------------------------------------- reports
def test_html_report_without_suppression(result, tmp_path):
    path = result.to_report(tmp_path / "r.html", language="en")
    html = path.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 1
    assert "nothing was suppressed" in html
    assert "The answer in brief" in html


def test_disclosure_suppresses_and_says_so(result, tmp_path):
    t = result.to_frame()
    # a threshold between the smallest and the largest person count of the rows
    k = int(np.sort(t["n_persons"].unique())[1])
    expected = (t["n_persons"] < k).to_numpy()
    assert 0 < expected.sum() < len(t)
    with ek.set_options(min_cell_count=k):
        d = result.disclosed_frame()
        assert d["estimate"].isna().to_numpy()[expected].all()
        assert d["ci_upper"].isna().to_numpy()[expected].all()
        assert d["estimate"].notna().to_numpy()[~expected & t["estimate"].notna()].all()
        assert (d.loc[expected, "estimate_suppressed"] == "count").all()
        html = result.to_report(tmp_path / "r.html", language="da").read_text("utf-8")
        md_path = result.to_report(tmp_path / "r.md", format="md", language="en")
    assert f"hviler på færre end {k} personer og er skjult" in html
    assert "×" in html
    md = md_path.read_text(encoding="utf-8")
    assert f"rest on fewer than {k} persons and are suppressed" in md
    assert "](r_files/figure_1.png)" in md
    assert (tmp_path / "r_files" / "figure_1.png").read_bytes()[:4] == b"\x89PNG"


def test_diagnostic_reasons_follow_the_language(result, tmp_path):
    en = result.diagnostics
    with ek.set_options(language="da"):
        da = result.diagnostics
    assert list(da.columns) == list(en.columns)
    pd.testing.assert_frame_equal(da.drop(columns="reason"), en.drop(columns="reason"))
    by = da.set_index("diagnostic")["reason"]
    assert by["pretrend_p"].startswith("samlet Wald-test af")
    assert "placebotildelinger til aldrig behandlede områder" in by["placebo_p"]
    assert by["designs_agree"].startswith("de samlede intervaller for did, synth")
    assert "behandlede områder" in by["cooccurring_share"]
    # the Danish report shows the Danish reasons, not the English ones
    html = result.to_report(tmp_path / "r.html", language="da").read_text("utf-8")
    assert "samlet Wald-test af" in html and "joint Wald test" not in html


def test_study_notes_carry_danish_text(world, tmp_path):
    from effekt.study._text import Note, in_language

    note = Note("Three areas left out.", "Tre områder udeladt.")
    assert note == "Three areas left out." and isinstance(note, str)
    assert in_language(note, "da") == "Tre områder udeladt."
    assert in_language(note.prefixed("[did, y] "), "da") == "[did, y] Tre områder udeladt."
    assert in_language("A warning without Danish text.", "da") == "A warning without Danish text."
    # a donor rule and the few-kommuner fallback give the study notes of its own
    study = Study(
        outcomes=(OUTCOME,),
        treatment=Treatment(kinds=(KIND,)),
        comparison=Comparison(donors="most_similar", n_donors=3),
    )
    res = _run(study, world, designs=("did",))
    own = [n for n in res.notes if isinstance(n, Note)]
    assert any(n.da.startswith("Sammenligningsområderne er begrænset") for n in own)
    md = res.to_report(tmp_path / "r.md", format="md", language="da").read_text("utf-8")
    for n in own:
        assert n.da in md and str(n) not in md


def test_danish_title_and_question(world, plan_study, tmp_path):
    study = Study(
        outcomes=(OUTCOME,),
        treatment=Treatment(kinds=(KIND,)),
        title="Plans and crime",
        question="Do plans lower crime?",
        title_da="Helhedsplaner og kriminalitet",
        question_da="Mindsker helhedsplaner kriminaliteten?",
    )
    assert Study.from_dict(study.to_dict()) == study
    assert study.text("title", "da") == "Helhedsplaner og kriminalitet"
    assert study.text("question", "en") == "Do plans lower crime?"
    assert plan_study.text("title", "da") == "Plans"  # no Danish title: as written
    res = _run(study, world, designs=("did",))
    da = res.to_report(tmp_path / "da.html", language="da").read_text("utf-8")
    en = res.to_report(tmp_path / "en.html", language="en").read_text("utf-8")
    assert "<h1>Helhedsplaner og kriminalitet</h1>" in da and "Lavet med effekt" in da
    # the question under the heading is Danish; the specification table keeps both texts
    assert "</h1>\n<p>Mindsker helhedsplaner kriminaliteten?</p>" in da
    assert "<h1>Plans and crime</h1>" in en and "Made with effekt" in en


def test_danish_numbers_in_reasons():
    from effekt.study._text import dk_number

    assert dk_number(1234567.891, ",.2f") == "1.234.567,89"
    assert dk_number(0.5, ".2f") == "0,50"


def test_latex_and_excel(result, tmp_path):
    tex = result.to_latex(tmp_path / "t.tex").read_text(encoding="utf-8")
    # overall, event time, diagnostics and power (tests/test_study_power.py)
    assert tex.count("\\begin{tabular}") == 4 and "Disclosure control" in tex
    pytest.importorskip("openpyxl")
    path = result.to_excel(tmp_path / "t.xlsx", language="da")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["samlet", "aar_siden_start", "diagnostik", "styrke", "bemaerkninger"]
    assert len(sheets["samlet"]) == 2
    assert "Diskretionering" in sheets["bemaerkninger"].iloc[0, 0]


def test_excel_without_openpyxl(result, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(ek.OptionalDependencyError, match=r"effekt\[io\]"):
        result.to_excel(tmp_path / "t.xlsx")


def test_report_format_is_checked(result, tmp_path):
    with pytest.raises(ek.ParameterError, match="'format'"):
        result.to_report(tmp_path / "r.pdf", format="pdf")


# ------------------------------------------------------------- co-occurring interventions
def _co_tables(kommune_fritidsjob: bool, extra: bool = True) -> dict[str, pd.DataFrame]:
    """Eight areas, 2010-2018, every one but a8 with an LBF plan; hand-placed other efforts.

    Treated (youth effort on top of the plan): a1 (2013), a2 (2014), a3 (2015), a4 (2014).
    Comparison: a5, a6, a7 (plan, no youth effort). a8 has no plan, so it is not in the
    sample. With ``extra`` the other efforts near a treated start (within one year) are:
    a1 fritidsjob 2012 (lag -1), a2 a second plan 2014 (lag 0), a4 kommune-wide
    fremskudt_beskaeftigelse 2015 in kommune 147 (lag +1). Not counted by construction:
    a3's second plan 2014 (the base kind before the start), a3's fritidsjob 2017 (lag +2),
    a3's lommepengeprojekt 2016 (a treatment kind), a7's fritidsjob (a comparison area),
    a8's fritidsjob (not in the sample). ``kommune_fritidsjob`` adds fritidsjob for all of
    kommune 101 from 2014, which reaches a1 (lag +1), a2 (0), a3 (-1) and a7.
    """
    ids = [f"a{i}" for i in range(1, 9)]
    kom = {"a1": 101, "a2": 101, "a3": 101, "a4": 147, "a5": 147, "a6": 147, "a7": 101}
    kom["a8"] = 147
    years = list(range(2010, 2019))
    rng = np.random.default_rng(7)
    ay = pd.DataFrame(
        {
            "area_id": np.repeat(ids, len(years)),
            "year": np.tile(years, len(ids)),
            "kommune_code": np.repeat([kom[a] for a in ids], len(years)),
            "neet_share": rng.uniform(0.1, 0.2, len(ids) * len(years)),
            "pop_15_24": 200,
        }
    )
    spells = [  # (area_id or None, kommune, scope, kind, start)
        *[(a, kom[a], "area", "lbf_helhedsplan", 2011) for a in ("a1", "a2", "a4", "a5", "a7")],
        ("a3", 101, "area", "lbf_helhedsplan", 2010),
        ("a6", 147, "area", "lbf_helhedsplan", 2012),
        ("a1", 101, "area", "ungdomscafe", 2013),
        ("a2", 101, "area", "lommepengeprojekt", 2014),
        ("a3", 101, "area", "ungdomscafe", 2015),
        ("a4", 147, "area", "ungdomscafe", 2014),
        ("a3", 101, "area", "lbf_helhedsplan", 2014),
        ("a3", 101, "area", "fritidsjob", 2017),
        ("a3", 101, "area", "lommepengeprojekt", 2016),
        ("a7", 101, "area", "fritidsjob", 2013),
        ("a8", 147, "area", "ungdomscafe", 2013),
        ("a8", 147, "area", "fritidsjob", 2013),
    ]
    if extra:
        spells += [
            ("a1", 101, "area", "fritidsjob", 2012),
            ("a2", 101, "area", "lbf_helhedsplan", 2014),
            (None, 147, "kommune", "fremskudt_beskaeftigelse", 2015),
        ]
    if kommune_fritidsjob:
        spells.append((None, 101, "kommune", "fritidsjob", 2014))
    iv = pd.DataFrame(spells, columns=["area_id", "kommune_code", "scope", "kind", "start_year"])
    iv.insert(0, "intervention_id", [f"iv{i}" for i in range(len(iv))])
    iv["funder"] = np.where(iv["kind"] == "lbf_helhedsplan", "lbf", "kommune")
    return {"area_year": ay, "interventions": iv}


def _co_sample(tables):
    from effekt.study._data import as_tables, build_sample

    study = Study.from_dict({**load_study(FLAGSHIP).to_dict(), "period": [2010, 2018]})
    return build_sample(study, as_tables(tables))


def test_co_starts_are_counted_as_by_hand():
    from effekt.study._designs import cooccurring_diagnostic

    sample = _co_sample(_co_tables(kommune_fritidsjob=False))
    assert sorted(sample.treated) == ["a1", "a2", "a3", "a4"]
    got = sample.co_starts[["area_id", "kind", "lag"]].values.tolist()
    assert got == [
        ["a1", "fritidsjob", -1],
        ["a2", "lbf_helhedsplan", 0],
        ["a4", "fremskudt_beskaeftigelse", 1],
    ]
    row = cooccurring_diagnostic(sample, "neet_share")
    # a1, a2 and a4 of the 4 treated areas: 3 / 4
    assert row["design"] == "all" and row["diagnostic"] == "cooccurring_share"
    assert row["value"] == pytest.approx(0.75)
    assert row["flag"] == "caution"
    # one area each: ties listed by name
    assert "3 of 4 treated areas (75%)" in row["reason"]
    assert "3 af 4 behandlede områder (75 %)" in row["reason_da"]
    assert "oftest fremskudt_beskaeftigelse (1 område), fritidsjob (1 område)" in row["reason_da"]
    listed = "fremskudt_beskaeftigelse (1 area), fritidsjob (1 area), lbf_helhedsplan (1 area)"
    assert listed in row["reason"]


def test_kommune_wide_efforts_reach_every_treated_area_of_the_kommune():
    from effekt.study._designs import cooccurring_diagnostic

    sample = _co_sample(_co_tables(kommune_fritidsjob=True))
    row = cooccurring_diagnostic(sample, "neet_share")
    # fritidsjob in kommune 101 from 2014 adds a3 (lag -1): all 4 treated areas
    assert row["value"] == pytest.approx(1.0)
    # fritidsjob: a1 (two spells, one area), a2, a3 -> 3 areas; the others 1 each
    assert "most often fritidsjob (3 areas), fremskudt_beskaeftigelse (1 area)" in row["reason"]


def test_a_quarter_of_the_treated_areas_still_passes():
    from effekt.study._designs import cooccurring_diagnostic

    tables = _co_tables(kommune_fritidsjob=False, extra=False)
    first = tables["interventions"].iloc[[0]]
    extra = first.assign(intervention_id="x", kind="fritidsjob", funder="kommune", start_year=2012)
    tables["interventions"] = pd.concat([tables["interventions"], extra], ignore_index=True)
    row = cooccurring_diagnostic(_co_sample(tables), "neet_share")
    assert row["value"] == pytest.approx(0.25) and row["flag"] == "pass"  # 1 of 4
    none = cooccurring_diagnostic(
        _co_sample(_co_tables(kommune_fritidsjob=False, extra=False)), "neet_share"
    )
    assert none["value"] == 0.0 and none["flag"] == "pass"
    assert none["reason"].startswith("0 of 4 treated areas (0%)")


@pytest.fixture(scope="module")
def co_result():
    study = Study.from_dict({**load_study(FLAGSHIP).to_dict(), "period": [2010, 2018]})
    return study.run(_co_tables(kommune_fritidsjob=True), designs=("did",), event_window=(-2, 2))


def test_cooccurring_share_is_a_study_diagnostic_and_the_narrative_says_so(co_result):
    d = co_result.diagnostics.set_index("diagnostic").loc["cooccurring_share"]
    assert d["design"] == "all" and d["value"] == pytest.approx(1.0) and d["flag"] == "caution"
    # a1: two fritidsjob spells; a2: second plan and fritidsjob; a3: fritidsjob; a4: fremskudt
    assert len(co_result.co_starts) == 6
    en = co_result.narrative("en")
    assert "in 4 of the 4 treated areas (100%) another intervention started" in en
    assert "most often leisure-job help in 3 areas" in en
    assert "a new LBF helhedsplan in 1" in en and "estimate the bundle" not in en
    assert "they measure the effect of the bundle of efforts" in en
    da = co_result.narrative("da")
    assert "I 4 af de 4 behandlede områder (100 %) startede en anden indsats" in da
    assert "oftest fritidsjobindsatser i 3 områder" in da
    assert "en ny boligsocial helhedsplan (LBF) i 1" in da
    assert "effekten af hele pakken af indsatser" in da


def test_narrative_is_silent_on_co_starts_when_they_are_rare(result):
    assert result.diagnostics.set_index("diagnostic").loc["cooccurring_share", "flag"] == "pass"
    assert "another intervention started" not in result.narrative("en")
    assert "startede en anden indsats" not in result.narrative("da")


def test_narrative_names_a_study_level_caution_without_a_design(world, plan_study):
    # designs_agree (design "all") in caution: the narrative says so without a design name
    res = _run(plan_study, world, designs=("synth",))
    diag = res._diagnostics.copy()
    diag.loc[diag["diagnostic"] == "pre_rmspe", ["design", "diagnostic", "flag"]] = [
        "all",
        "designs_agree",
        "caution",
    ]
    object.__setattr__(res, "_diagnostics", diag)  # a private copy of this test's result
    assert "Caution: the designs disagree." in res.narrative("en")
    assert "Vær varsom: designene er uenige." in res.narrative("da")
