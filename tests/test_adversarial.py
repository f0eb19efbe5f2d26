"""Adversarial inputs at every public boundary: each gets an EffektError that names it.

One test per class of bad input (issue 13, "Bad input"), parametrized over the entry
points it reaches: ``Panel.from_frame``, ``effekt.validate``, ``effekt.read_table``,
the ``did`` estimators' construction and ``fit``, ``effekt.study`` and
``effekt.parallel``. Each case checks the error class and that the message names the
argument (or column) and shows the offending value, so a regression to a raw
numpy/pandas traceback, or to a silent accept, fails here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt import did, errors, parallel
from effekt.errors import UnknownParameterError
from effekt.study import Comparison, Study, Treatment, load_study

# ---------------------------------------------------------------------------- fixtures


def _frame() -> pd.DataFrame:
    """12 units x 6 periods; cohorts 3 and 5 and never treated (coded 0)."""
    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(1, 13), 6)
    time = np.tile(np.arange(1, 7), 12)
    g = np.repeat([3] * 4 + [5] * 4 + [0] * 4, 6)
    treated = (g > 0) & (time >= g)
    return pd.DataFrame(
        {
            "unit": units,
            "time": time,
            "y": rng.normal(size=len(units)) + treated,
            "g": g,
            "x": rng.normal(size=len(units)),
            "w": rng.uniform(1, 2, size=len(units)),
            "c": (units - 1) // 3,
        }
    )


ROLES = {"unit": "unit", "time": "time", "outcome": "y", "cohort": "g", "never_treated": 0}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def panel(frame) -> ek.Panel:
    return ek.Panel.from_frame(frame, **ROLES, covariates=["x"], cluster="c")


AREAS = pd.DataFrame(
    {
        "area_id": ["01", "02"],
        "name": ["Vollsmose", "Gellerupparken"],
        "kommune_code": [461, 751],
        "region_code": [1083, 1082],
    }
)

AREA_YEAR = pd.DataFrame(
    {
        "area_id": ["a1", "a1", "a2"],
        "year": [2019, 2020, 2019],
        "kommune_code": [461, 461, 751],
        "residents": [100, 110, 90],
        "neet_share": [0.1, 0.2, 0.15],
        "pop_15_24": [20, 22, 18],
    }
)

STUDY = Study(outcomes=("neet_share",), treatment=Treatment(kinds=("ungdomscafe",)))
ESTIMATORS = [did.TwoWayFE, did.SunAbraham, did.Imputation, did.CallawaySantAnna]


# ------------------------------------------------------------------- 1. non-finite values
@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize(
    ("column", "role", "extra"),
    [
        ("y", "outcome", {}),
        ("w", "weights", {"weights": "w"}),
        ("x", "covariates", {"covariates": ["x"]}),
    ],
)
def test_panel_refuses_infinite_values(frame, value, column, role, extra):
    df = frame.copy()
    df.loc[7, column] = value
    with pytest.raises(ek.DataError, match=rf"'{role}' column '{column}'.*infinite.*rows \[7\]"):
        ek.Panel.from_frame(df, **ROLES, **extra)
    assert np.isfinite(frame[column]).all()  # the caller's frame is untouched


def test_panel_refuses_infinite_time(frame):
    df = frame.assign(time=frame["time"].astype(float))
    df.loc[3, "time"] = np.inf
    with pytest.raises(ek.DataError, match=r"'time' column 'time' holds 1 infinite value"):
        ek.Panel.from_frame(df, **ROLES)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("column", ["neet_share", "residents"])
def test_validate_refuses_infinite_values(value, column):
    df = AREA_YEAR.astype({column: float})
    df.loc[1, column] = value
    with pytest.raises(ek.SchemaError, match=rf"column '{column}' must "):
        ek.validate(df, "area_year")


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity"])
def test_read_table_refuses_infinite_values(tmp_path, text):
    path = tmp_path / "ay.csv"
    AREA_YEAR.astype({"neet_share": object}).assign(neet_share=["0.1", text, "0.2"]).to_csv(
        path, index=False
    )
    with pytest.raises(ek.SchemaError, match=r"'neet_share' must be finite.*lines \[3\]"):
        ek.read_table(path, "area_year")


# ---------------------------------------------------- 2. silent coercions that change answers
@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("time", 2.5, r"'time' column 'time' holds fractional values"),
        ("g", 3.5, r"'cohort' column 'g' holds fractional periods \[3.5\]"),
    ],
)
def test_panel_refuses_fractional_periods(frame, column, value, message):
    df = frame.astype({column: float})
    df.loc[df["unit"] == 1, column] = value
    with pytest.raises(ek.DataError, match=message):
        ek.Panel.from_frame(df, **ROLES)


def test_validate_refuses_fractional_start_year():
    iv = pd.DataFrame(
        {
            "intervention_id": ["i1"],
            "kommune_code": [461],
            "scope": ["kommune"],
            "kind": ["ungdomscafe"],
            "funder": ["lbf"],
            "start_year": [2011.5],
        }
    )
    with pytest.raises(ek.SchemaError, match=r"'start_year' must hold integer values.*2011.5"):
        ek.validate(iv, "interventions")


def test_read_table_refuses_fractional_years(tmp_path):
    path = tmp_path / "ay.csv"
    AREA_YEAR.assign(year=["2019", "2019.5", "2020"]).to_csv(path, index=False)
    with pytest.raises(ek.SchemaError, match=r"'year' .* cannot be read as integer.*lines \[3\]"):
        ek.read_table(path, "area_year")


@pytest.mark.parametrize("role", ["unit", "cluster"])
def test_panel_refuses_mixed_id_types(frame, role):
    df = frame.copy()
    col = "unit" if role == "unit" else "c"
    df[col] = df[col].astype(object)
    df.loc[df[col] == 1, col] = "1"
    extra = {"cluster": "c"} if role == "cluster" else {}
    with pytest.raises(ek.DataError, match=rf"'{role}' column '{col}' mixes numbers and text"):
        ek.Panel.from_frame(df, **ROLES, **extra)


def test_panel_mixed_ids_name_the_clash(frame):
    df = frame.copy()
    df["unit"] = df["unit"].astype(object)
    df.loc[0:2, "unit"] = "1"  # unit 1 written both as 1 and as "1"
    with pytest.raises(ek.DataError, match=r"\['1', 1\].*the same id written both ways"):
        ek.Panel.from_frame(df, **ROLES)


def test_validate_refuses_mixed_id_types():
    df = AREA_YEAR.astype({"area_id": object})
    df.loc[0, "area_id"] = 8001
    with pytest.raises(ek.SchemaError, match=r"'area_id' must hold string values.*8001"):
        ek.validate(df, "area_year")


@pytest.mark.parametrize("code", [9999, -1, 2099.0])
def test_never_treated_code_that_matches_no_row(frame, code):
    with pytest.raises(ek.DataError, match=rf"never_treated={code!r} matches no row.*'g'.*0.0"):
        ek.Panel.from_frame(frame, **{**ROLES, "never_treated": code})


def test_never_treated_code_without_never_treated_units_is_harmless(frame):
    df = frame[frame["g"] > 0]  # every cohort is a real one: nothing to recode
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = ek.Panel.from_frame(df, **ROLES)
    assert sorted(p.cohort_sizes()) == [3.0, 5.0]


@pytest.mark.parametrize("code", ["0", [0], (0,), True, {"never": 0}])
def test_never_treated_must_be_one_number(frame, code):
    with pytest.raises(ek.ParameterError, match=r"'never_treated' parameter .* must be one number"):
        ek.Panel.from_frame(frame, **{**ROLES, "never_treated": code})


# ----------------------------------------------------------------- 3. worker counts and seeds
BAD_N_JOBS = ["two", 0, -2, 1.0, True, None]


def _n_jobs_entry(name):
    return {
        "MultiplierBootstrap": lambda v: did.MultiplierBootstrap(n_jobs=v),
        "WildClusterBootstrap": lambda v: did.WildClusterBootstrap(n_jobs=v),
        "resample": lambda v: parallel.resample(lambda rng, n: rng.random(n), 10, seed=1, n_jobs=v),
        "parallel_map": lambda v: parallel.parallel_map(abs, [1, 2], n_jobs=v),
        "Study.run": lambda v: STUDY.run(None, n_jobs=v),
    }[name]


@pytest.mark.parametrize("value", BAD_N_JOBS)
@pytest.mark.parametrize(
    "entry", ["MultiplierBootstrap", "WildClusterBootstrap", "resample", "parallel_map"]
)
def test_bad_worker_counts_fail_at_the_boundary(entry, value):
    with pytest.raises(ek.ParameterError, match=r"'n_jobs' parameter of \w+ must be .*Got "):
        _n_jobs_entry(entry)(value)


@pytest.mark.parametrize("value", ["two", 0, 1.5, True])
def test_study_run_checks_n_jobs_before_the_data(value):
    # data=None would fail later: the worker count is checked first
    with pytest.raises(ek.ParameterError, match=r"'n_jobs' parameter of Study.run must be"):
        _n_jobs_entry("Study.run")(value)


def _seed_entry(name):
    return {
        "MultiplierBootstrap": lambda v: did.MultiplierBootstrap(seed=v),
        "WildClusterBootstrap": lambda v: did.WildClusterBootstrap(seed=v),
        "resample": lambda v: parallel.resample(lambda rng, n: rng.random(n), 10, seed=v),
        "spawn_generators": lambda v: parallel.spawn_generators(v, 2),
        "honest_did": lambda v: did.honest_did(None, seed=v),
        "Study.run": lambda v: STUDY.run(None, seed=v),
    }[name]


@pytest.mark.parametrize("value", [-1, -(2**40), "1", 1.0, True])
@pytest.mark.parametrize(
    "entry",
    [
        "MultiplierBootstrap",
        "WildClusterBootstrap",
        "resample",
        "spawn_generators",
        "honest_did",
        "Study.run",
    ],
)
def test_bad_seeds(entry, value):
    with pytest.raises(ek.ParameterError, match=r"'seed' parameter of [\w.]+ must be .*Got "):
        _seed_entry(entry)(value)


def test_randomization_test_bad_seed(panel):
    with pytest.raises(ek.ParameterError, match="'seed' parameter of randomization_test"):
        did.randomization_test(panel, reps=99, seed=-3)


# -------------------------------------------------------- 4. wrong types where names go
@pytest.mark.parametrize("role", ["unit", "time", "outcome", "cohort", "cluster", "weights"])
@pytest.mark.parametrize("wrap", [list, set, tuple])
def test_panel_refuses_collections_as_column_names(frame, role, wrap):
    names = {"unit": "unit", "time": "time", "outcome": "y", "cohort": "g"}
    kwargs = {**ROLES, "weights": None, "cluster": None}
    kwargs[role] = wrap([names.get(role, "c")])
    with pytest.raises(ek.ParameterError, match=rf"'{role}' parameter of Panel.from_frame must "):
        ek.Panel.from_frame(frame, **kwargs)


def test_panel_refuses_a_set_of_covariates(frame):
    with pytest.raises(ek.ParameterError, match=r"'covariates'.*A set has no order"):
        ek.Panel.from_frame(frame, **ROLES, covariates={"x", "w"})


def test_callaway_refuses_a_set_of_covariates(panel):
    with pytest.raises(ek.ParameterError, match=r"'covariates' parameter of CallawaySantAnna"):
        did.CallawaySantAnna(covariates={"x"}).fit(panel)


def _multi(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = pd.MultiIndex.from_product([["a"], list(df.columns)])
    return out


def test_panel_refuses_multiindex_columns(frame):
    with pytest.raises(ek.DataError, match=r"MultiIndex columns.*Flatten them"):
        ek.Panel.from_frame(_multi(frame), **ROLES)


@pytest.mark.parametrize(("table", "schema"), [(AREAS, "areas"), (AREA_YEAR, "area_year")])
def test_validate_refuses_multiindex_columns(table, schema):
    with pytest.raises(ek.SchemaError, match=rf"MultiIndex columns.*'{schema}' schema"):
        ek.validate(_multi(table), schema)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (["areas"], r"Got \['areas'\] instead. Pass one name as a string, e.g. \w+='areas'"),
        (("area_year",), r"Got \('area_year',\) instead"),
        ("area_yaer", r"Got 'area_yaer' instead. Did you mean 'area_year'"),
        ({"areas"}, r"Got \{'areas'\} instead"),
        (3, r"Got 3 instead"),
    ],
)
@pytest.mark.parametrize("entry", ["validate", "read_table", "load_schema"])
def test_schema_name_must_be_one_string(tmp_path, entry, name, message):
    path = tmp_path / "areas.csv"
    AREAS.to_csv(path, index=False)
    call = {
        "validate": lambda: ek.validate(AREAS, name),
        "read_table": lambda: ek.read_table(path, name),
        "load_schema": lambda: ek.load_schema(name),
    }[entry]
    with pytest.raises(ek.ParameterError, match=message):
        call()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_fit_refuses_a_dataframe(frame, estimator):
    with pytest.raises(
        ek.ParameterError, match=rf"'panel' argument of {estimator.__name__}.fit.*Panel.from_frame"
    ):
        estimator().fit(frame)


@pytest.mark.parametrize("func", [did.bacon_decomposition, did.randomization_test])
@pytest.mark.parametrize("value", ["frame", None, "data.csv"])
def test_panel_functions_refuse_non_panels(frame, func, value):
    arg = frame if value == "frame" else value
    with pytest.raises(ek.ParameterError, match=rf"'panel' argument of {func.__name__}"):
        func(arg)


# ---------------------------------------------------------------- 5. misspelled keywords
@pytest.mark.parametrize(
    ("estimator", "typo", "meant"),
    [
        (did.TwoWayFE, "evnt_study", "event_study"),
        (did.TwoWayFE, "clusters", "cluster"),
        (did.SunAbraham, "refrence", "reference"),
        (did.SunAbraham, "contrl", "control"),
        (did.Imputation, "lead", "leads"),
        (did.CallawaySantAnna, "control_grup", "control_group"),
        (did.CallawaySantAnna, "anticipaton", "anticipation"),
        (did.CallawaySantAnna, "ci_levl", "ci_level"),
    ],
)
def test_estimator_keyword_typos(estimator, typo, meant):
    with pytest.raises(
        UnknownParameterError, match=rf"no parameter '{typo}'. Did you mean '{meant}'"
    ):
        estimator(**{typo: 1})
    with pytest.raises(TypeError):  # still a TypeError for generic handlers
        estimator(**{typo: 1})
    with pytest.raises(UnknownParameterError, match=rf"Did you mean '{meant}'"):
        estimator().set_params(**{typo: 1})


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_estimators_are_keyword_only(estimator):
    with pytest.raises(UnknownParameterError, match=r"takes its parameters by keyword only"):
        estimator(1)


@pytest.mark.parametrize(
    ("call", "meant"),
    [
        (lambda f: ek.Panel.from_frame(f, unti="unit", time="time", outcome="y"), "unit"),
        (lambda f: ek.Panel.from_frame(f, **ROLES, covariate=["x"]), "covariates"),
        (lambda f: ek.Panel.from_frame(f, **ROLES, missng="drop"), "missing"),
        (lambda f: ek.validate(AREAS, "areas", extra_column="allow"), "extra_columns"),
        (lambda f: ek.read_table("x.csv", "areas", encodng="utf-8"), "encoding"),
        (lambda f: parallel.resample(abs, 10, sed=1), "seed"),
        (lambda f: parallel.parallel_map(abs, [1], njobs=2), "n_jobs"),
        (lambda f: did.honest_did(None, methd="smoothness"), "method"),
        (lambda f: did.randomization_test(None, rep=99), "reps"),
        (lambda f: STUDY.run(None, designs_=("did",)), "designs"),
        (lambda f: load_study(path="x.toml", strict=True), None),
    ],
)
def test_function_keyword_typos(frame, call, meant):
    message = rf"Did you mean '{meant}'" if meant else r"has no parameter 'strict'"
    with pytest.raises(UnknownParameterError, match=message):
        call(frame)


@pytest.mark.parametrize(
    ("make", "name", "typo", "meant"),
    [
        (lambda v: did.CallawaySantAnna(method=v), "method", "DR", "dr"),
        (lambda v: did.CallawaySantAnna(control_group=v), "control_group", "never", None),
        (lambda v: did.CallawaySantAnna(base_period=v), "base_period", "univrsal", "universal"),
        (lambda v: did.SunAbraham(control=v), "control", "nevr", "never"),
    ],
)
def test_choice_typos_get_a_suggestion(panel, make, name, typo, meant):
    message = rf"'{name}' parameter .* must be one of .*Got '{typo}' instead"
    if meant:
        message += rf". Did you mean '{meant}'"
    with pytest.raises(ek.ParameterError, match=message):
        make(typo).fit(panel)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda v: did.WildClusterBootstrap(weights=v), "weights"),
        (lambda v: did.MultiplierBootstrap(weights=v), "weights"),
        (lambda v: did.WildClusterBootstrap(cluster_df=v), "cluster_df"),
    ],
)
def test_config_choice_typos(make, name):
    with pytest.raises(ek.ParameterError, match=rf"'{name}' parameter .* Got 'Rademacher'"):
        make("Rademacher")


def test_panel_missing_typo(frame):
    with pytest.raises(ek.ParameterError, match=r"Got 'dorp' instead. Did you mean 'drop'"):
        ek.Panel.from_frame(frame, **ROLES, missing="dorp")


# --------------------------------------------------- 6. integer and boolean parameters
@pytest.mark.parametrize("value", [1.5, 2.0, "2", True, -1])
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda v: did.TwoWayFE(event_study=True, leads=v), "leads"),
        (lambda v: did.TwoWayFE(event_study=True, lags=v), "lags"),
        (lambda v: did.Imputation(leads=v), "leads"),
        (lambda v: did.CallawaySantAnna(anticipation=v), "anticipation"),
    ],
)
def test_integer_parameters_at_fit(panel, make, name, value):
    with pytest.raises(ek.ParameterError, match=rf"'{name}' parameter of \w+ must be .*Got "):
        make(value).fit(panel)


@pytest.mark.parametrize("value", [-1.0, 0, "−1", False])
@pytest.mark.parametrize("estimator", [did.TwoWayFE, did.SunAbraham])
def test_reference_period(panel, estimator, value):
    kwargs = {"event_study": True} if estimator is did.TwoWayFE else {}
    with pytest.raises(ek.ParameterError, match=r"'reference' parameter .* negative integer"):
        estimator(reference=value, **kwargs).fit(panel)


@pytest.mark.parametrize("value", [999.0, "999", True, 98])
@pytest.mark.parametrize(
    "make",
    [
        lambda v: did.MultiplierBootstrap(reps=v),
        lambda v: did.WildClusterBootstrap(reps=v),
    ],
)
def test_bootstrap_reps(make, value):
    with pytest.raises(ek.ParameterError, match=r"'reps' parameter of \w+ must be an integer"):
        make(value)


@pytest.mark.parametrize("value", ["yes", 1, 0, None, "False"])
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda p, v: did.TwoWayFE(event_study=v).fit(p), "event_study"),
        (lambda p, v: did.WildClusterBootstrap(impose_null=v), "impose_null"),
        (lambda p, v: ek.Panel.from_frame(_frame(), **ROLES, absorbing=v), "absorbing"),
    ],
)
def test_boolean_parameters(panel, call, name, value):
    with pytest.raises(ek.ParameterError, match=rf"'{name}' parameter .* True or False. Got "):
        call(panel, value)


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"synth_reps": 1.5}, "synth_reps"),
        ({"bayes_draws": "500"}, "bayes_draws"),
        ({"bayes_chains": 0}, "bayes_chains"),
        ({"bayes_tune": -1}, "bayes_tune"),
    ],
)
def test_study_run_integer_settings(kw, name):
    with pytest.raises(ek.ParameterError, match=rf"'{name}' parameter of Study.run must be"):
        STUDY.run(None, **kw)


# ----------------------------------------------------------------------- 7. read_table
@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (b"", ".csv", r"'.*x.csv' is empty"),
        (b"\n\n  \n", ".csv", r"'.*x.csv' is empty"),
        (b'a,b\n"1,2\n3,4\n', ".csv", r"cannot parse '.*x.csv' as CSV.*quote"),
        (b"area_id,name\n01,a,b,c,d\n", ".csv", r"'.*x.csv' as CSV.*more fields than the"),
        (b"a,b\n1,2\n3,4,5\n", ".csv", r"cannot parse '.*x.csv' as CSV.*line 3"),
        (b"a,b\n1,2\n", ".parquet", r"cannot read '.*x.parquet' as Parquet"),
        (b"PAR1\x00\x00garbage", ".parquet", r"cannot read '.*x.parquet' as Parquet"),
        (b"not stata", ".dta", r"cannot read '.*x.dta' as a Stata file"),
        (b"not sas", ".sas7bdat", r"cannot read '.*x.sas7bdat' as a SAS file"),
    ],
)
def test_read_table_unreadable_files(tmp_path, content, suffix, message):
    if suffix in (".dta", ".sas7bdat"):
        pytest.importorskip("pyreadstat")
    path = tmp_path / f"x{suffix}"
    path.write_bytes(content)
    with pytest.raises(ek.DataError, match=message):
        ek.read_table(path)


def test_read_table_truncated_parquet(tmp_path):
    path = tmp_path / "areas.parquet"
    AREAS.to_parquet(path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ek.DataError, match=r"cannot read '.*areas.parquet' as Parquet.*truncated"):
        ek.read_table(path, "areas")


@pytest.mark.parametrize("encoding", ["klingon", "", 8])
def test_read_table_unknown_encoding(tmp_path, encoding):
    path = tmp_path / "areas.csv"
    AREAS.to_csv(path, index=False)
    with pytest.raises(ek.ParameterError, match=r"'encoding' parameter of read_table .* Got "):
        ek.read_table(path, encoding=encoding)


LATIN = "area_id,name,kommune_code,region_code\n01,Århus Øst,751,1082\n02,Ølstykke,240,1084\n"


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_read_table_detects_latin1(tmp_path, codec):
    path = tmp_path / "areas.csv"
    path.write_bytes(LATIN.encode(codec))
    with pytest.warns(ek.EffektWarning, match=r"not UTF-8; read it as cp1252"):
        frame = ek.read_table(path, "areas")
    assert frame["name"].tolist() == ["Århus Øst", "Ølstykke"]


def test_read_table_utf8_with_bom_is_silent(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_bytes(LATIN.encode("utf-8-sig"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = ek.read_table(path, "areas")
    assert frame.columns[0] == "area_id" and frame.loc[0, "name"] == "Århus Øst"


def test_read_table_wrong_encoding_given(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_bytes(LATIN.encode("latin-1"))
    with pytest.raises(ek.DataError, match=r"cannot decode '.*areas.csv' as 'utf-8'.*cp1252"):
        ek.read_table(path, encoding="utf-8")


def test_read_table_danish_excel_export(tmp_path):
    path = tmp_path / "ay.csv"
    text = "area_id;year;kommune_code;residents;neet_share;pop_15_24\n"
    text += "a1;2019;461;100;0,25;20\na1;2020;461;110;0,3;22\n"
    path.write_bytes(text.encode("cp1252"))
    frame = ek.read_table(path, "area_year", encoding="cp1252")
    assert frame["neet_share"].tolist() == [0.25, 0.3]
    assert frame.attrs["csv"] == {"sep": ";", "decimal": ",", "encoding": "cp1252"}


def test_read_table_says_which_separator_to_pass(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a|b,c\n1|2,3\n")  # looks like one column with ',' inside: ambiguous
    frame = ek.read_table(path, sep="|")
    assert frame.columns.tolist() == ["a", "b,c"]
    path.write_text("a b;c d\n1;2\n")
    assert ek.read_table(path).columns.tolist() == ["a b", "c d"]
    path.write_text("ab|cd\n1|2\n")
    with pytest.raises(ek.DataError, match=r"single column 'ab\|cd'.*Pass sep=\.\.\."):
        ek.read_table(path)


def test_read_table_reports_every_type_error_with_lines(tmp_path):
    path = tmp_path / "ay.csv"
    path.write_text(
        "area_id,year,residents,neet_share\n"
        "a1,2019,100,0.1\n"
        "a1,2020,many,0.2\n"
        "a1,2021,1.5,x\n"
        "a2,2019,90,y\n"
    )
    with pytest.raises(ek.SchemaError) as info:
        ek.read_table(path, "area_year")
    text = str(info.value)
    assert "2 column(s)" in text
    assert "'residents' of" in text and "lines [3, 4]" in text
    assert "'neet_share' of" in text and "lines [4, 5]" in text
    assert info.value.violations["lines"].tolist() == [[3, 4], [4, 5]]


def test_read_table_schema_violations_at_file_lines(tmp_path):
    path = tmp_path / "areas.csv"
    AREAS.assign(kommune_code=[461, 999]).to_csv(path, index=False)
    with pytest.raises(
        ek.SchemaError, match=r"'kommune_code' must be one of .*first at lines \[3\]"
    ):
        ek.read_table(path, "areas")


@pytest.mark.parametrize("path", [["a.csv"], None, 3])
def test_read_table_path_type(path):
    with pytest.raises(ek.ParameterError, match=r"'path' argument of read_table must be a file"):
        ek.read_table(path)


# ------------------------------------------------------------------------ 8. study files
def test_load_study_latin1(tmp_path):
    path = tmp_path / "s.toml"
    body = 'title = "Ungdomsklubber i Århus"\noutcomes = ["neet_share"]\n'
    path.write_bytes((body + '[treatment]\nkinds = ["ungdomscafe"]\n').encode("latin-1"))
    with pytest.warns(ek.EffektWarning, match=r"'.*s.toml' is not UTF-8.*line 1"):
        study = load_study(path)
    assert study.title == "Ungdomsklubber i Århus"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("outcomes = [", r"'.*s.toml' is not valid TOML"),
        ('outcomes = ["neet_share"]\n', r"'treatment' is a required property"),
        ('outcome = ["x"]\n[treatment]\nkinds=["y"]\n', r"did you mean 'outcomes'"),
        (
            'outcomes = ["x"]\n[treatment]\nkinds=["y"]\n[comparison]\ngroup="nevr"\n',
            r"comparison.group: 'nevr' is not one of",
        ),
        ('outcomes = ["x"]\nperiod = [2010.5, 2015]\n[treatment]\nkinds=["y"]\n', r"period\[0\]"),
        (
            'outcomes = ["x"]\n[denominators]\ny = "pop_15_25"\n[treatment]\nkinds=["y"]\n',
            r"denominators names 'y', which is not one of the study's outcomes",
        ),
    ],
)
def test_load_study_bad_files(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ek.ParameterError, match=message):
        load_study(path)


# ---------------------------------------------- 9. validate and run agree; own outcomes
@pytest.fixture(scope="module")
def world():
    from effekt import simulate

    return simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)


GANG = Study(
    outcomes=("gang_share",),
    treatment=Treatment(kinds=("lbf_helhedsplan",)),
    denominators={"gang_share": "pop_15_25"},
)


def _tables(world, **changes):
    ay = world.area_year.assign(gang_share=0.05)
    for col, value in changes.items():
        ay = ay.drop(columns=col) if value is None else ay.assign(**{col: value})
    return {"area_year": ay, "interventions": world.interventions}


@pytest.mark.parametrize("missing", ["kommune_code", "pop_15_25"])
def test_run_names_the_columns_it_needs_before_it_starts(world, missing):
    from effekt.study._data import as_tables

    with pytest.raises(ek.SchemaError, match=rf"'{missing}' is required but the frame has no"):
        as_tables(_tables(world, **{missing: None}), GANG)


@pytest.mark.parametrize("missing", ["kommune_code", "pop_15_25"])
def test_validate_with_the_study_requirements_agrees(world, missing):
    frame = _tables(world, **{missing: None})["area_year"]
    with pytest.raises(ek.SchemaError, match=rf"'{missing}' is required"):
        ek.validate(
            frame,
            "area_year",
            outcomes=GANG.custom_outcomes,
            required=GANG.required_columns()["area_year"],
        )


def test_own_outcome_is_accepted_when_declared(world):
    from effekt.study._data import as_tables, build_sample

    tables = as_tables(_tables(world), GANG)
    sample = build_sample(GANG, tables)
    assert sample.counts == {"gang_share": "pop_15_25"}
    assert "pop_15_25" in sample.frame.columns


def test_own_outcome_undeclared_says_how_to_declare_it(world):
    from effekt.study._data import as_tables

    study = Study(outcomes=("gang_share",), treatment=Treatment(kinds=("ungdomscafe",)))
    with pytest.raises(ek.DataError, match=r"'gang_share' is a column .*denominators = \{gang"):
        as_tables(_tables(world), study)


def test_validate_keeps_typo_detection_beside_own_outcomes(world):
    frame = _tables(world)["area_year"].assign(neet_shar=0.1)
    with pytest.raises(ek.SchemaError, match=r"'neet_shar' is not in .*did you mean 'neet_share'"):
        ek.validate(frame, "area_year", outcomes={"gang_share": "pop_15_25"})


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        (["gang_share"], r"'outcomes' parameter of validate must be a dict"),
        ({"gang_share": 3}, r"'outcomes' parameter of validate must be a dict"),
        ({"neet_share": "residents"}, r"'neet_share' is a column of the 'area_year' schema"),
    ],
)
def test_validate_outcomes_argument(outcomes, message):
    with pytest.raises(ek.ParameterError, match=message):
        ek.validate(AREA_YEAR, "area_year", outcomes=outcomes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"denominators": {"neet_share": "residents"}}, r"defines it over 'pop_15_24'"),
        ({"denominators": ["pop_15_25"]}, r"denominators must be a mapping"),
        ({"denominators": {"other": "pop_15_25"}}, r"'other', which is not one of"),
    ],
)
def test_study_denominators(kwargs, message):
    with pytest.raises(ek.ParameterError, match=message):
        Study(outcomes=("neet_share",), treatment=Treatment(kinds=("ungdomscafe",)), **kwargs)


def test_study_roundtrip_keeps_denominators(tmp_path):
    assert Study.from_dict(GANG.to_dict()) == GANG
    assert GANG.required_columns()["area_year"][-2:] == ["gang_share", "pop_15_25"]
    donors = Study(
        outcomes=("neet_share",),
        treatment=Treatment(kinds=("ungdomscafe",), round="2011-2014"),
        comparison=Comparison(donors="same_region"),
    )
    need = donors.required_columns()
    assert need["areas"] == ["area_id", "region_code"]
    assert "funding_round" in need["interventions"]


def test_cli_validate_with_study(tmp_path, world, capsys):
    from effekt.cli import main

    data = tmp_path / "ay.csv"
    _tables(world, pop_15_25=None)["area_year"].to_csv(data, index=False)
    study = tmp_path / "s.toml"
    study.write_text(
        'outcomes = ["gang_share"]\n[denominators]\ngang_share = "pop_15_25"\n'
        '[treatment]\nkinds = ["ungdomscafe"]\n'
    )
    assert main(["validate", "area_year", str(data), "--study", str(study)]) == 1
    assert "'pop_15_25' is required" in capsys.readouterr().err
    _tables(world)["area_year"].to_csv(data, index=False)
    assert main(["validate", "area_year", str(data), "--study", str(study)]) == 0
    assert main(["validate", "area_year", str(data)]) == 1  # without the study: unknown
    assert "'gang_share' is not in the 'area_year' schema" in capsys.readouterr().err


# --------------------------------------------------------------- 10. the checks themselves
def test_check_helpers_accept_what_they_should():
    from effekt.errors import check_bool, check_choice, check_columns, check_int, check_n_jobs

    assert check_int("n", "f", np.int64(3), low=1) == 3
    assert check_int("n", "f", None, none=True) is None
    assert check_bool("b", "f", np.bool_(True)) is True
    assert check_n_jobs("n_jobs", "f", -1) == -1
    assert check_columns("c", "f", "x") == ["x"]
    assert check_columns("c", "f", ("x", "y"), ["x", "y", "z"]) == ["x", "y"]
    check_choice("b", "f", np.int64(1), ("min", 1))  # numpy ints are ints


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: errors.check_int("n", "f", True), r"'n' .* Got True"),
        (
            lambda: errors.check_choice("b", "f", True, ("min", 1)),
            r"'b' parameter of f must be one of \{'min', 1\}. Got True",
        ),
        (
            lambda: errors.check_columns("c", "f", ["x", "x"]),
            r"distinct column names.*\['x'\] appear twice",
        ),
        (
            lambda: errors.check_columns("c", "f", ["x", "q"], ["x", "y"]),
            r"'c' argument of f names column 'q'",
        ),
        (
            lambda: errors.check_choice("m", "f", np.array([1]), ("a",)),
            r"'m' parameter of f must be one of \{'a'\}",
        ),
    ],
)
def test_check_helpers_refuse(call, message):
    with pytest.raises(ek.EffektError, match=message):
        call()


def test_check_finite_names_column_and_rows():
    from effekt.errors import check_finite

    df = pd.DataFrame({"a": [1.0, np.inf, 2.0, -np.inf], "b": ["x"] * 4}, index=[10, 11, 12, 13])
    check_finite(df, ["b"], "f")  # text columns are not its business
    with pytest.raises(ek.DataError, match=r"Column 'a' of f holds 2 infinite.*rows \[11, 13\]"):
        check_finite(df, ["a", "b"], "f")
