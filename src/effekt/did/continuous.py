"""Difference-in-differences with a continuous treatment (Callaway, Goodman-Bacon & Sant'Anna).

:class:`ContinuousDiD` estimates the dose-response curves ``ATT(d)`` (the average
effect of dose ``d`` on the units that got it) and ``ACRT(d)`` (its derivative, the
average causal response) with a B-spline in the dose, as the authors' R package
``contdid`` does: for each treated cohort ``g`` and period ``t >= g`` the treated
units' outcome change since ``g - 1``, minus the never-treated units' mean change,
is regressed on the spline basis of the dose; the cells are averaged with weights
proportional to cohort size and spread evenly over each cohort's post periods.
Pointwise standard errors come from the influence functions; uniform bands over
the dose grid from a multiplier bootstrap of the same influence functions
(:class:`~effekt.did.MultiplierBootstrap`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import interpolate, stats

from effekt.did._bootstrap import MultiplierBootstrap, draws, summarize
from effekt.errors import DataError, IdentificationError, ParameterError, invalid_parameter
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["ContinuousDiD", "ContinuousDiDResult"]

_OWNER = "ContinuousDiD"


def _basis(x: np.ndarray, knots: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Spline design and its derivative: an intercept plus the B-splines but the first.

    The same parameterisation as ``contdid`` (``splines2::bSpline(intercept = FALSE)``
    plus an intercept). Doses outside the boundary knots are clamped to them.
    """
    lo, hi = knots[degree], knots[-degree - 1]
    z = np.clip(np.asarray(x, dtype=float), lo, hi)
    n_basis = len(knots) - degree - 1
    deriv = np.zeros((len(z), n_basis))
    if hi == lo:  # a single dose: the curve is a constant
        design = np.zeros((len(z), n_basis))
    else:
        design = interpolate.BSpline.design_matrix(z, knots, degree).toarray()
        for j in range(1, n_basis):
            coef = np.zeros(n_basis)
            coef[j] = 1.0
            deriv[:, j] = interpolate.BSpline(knots, coef, degree).derivative()(z)
    design[:, 0] = 1.0
    return design, deriv


class ContinuousDiD(Estimator):
    """Dose-response DiD: ``ATT(d)`` and ``ACRT(d)`` with a B-spline in the dose.

    Parameters
    ----------
    dose : str
        Name of the panel covariate holding each unit's dose: constant within a unit,
        positive for treated units, 0 for never-treated ones.
    degree : int, default 3
        Spline degree (3: cubic, as ``contdid``).
    num_knots : int, default 0
        Interior knots, at quantiles of the treated doses. With 0 the curve is a
        polynomial of ``degree``.
    dose_grid : sequence of float, optional
        Doses at which to evaluate the curves; default the 10th to 99th percentiles
        of the treated doses in steps of 1 (``contdid``'s default).
    bootstrap : MultiplierBootstrap, optional
        Multiplier bootstrap for uniform (simultaneous) bands over the dose grid;
        the curves' standard errors are then the bootstrap's (interquartile range,
        as R ``did``). Without it they are analytic and the intervals pointwise normal.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    Notes
    -----
    Unconditional parallel trends with the never-treated units as controls,
    base period ``g - 1`` for every post period, no anticipation; balanced panels
    with integer periods. Checked against ``diff-diff`` 3.13 ``ContinuousDiD`` (its
    defaults), which follows ``contdid``.

    References
    ----------
    Callaway, B., Goodman-Bacon, A. and Sant'Anna, P. H. C. (2024).
    Difference-in-differences with a continuous treatment. NBER Working Paper
    32117. doi:10.3386/w32117

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import effekt as ek
    >>> rng = np.random.default_rng(0)
    >>> n = 300
    >>> dose = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.5, 2.0, n))
    >>> g = np.where(dose > 0, 3, 0)
    >>> rows = [(i, t, g[i], dose[i], rng.normal() + (t >= g[i] > 0) * 2 * dose[i] ** 0.5)
    ...         for i in range(n) for t in (1, 2, 3, 4)]
    >>> df = pd.DataFrame(rows, columns=["unit", "year", "g", "dose", "y"])
    >>> panel = ek.Panel.from_frame(df, unit="unit", time="year", outcome="y", cohort="g",
    ...                             never_treated=0, covariates=["dose"])
    >>> res = ek.did.ContinuousDiD(dose="dose").fit(panel)
    >>> round(res.att_glob, 1)
    2.2
    """

    def __init__(
        self,
        *,
        dose: str,
        degree: int = 3,
        num_knots: int = 0,
        dose_grid: Any = None,
        bootstrap: MultiplierBootstrap | None = None,
        ci_level: float | None = None,
    ) -> None:
        self.dose = dose
        self.degree = degree
        self.num_knots = num_knots
        self.dose_grid = dose_grid
        self.bootstrap = bootstrap
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> ContinuousDiDResult:
        """Estimate the dose-response curves and the overall summaries.

        Parameters
        ----------
        panel : effekt.Panel
            Balanced, with a cohort (never-treated units allowed and needed) and the
            dose among its covariates.

        Returns
        -------
        ContinuousDiDResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            Negative doses, a dose varying within a unit, a treated unit with dose 0
            or a never-treated unit with a positive dose, other covariates, weights.
        IdentificationError
            No cohort, no never-treated unit, an unbalanced panel, no treated cohort
            with a pre-period, fewer treated units in a cohort than spline terms.
        """
        level = resolve_level(self.ci_level)
        for name, low in (("degree", 1), ("num_knots", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise invalid_parameter(name, _OWNER, f"an integer >= {low}", value)
        if self.bootstrap is not None and not isinstance(self.bootstrap, MultiplierBootstrap):
            raise invalid_parameter(
                "bootstrap", _OWNER, "a MultiplierBootstrap or None", self.bootstrap
            )
        if not isinstance(self.dose, str) or self.dose not in panel.covariates:
            raise ParameterError(
                f"The 'dose' parameter of {_OWNER} must name a covariate of the panel; got "
                f"{self.dose!r}, the panel's covariates are {list(panel.covariates)}. Pass the "
                "dose column as covariates=[...] to Panel.from_frame."
            )
        others = [c for c in panel.covariates if c != self.dose]
        if others or panel.weights is not None:
            raise DataError(
                f"{_OWNER} uses unconditional parallel trends without weights; the panel "
                f"also has covariates {others} / weights {panel.weights!r}. Rebuild it with "
                "only the dose as covariate."
            )
        if panel.cohort is None:
            raise IdentificationError(
                f"{_OWNER} needs treatment timing (a cohort); rebuild the panel with "
                "cohort=... (never-treated units coded via never_treated=...)."
            )
        if not panel.is_balanced or pd.api.types.is_datetime64_any_dtype(panel.periods):
            raise IdentificationError(
                f"{_OWNER} needs a balanced panel with integer periods; balance it first."
            )
        data = panel._data
        raw = data[self.dose].to_numpy(float)
        if np.isnan(raw).any():
            raise DataError(f"The dose column {self.dose!r} has missing values; fill them.")
        if (raw < 0).any():
            bad = data.loc[raw < 0, [panel.unit, panel.time, self.dose]]
            raise DataError(
                f"The dose column {self.dose!r} must be non-negative; {int((raw < 0).sum())} "
                f"row(s) are negative (e.g. {bad.iloc[0].tolist()}). A dose is an amount of "
                "treatment (0 for the never-treated); shift or recode it."
            )
        units, unit_index = np.unique(data[panel.unit].to_numpy(), return_inverse=True)
        per_unit = pd.Series(raw).groupby(unit_index).nunique()
        if (per_unit > 1).any():
            raise DataError(
                f"The dose column {self.dose!r} varies within {int((per_unit > 1).sum())} "
                "unit(s); the dose is a property of the unit and must be constant."
            )
        periods = panel.periods
        t_pos = np.searchsorted(periods, data[panel.time].to_numpy())
        y = np.full((len(units), len(periods)), np.nan)
        y[unit_index, t_pos] = data[panel.outcome].to_numpy(float)
        dose = np.zeros(len(units))
        dose[unit_index] = raw
        cohort = np.full(len(units), np.inf)
        cohort[unit_index] = data[panel.cohort].to_numpy(float)
        never = ~np.isfinite(cohort)
        if (dose[never] > 0).any() or (dose[~never] == 0).any():
            raise DataError(
                f"{_OWNER} needs dose 0 for never-treated units and a positive dose for "
                f"treated ones; {int((dose[never] > 0).sum())} never-treated unit(s) have a "
                f"positive dose and {int((dose[~never] == 0).sum())} treated unit(s) dose 0."
            )
        if not never.any():
            raise IdentificationError(
                f"{_OWNER} compares with never-treated units, and the panel has none."
            )
        fit = _estimate(self, y, dose, cohort, periods)
        boot_se = crit = None
        seed = None
        if self.bootstrap is not None:
            seq = self.bootstrap.seed_sequence()
            seed = int(seq.entropy) if isinstance(seq.entropy, int) else None
            n = len(units)
            psi = np.hstack([fit["if_att"], fit["if_acrt"]]) * n
            boot = draws(psi, n, self.bootstrap, seq)
            k = fit["if_att"].shape[1]
            degenerate = ~np.any(psi != 0, axis=0)
            se_att, c_att = summarize(boot[:, :k], degenerate[:k], level)
            se_acrt, c_acrt = summarize(boot[:, k:], degenerate[k:], level)
            boot_se, crit = (se_att, se_acrt), (c_att, c_acrt)
        return ContinuousDiDResult(
            fit=fit,
            boot_se=boot_se,
            crit=crit,
            outcome=panel.outcome,
            dose=self.dose,
            level=level,
            ledger=panel.ledger,
            provenance=Provenance(_OWNER, self.get_params(), seed, panel.fingerprint),
        )


def _estimate(
    est: ContinuousDiD, y: np.ndarray, dose: np.ndarray, cohort: np.ndarray, periods: np.ndarray
) -> dict[str, Any]:
    treated_dose = dose[np.isfinite(cohort)]
    probs = np.linspace(0, 1, est.num_knots + 2)[1:-1]
    interior = np.quantile(treated_dose, probs) if est.num_knots else np.array([])
    degree = int(est.degree)
    knots = np.r_[np.repeat(treated_dose.min(), degree + 1), interior]
    knots = np.r_[knots, np.repeat(treated_dose.max(), degree + 1)]
    if est.dose_grid is None:
        grid = np.quantile(treated_dose, np.arange(0.10, 0.99 + 0.005, 0.01))
    else:
        grid = np.asarray(est.dose_grid, dtype=float).ravel()
        if grid.size == 0 or not np.isfinite(grid).all():
            raise invalid_parameter(
                "dose_grid", _OWNER, "a non-empty sequence of finite doses", est.dose_grid
            )
    psi_grid, dpsi_grid = _basis(grid, knots, degree)
    never = ~np.isfinite(cohort)
    n_units = len(dose)
    cells = []
    for g in np.unique(cohort[np.isfinite(cohort)]):
        g_pos = int(np.searchsorted(periods, g))
        if g_pos == 0 or g_pos >= len(periods) or periods[g_pos] != g:
            continue
        post = list(range(g_pos, len(periods)))
        cells += [(g, g_pos - 1, t, len(post)) for t in post]
    if not cells:
        raise IdentificationError(
            f"{_OWNER} found no treated cohort with a period before its start and one after."
        )
    n_g = {g: int((cohort == g).sum()) for g in {c[0] for c in cells}}
    total = sum(n_g.values())
    att_d = np.zeros(len(grid))
    acrt_d = np.zeros(len(grid))
    att_glob = acrt_glob = 0.0
    if_att = np.zeros((n_units, len(grid)))
    if_acrt = np.zeros((n_units, len(grid)))
    if_att_glob = np.zeros(n_units)
    if_acrt_glob = np.zeros(n_units)
    for g, base, t, n_post in cells:
        w = n_g[g] / total / n_post
        tr = np.flatnonzero(cohort == g)
        co = np.flatnonzero(never)
        dy_t = y[tr, t] - y[tr, base]
        dy_c = y[co, t] - y[co, base]
        mu0 = dy_c.mean()
        psi, dpsi = _basis(dose[tr], knots, degree)
        if len(tr) <= psi.shape[1]:
            raise IdentificationError(
                f"{_OWNER}: cohort {g:g} has {len(tr)} treated unit(s) for {psi.shape[1]} "
                "spline terms; lower degree/num_knots."
            )
        beta, *_ = np.linalg.lstsq(psi, dy_t - mu0, rcond=None)
        resid = dy_t - mu0 - psi @ beta
        bread = np.linalg.pinv(psi.T @ psi / len(tr))
        att_d += w * (psi_grid @ beta)
        acrt_d += w * (dpsi_grid @ beta)
        glob = dy_t.mean() - mu0
        att_glob += w * glob
        dpsi_bar = dpsi.mean(axis=0)
        acrt_glob += w * float(dpsi_bar @ beta)
        # influence functions (diff-diff's, which follow contdid): beta's from the
        # treated units' scores, minus mu0's through the intercept-carrying design
        n_tot = len(tr) + len(co)
        b_tr = (psi * resid[:, None]) @ bread.T / len(tr)  # (n_tr, K)
        b_co = -np.outer(dy_c - mu0, bread @ psi.mean(axis=0)) / len(co)  # (n_co, K)
        if_att[tr] += w * b_tr @ psi_grid.T
        if_att[co] += w * b_co @ psi_grid.T
        if_acrt[tr] += w * b_tr @ dpsi_grid.T
        if_acrt[co] += w * b_co @ dpsi_grid.T
        if_acrt_glob[tr] += w * b_tr @ dpsi_bar
        if_acrt_glob[co] += w * b_co @ dpsi_bar
        p1, p0 = len(tr) / n_tot, len(co) / n_tot
        if_att_glob[tr] += w * (dy_t - glob - mu0) / p1 / n_tot
        if_att_glob[co] -= w * (dy_c - mu0) / p0 / n_tot
    return {
        "grid": grid,
        "att_d": att_d,
        "acrt_d": acrt_d,
        "att_glob": float(att_glob),
        "acrt_glob": float(acrt_glob),
        "if_att": if_att,
        "if_acrt": if_acrt,
        "if_att_glob": if_att_glob,
        "if_acrt_glob": if_acrt_glob,
        "n_treated": total,
        "n_control": int(never.sum()),
    }


class ContinuousDiDResult(Result):
    """Result of :class:`ContinuousDiD`.

    Attributes
    ----------
    curves : pandas.DataFrame
        One row per grid dose: ``att, att_se, acrt, acrt_se`` (and the uniform-band
        critical values in :attr:`critical_values` when bootstrapped).
    att_glob, acrt_glob : float
        The overall ATT and the average ACRT.
    critical_values : tuple of float or None
        Sup-t critical values of the ATT(d) and ACRT(d) bands (bootstrap only).
    """

    title = "Continuous-treatment DiD (Callaway, Goodman-Bacon & Sant'Anna)"

    def __init__(
        self,
        *,
        fit: dict[str, Any],
        boot_se: tuple[np.ndarray, np.ndarray] | None,
        crit: tuple[float, float] | None,
        outcome: str,
        dose: str,
        level: float,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        def se(x: np.ndarray) -> np.ndarray:
            return np.sqrt((x**2).sum(axis=0))

        self.curves = pd.DataFrame(
            {
                "att": fit["att_d"],
                "att_se": se(fit["if_att"]) if boot_se is None else boot_se[0],
                "acrt": fit["acrt_d"],
                "acrt_se": se(fit["if_acrt"]) if boot_se is None else boot_se[1],
            },
            index=pd.Index(fit["grid"], name="dose"),
        )
        self.att_glob = fit["att_glob"]
        self.acrt_glob = fit["acrt_glob"]
        self._glob_se = (float(se(fit["if_att_glob"])), float(se(fit["if_acrt_glob"])))
        self.critical_values = crit
        self.n_treated = int(fit["n_treated"])
        self.n_control = int(fit["n_control"])
        self.outcome = outcome
        self.dose = dose
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``ATT(d)`` and ``ACRT(d)`` by dose (``aggregation="dose"``,
        extra column ``dose``), then the overall ATT and ACRT (``aggregation="simple"``).

        With a bootstrap the curves' intervals are the uniform band (``band="uniform"``),
        otherwise pointwise normal.
        """
        c = self.curves
        n = len(c)
        z = stats.norm.ppf(0.5 + self.level / 2)
        crit = self.critical_values or (z, z)
        est = np.r_[c["att"], c["acrt"], self.att_glob, self.acrt_glob]
        se = np.r_[c["att_se"], c["acrt_se"], self._glob_se]
        mult = np.r_[np.full(n, crit[0]), np.full(n, crit[1]), z, z]
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "ContinuousDiD",
                "aggregation": ["dose"] * (2 * n) + ["simple"] * 2,
                "term": ["ATT(d)"] * n + ["ACRT(d)"] * n + ["ATT", "ACRT"],
            }
        )
        band = "uniform" if self.critical_values else "pointwise"
        return tidy_effects(
            keys,
            est,
            se,
            level=self.level,
            ci_lower=est - mult * se,
            ci_upper=est + mult * se,
            extra={
                "dose": np.r_[c.index, c.index, np.nan, np.nan],
                "band": [band] * (2 * n) + ["pointwise"] * 2,
            },
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        band = "uniform (multiplier bootstrap)" if self.critical_values else "pointwise"
        return [
            ("Outcome", self.outcome),
            ("Dose", self.dose),
            ("Units", f"{self.n_treated:,} treated, {self.n_control:,} never treated"),
            ("Overall ATT", f"{self.att_glob:.4f} (SE {self._glob_se[0]:.4f})"),
            ("Average ACRT", f"{self.acrt_glob:.4f} (SE {self._glob_se[1]:.4f})"),
            ("Curve intervals", f"{band}, {self.level:.0%}"),
        ]

    def plot(self, ax: Axes | None = None, *, which: str = "att") -> Axes:
        """The dose-response curve ``ATT(d)`` (``which="att"``) or ``ACRT(d)`` with its band.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        which : {"att", "acrt"}

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes
        from effekt.errors import check_choice

        check_choice("which", "ContinuousDiDResult.plot", which, ("att", "acrt"))
        ax = new_axes(ax)
        rows = self.to_frame().query("term == @term", local_dict={"term": f"{which.upper()}(d)"})
        x = rows["dose"].to_numpy(float)
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.fill_between(
            x,
            rows["ci_lower"].to_numpy(float),
            rows["ci_upper"].to_numpy(float),
            color="#9ecae1",
            alpha=0.6,
            label=label("ci", level=self.level),
        )
        ax.plot(x, rows["estimate"].to_numpy(float), color="#08519c")
        ax.set_xlabel(self.dose)
        ax.set_ylabel(label("effect"))
        ax.set_title(f"{which.upper()}(d): {self.outcome}")
        ax.legend(frameon=False)
        return ax
