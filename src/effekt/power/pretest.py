"""Power of an event study's pre-test against violations of parallel trends (Roth 2022).

The usual pre-test rejects parallel trends when any pre-period coefficient is
individually significant. Roth (2022) asks how large a violation it would catch: if
the coefficients are ``beta_hat ~ N(delta, Sigma)`` with ``delta`` the difference in
trends, the test passes when every ``|beta_hat_j| <= c se_j`` (``c`` the two-sided
normal critical value), so its power is one minus a multivariate normal probability
of a rectangle. For a linear trend ``delta_t = gamma (t - t_ref)`` the slope ``gamma``
at which the power is 50 % or 80 % is the pre-test's analogue of an MDE: a trend that
steep escapes detection half (or a fifth) of the time, and then biases the
post-period estimates by ``gamma (t - t_ref)``.

The rectangle probability is :func:`scipy.stats.multivariate_normal.cdf` with
``lower_limit`` (Genz's quasi-Monte-Carlo algorithm, as R's ``mvtnorm::pmvnorm``
used by the ``pretrends`` package), with a seeded generator so the same inputs give
the same numbers, and absolute error tolerance 1e-5 (R's ``pmvnorm`` default is
1e-3). The slope is the root of ``power(gamma) - target`` on ``[0, 8 max se]`` (as
``pretrends::slope_for_power``).
The He & Wang (2017) example of the ``pretrends`` README is reproduced in
``tests/test_pretrends_power.py``.

References
----------
Roth, J. (2022). Pretest with caution: event-study estimates after testing for
parallel trends. American Economic Review: Insights 4(3), 305-322.
doi:10.1257/aeri.20210236
Genz, A. (1992). Numerical computation of multivariate normal probabilities.
Journal of Computational and Graphical Statistics 1(2), 141-149.
doi:10.1080/10618600.1992.10477010
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from effekt.errors import IdentificationError, ParameterError, invalid_parameter
from effekt.panel import Ledger
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["PreTrendsResult", "pretrends", "slope_for_power"]

_MEAN_DRAWS = 1_000_000  # Monte-Carlo draws for the mean after pre-testing
_ABSEPS = 1e-5  # absolute error of each rectangle probability (Genz QMC)


def _pass_probability(mean: np.ndarray, cov: np.ndarray, crit: float, seed: int) -> float:
    """P(|X_j| <= crit sd_j for all j), X ~ N(mean, cov)."""
    sd = np.sqrt(np.diag(cov))
    if len(mean) == 1:
        return float(
            stats.norm.cdf(crit * sd[0], mean[0], sd[0])
            - stats.norm.cdf(-crit * sd[0], mean[0], sd[0])
        )
    return float(
        stats.multivariate_normal.cdf(
            crit * sd,
            mean=mean,
            cov=cov,
            lower_limit=-crit * sd,
            abseps=_ABSEPS,
            releps=0.0,
            rng=np.random.default_rng(seed),
        )
    )


def _inputs(
    sigma: Any, event_times: Any, reference: int, owner: str, beta: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(times, pre mask, sigma, beta) validated."""
    try:
        s = np.asarray(sigma, dtype=float)
    except (TypeError, ValueError):
        raise invalid_parameter("sigma", owner, "a square covariance matrix", sigma) from None
    if s.ndim != 2 or s.shape[0] != s.shape[1] or not np.all(np.isfinite(s)):
        raise invalid_parameter("sigma", owner, "a finite square covariance matrix", sigma)
    if not np.allclose(s, s.T, rtol=1e-8, atol=1e-12):
        raise ParameterError(f"The 'sigma' parameter of {owner} must be symmetric.")
    k = s.shape[0]
    if event_times is None:
        raise ParameterError(
            f"{owner} needs 'event_times': the event time of each coefficient (e.g. "
            "[-4, -3, -2, 0, 1, 2, 3] with the reference period -1 omitted)."
        )
    t = np.asarray(event_times, dtype=float)
    if t.shape != (k,):
        raise ParameterError(
            f"The 'event_times' parameter of {owner} must give one event time per row of "
            f"sigma ({k}); got {len(np.atleast_1d(t))}."
        )
    if np.any(t == reference):
        raise ParameterError(
            f"The 'event_times' of {owner} include the reference period {reference}, whose "
            "coefficient must be omitted (normalised to zero). Refit the event study with "
            "that period as the reference, or pass the reference period it used."
        )
    pre = t < reference
    if not pre.any():
        raise IdentificationError(
            f"{owner} needs at least one pre-period coefficient (event time before the "
            f"reference period {reference}); the event times are {t.astype(int).tolist()}."
        )
    sp = s[np.ix_(pre, pre)]
    if np.any(np.linalg.eigvalsh(sp) <= 0):
        raise ParameterError(
            f"The pre-period block of 'sigma' of {owner} must be positive definite."
        )
    b = None
    if beta is not None:
        b = np.asarray(beta, dtype=float)
        if b.shape != (k,) or not np.all(np.isfinite(b)):
            raise ParameterError(
                f"The 'beta' parameter of {owner} must be {k} finite coefficients (one per row "
                "of sigma)."
            )
    return t, pre, s, b


def _mean_after_pretest(
    hyp: np.ndarray, s: np.ndarray, pre: np.ndarray, crit: float, seed: int
) -> np.ndarray:
    """E[beta_hat | the pre-test passes] under beta_hat ~ N(hyp, s), at every event time.

    The pre-period part is the mean of a normal truncated to the acceptance rectangle,
    by Monte Carlo (``_MEAN_DRAWS`` draws from a generator seeded with ``seed``, in
    chunks); the post-period part follows from the regression of the post on the pre
    coefficients, ``hyp_post + S_21 S_11^{-1} (m_pre - hyp_pre)`` (Roth 2022, as
    ``pretrends``' ``meanBetaPost_NIS``), which needs no draws.
    """
    sp = s[np.ix_(pre, pre)]
    bound = crit * np.sqrt(np.diag(sp))
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(sp)
    total, kept = np.zeros(int(pre.sum())), 0
    for start in range(0, _MEAN_DRAWS, 250_000):  # chunks bound the memory
        n = min(250_000, _MEAN_DRAWS - start)
        x = hyp[pre] + rng.standard_normal((n, len(bound))) @ chol.T
        ok = np.all(np.abs(x) <= bound, axis=1)
        total += x[ok].sum(axis=0)
        kept += int(ok.sum())
    out = hyp.astype(float).copy()
    if kept == 0:
        out[:] = np.nan
        return out
    m_pre = total / kept
    out[pre] = m_pre
    post = ~pre
    if post.any():
        s21 = s[np.ix_(post, pre)]
        out[post] = hyp[post] + s21 @ np.linalg.solve(sp, m_pre - hyp[pre])
    return out


def _crit(alpha: Any, owner: str) -> float:
    ok = not isinstance(alpha, bool) and isinstance(alpha, int | float) and 0 < alpha < 1
    if not ok:
        raise invalid_parameter("alpha", owner, "a probability strictly between 0 and 1", alpha)
    return float(stats.norm.ppf(1 - alpha / 2))


def _slope(rel: np.ndarray, sp: np.ndarray, crit: float, target: float, seed: int) -> float:
    def gap(g: float) -> float:
        return 1.0 - _pass_probability(g * rel, sp, crit, seed) - target

    hi = 8.0 * float(np.max(np.sqrt(np.diag(sp))))
    while gap(hi) < 0:  # a pre-period far from the reference can need a wider bracket
        hi *= 2.0
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-10))


def _target(value: Any, owner: str, name: str) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float) and 0 < value < 1
    if not ok:
        raise invalid_parameter(name, owner, "a power strictly between 0 and 1", value)
    return float(value)


def slope_for_power(
    sigma: Any,
    *,
    event_times: Sequence[int],
    target_power: float = 0.5,
    reference: int = -1,
    alpha: float = 0.05,
    seed: int = 0,
) -> float:
    """Slope of the linear pre-trend that the pre-test detects with probability ``target_power``.

    Parameters
    ----------
    sigma : array-like, (k, k)
        Covariance of the event-study coefficients (the reference period omitted).
    event_times : sequence of int
        Event time of each coefficient; those before ``reference`` are pre-periods.
    target_power : float, default 0.5
        Power of the pre-test (any pre-period coefficient significant at ``alpha``).
    reference : int, default -1
        The omitted reference period, normalised to zero.
    alpha : float, default 0.05
        Level of each coefficient's two-sided test.
    seed : int, default 0
        Seed of the quasi-Monte-Carlo rectangle probabilities.

    Returns
    -------
    float
        The slope ``gamma`` (a magnitude, so positive) of ``delta_t = gamma (t - reference)``.

    Raises
    ------
    ParameterError
        A non-square, asymmetric or not positive definite ``sigma``, ``event_times`` of
        the wrong length, ``target_power`` or ``alpha`` outside (0, 1).
    IdentificationError
        No pre-period.

    References
    ----------
    Roth, J. (2022). Pretest with caution. American Economic Review: Insights 4(3),
    305-322. doi:10.1257/aeri.20210236

    Examples
    --------
    >>> from effekt.power import slope_for_power
    >>> round(slope_for_power([[0.01]], event_times=[-2], target_power=0.5), 4)
    0.196
    """
    owner = "slope_for_power"
    crit = _crit(alpha, owner)
    target = _target(target_power, owner, "target_power")
    t, pre, s, _ = _inputs(sigma, event_times, reference, owner)
    return _slope(t[pre] - reference, s[np.ix_(pre, pre)], crit, target, int(seed))


class PreTrendsResult(Result):
    """Power of an event study's pre-test (Roth 2022).

    Attributes
    ----------
    slopes : pandas.Series
        Slope of the linear trend detected with each target power (index: the power).
    hypothesis : numpy.ndarray or None
        The hypothesised difference in trends at each event time, if one was given.
    mean_after_pretest : numpy.ndarray or None
        Under the hypothesis, the expected coefficients given that the pre-test passes
        (Roth 2022's distortion from pre-testing), at each event time; Monte Carlo with
        1,000,000 draws for the pre-periods (see :func:`pretrends`).
    power, bayes_factor, likelihood_ratio : float or None
        Against the hypothesis: the pre-test's power; the probability of passing it
        under the hypothesis relative to under parallel trends; the likelihood of the
        estimated pre-period coefficients under the hypothesis relative to under
        parallel trends (needs the coefficients).
    event_times : numpy.ndarray
    alpha : float
    """

    title = "Power of the pre-trends test (Roth 2022)"

    def __init__(
        self,
        *,
        slopes: pd.Series,
        event_times: np.ndarray,
        beta: np.ndarray | None,
        sigma: np.ndarray,
        reference: int,
        alpha: float,
        hypothesis: np.ndarray | None,
        power: float | None,
        bayes_factor: float | None,
        likelihood_ratio: float | None,
        mean_after_pretest: np.ndarray | None,
        outcome: str,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        self.slopes = slopes
        self.event_times = event_times
        self.beta = beta
        self.sigma = sigma
        self.reference = reference
        self.alpha = alpha
        self.hypothesis = hypothesis
        self.power = power
        self.bayes_factor = bayes_factor
        self.likelihood_ratio = likelihood_ratio
        self.mean_after_pretest = mean_after_pretest
        self.outcome = outcome
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Rows ``term="slope_for_power"`` (estimate = slope, column ``power``) and, with a
        hypothesis, ``term="power_against_hypothesis"`` (estimate = power, with
        ``bayes_factor`` and ``likelihood_ratio``). Schema ``effect_table``."""
        from effekt.options import resolve_level

        n = len(self.slopes)
        terms = ["slope_for_power"] * n
        est = list(self.slopes.to_numpy(float))
        powers = list(self.slopes.index.astype(float))
        bf = [np.nan] * n
        lr = [np.nan] * n
        if self.power is not None:
            terms.append("power_against_hypothesis")
            est.append(self.power)
            powers.append(self.power)
            bf.append(np.nan if self.bayes_factor is None else self.bayes_factor)
            lr.append(np.nan if self.likelihood_ratio is None else self.likelihood_ratio)
        m = len(terms)
        return tidy_effects(
            {"outcome": [self.outcome] * m, "estimator": ["pretrends"] * m, "term": terms},
            est,
            [np.nan] * m,
            level=resolve_level(None),
            ci_lower=[np.nan] * m,
            ci_upper=[np.nan] * m,
            p_value=[np.nan] * m,
            extra={"power": powers, "bayes_factor": bf, "likelihood_ratio": lr},
        )

    def event_plot_frame(self) -> pd.DataFrame:
        """The event plot's data, as ``pretrends``' ``df_eventplot``.

        Returns
        -------
        pandas.DataFrame
            One row per event time, the reference period included (zeros): ``t,
            betahat, deltatrue, se, mean_after_pretest`` (the last two need the
            coefficients and a hypothesis respectively; missing otherwise).
        """
        t = np.append(self.event_times, self.reference)
        order = np.argsort(t, kind="stable")

        def col(values: np.ndarray | None) -> np.ndarray:
            if values is None:
                return np.full(len(t), np.nan)
            return np.append(values, 0.0)[order]

        return pd.DataFrame(
            {
                "t": t[order].astype(int),
                "betahat": col(self.beta),
                "deltatrue": col(self.hypothesis),
                "se": col(np.sqrt(np.diag(self.sigma))),
                "mean_after_pretest": col(self.mean_after_pretest),
            }
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        pre = self.event_times[self.event_times < self.reference]
        info = [
            ("Pre-periods", ", ".join(str(int(t)) for t in pre)),
            ("Test", f"any pre-period coefficient significant at {self.alpha:g} (two-sided)"),
        ]
        info += [(f"Slope for {p:.0%} power", f"{s:.4g}") for p, s in self.slopes.items()]
        if self.power is not None:
            info.append(("Power against hypothesis", f"{self.power:.4f}"))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study coefficients with intervals and the linear trends of each target power.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        t = np.append(self.event_times, self.reference)
        order = np.argsort(t)
        t = t[order]
        if self.beta is not None:
            se = np.sqrt(np.diag(self.sigma))
            b = np.append(self.beta, 0.0)[order]
            s = np.append(se, 0.0)[order]
            c = stats.norm.ppf(1 - self.alpha / 2)
            ax.errorbar(
                t, b, yerr=c * s, fmt="o", color="black", capsize=2, label=label("estimate")
            )
        targets = self.slopes.index.to_numpy(dtype=float)
        for p, slope, color in zip(
            targets, self.slopes.to_numpy(float), ("#d94801", "#08519c", "#238b45"), strict=False
        ):
            ax.plot(
                t,
                slope * (t - self.reference),
                color=color,
                lw=1.2,
                label=label("pretrend_slope", p=float(p)),
            )
        if self.hypothesis is not None:
            h = np.append(self.hypothesis, 0.0)[order]
            ax.plot(t, h, "k--", lw=1.0, label=label("hypothesised_trend"))
        if self.mean_after_pretest is not None:
            mean = np.append(self.mean_after_pretest, 0.0)[order]
            ax.plot(t, mean, ":", color="#756bb1", lw=1.5, label=label("mean_after_pretest"))
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.axvline(self.reference + 0.5, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel(label("event_time"))
        ax.set_ylabel(label("coefficient"))
        ax.set_title(label("pretrend_power"))
        ax.legend(frameon=False, fontsize="small")
        return ax


def pretrends(
    result: Any = None,
    *,
    beta: Any = None,
    sigma: Any = None,
    event_times: Sequence[int] | None = None,
    reference: int = -1,
    powers: Sequence[float] = (0.5, 0.8),
    slope: float | None = None,
    delta: Any = None,
    alpha: float = 0.05,
    seed: int = 0,
) -> PreTrendsResult:
    """How large a violation of parallel trends an event study's pre-test would catch.

    Parameters
    ----------
    result : Result, optional
        Any result with ``event_study_coefficients()`` (``TwoWayFE(event_study=True)``,
        ``SunAbraham``, ``Imputation`` with leads, ``CallawaySantAnna``'s event-time
        aggregate). Or give ``beta``, ``sigma`` and ``event_times``.
    beta : array-like, optional
        Event-study coefficients (needed only for the likelihood ratio).
    sigma : array-like, optional
        Their covariance.
    event_times : sequence of int, optional
        Event time of each coefficient (the reference period omitted).
    reference : int, default -1
        The omitted reference period.
    powers : sequence of float, default (0.5, 0.8)
        Target powers whose linear-trend slopes are computed.
    slope : float, optional
        A hypothesised linear trend ``slope * (t - reference)``.
    delta : array-like, optional
        A hypothesised trend, one value per event time (instead of ``slope``).
    alpha : float, default 0.05
        Level of each pre-period coefficient's two-sided test.
    seed : int, default 0
        Seed of the quasi-Monte-Carlo rectangle probabilities and of the Monte-Carlo
        draws for the mean after pre-testing (same seed, same numbers).

    Returns
    -------
    PreTrendsResult
        With a hypothesis also ``mean_after_pretest``: the coefficients' expectation
        given that the pre-test passes. Its pre-period part is the mean of the
        truncated normal by Monte Carlo (1,000,000 draws; Monte-Carlo s.e. about
        ``se / 1000 / sqrt(pass probability)``), the post-period part its regression
        projection (no draws); :meth:`PreTrendsResult.event_plot_frame` tabulates them.

    Raises
    ------
    ParameterError
        Neither a result nor ``sigma``/``event_times``; both ``slope`` and ``delta``; a
        ``delta`` of the wrong length; invalid ``powers`` or ``alpha``.
    IdentificationError
        No pre-period coefficient.

    References
    ----------
    Roth, J. (2022). Pretest with caution: event-study estimates after testing for
    parallel trends. American Economic Review: Insights 4(3), 305-322.
    doi:10.1257/aeri.20210236

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> es = ek.did.TwoWayFE(event_study=True).fit(panel)
    >>> pt = ek.power.pretrends(es)
    >>> bool(pt.slopes[0.8] > pt.slopes[0.5] > 0)
    True
    """
    owner = "effekt.power.pretrends"
    outcome = ""
    ledger = Ledger.empty()
    fingerprint = ""
    if result is not None:
        getter = getattr(result, "event_study_coefficients", None)
        if getter is None:
            raise ParameterError(
                f"The 'result' argument of {owner} must have event-study coefficients "
                f"(event_study_coefficients()); got {type(result).__name__}. Or pass beta, "
                "sigma and event_times."
            )
        est, cov = getter()
        beta, sigma, event_times = est.to_numpy(float), cov.to_numpy(float), list(est.index)
        outcome = str(getattr(result, "outcome", ""))
        ledger = getattr(result, "ledger", ledger)
        fingerprint = getattr(getattr(result, "provenance", None), "data_fingerprint", "")
    elif sigma is None:
        raise ParameterError(f"{owner} needs an event-study result or 'sigma' and 'event_times'.")
    crit = _crit(alpha, owner)
    t, pre, s, b = _inputs(sigma, event_times, reference, owner, beta)
    targets = [_target(p, owner, "powers") for p in np.atleast_1d(np.asarray(powers, float))]
    rel = t - reference
    sp = s[np.ix_(pre, pre)]
    slopes = pd.Series(
        [_slope(rel[pre], sp, crit, p, int(seed)) for p in targets],
        index=pd.Index(targets, name="power"),
        name="slope",
    )
    if slope is not None and delta is not None:
        raise ParameterError(f"{owner} takes 'slope' or 'delta', not both.")
    hyp = None
    if slope is not None:
        if isinstance(slope, bool) or not isinstance(slope, int | float) or not np.isfinite(slope):
            raise invalid_parameter("slope", owner, "a finite number", slope)
        hyp = float(slope) * rel
    elif delta is not None:
        hyp = np.asarray(delta, dtype=float)
        if hyp.shape != t.shape or not np.all(np.isfinite(hyp)):
            raise ParameterError(
                f"The 'delta' parameter of {owner} must give one finite value per event time "
                f"({len(t)}); got {delta!r}."
            )
    power = bf = lr = None
    mean_after = None
    if hyp is not None:
        mean_after = _mean_after_pretest(hyp, s, pre, crit, int(seed))
        pass_h = _pass_probability(hyp[pre], sp, crit, int(seed))
        pass_0 = _pass_probability(np.zeros(int(pre.sum())), sp, crit, int(seed))
        power = 1.0 - pass_h
        bf = pass_h / pass_0
        if b is not None:
            dist = stats.multivariate_normal(mean=hyp[pre], cov=sp)
            null = stats.multivariate_normal(mean=np.zeros(int(pre.sum())), cov=sp)
            lr = float(np.exp(dist.logpdf(b[pre]) - null.logpdf(b[pre])))
    params = {
        "event_times": t.astype(int).tolist(),
        "reference": reference,
        "powers": targets,
        "alpha": float(alpha),
        "slope": slope,
        "delta": None if delta is None else np.asarray(delta, float).tolist(),
    }
    return PreTrendsResult(
        slopes=slopes,
        event_times=t,
        beta=b,
        sigma=s,
        reference=int(reference),
        alpha=float(alpha),
        hypothesis=hyp,
        power=power,
        bayes_factor=bf,
        likelihood_ratio=lr,
        mean_after_pretest=mean_after,
        outcome=outcome,
        ledger=ledger,
        provenance=Provenance(owner, params, int(seed), str(fingerprint)),
    )
