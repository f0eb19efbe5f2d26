"""Social inheritance: does exposure to an intervention weaken the parent-child link?

:class:`SocialInheritance` is a multilevel logistic regression of a binary person
outcome (e.g. completing a youth education by 25) on parental education, years of
exposure to interventions before 18 and their interaction, with persons in areas in
kommuner, area-varying intercepts and parental-education slopes. It is fitted on
binomial cells, so a million persons cost no more than the cells they fall into.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from effekt.bayes._common import (
    Diagnostics,
    PredictiveCheck,
    PriorSensitivity,
    PriorSpec,
    check_priors,
    check_sampler,
    describe_priors,
    diagnose,
    make_prior,
    plot_trace,
    posterior_predictive,
    rescale,
    run_prior_sensitivity,
    sample_model,
    scaled_priors,
    stacked,
    summarise_draws,
)
from effekt.bayes._deps import pm, pt
from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    check_choice,
    format_rows,
    invalid_parameter,
    missing_column,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.panel import Ledger
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["SocialInheritance", "SocialInheritanceResult"]

_OWNER = "SocialInheritance"


class SocialInheritance(Estimator):
    """Multilevel logistic model of the parental-education gradient and exposure.

    For person :math:`n` in area :math:`i` of kommune :math:`j`, with parental
    education :math:`p` (indicators of each level against ``reference``) and exposure
    bin :math:`b` (years lived before 18 in an area while an intervention operated,
    binned by ``exposure_bins``; the first bin is the unexposed reference):

    .. math::

        \\operatorname{logit} P(y_n = 1) = \\alpha + \\kappa_j + a_i
            + (\\beta_p + b_{ip}) + \\gamma_b + \\delta_{bp} + x_n'\\eta,

    with kommune intercepts :math:`\\kappa_j \\sim N(0, \\sigma_\\kappa)`, correlated
    area intercepts and parental-education slopes :math:`(a_i, b_{i\\cdot}) \\sim
    N(0, \\Sigma)` (LKJ(2) correlation prior, non-centred Cholesky
    parameterisation), exposure effects :math:`\\gamma_b`, the interaction
    :math:`\\delta_{bp}` (negative for higher parental education: exposure narrows
    the gradient), and zero-sum effects :math:`\\eta` of categorical ``covariates``
    (each level's deviation from the mean over levels; e.g. sex, origin, birth year,
    which also absorbs secular trends in education).

    **Cells.** Every predictor is constant within a cell of area x parental
    education x exposure bin x covariates, so the persons of a cell share one
    probability and their Bernoulli likelihood is exactly a binomial one on the
    cell's count of successes. The model is therefore fitted on cells: 1 million
    persons in 500 areas become at most as many cells as there are distinct
    combinations (a few thousand without covariates), and memory and time depend
    on the cells, not the persons.

    **Gradient change.** Besides the coefficients, the result reports the quantity
    of :attr:`effekt.simulate.Truth.inheritance`: among exposed persons (exposure bin
    other than the first), the difference between each parental-education level and
    the reference in the mean probability of the outcome, as observed and with the
    exposure terms removed, on the probability and the log-odds (of the means)
    scales; ``change`` is their difference (negative: exposure weakens the link).

    Default priors (log-odds scale): ``intercept`` :math:`N(\\operatorname{logit}\\bar
    y, 2.5)`; ``parental`` and ``exposure`` :math:`N(0, 1)`; ``covariates``
    zero-sum normal with scale 1;
    ``interaction`` :math:`N(0, 0.5)`; ``sigma_kommune`` and ``sigma_area``
    (the SDs of the area intercept and slopes) HalfNormal(1).

    Parameters
    ----------
    outcome : str, default "youth_edu_by_25"
        Binary outcome (boolean or 0/1); persons with a missing outcome are dropped
        with a ledger entry (e.g. not yet 25).
    parental : str, default "parental_education"
        Categorical parental education.
    reference : str, default "basic"
        Reference level of ``parental``.
    exposure : str, default "exposure_years"
        Years of exposure before 18 (non-negative).
    exposure_bins : sequence of float, default (0, 1, 4, 8, 19)
        Left-closed bin edges; the first bin is the unexposed reference. The
        default bins are none, 1-3, 4-7 and 8-18 years.
    area, group : str, default "baseline_area_id", "kommune_code"
        Area of each person and the group (kommune) areas are nested in. If
        ``group`` is not a column of the persons, pass ``areas=`` to :meth:`fit`.
    covariates : sequence of str, default ("sex", "origin")
        Categorical person columns entering as zero-sum effects (reported for every
        level as the deviation from the mean over levels). Add ``"birth_year"`` to
        absorb cohort trends.
    priors : mapping, optional
        Replace default priors by name: a positive number sets the scale; scalar
        priors (``intercept``, ``sigma_kommune``) also accept a PyMC ``.dist()``.
    draws, tune, chains, cores, seed, sampler, target_accept, ci_level
        As for :class:`~effekt.bayes.HierarchicalDiD`.

    References
    ----------
    Gelman, A. and Hill, J. (2007). Data Analysis Using Regression and
    Multilevel/Hierarchical Models, ch. 14 (multilevel logistic regression).
    Cambridge University Press. doi:10.1017/CBO9780511790942
    Lewandowski, D., Kurowicka, D. and Joe, H. (2009). Generating random
    correlation matrices based on vines and extended onion method. Journal of
    Multivariate Analysis 100(9), 1989-2001. doi:10.1016/j.jmva.2009.04.008

    Examples
    --------
    >>> import warnings
    >>> import effekt as ek
    >>> from effekt import simulate
    >>> world = simulate.denmark(n_areas=20, years=(2005, 2016), seed=2)
    >>> persons = world.persons.dropna(subset=["youth_edu_by_25", "baseline_area_id"])
    >>> model = ek.bayes.SocialInheritance(sampler="pymc", draws=100, tune=100, chains=2)
    >>> with warnings.catch_warnings():  # 100 draws are too few for the diagnostics
    ...     warnings.simplefilter("ignore", ek.SamplingWarning)
    ...     res = model.fit(persons, areas=world.areas)
    >>> "gradient_change" in set(res.to_frame()["aggregation"])
    True
    """

    def __init__(
        self,
        *,
        outcome: str = "youth_edu_by_25",
        parental: str = "parental_education",
        reference: str = "basic",
        exposure: str = "exposure_years",
        exposure_bins: Sequence[float] = (0, 1, 4, 8, 19),
        area: str = "baseline_area_id",
        group: str = "kommune_code",
        covariates: Sequence[str] = ("sex", "origin"),
        priors: Mapping[str, Any] | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        cores: int | None = None,
        seed: int | None = 0,
        sampler: Literal["nutpie", "pymc"] = "nutpie",
        target_accept: float = 0.9,
        ci_level: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.parental = parental
        self.reference = reference
        self.exposure = exposure
        self.exposure_bins = exposure_bins
        self.area = area
        self.group = group
        self.covariates = covariates
        self.priors = priors
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.seed = seed
        self.sampler = sampler
        self.target_accept = target_accept
        self.ci_level = ci_level

    def fit(  # type: ignore[override]  # persons, not an area panel
        self, persons: pd.DataFrame, *, areas: pd.DataFrame | None = None
    ) -> SocialInheritanceResult:
        """Aggregate the persons to cells and sample the posterior.

        Parameters
        ----------
        persons : pandas.DataFrame
            One row per person (schema ``persons``). Never modified.
        areas : pandas.DataFrame, optional
            Area table with the area column (named as ``area``, or ``area_id``) and
            ``group`` (e.g. ``world.areas``), when the persons lack ``group``.

        Returns
        -------
        SocialInheritanceResult

        Raises
        ------
        ParameterError
            Invalid parameters or priors.
        DataError
            Missing columns, a non-binary outcome, negative exposure, a parental
            education without the reference level, areas without a group.
        IdentificationError
            No exposed or no unexposed person, or all areas in one group.

        Warns
        -----
        DroppedRowsWarning
            Persons without outcome, area, parental education, exposure or covariate.
        SamplingWarning
            When R-hat, ESS or divergences say the posterior is unreliable.
        """
        check_sampler(self, _OWNER)
        cells, specs, priors = self._prepare(persons, areas)
        return self._sample(cells, specs, priors)

    def _sample(
        self, cells: Cells, specs: dict[str, PriorSpec], priors: dict[str, Any]
    ) -> SocialInheritanceResult:
        settings = check_sampler(self, _OWNER)
        level = resolve_level(self.ci_level)
        model = _build(cells, specs, priors)
        idata, used, notes, seconds = sample_model(model, settings)
        monitored = [v.name for v in model.free_RVs] + ["exposed_with", "exposed_without"]
        diagnostics = diagnose(idata, monitored, _OWNER)
        return SocialInheritanceResult(
            idata=idata,
            cells=cells,
            outcome=str(self.outcome),
            level=level,
            diagnostics=diagnostics,
            priors=describe_priors(specs, priors),
            sampler=used,
            notes=notes,
            seconds=seconds,
            ledger=cells.ledger,
            provenance=Provenance(_OWNER, self.get_params(), settings.seed, cells.fingerprint),
            model=model,
            prior_specs=(specs, priors),
        )

    def build(self, persons: pd.DataFrame, *, areas: pd.DataFrame | None = None) -> Any:
        """Build the PyMC model on the cells without sampling it.

        Parameters
        ----------
        persons, areas
            As for :meth:`fit`.

        Returns
        -------
        pymc.Model

        Raises
        ------
        ParameterError, DataError, IdentificationError
            As for :meth:`fit`.
        """
        check_sampler(self, _OWNER)
        cells, specs, priors = self._prepare(persons, areas)
        return _build(cells, specs, priors)

    def prior_predictive(
        self, persons: pd.DataFrame, *, areas: pd.DataFrame | None = None, draws: int = 200
    ) -> PredictiveCheck:
        """Draw cell outcomes from the prior, to check that the priors are sensible.

        Parameters
        ----------
        persons, areas
            As for :meth:`fit`.
        draws : int, default 200

        Returns
        -------
        PredictiveCheck
            Replicated cell shares against the observed ones.

        Raises
        ------
        ParameterError, DataError, IdentificationError
            As for :meth:`fit`.
        """
        if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
            raise invalid_parameter("draws", "prior_predictive", "a positive integer", draws)
        settings = check_sampler(self, _OWNER)
        cells, specs, priors = self._prepare(persons, areas)
        model = _build(cells, specs, priors)
        idata = pm.sample_prior_predictive(draws=draws, model=model, random_seed=settings.seed)
        from effekt._plotting import label

        return PredictiveCheck(
            idata,
            "prior",
            cells.successes / cells.n,
            cells.n,
            f"{self.outcome} ({label('cell_share')})",
        )

    def cells(self, persons: pd.DataFrame, *, areas: pd.DataFrame | None = None) -> pd.DataFrame:
        """The binomial cells the model is fitted on.

        Parameters
        ----------
        persons, areas
            As for :meth:`fit`.

        Returns
        -------
        pandas.DataFrame
            One row per cell: area, group, parental education, exposure bin,
            covariates, ``n`` (persons) and ``successes``. Cells rest on few
            persons: check them with :mod:`effekt.disclosure` before export.

        Raises
        ------
        ParameterError, DataError, IdentificationError
            As for :meth:`fit`.

        Examples
        --------
        >>> import pandas as pd
        >>> import effekt as ek
        >>> persons = pd.DataFrame({
        ...     "youth_edu_by_25": [True, False, True, True],
        ...     "parental_education": ["basic", "basic", "higher", "basic"],
        ...     "exposure_years": [0.0, 0.0, 5.0, 2.0],
        ...     "baseline_area_id": ["a", "a", "a", "b"],
        ...     "kommune_code": [101, 101, 101, 147]})
        >>> cells = ek.bayes.SocialInheritance(covariates=()).cells(persons)
        >>> print(cells[["area", "parental", "exposure_bin", "n", "successes"]])
          area parental exposure_bin  n  successes
        0    a    basic            0  2          1
        1    a   higher          4-7  1          1
        2    b    basic          1-3  1          1
        """
        return self._prepare(persons, areas)[0].frame.copy()

    # ------------------------------------------------------------------ internals
    def _prepare(
        self, persons: pd.DataFrame, areas: pd.DataFrame | None
    ) -> tuple[Cells, dict[str, PriorSpec], dict[str, Any]]:
        self._check_params()
        cells = _aggregate(self, persons, areas)
        p = (cells.successes.sum() + 0.5) / (cells.n.sum() + 1.0)
        specs = {
            "intercept": PriorSpec("normal", 2.5, float(np.log(p / (1 - p))), what="log-odds"),
            "sigma_kommune": PriorSpec("halfnormal", 1.0, what="SD of kommune intercepts"),
            "sigma_area": PriorSpec(
                "halfnormal", 1.0, scalar=False, what="SDs of area intercepts and slopes"
            ),
            "parental": PriorSpec("normal", 1.0, scalar=False, what="parental-education levels"),
            "exposure": PriorSpec("normal", 1.0, scalar=False, what="exposure bins"),
            "interaction": PriorSpec(
                "normal", 0.5, scalar=False, what="exposure x parental education"
            ),
        }
        if cells.covariate_columns:
            specs["covariates"] = PriorSpec("normal", 1.0, scalar=False, what="covariate levels")
        return cells, specs, check_priors(self.priors, specs, _OWNER)

    def _check_params(self) -> None:
        for name in ("outcome", "parental", "exposure", "area", "group"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise invalid_parameter(name, _OWNER, "a column name (str)", value)
        if not isinstance(self.reference, str):
            raise invalid_parameter("reference", _OWNER, "a level (str)", self.reference)
        bins = self.exposure_bins
        ok = (
            isinstance(bins, Sequence)
            and not isinstance(bins, str)
            and len(bins) >= 3
            and all(
                isinstance(b, int | float | np.integer | np.floating) and not isinstance(b, bool)
                for b in bins
            )
            and bins[0] == 0
            and all(b1 > b0 for b0, b1 in itertools.pairwise(bins))
        )
        if not ok:
            raise invalid_parameter(
                "exposure_bins",
                _OWNER,
                "increasing bin edges starting at 0, at least three (two bins)",
                bins,
                "For example (0, 1, 4, 8, 19): none, 1-3, 4-7 and 8-18 years.",
            )
        cov = self.covariates
        if (
            isinstance(cov, str)
            or not isinstance(cov, Sequence)
            or not all(isinstance(c, str) for c in cov)
            or len(set(cov)) != len(cov)
        ):
            raise invalid_parameter("covariates", _OWNER, "a list of distinct column names", cov)


@dataclass(frozen=True)
class Cells:
    """Binomial cells of one SocialInheritance fit."""

    frame: pd.DataFrame
    n: np.ndarray
    successes: np.ndarray
    area_idx: np.ndarray
    group_idx: np.ndarray
    parental_idx: np.ndarray  # 0 = reference
    exposure_idx: np.ndarray  # 0 = unexposed
    covariate_codes: np.ndarray  # cells x covariates: level index
    covariate_levels: list[list[str]]
    covariate_labels: list[str]  # "column[level]" for every level
    covariate_columns: list[str]
    areas: list[str]
    groups: list[str]
    parental_levels: list[str]  # reference first
    exposure_labels: list[str]
    n_persons: int
    ledger: Ledger
    fingerprint: str


def _bin_labels(edges: Sequence[float]) -> list[str]:
    labels = []
    for lo, hi in itertools.pairwise(edges):
        lo_i, hi_i = float(lo), float(hi)
        if hi_i - lo_i == 1 and lo_i.is_integer():
            labels.append(f"{lo_i:g}")
        elif lo_i.is_integer() and hi_i.is_integer():
            labels.append(f"{lo_i:g}-{hi_i - 1:g}")
        else:
            labels.append(f"[{lo_i:g}, {hi_i:g})")
    return labels


def _aggregate(est: SocialInheritance, persons: pd.DataFrame, areas: pd.DataFrame | None) -> Cells:
    if not isinstance(persons, pd.DataFrame):
        raise DataError(
            f"{_OWNER}.fit needs the persons as a pandas DataFrame; got {type(persons).__name__}."
        )
    covs = list(est.covariates)
    needed = {
        "outcome": est.outcome,
        "parental": est.parental,
        "exposure": est.exposure,
        "area": est.area,
    }
    for role, col in needed.items():
        if col not in persons.columns:
            raise missing_column(role, _OWNER, col, list(persons.columns))
    for col in covs:
        if col not in persons.columns:
            raise missing_column("covariates", _OWNER, col, list(persons.columns))
    cols = [est.outcome, est.parental, est.exposure, est.area, *covs]
    if est.group in persons.columns:
        cols.append(est.group)
    df = persons.loc[:, list(dict.fromkeys(cols))].copy()
    n_input = len(df)
    if est.group not in persons.columns:
        if areas is None:
            raise DataError(
                f"The persons have no {est.group!r} column; pass the area table as "
                f"fit(..., areas=world.areas) so that each area gets its group, or name "
                "another column with group=..."
            )
        key = est.area if est.area in areas.columns else "area_id"
        for col in (key, est.group):
            if col not in areas.columns:
                raise missing_column("areas", _OWNER, col, list(areas.columns))
        lookup = areas.loc[:, [key, est.group]].drop_duplicates(subset=[key])
        lookup = lookup.assign(**{key: lookup[key].astype(str)})
        df = df.assign(_area_key=df[est.area].astype(str).where(df[est.area].notna()))
        df = df.merge(lookup.rename(columns={key: "_area_key"}), on="_area_key", how="left").drop(
            columns="_area_key"
        )
        df.index = persons.index
        orphan = df[est.area].notna() & df[est.group].isna()
        if orphan.any():
            raise DataError(
                f"{int(orphan.sum())} person(s) live in areas missing from the area table, "
                f"e.g. {df.loc[orphan, est.area].unique()[:3].tolist()}; every area needs its "
                f"{est.group!r}."
            )

    # outcome: boolean or 0/1
    y = df[est.outcome]
    if pd.api.types.is_bool_dtype(y):
        yv = y.astype("float64")
    elif pd.api.types.is_numeric_dtype(y):
        yv = y.astype("float64")
        bad = yv.notna() & ~yv.isin([0.0, 1.0])
        if bad.any():
            raise DataError(
                f"The outcome {est.outcome!r} of {_OWNER} must be binary (boolean or 0/1); "
                f"{int(bad.sum())} value(s) are not. First offending rows:\n"
                f"{format_rows(persons.loc[bad[bad].index, [est.outcome]])}"
            )
    else:
        raise DataError(
            f"The outcome {est.outcome!r} of {_OWNER} must be boolean or 0/1; it has dtype "
            f"{y.dtype}."
        )
    x = df[est.exposure]
    if pd.api.types.is_bool_dtype(x) or not pd.api.types.is_numeric_dtype(x):
        raise DataError(
            f"The exposure {est.exposure!r} of {_OWNER} must be numeric (years); it has "
            f"dtype {x.dtype}."
        )
    xv = x.astype("float64")
    negative = xv < 0
    if negative.any():
        raise DataError(
            f"The exposure {est.exposure!r} must be non-negative years; {int(negative.sum())} "
            f"value(s) are negative. First offending rows:\n"
            f"{format_rows(persons.loc[negative[negative].index, [est.exposure]])}"
        )
    edges = [float(b) for b in est.exposure_bins]
    beyond = xv >= edges[-1]
    if beyond.any():
        raise DataError(
            f"{int(beyond.sum())} exposure value(s) are at or above the last bin edge "
            f"{edges[-1]:g}; extend exposure_bins (e.g. end at 19 for 0-18 years)."
        )

    # drops: missing outcome (e.g. not yet observed at 25), area, or other inputs
    reasons = pd.Series("", index=df.index, dtype=object)
    for role, col in [
        ("outcome", est.outcome),
        ("area", est.area),
        ("parental", est.parental),
        ("exposure", est.exposure),
        *(("covariate", c) for c in covs),
    ]:
        isna = df[col].isna()
        reasons[isna] = reasons[isna] + f"missing {role} {col!r}; "
    bad = reasons != ""
    ledger = Ledger.empty()
    if bad.any():
        ledger = ledger.extend(
            pd.DataFrame(
                {
                    "row": df.index[bad],
                    "unit": df.loc[bad, est.area].to_numpy(),
                    "time": pd.NA,
                    "reason": reasons[bad].str.rstrip("; ").to_numpy(),
                }
            )
        )
        counts = reasons[bad].str.rstrip("; ").value_counts()
        warnings.warn(
            f"{_OWNER}: dropped {int(bad.sum()):,} of {n_input:,} persons: "
            + "; ".join(f"{v:,} {k}" for k, v in counts.items())
            + ". See result.ledger. Filter the persons first to silence this.",
            DroppedRowsWarning,
            stacklevel=4,
        )
    keep = ~bad
    df = df.loc[keep]
    yv = yv[keep]
    xv = xv[keep]
    if df.empty:
        raise DataError(f"{_OWNER}: no person has all of {cols}; there is nothing to fit.")

    levels = sorted(df[est.parental].astype(str).unique())
    if est.reference not in levels:
        raise DataError(
            f"The reference level {est.reference!r} does not occur in {est.parental!r} "
            f"(levels: {levels}); choose reference=... among them."
        )
    if len(levels) < 2:
        raise IdentificationError(
            f"{est.parental!r} has a single level {levels}; there is no gradient to estimate."
        )
    levels = [est.reference, *[lv for lv in levels if lv != est.reference]]
    labels = _bin_labels(edges)
    bin_idx = np.searchsorted(np.asarray(edges), xv.to_numpy(), side="right") - 1
    if not (bin_idx == 0).any() or (bin_idx == 0).all():
        raise IdentificationError(
            f"{_OWNER} needs both unexposed persons ({est.exposure} < {edges[1]:g}) and exposed "
            f"ones; the data have {int((bin_idx == 0).sum()):,} unexposed of {len(bin_idx):,}."
        )
    exposed_levels = set(df.loc[bin_idx > 0, est.parental].astype(str))
    lacking = [lv for lv in levels if lv not in exposed_levels]
    if lacking:
        raise IdentificationError(
            f"No exposed person has parental education {lacking}; the gradient among the "
            "exposed needs every level. Merge sparse levels or widen the exposure bins."
        )
    cells_in = pd.DataFrame(
        {
            "area": df[est.area].astype(str).to_numpy(),
            "group": df[est.group].astype(str).to_numpy(),
            "parental": df[est.parental].astype(str).to_numpy(),
            "exposure_bin": np.asarray(labels, dtype=object)[bin_idx],
            "_bin": bin_idx,
            **{c: df[c].astype(str).to_numpy() for c in covs},
            "_y": yv.to_numpy(),
        }
    )
    keys = ["area", "group", "parental", "exposure_bin", "_bin", *covs]
    cells = cells_in.groupby(keys, sort=True, as_index=False).agg(
        n=("_y", "size"), successes=("_y", "sum")
    )
    nested = cells.groupby("area")["group"].nunique()
    if (nested > 1).any():
        raise DataError(
            f"Areas must be nested in groups, but {int((nested > 1).sum())} area(s) belong to "
            f"several {est.group!r} values, e.g. {nested[nested > 1].index[:3].tolist()}."
        )
    if cells["group"].nunique() < 2:
        raise IdentificationError(
            f"{_OWNER} needs areas in at least two groups ({est.group!r}) to pool the group "
            "intercepts; all persons live in one. For a single kommune use group=... with "
            "sub-groups."
        )
    area_names = sorted(cells["area"].unique())
    group_names = sorted(cells["group"].unique())
    cov_levels = [sorted(cells[c].unique()) for c in covs]
    codes = np.zeros((len(cells), len(covs)), np.int64)
    for j, c in enumerate(covs):
        codes[:, j] = pd.Index(cov_levels[j]).get_indexer(cells[c])
    labels_cov = [
        f"{c}[{lv}]" for c, levels_c in zip(covs, cov_levels, strict=True) for lv in levels_c
    ]
    frame = cells.drop(columns="_bin")
    frame["successes"] = frame["successes"].astype(np.int64)
    h = hashlib.sha256(repr((keys, levels, labels)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return Cells(
        frame=frame.reset_index(drop=True),
        n=cells["n"].to_numpy(dtype=np.int64),
        successes=cells["successes"].to_numpy(dtype=np.int64),
        area_idx=pd.Index(area_names).get_indexer(cells["area"]),
        group_idx=pd.Index(group_names).get_indexer(cells["group"]),
        parental_idx=pd.Index(levels).get_indexer(cells["parental"]),
        exposure_idx=cells["_bin"].to_numpy(dtype=np.int64),
        covariate_codes=codes,
        covariate_levels=cov_levels,
        covariate_labels=labels_cov,
        covariate_columns=covs,
        areas=area_names,
        groups=group_names,
        parental_levels=levels,
        exposure_labels=labels,
        n_persons=int(cells["n"].sum()),
        ledger=ledger,
        fingerprint=h.hexdigest()[:16],
    )


def _build(c: Cells, specs: Mapping[str, PriorSpec], priors: Mapping[str, Any]) -> Any:
    n_par = len(c.parental_levels)
    coords: dict[str, Any] = {
        "cell": np.arange(len(c.n)),
        "area": c.areas,
        "group": c.groups,
        "parental_level": c.parental_levels[1:],
        "exposure_bin": c.exposure_labels[1:],
        "area_term": ["intercept", *[f"parental[{lv}]" for lv in c.parental_levels[1:]]],
        "area_term_bis": ["intercept", *[f"parental[{lv}]" for lv in c.parental_levels[1:]]],
        "level": c.parental_levels,
    }
    for col, levels_c in zip(c.covariate_columns, c.covariate_levels, strict=True):
        coords[f"{col}_level"] = levels_c

    def prior(name: str, dims: Any = None) -> Any:
        return make_prior(name, specs[name], priors, dims=dims)

    sd_scale = float(priors.get("sigma_area", specs["sigma_area"].scale))
    # the persons outside the reference levels: index into the contrast vectors
    par = c.parental_idx
    exp = c.exposure_idx
    has_par = par > 0
    has_exp = exp > 0
    par_i = np.where(has_par, par - 1, 0)
    exp_i = np.where(has_exp, exp - 1, 0)
    inter_i = exp_i * (n_par - 1) + par_i
    with pm.Model(coords=coords) as model:
        intercept = prior("intercept")
        sigma_kommune = prior("sigma_kommune")
        z_kommune = pm.Normal("z_kommune", 0.0, 1.0, dims="group")
        chol, corr, sds = pm.LKJCholeskyCov(
            "area_cov",
            n=n_par,
            eta=2.0,
            sd_dist=pm.HalfNormal.dist(sd_scale, shape=n_par),
            compute_corr=True,
        )
        pm.Deterministic("sigma_area", sds, dims="area_term")
        pm.Deterministic("area_corr", corr, dims=("area_term", "area_term_bis"))
        z_area = pm.Normal("z_area", 0.0, 1.0, dims=("area", "area_term"))
        area_terms = pt.dot(z_area, chol.T)  # areas x (intercept, slopes)
        parental = prior("parental", dims="parental_level")
        exposure = prior("exposure", dims="exposure_bin")
        interaction = prior("interaction", dims=("exposure_bin", "parental_level"))
        slope = parental[par_i] + area_terms.flatten()[c.area_idx * n_par + par]
        exposure_term = pt.where(
            has_exp,
            exposure[exp_i] + pt.where(has_par, interaction.flatten()[inter_i], 0.0),
            0.0,
        )
        eta = (
            intercept
            + (sigma_kommune * z_kommune)[c.group_idx]
            + area_terms[:, 0][c.area_idx]
            + pt.where(has_par, slope, 0.0)
            + exposure_term
        )
        # zero-sum effects of the categorical covariates: no level is a reference, so the
        # intercept is not correlated with them (much faster sampling than dummies)
        cov_scale = (
            float(priors.get("covariates", specs["covariates"].scale))
            if (c.covariate_columns)
            else 1.0
        )
        for j, col in enumerate(c.covariate_columns):
            if len(c.covariate_levels[j]) < 2:
                continue
            effect = pm.ZeroSumNormal(f"effect_{col}", sigma=cov_scale, dims=f"{col}_level")
            eta = eta + effect[c.covariate_codes[:, j]]
        pm.Binomial("y", n=c.n, logit_p=eta, observed=c.successes, dims="cell")
        # mean probabilities of the exposed, by parental level, with and without exposure
        exposed = np.flatnonzero(has_exp)
        onehot = np.zeros((len(exposed), n_par))
        onehot[np.arange(len(exposed)), par[exposed]] = c.n[exposed]
        weight = onehot / onehot.sum(axis=0, keepdims=True).clip(min=1.0)
        p_with = pm.math.invlogit(eta[exposed])
        p_without = pm.math.invlogit(eta[exposed] - exposure_term[exposed])
        pm.Deterministic("exposed_with", pt.dot(p_with, weight), dims="level")
        pm.Deterministic("exposed_without", pt.dot(p_without, weight), dims="level")
    return model


class SocialInheritanceResult(Result):
    """Posterior of :class:`SocialInheritance`.

    Attributes
    ----------
    idata : arviz.InferenceData
    diagnostics : Diagnostics
    priors : pandas.DataFrame
    cells : pandas.DataFrame
        The binomial cells fitted (person-level data never enter the result).
    n_persons : int
    sampler : str
    seconds : float
    """

    title = "Social inheritance: multilevel logistic model"

    def __init__(
        self,
        *,
        idata: Any,
        cells: Cells,
        outcome: str,
        level: float,
        diagnostics: Diagnostics,
        priors: pd.DataFrame,
        sampler: str,
        notes: list[str],
        seconds: float,
        ledger: Ledger,
        provenance: Provenance,
        model: Any,
        prior_specs: tuple[dict[str, PriorSpec], dict[str, Any]],
    ) -> None:
        self.idata = idata
        self.outcome = outcome
        self.level = level
        self.diagnostics = diagnostics
        self.priors = priors
        self.cells = cells.frame.copy()
        self.n_persons = cells.n_persons
        self.sampler = sampler
        self.notes = list(notes)
        self.seconds = seconds
        self.ledger = ledger
        self.provenance = provenance
        self._cells = cells
        self._model = model
        self._prior_specs = prior_specs
        self._freeze()

    def gradient_change(self) -> pd.DataFrame:
        """Change in the parental-education gradient among the exposed, with draws summarised.

        Returns
        -------
        pandas.DataFrame
            One row per non-reference level and scale (``probability``, ``log_odds``):
            ``contrast, scale, without_exposure, with_exposure, change`` (posterior
            means) and the change's ``std_error, ci_lower, ci_upper``; the same
            layout as :attr:`effekt.simulate.Truth.inheritance`.
        """
        rows = []
        for key, draws in self._gradient_draws().items():
            contrast, scale = key
            s = summarise_draws(draws["change"], self.level)
            rows.append(
                {
                    "contrast": contrast,
                    "scale": scale,
                    "without_exposure": float(draws["without"].mean()),
                    "with_exposure": float(draws["with"].mean()),
                    "change": float(s["estimate"]),
                    "std_error": float(s["std_error"]),
                    "ci_lower": float(s["ci_lower"]),
                    "ci_upper": float(s["ci_upper"]),
                    "prob_positive": float(s["prob_positive"]),
                }
            )
        return pd.DataFrame(rows)

    def _gradient_draws(self) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        with_ = stacked(self.idata, "exposed_with")
        without = stacked(self.idata, "exposed_without")
        ref = self._cells.parental_levels[0]

        def logit(p: np.ndarray) -> np.ndarray:
            return np.log(p / (1.0 - p))

        out = {}
        for j, lv in enumerate(self._cells.parental_levels[1:], start=1):
            contrast = f"{lv}_vs_{ref}"
            for scale, f in (("probability", lambda p: p), ("log_odds", logit)):
                w = f(with_[:, j]) - f(with_[:, 0])
                wo = f(without[:, j]) - f(without[:, 0])
                out[(contrast, scale)] = {"with": w, "without": wo, "change": w - wo}
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``outcome, design, estimator, aggregation, term``, values, extras.

        ``coefficient`` rows hold the log-odds coefficients (parental levels,
        exposure bins, their interactions, covariates); ``gradient_change`` rows the
        change in the parental gradient among the exposed (see
        :meth:`gradient_change`). Extra columns ``scale`` and ``prob_positive``.
        """
        c = self._cells
        names: list[str] = []
        columns: list[np.ndarray] = []
        for lv_i, lv in enumerate(c.parental_levels[1:]):
            names.append(f"parental[{lv}]")
            columns.append(stacked(self.idata, "parental")[:, lv_i])
        for b_i, b in enumerate(c.exposure_labels[1:]):
            names.append(f"exposure[{b}]")
            columns.append(stacked(self.idata, "exposure")[:, b_i])
        inter = stacked(self.idata, "interaction")
        for b_i, b in enumerate(c.exposure_labels[1:]):
            for lv_i, lv in enumerate(c.parental_levels[1:]):
                names.append(f"exposure[{b}]:parental[{lv}]")
                columns.append(inter[:, b_i, lv_i])
        for col, levels_c in zip(c.covariate_columns, c.covariate_levels, strict=True):
            if len(levels_c) < 2:
                continue
            draws = stacked(self.idata, f"effect_{col}")
            for j, lv in enumerate(levels_c):
                names.append(f"{col}[{lv}]")
                columns.append(draws[:, j])
        coef = summarise_draws(np.column_stack(columns), self.level)
        grads = self._gradient_draws()
        g_draws = np.column_stack([v["change"] for v in grads.values()])
        g = summarise_draws(g_draws, self.level)
        n_coef, n_grad = len(names), len(grads)
        keys = {
            "outcome": self.outcome,
            "design": "bayes",
            "estimator": _OWNER,
            "aggregation": ["coefficient"] * n_coef + ["gradient_change"] * n_grad,
            "term": names + [contrast for contrast, _ in grads],
        }
        stack = {k: np.concatenate([coef[k], g[k]]) for k in coef}
        return tidy_effects(
            keys,
            stack["estimate"],
            stack["std_error"],
            level=self.level,
            ci_lower=stack["ci_lower"],
            ci_upper=stack["ci_upper"],
            p_value=np.full(n_coef + n_grad, np.nan),
            extra={
                "scale": ["log_odds"] * n_coef + [scale for _, scale in grads],
                "prob_positive": stack["prob_positive"],
            },
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        c = self._cells
        info = [
            ("Outcome", self.outcome),
            ("Persons / cells", f"{self.n_persons:,} / {len(c.n):,}"),
            ("Areas / groups", f"{len(c.areas):,} / {len(c.groups):,}"),
            ("Parental education", " < ".join(c.parental_levels) + " (first: reference)"),
            ("Exposure bins (years)", ", ".join(c.exposure_labels) + " (first: reference)"),
            ("Covariates", ", ".join(c.covariate_columns) or "none"),
            ("Sampler", f"{self.sampler}, {self.seconds:.1f} s"),
            ("Diagnostics", self.diagnostics.describe()),
            ("Intervals", f"{self.level:.0%} equal-tailed credible intervals"),
        ]
        info += [("Note", n) for n in self.notes]
        info += [("Problem", p) for p in self.diagnostics.problems]
        return info

    def plot(
        self,
        ax: Axes | None = None,
        *,
        kind: Literal["forest", "gradient", "ppc", "trace"] = "forest",
        var_name: str = "interaction",
    ) -> Axes:
        """Draw the result.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        kind : {"forest", "gradient", "ppc", "trace"}, default "forest"
            ``"forest"``: the log-odds coefficients with credible intervals;
            ``"gradient"``: the parental gradient among the exposed with and
            without exposure (log-odds); ``"ppc"``: observed cell shares against
            replicated ones; ``"trace"``: the chains of ``var_name``.
        var_name : str, default "interaction"
            Parameter for ``kind="trace"``.

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        ParameterError
            Unknown ``kind`` or ``var_name``.
        """
        from effekt._plotting import label, new_axes

        check_choice(
            "kind", "SocialInheritanceResult.plot", kind, ("forest", "gradient", "ppc", "trace")
        )
        if kind == "trace":
            return plot_trace(self.idata, var_name, ax)
        if kind == "ppc":
            return self.posterior_predictive().plot(ax)
        ax = new_axes(ax)
        if kind == "gradient":
            table = self.gradient_change()
            table = table[table["scale"] == "log_odds"].reset_index(drop=True)
            x = np.arange(len(table))
            ax.bar(
                x - 0.2,
                table["without_exposure"],
                0.4,
                color="#9ecae1",
                label=label("without_exposure"),
            )
            ax.bar(
                x + 0.2, table["with_exposure"], 0.4, color="#08519c", label=label("with_exposure")
            )
            ax.set_xticks(x, table["contrast"].tolist())
            ax.set_ylabel(label("parental_gradient"))
            ax.set_title(f"{label('parental_gradient')}: {self.outcome}")
            ax.legend(frameon=False)
            return ax
        table = self.to_frame()
        rows = table[table["aggregation"] == "coefficient"].iloc[::-1]
        y = np.arange(len(rows))
        ax.errorbar(
            rows["estimate"],
            y,
            xerr=[rows["estimate"] - rows["ci_lower"], rows["ci_upper"] - rows["estimate"]],
            fmt="o",
            color="#08519c",
            capsize=3,
            label=label("credible_interval", level=self.level),
        )
        ax.axvline(0.0, color="0.6", lw=0.8)
        ax.set_yticks(y, rows["term"].tolist())
        ax.set_xlabel(label("coefficient") + " (log-odds)")
        ax.set_title(f"{self.title}: {self.outcome}")
        ax.legend(frameon=False)
        return ax

    def prior_sensitivity(
        self, scales: Sequence[float] = (0.5, 1.0, 2.0), *, priors: Sequence[str] | None = None
    ) -> PriorSensitivity:
        """Refit with every prior scale multiplied by each factor and compare the gradient.

        As :meth:`HierarchicalDiDResult.prior_sensitivity
        <effekt.bayes.HierarchicalDiDResult.prior_sensitivity>`: same cells, sampler
        settings and seed; factor 1 is this fit. The compared rows are the
        ``gradient_change`` rows of :meth:`to_frame` and the interaction
        coefficients.

        Parameters
        ----------
        scales : sequence of float, default (0.5, 1.0, 2.0)
            Positive, distinct factors.
        priors : sequence of str, optional
            The priors to scale (names as in :attr:`priors`); default all that have
            a scale.

        Returns
        -------
        PriorSensitivity

        Raises
        ------
        ParameterError
            Non-positive or repeated factors, unknown or unscalable prior names.
        """
        specs, user = self._prior_specs
        names, factors = scaled_priors(specs, user, priors, scales, "prior_sensitivity")
        params = dict(self.provenance.params)

        def refit(factor: float) -> SocialInheritanceResult:
            new = rescale(specs, user, names, factor)
            est = SocialInheritance(**{**params, "priors": new})
            return est._sample(self._cells, specs, check_priors(new, specs, _OWNER))

        def rows(res: SocialInheritanceResult) -> pd.DataFrame:
            t = res.to_frame()
            keep = (t["aggregation"] == "gradient_change") | t["term"].str.contains(":")
            t = t[keep]
            return t.assign(effect=t["term"] + " (" + t["scale"] + ")")

        return run_prior_sensitivity(self, refit, factors, names, rows, "effect")

    def posterior_predictive(self, *, draws: int = 100) -> PredictiveCheck:
        """Replicate the cell outcomes from the posterior (used by ``plot(kind="ppc")``).

        Parameters
        ----------
        draws : int, default 100
            Posterior draws to replicate from (thinned evenly over the chains).

        Returns
        -------
        PredictiveCheck
        """
        if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
            raise invalid_parameter("draws", "posterior_predictive", "a positive integer", draws)
        pp = posterior_predictive(self.idata, self._model, draws, self.provenance.seed)
        from effekt._plotting import label

        c = self._cells
        return PredictiveCheck(
            pp, "posterior", c.successes / c.n, c.n, f"{self.outcome} ({label('cell_share')})"
        )
