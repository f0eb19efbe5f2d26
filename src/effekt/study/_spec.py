"""The study specification: an immutable, validated description of one evaluation question."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from effekt.errors import (
    ParameterError,
    check_keywords,
    show_value,
)

if TYPE_CHECKING:  # pragma: no cover
    from effekt.study._result import StudyResult

__all__ = ["Comparison", "Study", "Treatment", "load_study"]

POPULATIONS = ("area", "stayers")
GROUPS = ("never_treated", "not_yet_treated")
DONOR_RULES = ("all", "same_region", "same_kommune", "most_similar")
EXPOSURES = ("first_start",)
FUNDERS = ("lbf", "kommune", "both")


def study_schema() -> dict[str, Any]:
    """The JSON Schema of a study file (``data_schemas/study.schema.json``), a fresh copy.

    Returns
    -------
    dict

    Examples
    --------
    >>> from effekt.study import study_schema
    >>> study_schema()["required"]
    ['outcomes', 'treatment']
    """
    from effekt.schemas import _json_schema_text

    return json.loads(_json_schema_text("study"))


def _area_year_fields() -> dict[str, dict[str, Any]]:
    from effekt.schemas import load_schema

    return {f["name"]: f for f in load_schema("area_year")["fields"]}


# --------------------------------------------------------------------------- validation
def validate_study_dict(d: Any, source: str = "the study") -> None:
    """Raise :class:`ParameterError` listing every schema violation of a study mapping."""
    from effekt.schemas import document_problems

    problems = document_problems(d, "study")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ParameterError(
            f"{source} does not conform to the study schema (data_schemas/study.schema.json): "
            f"{len(problems)} problem(s):\n{lines}\nFix the listed keys; "
            "effekt.study.study_schema() documents every key."
        )


# --------------------------------------------------------------------------- spec objects
@dataclass(frozen=True)
class Treatment:
    """What counts as treatment, and when an area becomes treated.

    Parameters
    ----------
    kinds : tuple of str
        Intervention kinds (``interventions.kind``), e.g.
        ``("ungdomscafe", "lommepengeprojekt")``. An area is treated from the first
        start year of any of them that reaches it (an area-wide intervention in the
        area, or a kommune-wide one in its kommune).
    base : str, optional
        A base kind, for questions of the form "does X *on top of* B do more than B
        alone?". Only areas that have B are analysed; treated areas are those that
        get X no earlier than B starts (X first, then B is not "on top"; such
        areas are left out, with a note); the comparison areas have B but not X.
    funder : {"lbf", "kommune", "both"}, optional
        Count only treatment interventions with this funder.
    round : str, optional
        Count only treatment interventions of this funding round
        (``interventions.funding_round``, e.g. ``"2011-2014"``).
    exposure : {"first_start"}, default "first_start"
        The exposure rule (the first start year; absorbing treatment).

    Examples
    --------
    >>> from effekt.study import Treatment
    >>> Treatment(kinds=("ungdomscafe",), base="lbf_helhedsplan").base
    'lbf_helhedsplan'
    """

    kinds: tuple[str, ...]
    base: str | None = None
    funder: str | None = None
    round: str | None = None
    exposure: str = "first_start"

    def __post_init__(self) -> None:
        kinds = self.kinds
        if isinstance(kinds, str):  # a single kind is a common slip; accept it as one
            kinds = (kinds,)
        if not isinstance(kinds, Sequence) or not kinds:
            raise ParameterError(
                f"treatment.kinds must be a non-empty list of intervention kinds. "
                f"Got {show_value(self.kinds)} instead."
            )
        object.__setattr__(self, "kinds", tuple(kinds))
        data = self.to_dict()
        validate_study_dict({"outcomes": ["x"], "treatment": data}, "the treatment")
        if self.base is not None and self.base in self.kinds:
            raise ParameterError(
                f"treatment.base ({self.base!r}) is also one of treatment.kinds "
                f"{list(self.kinds)}; the base must be a different kind (the question is "
                "whether the kinds do more on top of it)."
            )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (TOML/JSON-ready); optional fields that are unset are left out."""
        out: dict[str, Any] = {"kinds": list(self.kinds)}
        for name in ("base", "funder", "round"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["exposure"] = self.exposure
        return out


@dataclass(frozen=True)
class Comparison:
    """Which areas the treated areas are compared with.

    Parameters
    ----------
    group : {"never_treated", "not_yet_treated"}, default "never_treated"
        DiD comparison: areas never treated in the period, or also areas treated
        later (until they are). Synthetic control always uses never-treated donors.
    donors : {"all", "same_region", "same_kommune", "most_similar"}, default "all"
        Restriction of the never-treated comparison areas: all of them; those in a
        region (kommune) that has a treated area; or, for each treated area, the
        ``n_donors`` never-treated areas closest to it in the outcome's mean before
        its start (standardised), pooled (in the spirit of LBF's *tvillingeværktøj*).
    n_donors : int, default 10
        Donors per treated area for ``donors="most_similar"``.

    Examples
    --------
    >>> from effekt.study import Comparison
    >>> Comparison(group="not_yet_treated").donors
    'all'
    """

    group: str = "never_treated"
    donors: str = "all"
    n_donors: int = 10

    def __post_init__(self) -> None:
        validate_study_dict(
            {"outcomes": ["x"], "treatment": {"kinds": ["x"]}, "comparison": self.to_dict()},
            "the comparison",
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (TOML/JSON-ready)."""
        return {"group": self.group, "donors": self.donors, "n_donors": self.n_donors}


@dataclass(frozen=True)
class Study:
    """A declarative evaluation question, answered by several designs with :meth:`run`.

    Parameters
    ----------
    outcomes : tuple of str
        Outcome columns of the ``area_year`` table (e.g. ``("neet_share",)``).
    treatment : Treatment
        The treatment definition.
    comparison : Comparison, optional
        The comparison group (default: never-treated areas, all of them).
    population : {"area", "stayers"}, default "area"
        The estimand's population: everyone living in the area each year, or the
        baseline stayers (residents in the year before treatment who still live
        there). ``"stayers"`` needs indicators over those persons, so :meth:`run`
        needs a simulated :class:`~effekt.simulate.World` or a ``stayer_year`` table
        built from registers for it.
    period : tuple of int, optional
        First and last year analysed; default every year in the data.
    title, question : str, optional
        Short title and the question in plain language (used in reports).
    title_da, question_da : str, optional
        The same in Danish, for the Danish reports (``language="da"``); without
        them those show ``title`` and ``question`` as written.
    denominators : dict of str to str, optional
        Outcomes of the analyst's own, not columns of the ``area_year`` schema
        (e.g. ``{"gang_share": "pop_15_25"}``), each with the person-count column
        it rests on (for the persons behind each estimate and disclosure
        control). Canonical outcomes take their denominators from the schema.
        :meth:`required_columns` lists what the data must then hold.

    Raises
    ------
    ParameterError
        A field with an invalid value (the message names the key).

    See Also
    --------
    load_study : read a study from a TOML file.

    Examples
    --------
    >>> from effekt.study import Study, Treatment
    >>> study = Study(outcomes=("neet_share",),
    ...               treatment=Treatment(kinds=("ungdomscafe",), base="lbf_helhedsplan"))
    >>> Study.from_dict(study.to_dict()) == study
    True
    """

    outcomes: tuple[str, ...]
    treatment: Treatment
    comparison: Comparison = field(default_factory=Comparison)
    population: str = "area"
    period: tuple[int, int] | None = None
    title: str | None = None
    question: str | None = None
    title_da: str | None = None
    question_da: str | None = None
    denominators: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        outcomes = self.outcomes
        if isinstance(outcomes, str):
            outcomes = (outcomes,)
        if not isinstance(outcomes, Sequence):
            raise ParameterError(
                f"outcomes must be a list of area_year column names. Got {show_value(outcomes)}."
            )
        object.__setattr__(self, "outcomes", tuple(outcomes))
        if self.period is not None:
            if not isinstance(self.period, Sequence) or isinstance(self.period, str):
                raise ParameterError(
                    f"period must be a pair [first, last] of years. Got {show_value(self.period)}."
                )
            object.__setattr__(self, "period", tuple(self.period))
        if not isinstance(self.treatment, Treatment):
            raise ParameterError(
                "treatment must be an effekt.study.Treatment (or a table/dict in "
                f"Study.from_dict). Got {type(self.treatment).__name__}."
            )
        if not isinstance(self.comparison, Comparison):
            raise ParameterError(
                "comparison must be an effekt.study.Comparison (or a table/dict in "
                f"Study.from_dict). Got {type(self.comparison).__name__}."
            )
        if self.denominators is not None:
            if not isinstance(self.denominators, Mapping):
                raise ParameterError(
                    "denominators must be a mapping of outcome to its person-count column, "
                    f"e.g. {{'gang_share': 'pop_15_25'}}. Got {show_value(self.denominators)}."
                )
            object.__setattr__(self, "denominators", dict(self.denominators))
        validate_study_dict(self.to_dict(), "the study")
        self._check_denominators()
        if self.period is not None and self.period[0] >= self.period[1]:
            raise ParameterError(
                f"period must be [first, last] with first < last. Got {list(self.period)}."
            )

    def _check_denominators(self) -> None:
        fields = _area_year_fields()
        for out, den in (self.denominators or {}).items():
            if out not in self.outcomes:
                raise ParameterError(
                    f"denominators names {out!r}, which is not one of the study's outcomes "
                    f"{list(self.outcomes)}. Add it to outcomes, or remove it from denominators."
                )
            canonical = fields.get(out, {}).get("denominator")
            if out in fields and canonical != den:
                raise ParameterError(
                    f"denominators gives the canonical outcome {out!r} the denominator {den!r}, "
                    f"but the area_year schema defines it over {canonical!r}. Leave {out!r} out "
                    "of denominators (or give your own outcome another name)."
                )

    @property
    def custom_outcomes(self) -> dict[str, str]:
        """The declared outcomes that are not area_year schema columns, with denominators."""
        fields = _area_year_fields()
        return {k: v for k, v in (self.denominators or {}).items() if k not in fields}

    def denominator(self, outcome: str) -> str:
        """The person-count column ``outcome`` rests on (schema, declared, else residents)."""
        declared = (self.denominators or {}).get(outcome)
        if declared is not None:
            return declared
        f = _area_year_fields().get(outcome, {})
        return str(f.get("denominator", outcome if f.get("unit") == "persons" else "residents"))

    def required_columns(self) -> dict[str, list[str]]:
        """The columns each table must hold for :meth:`run`, beyond its schema's key.

        ``validate(table, name, required=...)`` and ``effekt validate --study``
        check them, so that a table that passes validation does not fail in
        :meth:`run` for want of a column.

        Returns
        -------
        dict of str to list of str
            ``area_year``: the key, ``kommune_code`` (kommune-wide spells and the
            donor rules), the outcomes and their denominators; ``interventions``:
            the columns that place and time the spells (and ``funding_round``
            when ``treatment.round`` is set); ``areas``: ``region_code`` for the
            ``same_region`` donor rule.

        Examples
        --------
        >>> from effekt.study import Study, Treatment
        >>> s = Study(outcomes=("gang_share",), treatment=Treatment(kinds=("ungdomscafe",)),
        ...           denominators={"gang_share": "pop_15_25"})
        >>> s.required_columns()["area_year"]
        ['area_id', 'year', 'kommune_code', 'gang_share', 'pop_15_25']
        """
        area_year = ["area_id", "year", "kommune_code", *self.outcomes]
        area_year += [self.denominator(o) for o in self.outcomes]
        interventions = ["area_id", "kommune_code", "kind", "start_year"]
        if self.treatment.funder is not None:
            interventions.append("funder")
        if self.treatment.round is not None:
            interventions.append("funding_round")
        out = {
            "area_year": list(dict.fromkeys(area_year)),
            "interventions": interventions,
        }
        if self.comparison.donors == "same_region":
            out["areas"] = ["area_id", "region_code"]
        return out

    def text(self, name: str, language: str) -> str | None:
        """``title`` or ``question`` in ``language`` (Danish where given, else as written)."""
        danish = getattr(self, f"{name}_da") if language == "da" else None
        return danish if danish is not None else getattr(self, name)

    # ------------------------------------------------------------------ conversion
    def to_dict(self) -> dict[str, Any]:
        """A plain dict in the shape of ``study.schema.json``; :meth:`from_dict` inverts it."""
        out: dict[str, Any] = {}
        for name in ("title", "question", "title_da", "question_da"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["outcomes"] = list(self.outcomes)
        if self.denominators:
            out["denominators"] = dict(self.denominators)
        out["population"] = self.population
        if self.period is not None:
            out["period"] = list(self.period)
        out["treatment"] = self.treatment.to_dict()
        out["comparison"] = self.comparison.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "the study") -> Study:
        """Build a study from a mapping in the shape of ``study.schema.json``.

        Parameters
        ----------
        d : mapping
            For example the parsed TOML file.
        source : str, default "the study"
            How to name the input in error messages (e.g. the file path).

        Returns
        -------
        Study

        Raises
        ------
        ParameterError
            Every schema violation, with its path in the mapping (e.g.
            ``treatment.kinds[0]``).

        Examples
        --------
        >>> from effekt.study import Study
        >>> s = Study.from_dict({"outcomes": ["neet_share"],
        ...                      "treatment": {"kinds": ["ungdomscafe"]}})
        >>> s.comparison.group
        'never_treated'
        """
        if not isinstance(d, Mapping):
            raise ParameterError(
                f"{source} must be a mapping (a TOML table / dict). Got {type(d).__name__}."
            )
        plain = dict(d)
        validate_study_dict(plain, source)
        treatment = Treatment(**{k: v for k, v in plain["treatment"].items()})
        comparison = Comparison(**dict(plain.get("comparison", {})))
        period = plain.get("period")
        return cls(
            outcomes=tuple(plain["outcomes"]),
            treatment=treatment,
            comparison=comparison,
            population=plain.get("population", "area"),
            period=None if period is None else (int(period[0]), int(period[1])),
            title=plain.get("title"),
            question=plain.get("question"),
            title_da=plain.get("title_da"),
            question_da=plain.get("question_da"),
            denominators=plain.get("denominators"),
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> Study:
        """Read a study from a TOML file (see :func:`load_study`)."""
        return load_study(path)

    @check_keywords
    def run(
        self,
        data: Any,
        designs: Sequence[str] = ("did", "synth", "bayes"),
        *,
        seed: int = 0,
        n_jobs: int = 1,
        event_window: tuple[int, int] = (-5, 5),
        ci_level: float | None = None,
        synth_reps: int = 200,
        bayes_draws: int = 500,
        bayes_tune: int = 500,
        bayes_chains: int = 2,
        bayes_sampler: str = "nutpie",
    ) -> StudyResult:
        """Answer the question with each design and collect the answers.

        For every outcome: ``"did"`` fits Callaway & Sant'Anna's event study and
        overall ATT (comparison per :attr:`comparison`), its pre-trend test and the
        HonestDiD breakdown value (relative magnitudes, average post-treatment
        effect); ``"synth"`` fits staggered synthetic DiD against never-treated
        donors, with the pre-treatment fit and a placebo rank p-value; ``"bayes"``
        fits :class:`effekt.bayes.HierarchicalDiD` and reports R-hat, ESS and
        divergences. Warnings of the estimators are collected in the result's notes.

        With ``population="stayers"`` each start year ``g`` gets its own sub-panel
        (its treated areas and the comparison areas, every indicator over the
        persons resident in the area in ``g - 1``); ``"did"`` fits Callaway &
        Sant'Anna on each and aggregates the cohorts' ATT(g, t) with cohort-size
        weights and cluster-summed influence functions, ``"synth"`` fits synthetic
        DiD per cohort and aggregates as the staggered SDID, and ``"bayes"`` is not
        supported (skipped with a note).

        Parameters
        ----------
        data : effekt.simulate.World or mapping
            A simulated world (the true effect is then attached to every estimate),
            or ``{"area_year": ..., "interventions": ...[, "areas": ...][,
            "stayer_year": ...]}``: tables validated against their schemas. Never
            modified. ``stayer_year`` (needed for ``population="stayers"``) holds
            ``area_year`` rows over the baseline stayers with a ``baseline_year``
            column: ``effekt.registers.area_indicators(registers,
            population="stayers", baseline_year=b).assign(baseline_year=b)`` stacked
            over ``b = g - 1`` for every start year ``g``.
        designs : sequence of {"did", "synth", "bayes"}, default all three
            Designs to run. Without PyMC, ``"bayes"`` is skipped with a note, unless
            it is the only design asked for (then it is an error).
        seed : int, default 0
            Seed of every random step (placebo draws, MCMC, HonestDiD's critical
            values): the same seed gives the same result.
        n_jobs : int, default 1
            Workers for the placebo replications and MCMC chains.
        event_window : tuple of int, default (-5, 5)
            First and last event time reported (leads down to the first, effects up
            to the last); the overall effect averages every post-treatment year.
        ci_level : float, optional
            Interval level; default ``effekt.options["ci_level"]``.
        synth_reps : int, default 200
            Placebo replications of the synthetic DiD.
        bayes_draws, bayes_tune, bayes_chains : int, default 500, 500, 2
            Posterior draws and warm-up iterations per chain, and chains. Small but
            honest: the R-hat and ESS diagnostics say when they are too few.
        bayes_sampler : {"nutpie", "pymc"}, default "nutpie"
            NUTS implementation (see :class:`effekt.bayes.HierarchicalDiD`).

        Returns
        -------
        StudyResult

        Raises
        ------
        ParameterError
            Unknown design, invalid settings, data that are neither a World nor a
            mapping of tables, ``population="stayers"`` on tables without a
            ``stayer_year`` table or with ``designs=("bayes",)``.
        DataError
            Tables violating their schemas; an outcome, intervention kind, funder or
            round absent from the data (the message lists what is present); a period
            outside the data; a ``stayer_year`` table without a baseline year
            the study needs, or with gaps.
        IdentificationError
            No treated area, or an empty comparison group.
        OptionalDependencyError
            ``designs=("bayes",)`` without PyMC.

        Examples
        --------
        >>> from effekt import simulate
        >>> from effekt.study import Study, Treatment
        >>> world = simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)
        >>> study = Study(outcomes=("youth_charged_per_1000",),
        ...               treatment=Treatment(kinds=("lbf_helhedsplan",)))
        >>> res = study.run(world, designs=("did",), event_window=(-3, 2))
        >>> sorted(res.to_frame()["design"].unique())
        ['did']
        """
        from effekt.study._run import run_study

        return run_study(
            self,
            data,
            designs,
            seed=seed,
            n_jobs=n_jobs,
            event_window=event_window,
            ci_level=ci_level,
            synth_reps=synth_reps,
            bayes_draws=bayes_draws,
            bayes_tune=bayes_tune,
            bayes_chains=bayes_chains,
            bayes_sampler=bayes_sampler,
        )


@check_keywords
def load_study(path: str | Path) -> Study:
    """Read a :class:`Study` from a TOML file.

    Parameters
    ----------
    path : str or Path
        A TOML file in the shape of ``data_schemas/study.schema.json``, e.g.
        ``effekt/study/flagship.toml`` (:func:`effekt.study.flagship_study`).

    Returns
    -------
    Study

    Raises
    ------
    ParameterError
        The file does not exist, is not valid TOML (with the line and column), or
        breaks the schema (every problem, with its path in the file).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from effekt.study import load_study
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = p.write_text('outcomes = ["neet_share"]\\n[treatment]\\nkinds = ["ungdomscafe"]\\n')
    >>> load_study(p).treatment.kinds
    ('ungdomscafe',)
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(
            f"The study file {str(p)!r} does not exist. Check the path (relative paths are "
            f"resolved from {str(Path.cwd())!r})."
        )
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # TOML is UTF-8 by definition, but Windows editors save Danish titles as cp1252
        line = raw[: err.start].count(b"\n") + 1
        text = raw.decode("cp1252", errors="replace")
        import warnings

        from effekt.errors import EffektWarning

        warnings.warn(
            f"The study file {str(p)!r} is not UTF-8 (as TOML requires; first odd byte on line "
            f"{line}); read it as Windows-1252. Save it as UTF-8 to silence this.",
            EffektWarning,
            stacklevel=2,
        )
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"The study file {str(p)!r} is not valid TOML: {err}.") from None
    return Study.from_dict(d, source=f"The study file {str(p)!r}")
