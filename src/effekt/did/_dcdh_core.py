"""Numerical core of the de Chaisemartin-D'Haultfoeuille event-study estimator.

Works on a (groups x periods) outcome matrix ``Y`` and treatment matrix ``D``
(``NaN`` for a missing cell) and follows ``did_multiplegt_dyn`` (R/Stata 2.x and
its official Python port ``py_did_multiplegt_dyn``): the sample restrictions
(groups whose treatment goes both above and below its baseline are cut from the
first period where that happens; baselines whose groups all switch at the same
date are dropped; periods where no group of a baseline is still at its baseline
are dropped), ``DID_l`` as a sum of per-group influence terms, and the variance
from the same terms with outcome changes demeaned within cohorts and scaled by
``sqrt(n / (n - 1))`` (the packages' small-sample convention, see
:func:`_demeaned`).

Hand-written because no Python library on PyPI offers it in a form effekt can
depend on (``py_did_multiplegt_dyn`` needs polars and statsmodels and returns
printed tables; ``diff-diff`` uses another variance formula and drops groups
that switch twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DcdhFit", "dcdh_fit"]


@dataclass
class DcdhFit:
    """What :func:`dcdh_fit` returns: estimates, switcher counts, influence terms."""

    effects: np.ndarray  # DID_l, l = 1..L (NaN where not estimable)
    n_switchers: np.ndarray  # N_l
    dose: np.ndarray  # delta^D_l: average cumulative treatment change of the switchers
    u: np.ndarray  # (n_groups, L): DID_l = u[:, l].sum() / N_l
    v: np.ndarray  # (n_groups, L): variance terms, SE_l = ||cluster sums of v|| / N_l
    placebos: np.ndarray
    n_placebo: np.ndarray
    dose_placebo: np.ndarray
    u_pl: np.ndarray
    v_pl: np.ndarray
    total_dose: float  # sum over l and switchers of |D_{g,F_g-1+l} - D_{g,1}|
    kept: np.ndarray  # bool (n_groups,): groups left after the sample restrictions
    cut_cells: np.ndarray  # bool (n_groups, n_periods): cut by the larger-and-lower rule
    unused_cells: np.ndarray  # bool: periods where no group of the baseline is at baseline
    info: dict[str, int] = field(default_factory=dict)


def _codes(*arrays: np.ndarray) -> np.ndarray:
    """One integer code per distinct row of the stacked arrays."""
    code = np.zeros(np.asarray(arrays[0]).shape, dtype=np.int64)
    for a in arrays:  # mixed-radix combination of 1-D codes (np.unique(axis=0) is slow)
        inv = np.unique(np.asarray(a, dtype=float), return_inverse=True)[1].reshape(code.shape)
        code = code * (int(inv.max()) + 1 if inv.size else 1) + inv
        code = np.unique(code, return_inverse=True)[1].reshape(code.shape)
    return code.ravel()


def _cell_stats(
    code: np.ndarray, y: np.ndarray, cluster: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean of ``y`` in its cell and the cell's count (distinct clusters if given)."""
    if code.size == 0:
        return np.zeros(0), np.zeros(0)
    inv = np.unique(code, return_inverse=True)[1].ravel()
    n = np.bincount(inv).astype(float)
    mean = np.bincount(inv, weights=y) / n
    if cluster is None:
        dof = n
    else:
        pair = np.unique(inv.astype(np.int64) * (int(cluster.max()) + 1) + cluster)
        dof = np.bincount(pair // (int(cluster.max()) + 1), minlength=len(n)).astype(float)
    return mean[inv], dof[inv]


def _demeaned(
    dy: np.ndarray,
    switcher: np.ndarray,
    control: np.ndarray,
    base: np.ndarray,
    cohort: np.ndarray,
    cluster: np.ndarray | None,
) -> np.ndarray:
    """``DOF * (dy - E_hat)`` for every switcher and control cell, 0 elsewhere.

    ``E_hat`` is the mean outcome change of the cell's cohort: for a control, the
    controls with the same baseline in the same period; for a switcher, the
    switchers with the same baseline, first-switch date and treatment at that
    date. A cohort of one falls back to the union of both in that baseline and
    period; a cell with no such partner drops out. ``DOF = sqrt(n / (n - 1))`` with
    n the cohort's size (its number of clusters when clustering), as in
    ``did_multiplegt_dyn``'s ``E_hat_gt`` / ``DOF_gt``.
    """
    n_t = dy.shape[1]
    out = np.zeros_like(dy)
    tt = np.broadcast_to(np.arange(n_t), dy.shape)
    bb = np.broadcast_to(base[:, None], dy.shape)
    cc = np.broadcast_to(cohort[:, None], dy.shape)
    cl = None if cluster is None else np.broadcast_to(cluster[:, None], dy.shape)

    def stats(mask: np.ndarray, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        code = _codes(*(k[mask] for k in keys)) if mask.any() else np.zeros(0, int)
        return _cell_stats(code, dy[mask], None if cl is None else cl[mask])

    union = switcher | control
    m_u, n_u = stats(union, bb, tt)
    mean_u = np.full(dy.shape, np.nan)
    dof_u = np.zeros(dy.shape)
    mean_u[union], dof_u[union] = m_u, n_u
    for mask, keys in ((control, (bb, tt)), (switcher, (bb, cc, tt))):
        if not mask.any():
            continue
        m, n = stats(mask, *keys)
        nu, mu = dof_u[mask], mean_u[mask]
        own = n >= 2
        fallback = ~own & (nu >= 2)
        e = np.where(own, m, mu)
        k = np.where(own, n, nu)
        ok = own | fallback
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(ok, np.sqrt(k / (k - 1.0)), 0.0)
        out[mask] = np.where(ok, scale * (dy[mask] - e), 0.0)
    return out


def _lag(y: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(y, np.nan)
    if k < y.shape[1]:
        out[:, k:] = y[:, : y.shape[1] - k]
    return out


def dcdh_fit(
    y: np.ndarray,
    d: np.ndarray,
    *,
    effects: int,
    placebo: int,
    cluster: np.ndarray | None = None,
) -> DcdhFit:
    """Event-study effects ``DID_l``, placebos and their influence terms.

    Parameters
    ----------
    y, d : ndarray, shape (n_groups, n_periods)
        Outcome and treatment by group and period (evenly spaced), ``NaN`` where
        the cell is missing. The first period must be observed for every group.
    effects, placebo : int
        Number of effects ``l = 1..effects`` and placebos ``1..placebo``.
    cluster : ndarray of int, shape (n_groups,), optional
        Cluster code of each group; None treats every group as its own cluster.
    """
    y = np.array(y, dtype=float)
    d = np.array(d, dtype=float)
    n_g, n_t = y.shape
    tt = np.arange(1, n_t + 1)
    kept = np.ones(n_g, dtype=bool)

    d_sq = d[:, 0].copy()
    diff = d - d_sq[:, None]
    with np.errstate(invalid="ignore"):
        above = np.maximum.accumulate(np.nan_to_num(diff) > 0, axis=1)
        below = np.maximum.accumulate(np.nan_to_num(diff) < 0, axis=1)
    cut = above & below & ~np.isnan(d)
    y[cut] = np.nan
    d[cut] = np.nan
    present = ~np.isnan(d)

    changed = np.maximum.accumulate((np.abs(np.nan_to_num(diff)) > 0) & present, axis=1)
    first = np.where(changed.any(axis=1), changed.argmax(axis=1) + 1, n_t + 1).astype(float)

    # baselines where every group switches at the same date have no comparison group
    for b in np.unique(d_sq):
        in_b = d_sq == b
        if in_b.sum() < 2 or np.unique(first[in_b]).size < 2:
            kept[in_b] = False

    # periods where no group of a baseline is still at its baseline are dropped
    unused = np.zeros_like(cut)
    for b in np.unique(d_sq[kept]):
        in_b = kept & (d_sq == b)
        still = (present[in_b] & (first[in_b, None] > tt)).any(axis=0)
        gone = ~still
        if gone.any():
            rows = np.flatnonzero(in_b)
            unused[np.ix_(rows, np.flatnonzero(gone))] = present[np.ix_(rows, np.flatnonzero(gone))]
            y[np.ix_(rows, np.flatnonzero(gone))] = np.nan
            d[np.ix_(rows, np.flatnonzero(gone))] = np.nan
    present = ~np.isnan(d)

    t_g = np.full(n_g, np.nan)
    for b in np.unique(d_sq[kept]):
        in_b = kept & (d_sq == b)
        t_g[in_b] = first[in_b].max() - 1

    post = (tt >= first[:, None]) & (tt <= t_g[:, None]) & present
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_post = np.where(post, d, 0.0).sum(axis=1) / post.sum(axis=1)
    # a switcher whose post-switch treatment averages its baseline has no sign
    kept &= ~((avg_post == d_sq) & (first != t_g + 1))
    sign = np.where(np.isnan(avg_post), np.nan, (avg_post > d_sq).astype(float))
    l_g = t_g - first + 1
    d_fg = np.array([d[g, int(first[g]) - 1] if first[g] <= n_t else np.nan for g in range(n_g)])
    base = np.unique(d_sq, return_inverse=True)[1].ravel()
    cohort = _codes(d_sq, first, np.nan_to_num(d_fg, nan=-np.inf))
    cl = None if cluster is None else np.asarray(cluster)[kept]

    # work on the kept groups only
    y_k, d_k = y[kept], d[kept]
    base_k, cohort_k = base[kept], cohort[kept]
    first_k, t_gk, l_gk, sign_k, dsq_k = first[kept], t_g[kept], l_g[kept], sign[kept], d_sq[kept]
    n_b = int(base.max()) + 1 if n_g else 0
    onehot = np.zeros((n_b, len(base_k)))
    onehot[base_k, np.arange(len(base_k))] = 1.0

    def by_base(x: np.ndarray) -> np.ndarray:
        """Sum of x over the groups of each baseline, returned per group (G, T)."""
        return (onehot @ x)[base_k]

    n_k = len(base_k)
    out = {name: np.full(n, np.nan) for name, n in (("eff", effects), ("pl", placebo))}
    counts = {"eff": np.zeros(effects), "pl": np.zeros(placebo)}
    doses = {"eff": np.full(effects, np.nan), "pl": np.full(placebo, np.nan)}
    u = {"eff": np.zeros((n_k, effects)), "pl": np.zeros((n_k, placebo))}
    v = {"eff": np.zeros((n_k, effects)), "pl": np.zeros((n_k, placebo))}
    total_dose = 0.0
    cum_d = np.nancumsum(d_k - dsq_k[:, None], axis=1)

    for i in range(1, max(effects, placebo) + 1):
        dy = y_k - _lag(y_k, i)
        valid = ~np.isnan(dy)
        nc = np.where(valid, (first_k[:, None] > tt).astype(float), 0.0)
        n_ctrl = by_base(nc)
        window = (i <= t_gk - 1)[:, None] & (tt >= i + 1) & (tt <= t_gk[:, None])
        for s in (1.0, 0.0):
            dist = (
                (tt == first_k[:, None] - 1 + i)
                & (l_gk >= i)[:, None]
                & (sign_k == s)[:, None]
                & (n_ctrl > 0)
                & valid
            ).astype(float)
            n_i = dist.sum()
            if n_i == 0:
                continue
            sgn = 1.0 if s == 1.0 else -1.0
            # cumulative change in treatment since the baseline, up to F_g - 1 + i
            rows, cols = np.nonzero(dist)
            cum = cum_d[rows, cols] - np.where(
                first_k[rows] >= 2, cum_d[rows, (first_k[rows] - 2).astype(int)], 0.0
            )
            if i <= effects:
                u_i, v_i = _terms(dy, dist, nc, n_ctrl, window, base_k, cohort_k, cl, by_base)
                u["eff"][:, i - 1] += sgn * u_i
                v["eff"][:, i - 1] += sgn * v_i
                counts["eff"][i - 1] += n_i
                doses["eff"][i - 1] = np.nansum([doses["eff"][i - 1], sgn * cum.sum()])
                total_dose += float(np.sum(sgn * (d_k[rows, cols] - dsq_k[rows])))
            if i <= placebo:
                dyp = _lag(y_k, 2 * i) - _lag(y_k, i)
                valid_p = ~np.isnan(dyp)
                ncp = nc * valid_p
                n_ctrl_p = by_base(ncp)
                distp = dist * (valid_p & (n_ctrl_p > 0))
                n_p = distp.sum()
                if n_p == 0:
                    continue
                dyp0 = np.where(valid_p, dyp, 0.0)
                u_p, v_p = _terms(dyp0, distp, ncp, n_ctrl_p, window, base_k, cohort_k, cl, by_base)
                u["pl"][:, i - 1] += sgn * u_p
                v["pl"][:, i - 1] += sgn * v_p
                counts["pl"][i - 1] += n_p
                rp, cp = np.nonzero(distp)
                cum_p = cum_d[rp, cp] - np.where(
                    first_k[rp] >= 2, cum_d[rp, (first_k[rp] - 2).astype(int)], 0.0
                )
                doses["pl"][i - 1] = np.nansum([doses["pl"][i - 1], sgn * cum_p.sum()])

    for key in ("eff", "pl"):
        with np.errstate(invalid="ignore", divide="ignore"):
            out[key] = np.where(counts[key] > 0, u[key].sum(axis=0) / counts[key], np.nan)
            doses[key] = np.where(counts[key] > 0, doses[key] / counts[key], np.nan)

    def full(x: np.ndarray) -> np.ndarray:
        res = np.zeros((n_g, x.shape[1]))
        res[kept] = x
        return res

    return DcdhFit(
        effects=out["eff"],
        n_switchers=counts["eff"].astype(int),
        dose=doses["eff"],
        u=full(u["eff"]),
        v=full(v["eff"]),
        placebos=out["pl"],
        n_placebo=counts["pl"].astype(int),
        dose_placebo=doses["pl"],
        u_pl=full(u["pl"]),
        v_pl=full(v["pl"]),
        total_dose=total_dose,
        kept=kept,
        cut_cells=cut,
        unused_cells=unused,
    )


def _terms(
    dy: np.ndarray,
    dist: np.ndarray,
    nc: np.ndarray,
    n_ctrl: np.ndarray,
    window: np.ndarray,
    base: np.ndarray,
    cohort: np.ndarray,
    cluster: np.ndarray | None,
    by_base,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group influence terms of one horizon and direction (point and variance)."""
    n_sw = by_base(dist)  # switchers of this baseline and period
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(n_ctrl != 0, n_sw / n_ctrl, 0.0) * nc
    w = window * (dist - ratio)
    dy0 = np.nan_to_num(dy)
    u = (w * dy0).sum(axis=1)
    n_t = dist.sum(axis=0)
    control = (nc == 1) & (n_t > 0)[None, :] & ~np.isnan(dy)
    dem = _demeaned(dy0, dist == 1, control, base, cohort, cluster)
    return u, (w * dem).sum(axis=1)
