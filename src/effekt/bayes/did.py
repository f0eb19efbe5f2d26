"""Hierarchical difference-in-differences: effects of several intervention kinds, pooled.

CFBU's questions are comparative (youth cafés or pocket-money projects? LBF plans,
kernedrift or both?), and each kind has few treated areas, so kind-by-kind DiD
estimates are noisy. :class:`HierarchicalDiD` estimates all kinds in one Bayesian
multilevel model of the area-year outcomes and pools the kinds' effects partially
(Gelman & Hill 2007, ch. 12-13): a kind with little data borrows strength from the
others in proportion to how similar the kinds turn out to be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from effekt.bayes._prep import DiDData, prepare_did
from effekt.errors import ParameterError, check_choice, invalid_parameter
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger

__all__ = ["HierarchicalDiD", "HierarchicalDiDResult", "PredictiveCheck"]

_OWNER = "HierarchicalDiD"


class HierarchicalDiD(Estimator):
    """Bayesian multilevel DiD for several intervention kinds with staggered adoption.

    **Outcome model.** For area :math:`i` in kommune :math:`j(i)` and year :math:`t`,

    .. math::

        y_{it} = \\mu + \\kappa_{j} + \\nu_i + \\lambda'c_i + \\gamma_t
                 [+ \\delta_j s_t] + \\sum_k D^k_{it}\\,\\tau_{ik,e} + \\varepsilon_{it},

    with kommune intercepts :math:`\\kappa_j \\sim N(0, \\sigma_\\kappa)`, area
    intercepts :math:`\\nu_i \\sim N(0, \\sigma_\\nu)`, zero-sum year effects
    :math:`\\gamma_t`, optional kommune trends :math:`\\delta_j \\sim N(0, \\sigma_\\delta)`
    in the scaled year :math:`s_t \\in [-1/2, 1/2]` (``group_trends=True``), and cohort means
    :math:`\\lambda'c_i` (one per kind and first year: the correlated random effects of
    Mundlak (1978) and Wooldridge (2021), so that shrinkage of the area intercepts
    cannot pull treated areas toward untreated ones). :math:`D^k_{it} = 1` when kind
    :math:`k` has operated in area :math:`i` for :math:`e = t - g_{ik} \\ge 0` years.

    **Effects.** Indexed by kind and event time, never a single post dummy:

    .. math::

        \\tau_{ik,e} = \\theta_k + \\psi_e + \\omega_{ke} + \\beta_k'm_i + u_{ik},
        \\qquad \\theta_k \\sim N(\\theta, \\sigma_{kind}),

    so kinds are partially pooled toward the common mean :math:`\\theta` (with
    ``pooling="none"`` each :math:`\\theta_k` gets its own wide prior instead);
    :math:`\\psi_e` (zero-sum) is the dynamic profile the kinds share, :math:`\\omega_{ke}`
    (zero-sum over :math:`e`) the kind's own deviation from it, :math:`\\beta_k` the
    effect modification by the standardised area moderators :math:`m_i` (pooled
    across kinds), and :math:`u_{ik} \\sim N(0, \\sigma_{area\\,effect})` the area's own
    deviation. Pre-treatment event times :math:`-\\text{leads} \\le e \\le -2` get
    placebo coefficients :math:`N(0, \\sigma_{lead})` (a pre-trend check); all other
    area-years before treatment, and every area-year of never-treated areas, are the
    comparison. An area can have several kinds (e.g. an LBF plan and a kommune-wide
    youth café); their effects add up.

    **Parametrization** (Betancourt & Girolami 2015): centred where the data inform each
    element well, non-centred (:math:`x = \\sigma z`, :math:`z \\sim N(0, 1)`) where
    they do not. Centred: the kinds' mean effects :math:`\\theta_k` (each rests on many
    treated areas; non-centred, :math:`\\theta` and the :math:`z_k` mixed slowly with few
    kinds), the area intercepts (each area has a whole series) and the year effects
    (every year holds all areas). Non-centred: kommune intercepts and trends (few areas
    per kommune), the dynamic profile and the kinds' deviations from it, the area effect
    deviations :math:`u_{ik}`, lead, moderator and over-dispersion terms.

    **Likelihood.** ``"gaussian"``: :math:`\\varepsilon_{it}` follows a stationary AR(1)
    within each area (variance :math:`\\sigma^2`, correlation :math:`\\rho^d` over
    :math:`d` years), since area shocks persist and an i.i.d. model would overstate
    precision. ``"binomial"``: the outcome is a share of ``trials`` persons, with
    :math:`\\operatorname{logit} p_{it}` equal to the linear predictor plus an
    area-year over-dispersion term :math:`N(0, \\sigma_{od})`; effects are then
    reported on the probability scale (see below).

    **Reported effects.** ``att`` rows are the sample average effects on the treated,
    defined as the simulator's truth and Callaway & Sant'Anna's aggregations: for each
    kind and event time the mean over the treated areas observed then of
    :math:`\\tau_{ik,e}` (binomial: of :math:`p_{it} - p_{it}(\\text{without } k)`),
    and ``overall`` the mean over all the kind's treated area-years. Posterior means,
    posterior SDs and equal-tailed credible intervals.

    **Default priors** are weakly informative on the outcome's scale: with :math:`s`
    the outcome's SD (``gaussian``) or 1 (``binomial``, the log-odds scale),
    intercept :math:`N(\\bar y, 2.5s)`; ``sigma_kommune``, ``sigma_area``,
    ``sigma_year``, ``sigma_trend`` (if used) and ``sigma`` HalfNormal(:math:`s`);
    ``cohort_mean`` :math:`N(0, s)`; ``effect_mean`` :math:`N(0, s)`; ``sigma_kind``,
    ``sigma_dynamic`` and ``sigma_area_effect`` HalfNormal(:math:`s/2`);
    ``sigma_kind_event``, ``sigma_lead`` and ``sigma_moderator``
    HalfNormal(:math:`s/4`); ``moderator_mean`` :math:`N(0, s/2)` per SD of the
    moderator; ``rho`` Uniform(-1, 1); ``sigma_overdispersion`` HalfNormal(0.5).
    ``build(...).prior_predictive()`` or :meth:`prior_predictive` shows what they imply.

    Parameters
    ----------
    outcome : str
        Outcome column of the area-year data.
    unit, time, group : str, default "area_id", "year", "kommune_code"
        Columns of the area, the integer year and the group the areas are nested in.
    kind, cohort : str, default "kind", "first_treated"
        Used when ``fit`` gets no ``interventions``: the column naming the one
        intervention kind of each treated area's cohort, and the column with the
        area's first treated year (constant within area).
    never_treated : scalar, default 0
        The value of ``cohort`` that marks never-treated areas (``numpy.nan`` if they
        are missing).
    kinds : sequence of str, optional
        Kinds to model; default all kinds with a treated area. Area-years treated by
        kinds left out count as untreated comparisons, so leave kinds out only if
        you believe they have no effect on the outcome.
    trials : str, optional
        ``likelihood="binomial"`` only: the column with the persons each share
        rests on (e.g. ``"pop_15_24"`` for ``neet_share``).
    moderators : sequence of str, default ()
        Area-level numeric columns (constant within area, e.g. a baseline NEET share)
        that may modify the effects; standardised over the treated areas.
    likelihood : {"gaussian", "binomial"}, default "gaussian"
    group_trends : bool, default False
        Add partially pooled linear trends by group (kommune): parallel trends then
        need to hold only around each kommune's trend. Off by default because many
        kernedrift efforts are kommune-wide: every area of the kommune starts at
        once, so the kommune's trend and the effort's step are nearly collinear and
        the trend absorbs part of the effect (on simulated worlds with parallel
        trends this biased kommune-wide kinds by about two posterior SDs). Use it as
        a robustness check.
    pooling : {"partial", "none"}, default "partial"
        Pool the kinds' mean effects (``"partial"``) or give each its own
        :math:`N(0, s)` prior (``"none"``).
    leads : int, default 3
        Pre-treatment event times ``-leads..-2`` get placebo coefficients (event time
        -1 is the reference); ``leads < 2`` gives none.
    lags : int, optional
        Event times beyond ``lags`` share the coefficient of ``lags`` (binned end
        point); default: every observed event time has its own.
    priors : mapping, optional
        Replace default priors by name: a positive number sets the prior's scale
        (in the outcome's units; log-odds for binomial), a PyMC distribution made
        with ``.dist(...)`` replaces a scalar prior, e.g.
        ``{"sigma_kind": pymc.Exponential.dist(10.0)}``. Names as listed above;
        ``result.priors`` lists those used, and
        :meth:`HierarchicalDiDResult.prior_sensitivity` refits with scaled ones.
    draws, tune, chains : int, default 1000, 1000, 4
        Posterior draws and warm-up iterations per chain, and chains.
    cores : int, optional
        Chains run in parallel on this many cores; default ``min(chains, CPUs)``.
    seed : int or None, default 0
        Seed of the sampler: the same seed gives the same draws. None: random.
    sampler : {"nutpie", "pymc"}, default "nutpie"
        nutpie (compiled Rust NUTS; falls back to PyMC's NUTS, with a note in the
        summary, when nutpie is not installed) or PyMC's own NUTS.
    target_accept : float, default 0.9
        NUTS target acceptance rate; raise it (0.95, 0.99) against divergences.
    ci_level : float, optional
        Credible-interval level; default ``effekt.options["ci_level"]``.

    Notes
    -----
    Identification is the usual DiD one: parallel trends (here: conditional on the
    kommune trends) and no anticipation. Effects that differ between cohorts of a
    kind enter through the area deviations :math:`u_{ik}`. The Gaussian model's
    posterior predictive is one step ahead (each year given the previous observed
    year). PyTensor compiles the model on first use (tens of seconds for nutpie).

    References
    ----------
    Gelman, A. and Hill, J. (2007). Data Analysis Using Regression and
    Multilevel/Hierarchical Models. Cambridge University Press.
    doi:10.1017/CBO9780511790942
    Mundlak, Y. (1978). On the pooling of time series and cross section data.
    Econometrica 46(1), 69-85. doi:10.2307/1913646
    Wooldridge, J. M. (2021). Two-way fixed effects, the two-way Mundlak regression,
    and difference-in-differences estimators. doi:10.2139/ssrn.3906345
    Betancourt, M. and Girolami, M. (2015). Hamiltonian Monte Carlo for hierarchical
    models. In Current Trends in Bayesian Methodology with Applications, 79-101.
    doi:10.1201/b18502-5
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Bürkner, P.-C. (2021).
    Rank-normalization, folding, and localization: an improved R-hat for assessing
    convergence of MCMC. Bayesian Analysis 16(2), 667-718. doi:10.1214/20-BA1221

    Examples
    --------
    >>> import warnings
    >>> import effekt as ek
    >>> from effekt import simulate
    >>> world = simulate.denmark(n_areas=30, years=(2005, 2016), seed=3)
    >>> model = ek.bayes.HierarchicalDiD(outcome="outside_work_edu_share",
    ...                                  kinds=["lbf_helhedsplan", "fremskudt_beskaeftigelse"],
    ...                                  sampler="pymc", draws=100, tune=100, chains=2)
    >>> with warnings.catch_warnings():  # 100 draws are too few for the diagnostics
    ...     warnings.simplefilter("ignore", ek.SamplingWarning)
    ...     res = model.fit(world.area_year, interventions=world.interventions)
    >>> sorted(res.to_frame()["aggregation"].unique())
    ['event_time', 'overall']
    """

    def __init__(
        self,
        *,
        outcome: str,
        unit: str = "area_id",
        time: str = "year",
        group: str = "kommune_code",
        kind: str = "kind",
        cohort: str = "first_treated",
        never_treated: Any = 0,
        kinds: Sequence[str] | None = None,
        trials: str | None = None,
        moderators: Sequence[str] = (),
        likelihood: Literal["gaussian", "binomial"] = "gaussian",
        group_trends: bool = False,
        pooling: Literal["partial", "none"] = "partial",
        leads: int = 3,
        lags: int | None = None,
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
        self.unit = unit
        self.time = time
        self.group = group
        self.kind = kind
        self.cohort = cohort
        self.never_treated = never_treated
        self.kinds = kinds
        self.trials = trials
        self.moderators = moderators
        self.likelihood = likelihood
        self.group_trends = group_trends
        self.pooling = pooling
        self.leads = leads
        self.lags = lags
        self.priors = priors
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.seed = seed
        self.sampler = sampler
        self.target_accept = target_accept
        self.ci_level = ci_level

    # ------------------------------------------------------------------ public
    def fit(  # type: ignore[override]  # takes tables: kinds and counts are not panel roles
        self, data: pd.DataFrame, *, interventions: pd.DataFrame | None = None
    ) -> HierarchicalDiDResult:
        """Sample the posterior.

        Parameters
        ----------
        data : pandas.DataFrame
            Area-year rows (e.g. ``world.area_year``): ``unit, time, group, outcome``,
            ``trials`` and ``moderators`` if used, and the ``kind``/``cohort``
            columns unless ``interventions`` is given. Never modified.
        interventions : pandas.DataFrame, optional
            Intervention spells in the shape of schema ``interventions``
            (``area_id, kind, start_year``; kommune-wide spells with empty
            ``area_id`` and a ``kommune_code``, which ``data`` then needs too). Each
            area's cohort for a kind is its first ``start_year``
            (:func:`treatment_cohorts`); an area may have several kinds.

        Returns
        -------
        HierarchicalDiDResult

        Raises
        ------
        ParameterError
            Invalid parameters or priors.
        DataError
            Missing columns; outcomes outside [0, 1] or missing counts with
            ``likelihood="binomial"``; a kind or moderator varying within an area.
        IdentificationError
            A requested kind with no treated area, areas in a single group, or a
            period in which every area is treated.

        Warns
        -----
        SamplingWarning
            When R-hat, ESS or divergences say the posterior is unreliable.
        DroppedRowsWarning
            Rows dropped for missing values, or areas treated from their first year.
        """
        check_sampler(self, _OWNER)
        data_, specs, priors = self._prepare(data, interventions)
        return self._sample(data_, specs, priors)

    def _sample(
        self, data_: DiDData, specs: dict[str, PriorSpec], priors: dict[str, Any]
    ) -> HierarchicalDiDResult:
        settings = check_sampler(self, _OWNER)
        level = resolve_level(self.ci_level)
        model = _build(data_, specs, priors, self.likelihood, self.pooling)
        idata, used, notes, seconds = sample_model(model, settings)
        monitored = [v.name for v in model.free_RVs] + ["att", "att_event"]
        diagnostics = diagnose(idata, monitored, _OWNER)
        return HierarchicalDiDResult(
            idata=idata,
            data=data_,
            outcome=str(self.outcome),
            likelihood=str(self.likelihood),
            group_trends=bool(self.group_trends),
            pooling=str(self.pooling),
            level=level,
            diagnostics=diagnostics,
            priors=describe_priors(specs, priors),
            sampler=used,
            notes=notes,
            seconds=seconds,
            ledger=data_.ledger,
            provenance=Provenance(_OWNER, self.get_params(), settings.seed, data_.fingerprint),
            model=model,
            prior_specs=(specs, priors),
        )

    def build(self, data: pd.DataFrame, *, interventions: pd.DataFrame | None = None) -> Any:
        """Build the PyMC model without sampling it, for inspection or extension.

        Parameters
        ----------
        data, interventions
            As for :meth:`fit`.

        Returns
        -------
        pymc.Model
            Coordinates ``obs, area, group, year, kind, event, lead, cohort_dummy,
            moderator, cell``; the deterministic ``att`` (by kind) and ``att_event``
            (by kind and event-time cell) hold the reported effects.

        Raises
        ------
        ParameterError, DataError, IdentificationError
            As for :meth:`fit`.

        Examples
        --------
        >>> import effekt as ek
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=20, years=(2005, 2014), seed=1)
        >>> model = ek.bayes.HierarchicalDiD(outcome="neet_share").build(
        ...     world.area_year, interventions=world.interventions)
        >>> "att" in model.named_vars
        True
        """
        check_sampler(self, _OWNER)
        data_, specs, priors = self._prepare(data, interventions)
        return _build(data_, specs, priors, self.likelihood, self.pooling)

    def prior_predictive(
        self,
        data: pd.DataFrame,
        *,
        interventions: pd.DataFrame | None = None,
        draws: int = 200,
    ) -> PredictiveCheck:
        """Draw outcomes from the prior, to check that the priors are sensible.

        Parameters
        ----------
        data, interventions
            As for :meth:`fit`.
        draws : int, default 200
            Prior draws.

        Returns
        -------
        PredictiveCheck
            ``idata`` (groups ``prior``, ``prior_predictive``, ``observed_data``) and
            ``plot()``.

        Raises
        ------
        ParameterError, DataError, IdentificationError
            As for :meth:`fit`.
        """
        if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
            raise invalid_parameter("draws", "prior_predictive", "a positive integer", draws)
        settings = check_sampler(self, _OWNER)
        data_, specs, priors = self._prepare(data, interventions)
        model = _build(data_, specs, priors, self.likelihood, self.pooling)
        idata = pm.sample_prior_predictive(draws=draws, model=model, random_seed=settings.seed)
        return PredictiveCheck(idata, "prior", data_.y, data_.trials, str(self.outcome))

    # ------------------------------------------------------------------ internals
    def _prepare(
        self, data: pd.DataFrame, interventions: pd.DataFrame | None
    ) -> tuple[DiDData, dict[str, PriorSpec], dict[str, Any]]:
        self._check_params()
        data_ = prepare_did(self, data, interventions, _OWNER)
        specs = _prior_specs(data_, self.likelihood, self.pooling, self.group_trends)
        priors = check_priors(self.priors, specs, _OWNER)
        return data_, specs, priors

    def _check_params(self) -> None:
        for name in ("outcome", "unit", "time", "group", "kind", "cohort"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise invalid_parameter(name, _OWNER, "a column name (str)", value)
        check_choice("likelihood", _OWNER, self.likelihood, ("gaussian", "binomial"))
        check_choice("pooling", _OWNER, self.pooling, ("partial", "none"))
        if not isinstance(self.group_trends, bool):
            raise invalid_parameter("group_trends", _OWNER, "True or False", self.group_trends)
        if self.trials is not None and not isinstance(self.trials, str):
            raise invalid_parameter("trials", _OWNER, "None or a column name", self.trials)
        if self.trials is not None and self.likelihood != "binomial":
            raise ParameterError(
                f"The 'trials' parameter of {_OWNER} is used by likelihood='binomial' only; "
                "pass likelihood='binomial' or leave trials out."
            )
        for name, value in (("moderators", self.moderators), ("kinds", self.kinds)):
            if value is None and name == "kinds":
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise invalid_parameter(name, _OWNER, "a list of names", value)
            if not all(isinstance(v, str) for v in value) or len(set(value)) != len(value):
                raise invalid_parameter(name, _OWNER, "a list of distinct names (str)", value)
        if self.kinds is not None and not len(self.kinds):
            raise invalid_parameter("kinds", _OWNER, "None or a non-empty list", self.kinds)
        for name, low in (("leads", 0), ("lags", 0)):
            value = getattr(self, name)
            if value is None and name == "lags":
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise invalid_parameter(name, _OWNER, f"an integer >= {low}", value)


# ---------------------------------------------------------------------- model


def _prior_specs(d: DiDData, likelihood: str, pooling: str, trends: bool) -> dict[str, PriorSpec]:
    if likelihood == "gaussian":
        s = float(np.std(d.y)) or 1.0
        centre = float(np.mean(d.y))
    else:
        s = 1.0
        n = np.asarray(d.trials).sum()
        p = (np.asarray(d.successes).sum() + 0.5) / (n + 1.0)
        centre = float(np.log(p / (1 - p)))
    specs = {
        "intercept": PriorSpec("normal", 2.5 * s, centre, what="overall level"),
        "sigma_kommune": PriorSpec("halfnormal", s, what="SD of group (kommune) intercepts"),
        "sigma_area": PriorSpec("halfnormal", s, what="SD of area intercepts within groups"),
        "sigma_year": PriorSpec("halfnormal", s, what="SD of the year effects"),
        "cohort_mean": PriorSpec(
            "normal", s, scalar=False, what="mean level of each kind's cohorts (Mundlak)"
        ),
        "sigma_dynamic": PriorSpec(
            "halfnormal", 0.5 * s, what="SD of the common event-time profile"
        ),
        "sigma_kind_event": PriorSpec(
            "halfnormal", 0.25 * s, what="SD of a kind's deviation from the common profile"
        ),
        "sigma_area_effect": PriorSpec(
            "halfnormal", 0.5 * s, what="SD of an area's deviation from its kind's effect"
        ),
    }
    if trends:
        specs["sigma_trend"] = PriorSpec(
            "halfnormal", s, what="SD of group trends (change over the whole period)"
        )
    if pooling == "partial":
        specs["effect_mean"] = PriorSpec("normal", s, what="mean effect over kinds")
        specs["sigma_kind"] = PriorSpec("halfnormal", 0.5 * s, what="SD of the kinds' effects")
    else:
        specs["kind_effect"] = PriorSpec(
            "normal", s, scalar=False, what="each kind's mean effect (no pooling)"
        )
    if len(d.lead_grid):
        specs["sigma_lead"] = PriorSpec(
            "halfnormal", 0.25 * s, what="SD of the pre-treatment (placebo) coefficients"
        )
    if d.moderator_names:
        specs["moderator_mean"] = PriorSpec(
            "normal", 0.5 * s, scalar=False, what="effect modification per SD of a moderator"
        )
        specs["sigma_moderator"] = PriorSpec(
            "halfnormal", 0.25 * s, what="SD of the modification between kinds"
        )
    if likelihood == "gaussian":
        specs["sigma"] = PriorSpec("halfnormal", s, what="SD of the area-year residual")
        specs["rho"] = PriorSpec("uniform", 1.0, what="AR(1) correlation of the residual")
    else:
        specs["sigma_overdispersion"] = PriorSpec(
            "halfnormal", 0.5, what="SD of the area-year log-odds over-dispersion"
        )
    return specs


def _build(
    d: DiDData,
    specs: Mapping[str, PriorSpec],
    priors: Mapping[str, Any],
    likelihood: str,
    pooling: str,
) -> Any:
    coords: dict[str, Any] = {
        "obs": np.arange(len(d.y)),
        "area": list(d.units),
        "group": [str(g) for g in d.groups],
        "year": [int(t) for t in d.times],
        "kind": list(d.kinds),
        "event": [int(e) for e in d.event_grid],
        "cohort_dummy": list(d.mundlak_labels),
        "unit_kind": np.arange(d.n_unit_kind),
        "cell": [f"{k}[{e}]" for k, e in zip(d.cells["kind"], d.cells["event_time"], strict=True)],
    }
    if len(d.lead_grid):
        coords["lead"] = [int(e) for e in d.lead_grid]
    if d.moderator_names:
        coords["moderator"] = list(d.moderator_names)
    n_obs = len(d.y)
    n_cells = len(d.cells)

    def prior(name: str, dims: Any = None) -> Any:
        return make_prior(name, specs[name], priors, dims=dims)

    with pm.Model(coords=coords) as model:
        intercept = prior("intercept")
        sigma_kommune = prior("sigma_kommune")
        sigma_area = prior("sigma_area")
        sigma_year = prior("sigma_year")
        z_kommune = pm.Normal("z_kommune", 0.0, 1.0, dims="group")
        # centred too: every year holds all areas, so the data fix the year effects
        year_effect = pm.ZeroSumNormal("year_effect", sigma=sigma_year, dims="year")
        cohort_mean = prior("cohort_mean", dims="cohort_dummy")
        # cohort means by scatter-add (an area has one per treated kind), not a dense product
        cohort_part = pt.zeros(len(d.units))[d.mundlak_unit].inc(cohort_mean[d.mundlak_col])
        # Centred area intercepts around their kommune's (non-centred) level: every area
        # has a year-long series, so the data pin its level down and the centred form
        # mixes better; kommuner hold few areas each, so theirs stays non-centred.
        area_group = np.zeros(len(d.units), dtype=int)
        area_group[d.unit_idx] = d.group_idx
        area_mean = intercept + (sigma_kommune * z_kommune)[area_group] + cohort_part
        area_intercept = pm.Normal("area_intercept", area_mean, sigma_area, dims="area")
        eta = area_intercept[d.unit_idx] + year_effect[d.time_idx]
        if "sigma_trend" in specs:
            sigma_trend = prior("sigma_trend")
            z_trend = pm.Normal("z_trend", 0.0, 1.0, dims="group")
            eta = eta + (sigma_trend * z_trend)[d.group_idx] * d.time_scaled

        # effects by kind and event time: pooled kind means, shared dynamics, deviations
        if pooling == "partial":
            effect_mean = prior("effect_mean")
            sigma_kind = prior("sigma_kind")
            # centred: each kind's mean effect rests on many treated areas, so the data
            # inform it well and the non-centred form (effect_mean + sigma_kind * z)
            # mixes slowly in effect_mean and z when there are few kinds
            kind_effect = pm.Normal("kind_effect", effect_mean, sigma_kind, dims="kind")
        else:
            kind_effect = prior("kind_effect", dims="kind")
        tau = pt.shape_padright(kind_effect)
        if len(d.event_grid) > 1:
            sigma_dynamic = prior("sigma_dynamic")
            sigma_kind_event = prior("sigma_kind_event")
            z_dynamic = pm.ZeroSumNormal("z_dynamic", sigma=1.0, dims="event")
            z_kind_event = pm.ZeroSumNormal(
                "z_kind_event", sigma=1.0, dims=("kind", "event"), n_zerosum_axes=1
            )
            tau = tau + sigma_dynamic * z_dynamic[None, :] + sigma_kind_event * z_kind_event
        sigma_area_effect = prior("sigma_area_effect")
        z_area_effect = pm.Normal("z_area_effect", 0.0, 1.0, dims="unit_kind")
        # one-dimensional gathers only: their gradients have fast C/Numba implementations
        n_event = len(d.event_grid)
        post_effect = (
            tau.flatten()[d.post_kind * n_event + d.post_event]
            + (sigma_area_effect * z_area_effect)[d.post_uk]
        )
        if d.moderator_names:
            moderator_mean = prior("moderator_mean", dims="moderator")
            sigma_moderator = prior("sigma_moderator")
            z_moderator = pm.Normal("z_moderator", 0.0, 1.0, dims=("kind", "moderator"))
            beta = pm.Deterministic(
                "moderator_effect",
                moderator_mean[None, :] + sigma_moderator * z_moderator,
                dims=("kind", "moderator"),
            )
            post_effect = post_effect + (
                pt.as_tensor(d.moderators)[d.post_unit] * beta[d.post_kind]
            ).sum(axis=1)
        effect_sum = pt.zeros(n_obs)[d.post_row].inc(post_effect)
        lead_effect = None
        if len(d.lead_grid):
            sigma_lead = prior("sigma_lead")
            z_lead = pm.Normal("z_lead", 0.0, 1.0, dims=("kind", "lead"))
            lead_effect = (sigma_lead * z_lead).flatten()[
                d.lead_kind * len(d.lead_grid) + d.lead_event
            ]
            effect_sum = effect_sum[d.lead_row].inc(lead_effect)
        eta = eta + effect_sum

        if likelihood == "gaussian":
            sigma = prior("sigma")
            rho = _rho(priors)
            has_prev = d.prev_row >= 0
            prev = np.where(has_prev, d.prev_row, 0)
            resid_prev = pt.as_tensor(d.y)[prev] - eta[prev]
            decay = rho ** pt.as_tensor(d.gap.astype(float))
            mean = eta + pt.where(has_prev, decay * resid_prev, 0.0)
            sd = sigma * pt.sqrt(pt.where(has_prev, 1.0 - decay**2, 1.0))
            pm.Normal("y", mu=mean, sigma=sd, observed=d.y, dims="obs")
            post_att = post_effect
            lead_att = lead_effect
        else:
            sigma_od = prior("sigma_overdispersion")
            z_od = pm.Normal("z_overdispersion", 0.0, 1.0, dims="obs")
            eta = eta + sigma_od * z_od
            pm.Binomial("y", n=d.trials, logit_p=eta, observed=d.successes, dims="obs")
            # effect of kind k on the probability: p - p(without k), per treated area-year
            post_att = pm.math.invlogit(eta[d.post_row]) - pm.math.invlogit(
                eta[d.post_row] - post_effect
            )
            lead_att = (
                None
                if lead_effect is None
                else pm.math.invlogit(eta[d.lead_row])
                - pm.math.invlogit(eta[d.lead_row] - lead_effect)
            )

        cell_sum = pt.zeros(n_cells)[d.post_cell].inc(post_att)
        cell_n = np.bincount(d.post_cell, minlength=n_cells).astype(float)
        if lead_att is not None:
            cell_sum = cell_sum[d.lead_cell].inc(lead_att)
            cell_n += np.bincount(d.lead_cell, minlength=n_cells)
        pm.Deterministic("att_event", cell_sum / cell_n, dims="cell")
        kind_sum = pt.zeros(len(d.kinds))[d.post_kind].inc(post_att)
        kind_n = np.bincount(d.post_kind, minlength=len(d.kinds)).astype(float)
        pm.Deterministic("att", kind_sum / kind_n, dims="kind")
    return model


def _rho(priors: Mapping[str, Any]) -> Any:
    if "rho" in priors:
        if not isinstance(priors["rho"], pt.TensorVariable):
            raise ParameterError(
                "The 'rho' prior of HierarchicalDiD can only be replaced by a PyMC distribution "
                "on (-1, 1), e.g. pymc.Uniform.dist(-0.5, 0.9); a number does not define one."
            )
        return make_prior("rho", PriorSpec("uniform", 1.0), priors)
    return pm.Uniform("rho", -1.0, 1.0)


# ---------------------------------------------------------------------- results


class HierarchicalDiDResult(Result):
    """Posterior of :class:`HierarchicalDiD`: effects by kind and event time.

    Attributes
    ----------
    idata : arviz.InferenceData
        The posterior (and sample statistics).
    diagnostics : Diagnostics
        R-hat, ESS and divergences (:class:`effekt.bayes.Diagnostics`).
    priors : pandas.DataFrame
        The priors used.
    kinds : list of str
    cells : pandas.DataFrame
        Kind, event time and number of areas behind each ``att_event`` cell.
    sampler : str
        ``"nutpie"`` or ``"pymc"``.
    seconds : float
        Sampling wall time.
    """

    title = "Hierarchical Bayesian DiD"

    def __init__(
        self,
        *,
        idata: Any,
        data: DiDData,
        outcome: str,
        likelihood: str,
        group_trends: bool,
        pooling: str,
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
        self.likelihood = likelihood
        self.group_trends = group_trends
        self.pooling = pooling
        self.level = level
        self.diagnostics = diagnostics
        self.priors = priors
        self.kinds = list(data.kinds)
        self.cells = data.cells.copy()
        self.sampler = sampler
        self.notes = list(notes)
        self.seconds = seconds
        self.ledger = ledger
        self.provenance = provenance
        self._data = data
        self._model = model
        self._prior_specs = prior_specs
        self._freeze()

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``outcome, design, estimator, aggregation, term, kind, event_time``.

        ``overall`` rows give each kind's average effect over its treated area-years,
        ``event_time`` rows the average at each event time (leads included),
        ``moderator`` rows (if any) the change in the effect per unit of the
        moderator on the model's scale (log-odds for binomial). ``estimate`` is the
        posterior mean, ``std_error`` the posterior SD, the interval equal-tailed;
        ``p_value`` is empty and ``prob_positive`` is P(effect > 0).
        """
        parts = []
        overall = summarise_draws(stacked(self.idata, "att"), self.level)
        parts.append(
            tidy_effects(
                {
                    "outcome": self.outcome,
                    "design": "bayes",
                    "estimator": _OWNER,
                    "aggregation": "overall",
                    "term": "att",
                    "kind": self.kinds,
                    "event_time": pd.array([None] * len(self.kinds), dtype="Int64"),
                },
                overall["estimate"],
                overall["std_error"],
                level=self.level,
                ci_lower=overall["ci_lower"],
                ci_upper=overall["ci_upper"],
                p_value=np.full(len(self.kinds), np.nan),
                extra={"prob_positive": overall["prob_positive"]},
            )
        )
        by_event = summarise_draws(stacked(self.idata, "att_event"), self.level)
        parts.append(
            tidy_effects(
                {
                    "outcome": self.outcome,
                    "design": "bayes",
                    "estimator": _OWNER,
                    "aggregation": "event_time",
                    "term": "att",
                    "kind": self.cells["kind"].tolist(),
                    "event_time": pd.array(self.cells["event_time"].tolist(), dtype="Int64"),
                },
                by_event["estimate"],
                by_event["std_error"],
                level=self.level,
                ci_lower=by_event["ci_lower"],
                ci_upper=by_event["ci_upper"],
                p_value=np.full(len(self.cells), np.nan),
                extra={"prob_positive": by_event["prob_positive"]},
            )
        )
        d = self._data
        if d.moderator_names:
            draws = stacked(self.idata, "moderator_effect") / d.moderator_scale[None, None, :]
            flat = draws.reshape(draws.shape[0], -1)
            mods = summarise_draws(flat, self.level)
            kinds = np.repeat(self.kinds, len(d.moderator_names))
            terms = [f"moderator:{m}" for m in d.moderator_names] * len(self.kinds)
            parts.append(
                tidy_effects(
                    {
                        "outcome": self.outcome,
                        "design": "bayes",
                        "estimator": _OWNER,
                        "aggregation": "moderator",
                        "term": terms,
                        "kind": list(kinds),
                        "event_time": pd.array([None] * len(terms), dtype="Int64"),
                    },
                    mods["estimate"],
                    mods["std_error"],
                    level=self.level,
                    ci_lower=mods["ci_lower"],
                    ci_upper=mods["ci_upper"],
                    p_value=np.full(len(terms), np.nan),
                    extra={"prob_positive": mods["prob_positive"]},
                )
            )
        return pd.concat(parts, ignore_index=True)

    def draws(self, *, kind: str | None = None, event_time: int | None = None) -> pd.DataFrame:
        """Posterior draws of the reported effects (one column per kind).

        Parameters
        ----------
        kind : str, optional
            One kind; default all.
        event_time : int, optional
            An event time; default the overall effects.

        Returns
        -------
        pandas.DataFrame
            One row per draw (chains stacked), one column per kind.

        Raises
        ------
        ParameterError
            Unknown kind, or an event time a kind does not reach.
        """
        kinds = self.kinds if kind is None else [kind]
        for k in kinds:
            check_choice("kind", "HierarchicalDiDResult", k, self.kinds)
        if event_time is None:
            values = stacked(self.idata, "att")
            return pd.DataFrame({k: values[:, self.kinds.index(k)] for k in kinds})
        values = stacked(self.idata, "att_event")
        out = {}
        for k in kinds:
            hit = np.flatnonzero(
                (self.cells["kind"] == k).to_numpy()
                & (self.cells["event_time"] == event_time).to_numpy()
            )
            if not len(hit):
                reached = self.cells.loc[self.cells["kind"] == k, "event_time"].tolist()
                raise ParameterError(
                    f"No treated area of kind {k!r} is observed at event time {event_time}; "
                    f"its event times are {reached}."
                )
            out[k] = values[:, hit[0]]
        return pd.DataFrame(out)

    def prob_superior(self, a: str, b: str, *, event_time: int | None = None) -> float:
        """Posterior probability that kind ``a``'s effect is larger than kind ``b``'s.

        Compares the average effects on the treated (``overall`` rows), or those at
        ``event_time``. For outcomes that an intervention should lower (charges,
        NEET), "more effective" is ``prob_superior(b, a)``.

        Parameters
        ----------
        a, b : str
            Kinds.
        event_time : int, optional

        Returns
        -------
        float

        Raises
        ------
        ParameterError
            Unknown kinds or event time.
        """
        draws = self.draws(event_time=event_time)
        for name, k in (("a", a), ("b", b)):
            check_choice(name, "prob_superior", k, self.kinds)
        return float((draws[a] > draws[b]).mean())

    def prob_exceeds(
        self,
        threshold: float,
        *,
        kind: str | None = None,
        event_time: int | None = None,
        direction: Literal["greater", "less"] = "greater",
    ) -> pd.Series:
        """Posterior probability that an effect exceeds a threshold.

        Parameters
        ----------
        threshold : float
            In the outcome's units (probability points for binomial).
        kind : str, optional
            One kind; default every kind.
        event_time : int, optional
            Effect at this event time instead of the overall effect.
        direction : {"greater", "less"}, default "greater"
            P(effect > threshold) or P(effect < threshold) (e.g. a reduction of at
            least 5 per 1,000: ``threshold=-5, direction="less"``).

        Returns
        -------
        pandas.Series
            Indexed by kind.

        Raises
        ------
        ParameterError
            Unknown kind, event time or direction, or a non-finite threshold.
        """
        check_choice("direction", "prob_exceeds", direction, ("greater", "less"))
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float | np.integer | np.floating)
            or not np.isfinite(threshold)
        ):
            raise invalid_parameter("threshold", "prob_exceeds", "a finite number", threshold)
        draws = self.draws(kind=kind, event_time=event_time)
        hit = draws > threshold if direction == "greater" else draws < threshold
        return hit.mean().rename("probability")

    def prior_sensitivity(
        self, scales: Sequence[float] = (0.5, 1.0, 2.0), *, priors: Sequence[str] | None = None
    ) -> PriorSensitivity:
        """Refit with every prior scale multiplied by each factor and compare the effects.

        The model is refitted on the same prepared data with the same sampler
        settings and seed; factor 1 is this fit (not refitted). Each named prior's
        scale (the default of the class docstring, or the number you passed in
        ``priors=``) is multiplied by the factor; ``rho`` and priors you replaced by
        a distribution are left alone. When the kinds' effects barely move between
        halved and doubled scales, the data, not the priors, drive them.

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
            ``table``: ``prior_scale`` and the ``overall`` rows of :meth:`to_frame`
            for each factor; ``max_shift()``; ``plot()``; each refit's diagnostics.

        Raises
        ------
        ParameterError
            Non-positive or repeated factors, unknown or unscalable prior names.

        Warns
        -----
        SamplingWarning
            When a refit's R-hat, ESS or divergences say its posterior is unreliable.

        Examples
        --------
        >>> import warnings
        >>> import effekt as ek
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=30, years=(2005, 2016), seed=3)
        >>> model = ek.bayes.HierarchicalDiD(outcome="outside_work_edu_share",
        ...                                  kinds=["lbf_helhedsplan"], leads=0,
        ...                                  sampler="pymc", draws=100, tune=100, chains=2)
        >>> with warnings.catch_warnings():  # 100 draws are too few for the diagnostics
        ...     warnings.simplefilter("ignore", ek.SamplingWarning)
        ...     res = model.fit(world.area_year, interventions=world.interventions)
        ...     sens = res.prior_sensitivity(scales=(1, 3), priors=["sigma_kind"])
        >>> sens.table["prior_scale"].tolist()
        [1.0, 3.0]
        """
        specs, user = self._prior_specs
        names, factors = scaled_priors(specs, user, priors, scales, "prior_sensitivity")
        params = dict(self.provenance.params)

        def refit(factor: float) -> HierarchicalDiDResult:
            new = rescale(specs, user, names, factor)
            est = HierarchicalDiD(**{**params, "priors": new})
            return est._sample(self._data, specs, check_priors(new, specs, _OWNER))

        def rows(res: HierarchicalDiDResult) -> pd.DataFrame:
            table = res.to_frame()
            return table[table["aggregation"] == "overall"]

        return run_prior_sensitivity(self, refit, factors, names, rows, "kind")

    def posterior_predictive(self, *, draws: int = 100) -> PredictiveCheck:
        """Replicate the outcome from the posterior (for checks and ``plot(kind="ppc")``).

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
        return PredictiveCheck(pp, "posterior", self._data.y, self._data.trials, self.outcome)

    # ------------------------------------------------------------------ display
    def _summary_info(self) -> list[tuple[str, str]]:
        d = self._data
        n_treated = d.cohorts.groupby("kind")["unit"].nunique()
        info = [
            ("Outcome", self.outcome),
            (
                "Likelihood",
                self.likelihood
                + (" (AR(1) residuals)" if self.likelihood == "gaussian" else " (over-dispersed)"),
            ),
            ("Areas / groups / years", f"{len(d.units):,} / {len(d.groups):,} / {len(d.times)}"),
            ("Observations", f"{len(d.y):,}"),
            (
                "Kinds (treated areas)",
                ", ".join(f"{k} ({int(n_treated.get(k, 0))})" for k in self.kinds),
            ),
            ("Pooling of kinds", self.pooling),
            ("Group trends", "yes" if self.group_trends else "no"),
            ("Sampler", f"{self.sampler}, {self.seconds:.1f} s"),
            ("Diagnostics", self.diagnostics.describe()),
            ("Intervals", f"{self.level:.0%} equal-tailed credible intervals"),
        ]
        if d.binned_after is not None:
            info.append(("Binned", f"event times > {d.binned_after} share its coefficient"))
        if d.not_modelled:
            info.append(("Not modelled (count as untreated)", ", ".join(d.not_modelled)))
        info += [("Note", n) for n in self.notes]
        info += [("Problem", p) for p in self.diagnostics.problems]
        return info

    def plot(
        self,
        ax: Axes | None = None,
        *,
        kind: Literal["forest", "event_time", "ppc", "trace"] = "forest",
        var_name: str | None = None,
    ) -> Axes:
        """Draw the result.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        kind : {"forest", "event_time", "ppc", "trace"}, default "forest"
            ``"forest"``: each kind's overall effect with its credible interval and
            P(effect > 0); ``"event_time"``: effects by event time, one line per
            kind; ``"ppc"``: posterior predictive check; ``"trace"``: the chains
            of ``var_name``.
        var_name : str, optional
            Parameter for ``kind="trace"`` (the first element of a vector); default
            ``"sigma_kind"`` (``"kind_effect"`` without pooling).

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
            "kind", "HierarchicalDiDResult.plot", kind, ("forest", "event_time", "ppc", "trace")
        )
        if kind == "trace":
            if var_name is None:
                var_name = "sigma_kind" if "sigma_kind" in self.idata.posterior else "kind_effect"
            return plot_trace(self.idata, var_name, ax)
        if kind == "ppc":
            return self.posterior_predictive().plot(ax)
        table = self.to_frame()
        ax = new_axes(ax)
        if kind == "forest":
            rows = table[table["aggregation"] == "overall"].iloc[::-1]
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
            ax.set_yticks(
                y,
                [
                    f"{k}  (P>0: {p:.2f})"
                    for k, p in zip(rows["kind"], rows["prob_positive"], strict=True)
                ],
            )
            ax.set_xlabel(f"{label('effect')}: {self.outcome}")
            ax.set_title(f"{label('effect_by_kind')}: {self.outcome}")
            ax.legend(frameon=False)
            return ax
        rows = table[table["aggregation"] == "event_time"]
        offsets = np.linspace(-0.2, 0.2, len(self.kinds)) if len(self.kinds) > 1 else [0.0]
        for off, k in zip(offsets, self.kinds, strict=True):
            r = rows[rows["kind"] == k].sort_values("event_time")
            x = r["event_time"].to_numpy(dtype=float) + off
            ax.errorbar(
                x,
                r["estimate"],
                yerr=[r["estimate"] - r["ci_lower"], r["ci_upper"] - r["estimate"]],
                fmt="o-",
                ms=3,
                lw=0.8,
                capsize=2,
                label=k,
            )
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
        ax.set_xlabel(label("event_time"))
        ax.set_ylabel(label("effect"))
        ax.set_title(
            f"{label('event_study')}: {self.outcome} "
            f"({label('credible_interval', level=self.level)})"
        )
        ax.legend(frameon=False, fontsize="small")
        return ax
