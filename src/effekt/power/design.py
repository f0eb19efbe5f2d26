"""Minimum detectable effects of a difference-in-differences design, two ways.

Before a study, the question is how many treated areas, or how many years after the
start, a DiD needs to detect an effect of a given size. :func:`mde` answers it on
the analyst's own data, from the never-treated units (the comparison areas):

- **analytically**, with the formula of Burlig, Preonas & Woerman (2020) for DiD with
  serially correlated errors. A DiD with common timing on a balanced panel is the
  difference between treated and comparison units' means of one contrast of each
  unit's series, ``d_i = a' y_i`` (``a``: post-years mean minus pre-years mean for
  two-way fixed effects; minus the last pre-year for Callaway & Sant'Anna's
  universal base period), so ``Var(tau_hat) = a' Omega a (1/n_T + 1/n_C)`` and

  ``MDE = (t_{1-alpha/2} + t_{power}) sqrt(a' Omega a (1/n_T + 1/n_C))``

  with ``t`` quantiles on ``n_T + n_C - 2`` degrees of freedom. This is BPW's
  equation in matrix form: with ``Omega`` the within-unit error covariance, the
  quadratic form sums the pre-pre, post-post and pre-post covariances
  (their ``psi^B``, ``psi^A`` and ``psi^X``), and a unit effect cancels. ``Omega`` is
  estimated from the never-treated units' residuals after unit and year effects,
  as a stationary AR(1) (``errors="ar1"``: extrapolates to windows longer than the
  data) or nonparametrically (``errors="empirical"``: the residual covariances
  themselves, averaged over every position of the window in the observed years, as
  BPW estimate theirs); see :mod:`effekt.power._calibrate` for why the residual
  covariance needs no correction for the demeaning.
- **by simulation**: placebo treatments assigned at random to ``n_T`` never-treated
  units (and a random window of years), the rest (or ``n_control`` of them) as the
  comparison, through :func:`effekt.parallel.resample` (same seed, same numbers for
  any ``n_jobs``; a Dask or Ray backend takes large runs). Each draw gives the DiD
  estimate and its standard error (two-sample, pooled variance over the units'
  contrasts, the cluster-by-unit analogue). Effects are planted by adding ``delta``
  to the placebo-treated units' post-years: the estimator is linear and its
  standard error shift-invariant, so a draw's estimate under ``delta`` is its
  placebo estimate plus ``delta`` with the same standard error, and one set of
  placebo draws gives the whole power curve. The simulated MDE is the planted
  effect rejected (two-sided, level ``alpha``) in a share ``power`` of the draws.
  It makes no assumption on ``Omega``; where the analytic formula's assumptions
  hold the two agree (``tests/test_power.py``).

References
----------
Burlig, F., Preonas, L. and Woerman, M. (2020). Panel data and experimental design.
Journal of Development Economics 144, 102458. doi:10.1016/j.jdeveco.2020.102458
Bloom, H. S. (1995). Minimum detectable effects: a simple way to report the
statistical power of experimental designs. Evaluation Review 19(5), 547-556.
doi:10.1177/0193841X9501900504
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt.errors import IdentificationError, ParameterError, check_choice, invalid_parameter
from effekt.parallel import resample
from effekt.power._calibrate import Calibration, calibrate, check_errors
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["PowerResult", "mde", "power"]

DESIGNS = ("twfe", "callaway")
METHODS = ("analytic", "simulation", "both")
_MAX_N = 10_000_000


def _contrast(design: str, pre: int, post: int) -> np.ndarray:
    """Weights on a unit's ``pre + post`` years whose treated-minus-comparison mean is the DiD."""
    a = np.zeros(pre + post)
    if design == "twfe":
        a[:pre] = -1.0 / pre
    else:  # Callaway & Sant'Anna, universal base period g - 1, simple average over post years
        a[pre - 1] = -1.0
    a[pre:] = 1.0 / post
    return a


def _unit_count(name: str, owner: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        hint = None
        if name == "n_treated" and isinstance(value, int | np.integer) and value == 0:
            hint = "A power calculation needs at least one treated unit."
        raise invalid_parameter(name, owner, f"an integer >= {low}", value, hint)
    return int(value)


def _probability(name: str, owner: str, value: Any) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float | np.floating)
        and 0.0 < float(value) < 1.0
    )
    if not ok:
        raise invalid_parameter(
            name, owner, "a probability strictly between 0 and 1", value, "For example 0.05 or 0.8."
        )
    return float(value)


def _power_from(effect: np.ndarray, se: float, alpha: float, df: int) -> np.ndarray:
    """Two-sided power of the t test at true effect ``effect`` (both rejection tails)."""
    c = stats.t.ppf(1 - alpha / 2, df)
    z = np.abs(np.asarray(effect, dtype=float)) / se
    return np.asarray(stats.t.cdf(z - c, df) + stats.t.cdf(-z - c, df))


def _mde_from(se: float, alpha: float, power: float, df: int) -> float:
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * se)


def _placebo_chunk(
    rng: np.random.Generator, size: int, *, d: np.ndarray, n_treated: int, n_control: int
) -> np.ndarray:
    """``size`` placebo draws of (estimate, standard error); ``d`` is windows x units."""
    n_pos, n_units = d.shape
    pos = rng.integers(n_pos, size=size)
    order = rng.random((size, n_units)).argsort(axis=1)  # a random split of the units per draw
    rows = d[pos]
    dt = np.take_along_axis(rows, order[:, :n_treated], axis=1)
    dc = np.take_along_axis(rows, order[:, n_treated : n_treated + n_control], axis=1)
    mt, mc = dt.mean(axis=1), dc.mean(axis=1)
    ss = ((dt - mt[:, None]) ** 2).sum(axis=1) + ((dc - mc[:, None]) ** 2).sum(axis=1)
    se = np.sqrt(ss / (n_treated + n_control - 2) * (1 / n_treated + 1 / n_control))
    return np.column_stack([mt - mc, se])


def _simulated_power(placebo: np.ndarray, effect: Any, alpha: float, df: int) -> np.ndarray:
    c = stats.t.ppf(1 - alpha / 2, df)
    est, se = placebo[:, 0], placebo[:, 1]
    eff = np.atleast_1d(np.asarray(effect, dtype=float))
    return np.array([float(np.mean(np.abs(est + e) > c * se)) for e in eff])


def _simulated_mde(placebo: np.ndarray, alpha: float, power: float, df: int) -> float:
    """Smallest planted effect rejected in a share ``power`` of the draws (bisection)."""
    scale = float(np.std(placebo[:, 0])) or float(np.mean(placebo[:, 1])) or 1.0
    hi = scale
    for _ in range(60):  # widen until the power is reached
        if _simulated_power(placebo, hi, alpha, df)[0] >= power:
            break
        hi *= 2.0
    lo = 0.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _simulated_power(placebo, mid, alpha, df)[0] >= power:
            hi = mid
        else:
            lo = mid
    return hi


class PowerResult(Result):
    """The minimum detectable effect of a DiD design, analytic and (optionally) simulated.

    Attributes
    ----------
    outcome, design, errors, method : str
    n_treated, n_control, years, pre_years : int
        The design: treated and comparison units, post-treatment and pre-treatment years.
    alpha, power : float
        Test level (two-sided) and target power.
    mde : float
        The minimum detectable effect (the simulated one when ``method="simulation"``).
    mde_analytic, std_error : float
        The analytic MDE (Burlig, Preonas & Woerman 2020) and the DiD estimate's
        standard error it rests on.
    mde_simulation, std_error_simulation : float or None
        The simulated MDE and the standard deviation of the placebo estimates.
    mde_simulation_mc_se : float or None
        Monte-Carlo standard error of the simulated MDE (delta method).
    sigma, rho : float
        The calibration: residual standard deviation and AR(1) autocorrelation of the
        never-treated units' outcomes after unit and year effects.
    n_calibration_units, n_calibration_years : int
    placebo : numpy.ndarray or None
        The placebo draws, columns (estimate, standard error).
    """

    title = "Power of a difference-in-differences design"

    def __init__(
        self,
        *,
        calibration: Calibration,
        design: str,
        errors: str,
        method: str,
        n_treated: int,
        n_control: int,
        years: int,
        pre_years: int,
        alpha: float,
        power: float,
        placebo: np.ndarray | None,
        provenance: Provenance,
    ) -> None:
        self._cal = calibration
        self.outcome = calibration.outcome
        self.design = design
        self.errors = errors
        self.method = method
        self.n_treated = n_treated
        self.n_control = n_control
        self.years = years
        self.pre_years = pre_years
        self.alpha = alpha
        self.power = power
        self.df = n_treated + n_control - 2
        self._variance = calibration.contrast_variance(_contrast(design, pre_years, years), errors)
        self.std_error = math.sqrt(self._variance * (1 / n_treated + 1 / n_control))
        self.mde_analytic = _mde_from(self.std_error, alpha, power, self.df)
        self.sigma = math.sqrt(calibration.sigma2)
        self.rho = calibration.rho
        self.n_calibration_units = calibration.n_units
        self.n_calibration_years = calibration.n_periods
        self.placebo = placebo
        if placebo is not None:
            self.mde_simulation: float | None = _simulated_mde(placebo, alpha, power, self.df)
            sd = float(np.std(placebo[:, 0], ddof=1))
            self.std_error_simulation: float | None = sd
            # delta method: Var(power_hat) = p(1-p)/B, divided by the curve's slope at the MDE
            c = stats.t.ppf(1 - alpha / 2, self.df)
            slope = stats.norm.pdf(self.mde_simulation / sd - c) / sd if sd > 0 else np.nan
            self.mde_simulation_mc_se: float | None = float(
                math.sqrt(power * (1 - power) / len(placebo)) / slope
            )
        else:
            self.mde_simulation = self.std_error_simulation = self.mde_simulation_mc_se = None
        self.mde = (
            self.mde_simulation
            if method == "simulation" and self.mde_simulation is not None
            else self.mde_analytic
        )
        self.ledger = calibration.ledger
        self.provenance = provenance
        self._freeze()

    # ------------------------------------------------------------------ questions
    def power_at(self, effect: float) -> pd.Series:
        """Power against a true effect of size ``effect`` (two-sided test at ``alpha``).

        Parameters
        ----------
        effect : float
            The true effect, in outcome units (its sign does not matter).

        Returns
        -------
        pandas.Series
            ``analytic`` and, when simulated, ``simulation``.
        """
        out = {
            "analytic": float(
                _power_from(np.array([effect]), self.std_error, self.alpha, self.df)[0]
            )
        }
        if self.placebo is not None:
            out["simulation"] = float(
                _simulated_power(self.placebo, effect, self.alpha, self.df)[0]
            )
        return pd.Series(out, name="power")

    def power_curve(self, effects: Any = None) -> pd.DataFrame:
        """Power against a grid of effect sizes: ``effect, analytic[, simulation]``.

        Parameters
        ----------
        effects : array-like, optional
            Default: 41 points from 0 to 2.5 times the MDE.

        Returns
        -------
        pandas.DataFrame
        """
        grid = (
            np.linspace(0.0, 2.5 * self.mde, 41)
            if effects is None
            else np.asarray(effects, dtype=float)
        )
        out = pd.DataFrame(
            {"effect": grid, "analytic": _power_from(grid, self.std_error, self.alpha, self.df)}
        )
        if self.placebo is not None:
            out["simulation"] = _simulated_power(self.placebo, grid, self.alpha, self.df)
        return out

    def n_treated_for(self, effect: float) -> int:
        """Treated units needed to detect ``effect`` with the target power (analytic).

        The comparison group (``n_control``), the years and the calibrated error
        covariance are kept.

        Parameters
        ----------
        effect : float
            The effect to detect, in outcome units (non-zero).

        Returns
        -------
        int

        Raises
        ------
        IdentificationError
            If no number of treated units reaches the power with this comparison group
            (its own noise alone exceeds the effect).
        """
        effect = _effect(effect, "PowerResult.n_treated_for")
        for n in _doubling():
            if self._mde_with(n, self.n_control, self.years) <= effect:
                return _smallest(
                    lambda k: self._mde_with(k, self.n_control, self.years) <= effect, n
                )
            if n > _MAX_N:
                break
        raise IdentificationError(
            f"No number of treated units detects an effect of {effect:g} with power "
            f"{self.power:g}: with {self.n_control} comparison units their own noise alone "
            f"gives an MDE of {self._mde_with(_MAX_N, self.n_control, self.years):.4g}. "
            "Add comparison units or years."
        )

    def years_for(self, effect: float, *, max_years: int = 50) -> int:
        """Post-treatment years needed to detect ``effect`` with the target power (analytic).

        Parameters
        ----------
        effect : float
            The effect to detect (assumed constant over the years), in outcome units.
        max_years : int, default 50
            Search limit.

        Returns
        -------
        int

        Raises
        ------
        IdentificationError
            If no number of years up to ``max_years`` suffices (with serially correlated
            errors, more years stop helping), or, with ``errors="empirical"``, none
            within the observed years.
        """
        effect = _effect(effect, "PowerResult.years_for")
        top = max_years if self.errors == "ar1" else self.n_calibration_years - self.pre_years
        for r in range(1, top + 1):
            if self._mde_with(self.n_treated, self.n_control, r) <= effect:
                return r
        raise IdentificationError(
            f"No number of post-treatment years up to {top} detects an effect of {effect:g} "
            f"with power {self.power:g} and {self.n_treated} treated units"
            + (
                " (errors='empirical' cannot look beyond the observed years; use 'ar1')."
                if self.errors == "empirical"
                else "."
            )
        )

    def _mde_with(self, n_t: int, n_c: int, years: int) -> float:
        v = self._cal.contrast_variance(_contrast(self.design, self.pre_years, years), self.errors)
        return _mde_from(math.sqrt(v * (1 / n_t + 1 / n_c)), self.alpha, self.power, n_t + n_c - 2)

    # ------------------------------------------------------------------ protocol
    def to_frame(self) -> pd.DataFrame:
        """The MDE per method (schema ``effect_table``): ``term="mde"``.

        ``estimate`` is the MDE, ``std_error`` the DiD estimate's standard error
        (analytic) or the placebo estimates' standard deviation (simulation); the
        simulated row's interval is its Monte-Carlo interval at ``ci_level``; then
        ``power, alpha, n_treated, n_control, years, pre_years``.
        """
        from effekt.options import resolve_level

        level = resolve_level(None)
        z = stats.norm.ppf(0.5 + level / 2)
        names, est, se, lo, hi = (
            ["analytic"],
            [self.mde_analytic],
            [self.std_error],
            [np.nan],
            [np.nan],
        )
        if self.mde_simulation is not None:
            mc = float(self.mde_simulation_mc_se or np.nan)
            names.append("simulation")
            est.append(self.mde_simulation)
            se.append(float(self.std_error_simulation or np.nan))
            lo.append(self.mde_simulation - z * mc)
            hi.append(self.mde_simulation + z * mc)
        n = len(names)
        return tidy_effects(
            {
                "outcome": [self.outcome] * n,
                "design": [self.design] * n,
                "estimator": names,
                "term": ["mde"] * n,
            },
            est,
            se,
            level=level,
            ci_lower=lo,
            ci_upper=hi,
            p_value=[np.nan] * n,
            extra={
                "power": self.power,
                "alpha": self.alpha,
                "n_treated": self.n_treated,
                "n_control": self.n_control,
                "years": self.years,
                "pre_years": self.pre_years,
            },
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            (
                "Design",
                f"{self.design}: {self.n_treated} treated, {self.n_control} comparison "
                f"units; {self.pre_years} pre + {self.years} post years",
            ),
            ("Test", f"two-sided, alpha {self.alpha:g}, power {self.power:g}"),
            ("MDE (analytic)", f"{self.mde_analytic:.4g} (errors: {self.errors})"),
        ]
        if self.mde_simulation is not None and self.placebo is not None:
            info.append(
                (
                    "MDE (simulation)",
                    f"{self.mde_simulation:.4g} "
                    f"(MC s.e. {self.mde_simulation_mc_se:.2g}, {len(self.placebo)} "
                    "placebo draws)",
                )
            )
        info.append(
            (
                "Calibration",
                f"{self.n_calibration_units} never-treated units, "
                f"{self.n_calibration_years} years; residual s.d. {self.sigma:.4g}, "
                f"AR(1) rho {self.rho:.3f}",
            )
        )
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """The power curve: power against the true effect size, with the MDE marked.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        curve = self.power_curve()
        ax.plot(curve["effect"], curve["analytic"], color="#08519c", label=label("power_analytic"))
        if "simulation" in curve:
            ax.step(
                curve["effect"],
                curve["simulation"],
                where="mid",
                color="#d94801",
                label=label("power_simulation"),
            )
        ax.axhline(self.power, color="0.6", lw=0.8, ls=":")
        ax.axvline(self.mde, color="0.3", lw=0.8, ls="--", label=f"{label('mde')} = {self.mde:.3g}")
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel(label("effect_size"))
        ax.set_ylabel(label("power"))
        ax.set_title(f"{label('power_curve')}: {self.outcome}")
        ax.legend(frameon=False, fontsize="small")
        return ax


def _effect(effect: Any, owner: str) -> float:
    ok = (
        not isinstance(effect, bool)
        and isinstance(effect, int | float | np.floating)
        and np.isfinite(effect)
        and effect != 0
    )
    if not ok:
        raise invalid_parameter("effect", owner, "a non-zero finite number", effect)
    return abs(float(effect))


def _doubling() -> Any:
    n = 1
    while True:
        yield n
        n *= 2


def _smallest(ok: Any, hi: int) -> int:
    """Smallest integer in [1, hi] with ``ok`` true, given ``ok(hi)`` and monotonicity."""
    lo = 0  # ok(lo) false (or lo = 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def mde(
    data: Any,
    *,
    n_treated: int,
    years: int,
    outcome: str | None = None,
    kind: str = "lbf_helhedsplan",
    design: str = "twfe",
    pre_years: int | None = None,
    n_control: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    errors: str = "ar1",
    method: str = "analytic",
    reps: int = 2000,
    seed: int = 0,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> PowerResult:
    """The minimum detectable effect of a DiD with ``n_treated`` units and ``years`` post-years.

    Parameters
    ----------
    data : Panel or simulate.World
        The analyst's data: a :class:`~effekt.Panel` with treatment timing (the
        never-treated units calibrate the noise), or a simulated World (its
        ``area_panel(kind)``).
    n_treated : int
        Number of treated units (>= 1).
    years : int
        Post-treatment years observed (>= 1), the treatment year included.
    outcome : str, optional
        The outcome; required for a World, must be the panel's for a Panel.
    kind : str, default "lbf_helhedsplan"
        For a World: the intervention kind whose never-treated areas calibrate.
    design : {"twfe", "callaway"}, default "twfe"
        ``"twfe"``: two-way fixed effects, post mean against the mean of all
        ``pre_years``; ``"callaway"``: Callaway & Sant'Anna with never-treated
        comparison, post mean against the last pre-year (universal base period).
    pre_years : int, optional
        Pre-treatment years. Default: all years the data have before the ``years``
        (``"twfe"``), 1 (``"callaway"``).
    n_control : int, optional
        Comparison units. Default: the never-treated units less ``n_treated`` (the
        placebo simulation draws both groups from them). For the analytic MDE it may
        exceed the never-treated units (they only calibrate the noise), e.g. the
        comparison areas of a study whose treated areas are not among them.
    alpha : float, default 0.05
        Level of the two-sided test, in (0, 1).
    power : float, default 0.8
        Target power, in (0, 1).
    errors : {"ar1", "empirical"}, default "ar1"
        Error covariance for the analytic MDE: a stationary AR(1) fitted to the
        residuals (extrapolates beyond the observed years), or the residual
        covariances themselves (needs ``pre_years + years`` observed years).
    method : {"analytic", "simulation", "both"}, default "analytic"
        Which MDE :attr:`PowerResult.mde` reports; "simulation" and "both" run the
        placebo simulation (the analytic MDE is always computed).
    reps : int, default 2000
        Placebo draws.
    seed : int, default 0
        Seed of the placebo draws (same seed, same numbers for any ``n_jobs``).
    n_jobs : int, default 1
        Workers for the placebo draws (:mod:`effekt.parallel`).
    progress : bool, optional
        Progress bar; default ``effekt.options["progress"]``.

    Returns
    -------
    PowerResult
        With :meth:`~PowerResult.power_at`, :meth:`~PowerResult.power_curve`,
        :meth:`~PowerResult.n_treated_for` and :meth:`~PowerResult.years_for`.

    Raises
    ------
    ParameterError
        ``n_treated`` < 1, ``years`` < 1, ``alpha`` or ``power`` outside (0, 1), an
        unknown ``design``/``errors``/``method``, a World without ``outcome``.
    IdentificationError
        No (or fewer than 3) complete never-treated units, too few years for the
        pre-periods, or too few never-treated units for ``n_treated`` placebo
        treatments and a comparison group.

    Warns
    -----
    DroppedRowsWarning
        Never-treated units missing the outcome in some year are left out of the
        calibration (listed in the result's ledger).

    References
    ----------
    Burlig, F., Preonas, L. and Woerman, M. (2020). Panel data and experimental
    design. Journal of Development Economics 144, 102458.
    doi:10.1016/j.jdeveco.2020.102458

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> res = ek.power.mde(panel, n_treated=50, years=2, method="both", reps=500,
    ...                    progress=False)
    >>> bool(abs(res.mde_simulation / res.mde_analytic - 1) < 0.15)
    True
    """
    owner = "effekt.power.mde"
    check_choice("design", owner, design, DESIGNS)
    check_errors(errors, owner)
    check_choice("method", owner, method, METHODS)
    n_t = _unit_count("n_treated", owner, n_treated, 1)
    r = _unit_count("years", owner, years, 1)
    a_level = _probability("alpha", owner, alpha)
    target = _probability("power", owner, power)
    simulate = method != "analytic"
    if simulate:
        reps = _unit_count("reps", owner, reps, 10)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise invalid_parameter("seed", owner, "a non-negative integer", seed)
    cal = calibrate(data, outcome=outcome, kind=kind, owner=owner)
    t_obs = cal.n_periods
    if pre_years is None:
        m = t_obs - r if design == "twfe" else 1
        if m < 1:
            raise IdentificationError(
                f"Too few pre-periods: the data have {t_obs} years, and {r} post-treatment "
                f"'years' leave none before the start for the baseline. Ask for fewer years "
                "or pass pre_years= (errors='ar1' extrapolates)."
            )
    else:
        m = _unit_count("pre_years", owner, pre_years, 1)
    if (errors == "empirical" or simulate) and m + r > t_obs:
        raise IdentificationError(
            f"Too few pre-periods in the data: pre_years={m} and years={r} need {m + r} "
            f"observed years, the data have {t_obs}. The placebo simulation and "
            "errors='empirical' use only observed years; lower pre_years or years, or use "
            "method='analytic' with errors='ar1' (which extrapolates)."
        )
    n_untreated = cal.n_units
    if n_control is None:
        n_c = n_untreated - n_t
        if n_c < 1:
            raise IdentificationError(
                f"Too few untreated units for placebo treatments: n_treated={n_t} leaves no "
                f"comparison among the {n_untreated} never-treated units. Pass n_control= or "
                "lower n_treated."
            )
    else:
        n_c = _unit_count("n_control", owner, n_control, 1)
    if n_t + n_c < 3:
        raise ParameterError(
            f"{owner} needs n_treated + n_control >= 3 (one degree of freedom for the test); "
            f"got {n_t} + {n_c}."
        )
    if simulate and n_t + n_c > n_untreated:
        raise IdentificationError(
            f"Too few untreated units for placebo treatments: the simulation draws "
            f"n_treated={n_t} placebo-treated and n_control={n_c} comparison units from the "
            f"{n_untreated} complete never-treated units. Lower them, or use method='analytic'."
        )
    placebo = None
    if simulate:
        a = _contrast(design, m, r)
        windows = np.stack(
            [cal.y[:, p : p + m + r] @ a for p in range(t_obs - m - r + 1)]
        )  # positions x units: every unit's contrast in every window of the observed years
        placebo = resample(
            partial(_placebo_chunk, d=windows, n_treated=n_t, n_control=n_c),
            reps,
            seed=int(seed),
            n_jobs=n_jobs,
            progress=progress,
            desc="placebo MDE",
        )
    params = {
        "n_treated": n_t,
        "n_control": n_c,
        "years": r,
        "pre_years": m,
        "design": design,
        "alpha": a_level,
        "power": target,
        "errors": errors,
        "method": method,
        "reps": reps if simulate else 0,
        "outcome": cal.outcome,
    }
    return PowerResult(
        calibration=cal,
        design=design,
        errors=errors,
        method=method,
        n_treated=n_t,
        n_control=n_c,
        years=r,
        pre_years=m,
        alpha=a_level,
        power=target,
        placebo=placebo,
        provenance=Provenance(owner, params, int(seed) if simulate else None, cal.fingerprint),
    )


def power(data: Any, *, effect: float, **kwargs: Any) -> pd.Series:
    """Power of a DiD design against a true effect of size ``effect``.

    Parameters
    ----------
    data : Panel or simulate.World
        As for :func:`mde`.
    effect : float
        The true effect, in outcome units (non-zero; the sign does not matter).
    **kwargs
        The design and calibration, as for :func:`mde` (``n_treated``, ``years``, ...);
        with ``method="both"`` the simulated power is given too.

    Returns
    -------
    pandas.Series
        ``analytic`` and, when simulated, ``simulation``.

    Raises
    ------
    ParameterError
        As :func:`mde`, and a zero or non-finite ``effect``.

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> p = ek.power.power(panel, effect=0.05, n_treated=50, years=2)
    >>> bool(0.0 < p["analytic"] < 1.0)
    True
    """
    size = _effect(effect, "effekt.power.power")
    return mde(data, **kwargs).power_at(size)
