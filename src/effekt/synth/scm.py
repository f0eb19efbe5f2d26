"""Classic synthetic control (Abadie, Diamond & Hainmueller) with exact, robust weights.

One treated unit: donor weights W on the simplex make the synthetic unit's
predictors match the treated unit's, with predictor weights V chosen so that
the synthetic unit also tracks the pre-treatment outcome path (nested V/W
optimisation, as in R Synth). Several treated units (a helhedsplan round that
treats many areas, possibly at different times): each gets its own synthetic
control from the never-treated donors ("separate"), and the gaps are averaged
by event time with equal unit weights ("pooled").
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from effekt.errors import AssumptionWarning, invalid_parameter
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.parallel import parallel_map
from effekt.results import Provenance
from effekt.synth import _prep
from effekt.synth._core import fit_unit
from effekt.synth.results import SyntheticControlResult

if TYPE_CHECKING:  # pragma: no cover
    from effekt.panel import Panel

__all__ = ["SyntheticControl"]

_OWNER = "SyntheticControl"


class SyntheticControl(Estimator):
    """Synthetic control method of Abadie, Diamond & Hainmueller (2010).

    The treated unit's counterfactual is a convex combination of donors,
    :math:`\\hat Y_{1t}(0) = \\sum_j w_j Y_{jt}`, with :math:`w \\ge 0`,
    :math:`\\sum_j w_j = 1`. For predictor weights :math:`V` the donor weights
    minimise :math:`(X_1 - X_0 w)' V (X_1 - X_0 w)` (predictors standardised by
    their standard deviation across units, as in R Synth); :math:`V` minimises
    the pre-treatment outcome MSPE of the resulting synthetic unit. The inner
    problem is solved exactly (active-set algorithms), the outer one first by
    checking, with a linear programme, whether the outcome-only optimum is
    attainable (then it is a certified global optimum; Becker & Klößner 2018),
    else by L-BFGS-B on the exact gradient from many deterministic and seeded
    starts, keeping the best point evaluated. Predictors and donors are put in
    one canonical order first, so weights, V and placebo ranks do not depend
    on the order in which they are listed; see :mod:`effekt.synth._core`.

    Parameters
    ----------
    treated : unit label, list of labels, or None
        The treated unit(s). None: every unit the panel marks as treated
        (through its ``treatment``/``cohort`` columns).
    treatment_time : period, optional
        First treated period (e.g. 1989 for Proposition 99). Default: each
        treated unit's cohort in the panel. With several treated units it must
        be None (each unit's own cohort is used) or one period for all.
    predictors : mapping, optional
        ``column -> periods``: one predictor per entry, the unit's mean of the
        column over the periods, skipping missing years (as R Synth). Periods
        are a ``(first, last)`` window, a list of periods, or None (all
        pre-treatment periods). Columns other than the outcome must be
        covariates of the panel (``Panel.from_frame(..., covariates=[...],
        missing="keep")`` keeps rows where they are missing). A sequence of
        ``(column, periods)`` pairs allows the same column twice.
    special_predictors : mapping, optional
        ``column -> list of periods``: one predictor per listed period, e.g.
        lagged outcomes ``{"cigsale": [1975, 1980, 1988]}``; a ``(first, last)``
        tuple in the list is one predictor averaged over that window. Without
        ``predictors`` and ``special_predictors`` the outcome in every
        pre-treatment period is the predictor set.
    optimize_v : bool, default True
        Search the predictor weights V. False: use ``v`` as given, or equal
        weights on the standardised predictors.
    v : sequence or mapping of float, optional
        Predictor weights (in predictor order, or by predictor label). With
        ``optimize_v=True`` it is an extra starting point of the search; with
        False, the V used.
    loss_periods : tuple, optional
        ``(first, last)`` window of pre-treatment periods whose outcome MSPE the
        V search minimises. Default: all pre-treatment periods. ADH (2015) use a
        training window to choose V by cross-validation (see the Germany test).
    donors : list of unit labels, optional
        The donor pool. Default: every unit except the treated ones and units
        the panel marks as treated at any time. Listing a donor that is itself
        treated within the panel raises an error. See :mod:`effekt.synth.donors`
        for helpers (same kommune/region, most similar areas).
    standardize : bool, default True
        Divide each predictor by its standard deviation across units.
    n_starts : int, default 8
        Random starting points of the V search, in addition to equal weights,
        inverse-variance weights, R Synth's regression-based start, the
        vertices, ``v`` and the best of a seeded screening of V.
    seed : int, default 0
        Seed of the random starts and of resampling in inference methods.
    n_jobs : int, default 1
        Workers for placebo loops and multiple treated units
        (:func:`effekt.parallel.parallel_map`; Dask/Ray via joblib backends).
    ci_level : float, optional
        Interval level of inference methods; default
        ``effekt.options["ci_level"]``.

    References
    ----------
    Abadie, A. and Gardeazabal, J. (2003). The economic costs of conflict: a
    case study of the Basque Country. American Economic Review 93(1), 113-132.
    doi:10.1257/000282803321455188
    Abadie, A., Diamond, A. and Hainmueller, J. (2010). Synthetic control
    methods for comparative case studies: estimating the effect of California's
    tobacco control program. Journal of the American Statistical Association
    105(490), 493-505. doi:10.1198/jasa.2009.ap08746
    Abadie, A., Diamond, A. and Hainmueller, J. (2015). Comparative politics and
    the synthetic control method. American Journal of Political Science 59(2),
    495-510. doi:10.1111/ajps.12116
    Becker, M. and Klößner, S. (2018). Fast and reliable computation of
    generalized synthetic controls. Econometrics and Statistics 5, 1-19.
    doi:10.1016/j.ecosta.2017.08.002
    Abadie, A. (2021). Using synthetic controls: feasibility, data requirements,
    and methodological aspects. Journal of Economic Literature 59(2), 391-425.
    doi:10.1257/jel.20191450

    Examples
    --------
    >>> import warnings
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("prop99")
    >>> panel = ek.Panel.from_frame(df, unit="state", time="year", outcome="cigsale")
    >>> res = ek.synth.SyntheticControl(treated="California", treatment_time=1989,
    ...                                 special_predictors={"cigsale": [1975, 1980, 1988]},
    ...                                 optimize_v=False).fit(panel)
    >>> round(float(res.weights.sum()), 6)
    1.0
    >>> float(res.to_frame()["time"].iloc[0])
    1989.0
    """

    def __init__(
        self,
        *,
        treated: Any = None,
        treatment_time: Any = None,
        predictors: Mapping[str, Any] | Sequence[Any] | None = None,
        special_predictors: Mapping[str, Any] | None = None,
        optimize_v: bool = True,
        v: Sequence[float] | Mapping[str, float] | None = None,
        loss_periods: tuple[Any, Any] | None = None,
        donors: Sequence[Any] | None = None,
        standardize: bool = True,
        n_starts: int = 8,
        seed: int = 0,
        n_jobs: int = 1,
        ci_level: float | None = None,
    ) -> None:
        self.treated = treated
        self.treatment_time = treatment_time
        self.predictors = predictors
        self.special_predictors = special_predictors
        self.optimize_v = optimize_v
        self.v = v
        self.loss_periods = loss_periods
        self.donors = donors
        self.standardize = standardize
        self.n_starts = n_starts
        self.seed = seed
        self.n_jobs = n_jobs
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> SyntheticControlResult:
        """Fit the synthetic control(s) to ``panel``.

        Parameters
        ----------
        panel : effekt.Panel
            Long panel; predictors other than the outcome must be its covariates.

        Returns
        -------
        SyntheticControlResult

        Raises
        ------
        ParameterError
            Invalid parameters, a predictor window reaching into treated periods.
        DataError
            Unknown units or columns, a treated unit with missing pre-treatment
            outcomes, a predictor window without data for some unit.
        IdentificationError
            A treatment time outside the panel, fewer than 2 donors, a donor that
            is itself treated.
        """
        level = resolve_level(self.ci_level)
        self._check_params()
        treated = _prep.resolve_treated(panel, self.treated, _OWNER)
        datas = []
        for unit in treated:
            time = _prep.treatment_time_for(panel, unit, self.treatment_time, _OWNER)
            datas.append(
                _prep.build(
                    panel,
                    treated=unit,
                    treatment_time=time,
                    donors=self.donors,
                    predictors=self.predictors,
                    special_predictors=self.special_predictors,
                    loss_periods=self.loss_periods,
                    owner=_OWNER,
                    exclude=treated,
                )
            )
        settings = self._settings(datas[0])
        fits = parallel_map(
            fit_unit,
            datas,
            n_jobs=self.n_jobs if len(datas) > 1 else 1,
            desc="synthetic controls",
            extra=(settings,),
            progress=False if len(datas) < 5 else None,
        )
        for data, fit in zip(datas, fits, strict=True):
            _check_hull(data, fit.w)
        return SyntheticControlResult(
            estimator=self,
            settings=settings,
            panel=panel,
            datas=datas,
            fits=fits,
            level=level,
            provenance=Provenance(_OWNER, self.get_params(), self.seed, panel.fingerprint),
        )

    def _check_params(self) -> None:
        for name in ("optimize_v", "standardize"):
            if not isinstance(getattr(self, name), bool):
                raise invalid_parameter(name, _OWNER, "True or False", getattr(self, name))
        if (
            isinstance(self.n_starts, bool)
            or not isinstance(self.n_starts, int)
            or self.n_starts < 0
        ):
            raise invalid_parameter("n_starts", _OWNER, "a non-negative integer", self.n_starts)
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int | np.integer)
            or self.seed < 0
        ):
            raise invalid_parameter("seed", _OWNER, "a non-negative integer", self.seed)

    def _settings(self, data: _prep.SynthData) -> dict[str, Any]:
        labels = [p.label for p in data.predictors]
        v: Any = self.v
        if v is not None:
            if isinstance(v, Mapping):
                unknown = [k for k in v if k not in labels]
                if unknown:
                    raise invalid_parameter(
                        "v", _OWNER, f"a mapping over the predictor labels {labels}", v
                    )
                v = [v.get(k, 0.0) for k in labels]
            expected = (
                f"{len(labels)} finite, non-negative weights, not all zero (one per predictor: "
                f"{labels})"
            )
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                raise invalid_parameter("v", _OWNER, expected, self.v) from None
            if arr.shape == (len(labels),) and not np.isfinite(arr).all():
                # NaN passes every comparison below and would put all weight on one donor
                raise invalid_parameter(
                    "v",
                    _OWNER,
                    expected,
                    self.v,
                    "Pass a number for every predictor (0 to ignore one), or v=None.",
                )
            if arr.shape != (len(labels),) or (arr < 0).any() or arr.sum() <= 0:
                raise invalid_parameter("v", _OWNER, expected, self.v)
            v = arr
        return {
            "optimize_v": self.optimize_v,
            "v_start": v,
            "n_starts": self.n_starts,
            "seed": int(self.seed),
            "standardize": self.standardize,
        }


def _check_hull(data: _prep.SynthData, w: np.ndarray) -> None:
    """Warn when the treated unit lies outside the donors' range in most pre-periods."""
    pre = data.pre
    y1, y0 = data.y1[pre], data.y0[pre]
    above = y1 > y0.max(axis=1)
    below = y1 < y0.min(axis=1)
    share = float(np.mean(above | below))
    if share < 0.5:
        return
    side = "above every donor" if above.sum() >= below.sum() else "below every donor"
    gap = float(np.sqrt(np.mean((y1 - y0 @ w) ** 2)))
    warnings.warn(
        f"SyntheticControl: the treated unit {data.treated!r} lies outside the convex hull of "
        f"its donors: its outcome is {side} in {share:.0%} of pre-treatment periods, so no "
        f"weighted average of donors can reproduce it (pre-treatment RMSPE {gap:.3g}) and the "
        "synthetic control is biased towards the donors. Consider AugmentedSynth (ridge bias "
        "correction), SyntheticDiD (allows a level difference), a donor pool that brackets the "
        "treated unit, or an outcome in differences or per-unit indices.",
        AssumptionWarning,
        stacklevel=3,
    )
