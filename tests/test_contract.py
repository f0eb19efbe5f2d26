"""The contract every estimator must honour (DiD, synthetic control, Bayes).

Each estimator in effekt gets a case here: a small panel and parameters. The suite
checks the estimator contract (parameters only in __init__, clone, get/set_params)
and the result protocol (tidy to_frame schema, summary text/HTML/LaTeX, plot returns
Axes, _repr_html_, provenance), that the caller's frame is unchanged and that the
same seed gives the same numbers. test_every_estimator_has_a_case fails when a new
estimator is added without a case, so nothing escapes the contract.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import effekt as ek
from effekt.estimator import Estimator
from effekt.results import VALUE_COLUMNS, Result
from effekt.simulate.listing import list_threshold_data


def _mpdta_panel(frame: pd.DataFrame) -> ek.Panel:
    return ek.Panel.from_frame(
        frame, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )


def _prop99_panel(frame: pd.DataFrame) -> ek.Panel:
    return ek.Panel.from_frame(frame, unit="state", time="year", outcome="cigsale")


def _prop99() -> pd.DataFrame:
    return ek.datasets.load_dataset("prop99")


def _on_panel(builder: Callable[[pd.DataFrame], ek.Panel]) -> Callable[..., Result]:
    return lambda estimator, frame: estimator.fit(builder(frame))


def _bayes_areas() -> pd.DataFrame:
    """8 areas in 2 kommuner, 2001-2006; kind X in two areas, Y in two (as tests/test_bayes.py)."""
    rng = np.random.default_rng(7)
    cohort = {"a1": 2003, "a2": 2004, "a5": 2003, "a6": 2005}
    kind = {"a1": "X", "a2": "X", "a5": "Y", "a6": "Y"}
    rows = [
        {
            "area_id": a,
            "year": t,
            "kommune_code": 101 if i < 4 else 147,
            "y": 0.1 * i
            + 0.05 * (t - 2001)
            + rng.normal(0, 0.05)
            + {"X": 1.0, "Y": 0.5}.get(kind.get(a, ""), 0.0)
            * (cohort.get(a, 0) and t >= cohort[a]),
            "first_treated": cohort.get(a, 0),
            "kind": kind.get(a),
        }
        for i, a in enumerate(f"a{j}" for j in range(1, 9))
        for t in range(2001, 2007)
    ]
    return pd.DataFrame(rows)


def _bayes_persons() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "youth_edu_by_25": [1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1],
            "parental_education": ["basic", "basic", "higher", "higher", "basic", "youth"] * 2,
            "exposure_years": [0, 0, 5, 0, 2, 10, 0, 3, 0, 12, 4, 0],
            "baseline_area_id": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
        }
    )


def _person_years() -> pd.DataFrame:
    """120 persons 2006-2012; every fourth takes part from 2009 (effekt.participants)."""
    rng = np.random.default_rng(11)
    rows = [
        {
            "person_id": f"q{i:03d}",
            "year": t,
            "x1": float(i % 3 == 0),
            "x2": x2,
            "y": x2
            + 0.2 * (i % 3 == 0) * (t - 2006)
            + rng.normal(0, 0.3)
            + 0.5 * (i % 4 == 0 and t >= 2009),
        }
        for i, x2 in enumerate(rng.normal(size=120))
        for t in range(2006, 2013)
    ]
    return pd.DataFrame(rows)


_PARTICIPANTS = pd.DataFrame(
    {"person_id": [f"q{i:03d}" for i in range(0, 120, 4)], "start_year": 2009}
)
_BAYES_AREAS = pd.DataFrame({"area_id": ["a", "b", "c"], "kommune_code": [101, 101, 147]})
_SMALL_MCMC = {"sampler": "pymc", "draws": 20, "tune": 20, "chains": 2, "cores": 1}


def _rd_frame() -> pd.DataFrame:
    """A sharp RD: y jumps by 0.5 at x = 0."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, 600)
    return pd.DataFrame({"x": x, "y": x + 0.5 * (x >= 0) + rng.normal(0, 0.3, x.size)})


# name -> (estimator factory, frame factory, fit(estimator, frame))


@functools.lru_cache(maxsize=1)
def _children_world():
    """A small simulated Denmark with family links, for the social-inheritance designs."""
    return ek.simulate.denmark(n_areas=40, years=(2005, 2020), seed=3)


CASES: dict[
    str,
    tuple[Callable[[], Estimator], Callable[[], pd.DataFrame], Callable[..., Result]],
] = {
    "TwoWayFE-static": (
        lambda: ek.did.TwoWayFE(),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "TwoWayFE-event": (
        lambda: ek.did.TwoWayFE(event_study=True, leads=3, lags=3),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "CallawaySantAnna": (
        lambda: ek.did.CallawaySantAnna(),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "CallawaySantAnna-bootstrap": (
        lambda: ek.did.CallawaySantAnna(
            control_group="not_yet_treated",
            bootstrap=ek.did.MultiplierBootstrap(reps=199, seed=3),
        ),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "SyntheticControl": (
        lambda: ek.synth.SyntheticControl(
            treated="California",
            treatment_time=1989,
            special_predictors={"cigsale": [1975, 1980, 1988]},
            n_starts=2,
        ),
        _prop99,
        _on_panel(_prop99_panel),
    ),
    "AugmentedSynth": (
        lambda: ek.synth.AugmentedSynth(treated="California", treatment_time=1989),
        _prop99,
        _on_panel(_prop99_panel),
    ),
    "SyntheticDiD": (
        lambda: ek.synth.SyntheticDiD(treated="California", treatment_time=1989),
        _prop99,
        _on_panel(_prop99_panel),
    ),
    "HierarchicalDiD": (
        lambda: ek.bayes.HierarchicalDiD(outcome="y", **_SMALL_MCMC),
        _bayes_areas,
        lambda estimator, frame: estimator.fit(frame),
    ),
    "SocialInheritance": (
        lambda: ek.bayes.SocialInheritance(covariates=(), **_SMALL_MCMC),
        _bayes_persons,
        lambda estimator, frame: estimator.fit(frame, areas=_BAYES_AREAS),
    ),
    "MatchedFollowUp": (
        lambda: ek.participants.MatchedFollowUp(outcome="y", covariates=["x1", "x2"]),
        _person_years,
        lambda estimator, frame: estimator.fit(_PARTICIPANTS, frame),
    ),
    "MatchedFollowUp-entropy": (
        lambda: ek.participants.MatchedFollowUp(
            outcome="y", covariates=["x1", "x2"], method="entropy", n_boot=30, seed=2
        ),
        _person_years,
        lambda estimator, frame: estimator.fit(_PARTICIPANTS, frame),
    ),
    "SunAbraham": (
        lambda: ek.did.SunAbraham(),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "Imputation": (
        lambda: ek.did.Imputation(leads=2),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "ContinuousDiD": (
        lambda: ek.did.ContinuousDiD(
            dose="dose", bootstrap=ek.did.MultiplierBootstrap(reps=99, seed=2)
        ),
        lambda: pd.read_csv(Path(__file__).parent / "reference" / "contdid" / "dose_panel.csv"),
        _on_panel(
            lambda f: ek.Panel.from_frame(
                f,
                unit="unit",
                time="period",
                outcome="y",
                cohort="first_treat",
                never_treated=0,
                covariates=["dose"],
            )
        ),
    ),
    "ChaisemartinDHaultfoeuille": (
        lambda: ek.did.ChaisemartinDHaultfoeuille(effects=2, placebo=1),
        lambda: ek.datasets.load_dataset("mpdta"),
        _on_panel(_mpdta_panel),
    ),
    "CohortExposure": (
        lambda: ek.inheritance.CohortExposure(outcome="charged_by_18", kind="lbf_helhedsplan"),
        lambda: _children_world().children(),
        lambda estimator, frame: estimator.fit(
            frame, interventions=_children_world().interventions
        ),
    ),
    "SiblingExposure": (
        lambda: ek.inheritance.SiblingExposure(outcome="charged_by_18", kind="lbf_helhedsplan"),
        lambda: _children_world().children(),
        lambda estimator, frame: estimator.fit(frame),
    ),
    "SharpRD": (
        lambda: ek.rd.SharpRD(running="x", outcome="y"),
        _rd_frame,
        lambda estimator, frame: estimator.fit(frame),
    ),
    "ListThreshold": (
        lambda: ek.rd.ListThreshold(criterion="udsat", outcome="outcome", regime="2021"),
        lambda: list_threshold_data(n_areas=200, seed=2)[0],
        lambda estimator, frame: estimator.fit(frame),
    ),
}


def _all_estimator_classes() -> set[type]:
    for info in pkgutil.walk_packages(ek.__path__, "effekt."):
        if info.name.endswith("__main__"):  # importing it would run the command line
            continue
        try:
            importlib.import_module(info.name)
        except ek.OptionalDependencyError:  # e.g. effekt.bayes without the extra
            continue
    found: set[type] = set()
    stack = list(Estimator.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        if not inspect.isabstract(cls) and cls.__module__.startswith("effekt."):
            found.add(cls)
    return found


def test_every_estimator_has_a_case():
    covered = {type(make()) for make, _, _ in CASES.values()}
    missing = _all_estimator_classes() - covered
    assert not missing, f"estimators without a contract case: {sorted(c.__name__ for c in missing)}"


@pytest.fixture(params=sorted(CASES), scope="module")
def fitted(request):
    make, frame_factory, fit = CASES[request.param]
    frame = frame_factory()
    before = frame.copy(deep=True)
    estimator = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.EffektWarning)
        result = fit(estimator, frame)
    return estimator, frame, before, result, fit


def test_init_only_stores_parameters(fitted):
    estimator = fitted[0]
    sig = inspect.signature(type(estimator).__init__)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    assert all(p.kind is p.KEYWORD_ONLY for p in params), "parameters must be keyword-only"
    assert not any(p.kind is p.VAR_KEYWORD for p in params), "no **kwargs"
    assert set(vars(estimator)) == {p.name for p in params}


def test_clone_and_params(fitted):
    estimator = fitted[0]
    clone = estimator.clone()
    assert clone is not estimator and clone.get_params() == estimator.get_params()
    assert repr(clone) == repr(estimator)
    with pytest.raises(ek.ParameterError, match="has no parameter 'nonsense'"):
        estimator.set_params(nonsense=1)


def test_to_frame_follows_effect_table_schema(fitted):
    table = fitted[3].to_frame()
    ek.validate(table, "effect_table")
    keys = ek.load_schema("effect_table")["keyColumns"]
    cols = table.columns.tolist()
    value_start = cols.index("estimate")
    assert cols[value_start : value_start + 6] == list(VALUE_COLUMNS)
    assert all(c in keys for c in cols[:value_start]), "key columns come first"
    assert (table["ci_level"] == ek.options["ci_level"]).all()
    finite = table.dropna(subset=["std_error"])
    assert (finite["ci_lower"] <= finite["estimate"]).all()
    assert (finite["estimate"] <= finite["ci_upper"]).all()


def test_result_protocol(fitted):
    result = fitted[3]
    assert isinstance(result, Result)
    summary = result.summary()
    assert isinstance(summary, ek.results.Summary)
    assert summary.as_text() and summary.as_latex().count("tabular") >= 2
    assert result._repr_html_().startswith("<div")
    assert repr(result) == summary.as_text()
    assert result.provenance.effekt_version == ek.__version__
    with pytest.raises(AttributeError, match="immutable"):
        result.ledger = None


def test_plot_returns_axes_and_never_shows(fitted, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plot() called plt.show()"))
    ax = fitted[3].plot()
    assert isinstance(ax, Axes) and ax.get_title()
    _, own = plt.subplots()
    assert fitted[3].plot(ax=own) is own


def test_input_frame_unchanged(fitted):
    _, frame, before, _, _ = fitted
    pd.testing.assert_frame_equal(frame, before)


def test_same_inputs_same_numbers(fitted):
    estimator, frame, _, result, fit = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.EffektWarning)
        again = fit(estimator.clone(), frame.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(result.to_frame(), again.to_frame())
    assert result.provenance.data_fingerprint == again.provenance.data_fingerprint
