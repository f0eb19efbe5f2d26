"""The 2x2 DiD building blocks of Callaway & Sant'Anna: DR, IPW and regression.

Each function estimates one ATT from a two-period comparison of a treated group
(``d == 1``) with a comparison group (``d == 0``) and returns its influence
function, following the estimators of Sant'Anna & Zhao (2020) as implemented in
the R package DRDID (``drdid_panel``, ``std_ipw_did_panel``, ``reg_did_panel``
for panel data; ``drdid_rc``, ``std_ipw_did_rc``, ``reg_did_rc`` for repeated
cross-sections):

- ``"dr"``: the (locally efficient, for cross-sections) doubly robust estimator:
  a logit propensity score and a linear outcome regression on the comparison units.
- ``"ipw"``: the standardised (Hajek) inverse-probability-weighted estimator.
- ``"reg"``: the outcome-regression estimator (Heckman, Ichimura & Todd 1997).

Influence functions are scaled like DRDID's: the ATT's standard error is
``sqrt(sum(inf**2)) / n``. Propensity scores are capped at ``1 - 1e-6`` and
comparison units with a score of 0.995 or more get weight zero (DRDID's
trimming); the number trimmed is returned so that the caller can warn.

The covariate matrix ``x`` must hold the intercept in its first column. All
arithmetic is vectorised over the observations; there is no loop over units.

References
----------
Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences
estimators. Journal of Econometrics 219(1), 101-122.
doi:10.1016/j.jeconom.2020.06.003
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = [
    "TRIM_LEVEL",
    "PanelDesign",
    "SingularDesign",
    "TwoByTwo",
    "panel_design",
    "panel_did",
    "rc_did",
]

TRIM_LEVEL = 0.995  # DRDID: comparison units with a propensity score >= this get weight 0
_PS_CAP = 1.0 - 1e-6  # DRDID: keep 1 - ps away from zero
_EPS = np.finfo(float).eps


class SingularDesign(Exception):
    """A nuisance model cannot be fitted within one 2x2 cell.

    ``what`` names the model; ``overlap`` is True when every comparison unit was
    trimmed (no overlap) rather than a design matrix being singular.
    """

    def __init__(self, what: str, *, overlap: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.overlap = overlap


def _check_overlap(w_c: np.ndarray) -> None:
    if not w_c.sum() > 0:
        raise SingularDesign("propensity score", overlap=True)


@dataclass(frozen=True)
class TwoByTwo:
    """One 2x2 estimate: the ATT, its influence function and diagnostics."""

    att: float
    inf: np.ndarray
    n_trimmed: int
    converged: bool


# --------------------------------------------------------------------- nuisance fits
def _inv_checked(matrix: np.ndarray, what: str) -> np.ndarray:
    """Inverse, refusing R's ``rcond(matrix) < .Machine$double.eps`` (1-norm)."""
    if matrix.shape[0] == 1:
        if not matrix[0, 0] > 0:
            raise SingularDesign(what)
        return 1.0 / matrix
    try:
        inv = np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        raise SingularDesign(what) from None
    norm = np.abs(matrix).sum(axis=0).max() * np.abs(inv).sum(axis=0).max()
    if not np.isfinite(norm) or 1.0 / norm < _EPS:
        raise SingularDesign(what)
    return inv


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, bool]:
    """Weighted logit MLE by Newton's method; returns fitted probabilities."""
    share = np.dot(w, d) / w.sum()
    if x.shape[1] == 1:  # intercept only: the MLE is the weighted share treated
        return np.full(len(d), share), True
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(share / (1.0 - share))
    converged = False
    xt = np.ascontiguousarray(x.T)
    for _ in range(100):
        p = expit(x @ beta)
        try:
            step = np.linalg.solve((xt * (w * p * (1.0 - p))) @ x, xt @ (w * (d - p)))
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) <= 1e-10 * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
    return expit(x @ beta), converged


@dataclass(frozen=True)
class _PScore:
    ps: np.ndarray  # capped fitted propensity scores
    keep: np.ndarray  # 0 for trimmed comparison units, else 1
    h_inv: np.ndarray  # inverse Hessian of the logit times n
    converged: bool

    @property
    def n_trimmed(self) -> int:
        return int(np.sum(self.keep == 0))


def _pscore(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> _PScore:
    """Capped propensity score, trimming indicator and the logit's Hessian inverse * n."""
    ps, converged = _logit(x, d, w)
    ps = np.minimum(ps, _PS_CAP)
    keep = np.where(d == 1, True, ps < TRIM_LEVEL).astype(float)
    xtwx = (x * (w * ps * (1.0 - ps))[:, None]).T @ x
    h_inv = _inv_checked(xtwx, "propensity score") * len(d)
    return _PScore(ps, keep, h_inv, converged)


@dataclass(frozen=True)
class _OlsDesign:
    """Weighted least squares on a subset: the part that does not depend on the outcome."""

    wsub: np.ndarray  # subset weights (zero outside the subset)
    xw: np.ndarray  # x * wsub
    xpx_inv: np.ndarray  # inverse of x' diag(wsub) x / n


def _ols_design(x: np.ndarray, wsub: np.ndarray, what: str) -> _OlsDesign:
    xw = x * wsub[:, None]
    return _OlsDesign(wsub, xw, _inv_checked(xw.T @ x / len(wsub), what))


@dataclass(frozen=True)
class _Ols:
    """A weighted OLS fit, with what its asymptotic linear representation needs."""

    fitted: np.ndarray  # x @ beta for every observation
    wresid: np.ndarray  # subset weight * residual (zero outside the subset)
    xpx_inv: np.ndarray

    def lin_rep(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """``asy.lin.rep %*% m`` without forming the n x k matrix."""
        return self.wresid * (x @ (self.xpx_inv @ m))


def _ols_fit(design: _OlsDesign, x: np.ndarray, y: np.ndarray) -> _Ols:
    beta = design.xpx_inv @ (y @ design.xw / len(y))
    fitted = x @ beta
    return _Ols(fitted, design.wsub * (y - fitted), design.xpx_inv)


def _ols(x: np.ndarray, y: np.ndarray, wsub: np.ndarray, what: str) -> _Ols:
    return _ols_fit(_ols_design(x, wsub, what), x, y)


def _colmean(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (v @ x) / len(v)


# ---------------------------------------------------------------------- panel data
@dataclass(frozen=True)
class PanelDesign:
    """The outcome-free part of a panel 2x2: weights, propensity score, regression design.

    It depends only on who is treated, the covariates and the weights, so a cohort
    compared with the same units on the same covariates in several periods reuses it
    (and everything derived from it below).
    """

    w_t: np.ndarray  # weights of the treated mean
    w_c: np.ndarray | None  # IPW weights of the comparison mean (None: regression)
    ols: _OlsDesign | None
    q_ols: np.ndarray | None  # x @ xpx_inv @ m: the regression's estimation-effect direction
    score: np.ndarray | None  # w (d - ps): the logit's score weights
    xh: np.ndarray | None  # x @ (logit Hessian inverse * n)
    n_trimmed: int
    converged: bool


def panel_design(d: np.ndarray, x: np.ndarray, w: np.ndarray | None, method: str) -> PanelDesign:
    """Fit the nuisance models of :func:`panel_did` that do not involve the outcome.

    Parameters
    ----------
    d : ndarray, shape (n,)
        1 for the treated group, 0 for the comparison group.
    x : ndarray, shape (n, k)
        Covariates, intercept in the first column.
    w : ndarray or None
        Positive sampling weights; normalised to mean one here.
    method : {"dr", "ipw", "reg"}

    Returns
    -------
    PanelDesign

    Raises
    ------
    SingularDesign
        A design matrix is singular, or every comparison unit was trimmed.
    """
    w = np.ones(len(d)) if w is None else w / w.mean()
    ols = (
        _ols_design(x, w * (1.0 - d), "outcome regression on the comparison units")
        if method in ("dr", "reg")
        else None
    )
    if method == "reg":
        assert ols is not None
        w_t = w * d
        q = x @ (ols.xpx_inv @ (_colmean(w_t, x) / w_t.mean()))
        return PanelDesign(w_t, None, ols, q, None, None, 0, True)
    pscore = _pscore(x, d, w)
    w_t = pscore.keep * w * d
    w_c = pscore.keep * w * pscore.ps * (1.0 - d) / (1.0 - pscore.ps)
    _check_overlap(w_c)
    q = None
    if ols is not None:
        # estimation effect of the outcome regression, treated and control parts at once
        m = _colmean(w_t, x) / w_t.mean() - _colmean(w_c, x) / w_c.mean()
        q = x @ (ols.xpx_inv @ m)
    score = w * (d - pscore.ps)
    return PanelDesign(
        w_t, w_c, ols, q, score, x @ pscore.h_inv, pscore.n_trimmed, pscore.converged
    )


def panel_did(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray | None,
    method: str,
    design: PanelDesign | None = None,
) -> TwoByTwo:
    """ATT from panel data: outcome changes ``dy`` of treated and comparison units.

    Parameters
    ----------
    dy : ndarray, shape (n,)
        Outcome change from the base period to the period of interest.
    d : ndarray, shape (n,)
        1 for the treated group, 0 for the comparison group.
    x : ndarray, shape (n, k)
        Covariates (base-period values), intercept in the first column.
    w : ndarray or None
        Positive sampling weights; normalised to mean one here.
    method : {"dr", "ipw", "reg"}
    design : PanelDesign, optional
        From :func:`panel_design` for the same ``d``, ``x``, ``w`` and ``method``.

    Returns
    -------
    TwoByTwo

    Raises
    ------
    SingularDesign
        A design matrix is singular (collinear covariates within the cell).

    Examples
    --------
    >>> import numpy as np
    >>> from effekt.did._drdid import panel_did
    >>> dy = np.array([3.0, 5.0, 1.0, 2.0]); d = np.array([1.0, 1.0, 0.0, 0.0])
    >>> float(panel_did(dy, d, np.ones((4, 1)), None, "dr").att)  # 4 - 1.5
    2.5
    """
    if design is None:
        design = panel_design(d, x, w, method)
    n = len(d)
    w_t = design.w_t
    mw_t = w_t.mean()
    ols = None if design.ols is None else _ols_fit(design.ols, x, dy)
    if design.w_c is None:  # outcome regression: treated mean of dy minus of the prediction
        assert ols is not None and design.q_ols is not None
        eta_t = np.dot(w_t, dy) / n / mw_t
        eta_c = np.dot(w_t, ols.fitted) / n / mw_t
        inf_treat = w_t * (dy - eta_t) / mw_t
        inf_cont = w_t * (ols.fitted - eta_c) / mw_t + ols.wresid * design.q_ols
        return TwoByTwo(eta_t - eta_c, inf_treat - inf_cont, 0, True)

    assert design.score is not None and design.xh is not None
    w_c = design.w_c
    mw_c = w_c.mean()
    r = dy if ols is None else dy - ols.fitted
    eta_t = np.dot(w_t, r) / n / mw_t
    eta_c = np.dot(w_c, r) / n / mw_c
    resid_c = w_c * (r - eta_c)
    inf = (
        w_t * (r - eta_t) / mw_t
        - (resid_c + design.score * (design.xh @ _colmean(resid_c, x))) / mw_c
    )
    if ols is not None:
        assert design.q_ols is not None
        inf -= ols.wresid * design.q_ols
    return TwoByTwo(eta_t - eta_c, inf, design.n_trimmed, design.converged)


# -------------------------------------------------------------- repeated cross-sections
def rc_did(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray | None,
    method: str,
) -> TwoByTwo:
    """ATT from repeated cross-sections: outcome levels in the two periods.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Outcome of each observation.
    post : ndarray, shape (n,)
        1 for observations in the period of interest, 0 for the base period.
    d : ndarray, shape (n,)
        1 for the treated group, 0 for the comparison group.
    x : ndarray, shape (n, k)
        Covariates, intercept in the first column.
    w : ndarray or None
        Positive sampling weights; normalised to mean one here.
    method : {"dr", "ipw", "reg"}

    Returns
    -------
    TwoByTwo

    Raises
    ------
    SingularDesign
        A design matrix is singular (collinear covariates within the cell).

    Examples
    --------
    >>> import numpy as np
    >>> from effekt.did._drdid import rc_did
    >>> y = np.array([1.0, 4.0, 1.0, 2.0]); post = np.array([0.0, 1.0, 0.0, 1.0])
    >>> d = np.array([1.0, 1.0, 0.0, 0.0])
    >>> float(rc_did(y, post, d, np.ones((4, 1)), None, "reg").att)  # (4 - 1) - (2 - 1)
    2.0
    """
    n = len(d)
    w = np.ones(n) if w is None else w / w.mean()
    pre = 1.0 - post
    if method == "reg":
        return _reg_rc(y, post, pre, d, x, w)
    fitted_ps = _pscore(x, d, w)
    ps, keep, h_inv, converged = fitted_ps.ps, fitted_ps.keep, fitted_ps.h_inv, fitted_ps.converged
    score = w * (d - ps)
    odds = keep * w * ps * (1.0 - d) / (1.0 - ps)
    w_tpre, w_tpost = keep * w * d * pre, keep * w * d * post
    w_cpre, w_cpost = odds * pre, odds * post
    _check_overlap(w_cpre)
    _check_overlap(w_cpost)
    n_trim = fitted_ps.n_trimmed
    if method == "ipw":
        att, inf_t, inf_c, a_cpre, a_cpost = _rc_components(y, w_tpre, w_tpost, w_cpre, w_cpost)
        m_ps = (
            _colmean(w_cpost * (y - a_cpost), x) / w_cpost.mean()
            - _colmean(w_cpre * (y - a_cpre), x) / w_cpre.mean()
        )
        inf = inf_t - (inf_c + score * (x @ (h_inv @ m_ps)))
        return TwoByTwo(att, inf, n_trim, converged)

    # doubly robust, locally efficient (drdid_rc)
    cont = w * (1.0 - d)
    treat = w * d
    ols_cpre = _ols(x, y, cont * pre, "outcome regression on the comparison units (base period)")
    ols_cpost = _ols(x, y, cont * post, "outcome regression on the comparison units (period t)")
    ols_tpre = _ols(x, y, treat * pre, "outcome regression on the treated units (base period)")
    ols_tpost = _ols(x, y, treat * post, "outcome regression on the treated units (period t)")
    out_c = post * ols_cpost.fitted + pre * ols_cpre.fitted
    r = y - out_c
    att_trad, inf_t, inf_c, a_cpre, a_cpost = _rc_components(r, w_tpre, w_tpost, w_cpre, w_cpost)

    w_d = keep * w * d
    w_dt1, w_dt0 = w_tpost, w_tpre
    gap_post = ols_tpost.fitted - ols_cpost.fitted
    gap_pre = ols_tpre.fitted - ols_cpre.fitted
    m_d, m_dt1, m_dt0 = w_d.mean(), w_dt1.mean(), w_dt0.mean()
    e_d_post = w_d * gap_post / m_d
    e_dt1 = w_dt1 * gap_post / m_dt1
    e_d_pre = w_d * gap_pre / m_d
    e_dt0 = w_dt0 * gap_pre / m_dt0
    a_d_post, a_dt1, a_d_pre, a_dt0 = (v.mean() for v in (e_d_post, e_dt1, e_d_pre, e_dt0))
    att = att_trad + (a_d_post - a_dt1) - (a_d_pre - a_dt0)

    m_tpre, m_tpost, m_cpre, m_cpost = (v.mean() for v in (w_tpre, w_tpost, w_cpre, w_cpost))
    # Treated component: estimation effect of the comparison-group regressions. The
    # base-period term enters with a minus sign (the treated's base-period mean is
    # subtracted); R DRDID's drdid_rc adds it, which the Python ports (csdid, drdid)
    # correct. The tests check this influence function against numerical derivatives.
    inf_t = (
        inf_t
        + ols_cpost.lin_rep(x, -_colmean(w_tpost * post, x) / m_tpost)
        - ols_cpre.lin_rep(x, -_colmean(w_tpre * pre, x) / m_tpre)
    )
    # control component: propensity score and regression estimation effects
    m2 = (
        _colmean(w_cpost * (r - a_cpost), x) / m_cpost - _colmean(w_cpre * (r - a_cpre), x) / m_cpre
    )
    inf_c = (
        inf_c
        + score * (x @ (h_inv @ m2))
        + ols_cpost.lin_rep(x, -_colmean(w_cpost * post, x) / m_cpost)
        - ols_cpre.lin_rep(x, -_colmean(w_cpre * pre, x) / m_cpre)
    )
    inf_eff = (
        (e_d_post - w_d * a_d_post / m_d)
        - (e_dt1 - w_dt1 * a_dt1 / m_dt1)
        - (e_d_pre - w_d * a_d_pre / m_d)
        + (e_dt0 - w_dt0 * a_dt0 / m_dt0)
    )
    mom_post = _colmean(w_d / m_d - w_dt1 / m_dt1, x)
    mom_pre = _colmean(w_d / m_d - w_dt0 / m_dt0, x)
    inf_or = (ols_tpost.lin_rep(x, mom_post) - ols_cpost.lin_rep(x, mom_post)) - (
        ols_tpre.lin_rep(x, mom_pre) - ols_cpre.lin_rep(x, mom_pre)
    )
    inf = inf_t - inf_c + inf_eff + inf_or
    return TwoByTwo(att, inf, n_trim, converged)


def _rc_components(
    r: np.ndarray, w_tpre: np.ndarray, w_tpost: np.ndarray, w_cpre: np.ndarray, w_cpost: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    """Hajek means of ``r`` in the four period-by-group cells and their leading IF terms."""
    means = [v.mean() for v in (w_tpre, w_tpost, w_cpre, w_cpost)]
    etas = [v * r / m for v, m in zip((w_tpre, w_tpost, w_cpre, w_cpost), means, strict=True)]
    atts = [e.mean() for e in etas]
    infs = [
        e - v * a / m
        for e, v, a, m in zip(etas, (w_tpre, w_tpost, w_cpre, w_cpost), atts, means, strict=True)
    ]
    att = (atts[1] - atts[0]) - (atts[3] - atts[2])
    return att, infs[1] - infs[0], infs[3] - infs[2], atts[2], atts[3]


def _reg_rc(
    y: np.ndarray, post: np.ndarray, pre: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray
) -> TwoByTwo:
    """Outcome-regression DiD for repeated cross-sections (reg_did_rc)."""
    n = len(y)
    cont = w * (1.0 - d)
    ols_pre = _ols(x, y, cont * pre, "outcome regression on the comparison units (base period)")
    ols_post = _ols(x, y, cont * post, "outcome regression on the comparison units (period t)")
    w_tpre, w_tpost, w_c = w * d * pre, w * d * post, w * d
    m_tpre, m_tpost, m_c = w_tpre.mean(), w_tpost.mean(), w_c.mean()
    eta_tpre = np.dot(w_tpre, y) / n / m_tpre
    eta_tpost = np.dot(w_tpost, y) / n / m_tpost
    gap = ols_post.fitted - ols_pre.fitted
    eta_c = np.dot(w_c, gap) / n / m_c
    att = (eta_tpost - eta_tpre) - eta_c
    inf_treat = (w_tpost * y - w_tpost * eta_tpost) / m_tpost - (
        w_tpre * y - w_tpre * eta_tpre
    ) / m_tpre
    m1 = _colmean(w_c, x)
    inf_cont = (w_c * gap - w_c * eta_c + ols_post.lin_rep(x, m1) - ols_pre.lin_rep(x, m1)) / m_c
    return TwoByTwo(att, inf_treat - inf_cont, 0, True)
