"""Reference p-values for the two-way clustered wild cluster bootstrap on mpdta.

No peer package bootstraps with a two-way clustered variance: pyfixest 0.60's
``Feols.wildboottest`` raises NotImplementedError for multiway clustering, and
wildboottest 0.3.2's ``WildboottestCL`` takes one cluster array (its ``bootcluster``
only moves where weights are drawn; the variance stays one-way). This script checks
both facts and records them, then computes the reference by brute force with
numpy and statsmodels alone: for every Rademacher sign pattern of the bootcluster it
refits OLS on the full dummy design (pinv(X) y) and takes the two-way covariance from
``statsmodels.stats.sandwich_covariance.cov_cluster_2groups`` (Cameron, Gelbach &
Miller 2011, each of V1, V2, V12 with its own G/(G-1) (N-1)/(N-K), the boottest and
fwildclusterboot default). Full enumeration makes the p-value exact, so effekt must
reproduce it to the last digit.

Model: lemp ~ post + county dummies + year dummies (+ intercept), H0: beta_post = 0,
clusters: region (countyreal // 5000, 11 groups) x year (5), strict two-sided p-value
mean(|t*| > |t|); replications with a non-positive two-way variance have no t* and
never count.

Run from the repository root (1-2 minutes on 2 cores):
    /work/refvenv/bin/python tests/reference/did/generate_wild_twoway.py
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import pandas as pd
from _common import load_mpdta, meta, write_json
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.sandwich_covariance import cov_cluster_2groups

CASES = [  # (bootcluster rule, dimension index, impose_null)
    ("min", 1, True),
    ("min", 1, False),
    # bootcluster "max" (region, 2^11 = 2,048 refits of the 505-column design) took over
    # 30 minutes on the shared 2-core machine and is left out; tests/test_wild_twoway.py
    # checks "max" and "intersection" against brute force on smaller designs.
]


def peer_support(df: pd.DataFrame) -> dict[str, str]:
    """What the peers do when asked for a two-way clustered wild bootstrap."""
    import pyfixest as pf
    import wildboottest.wildboottest as wbt

    out = {}
    fit = pf.feols("lemp ~ post | countyreal + year", data=df, vcov={"CRV1": "region+year"})
    try:
        fit.wildboottest(param="post", reps=999, cluster=["region", "year"], seed=1)
        out["pyfixest"] = "accepted two cluster variables (unexpected)"
    except NotImplementedError as err:
        out["pyfixest"] = f"NotImplementedError: {err}"
    import inspect

    source = inspect.getsource(wbt.WildboottestCL.__init__)
    out["wildboottest"] = (
        "WildboottestCL(X, Y, cluster, R, B, bootcluster=None, ...): one cluster array; "
        "'bootcluster' only changes where weights are drawn, get_denom/get_vcov loop over "
        "bootclusters only (one-way variance). np.unique(cluster) in __init__: "
        + str("np.unique(cluster)" in source)
    )
    return out


class Refit:
    """OLS on a fixed design: beta = pinv(X) y (pinv once), two-way covariance by statsmodels.

    ``cov_cluster_2groups`` takes the scores X_i u_i and the bread (X'X)^-1 as a tuple, so
    each sign pattern costs a matrix-vector product and statsmodels' cluster sums.
    """

    def __init__(self, x: np.ndarray, groups: np.ndarray) -> None:
        self.x, self.groups = x, groups
        self.pinv = np.linalg.pinv(x)
        self.bread = self.pinv @ self.pinv.T  # (X'X)^-1

    def coef_se(self, y: np.ndarray) -> tuple[float, float]:
        beta = self.pinv @ y
        scores = self.x * (y - self.x @ beta)[:, None]
        cov = cov_cluster_2groups(
            (scores, self.bread), self.groups[:, 0], self.groups[:, 1], use_correction=True
        )[0]
        var = cov[0, 0]
        return float(beta[0]), float(np.sqrt(var)) if var > 0 else float("nan")


def run_case(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, rule: str, dim: int, impose_null: bool
) -> dict[str, Any]:
    t0 = time.perf_counter()
    refit = Refit(x, groups)
    coef, se = refit.coef_se(y)
    t_obs = coef / se
    # cross-check the bread-and-scores route against a plain statsmodels fit once
    fit = OLS(y, x).fit()
    sm_cov = cov_cluster_2groups(fit, groups[:, 0], groups[:, 1], use_correction=True)[0]
    if abs(np.sqrt(sm_cov[0, 0]) - se) > 1e-10 * se or abs(fit.params[0] - coef) > 1e-10:
        raise RuntimeError("the fixed-design refit disagrees with statsmodels OLS")
    if impose_null:  # beta_post = 0: drop the column
        fitted = OLS(y, x[:, 1:]).fit().fittedvalues
        center = 0.0
    else:
        fitted, center = fit.fittedvalues, coef
    e = y - fitted
    boot = np.unique(groups[:, dim], return_inverse=True)[1]
    n_boot = int(boot.max()) + 1
    t_star = []
    for signs in itertools.product((-1.0, 1.0), repeat=n_boot):
        b, s = refit.coef_se(fitted + e * np.asarray(signs)[boot])
        t_star.append((b - center) / s)
    t_star_arr = np.array(t_star)
    with np.errstate(invalid="ignore"):
        p = float(np.mean(np.abs(t_star_arr) > abs(t_obs) * (1 + 1e-10)))
        ties = int(np.sum(np.abs(np.abs(t_star_arr) - abs(t_obs)) <= 1e-9 * abs(t_obs)))
    return {
        "bootcluster": rule,
        "bootcluster_dimension": ["region", "year"][dim],
        "impose_null": impose_null,
        "G_boot": n_boot,
        "B_used": len(t_star_arr),
        "coef": coef,
        "se": se,
        "t": t_obs,
        "p_value": p,
        "n_ties_within_1e-9": ties,
        "n_infeasible": int(np.isnan(t_star_arr).sum()),
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    df = load_mpdta()
    df["region"] = df["countyreal"] // 5000
    dummies = pd.get_dummies(df[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    x = np.column_stack([df["post"].to_numpy(float), np.ones(len(df)), dummies.to_numpy()])
    y = df["lemp"].to_numpy(float)
    groups = np.column_stack([df["region"].to_numpy(), df["year"].to_numpy()])
    cases = []
    for rule, dim, impose_null in CASES:
        case = run_case(x, y, groups, rule, dim, impose_null)
        print(case, flush=True)
        cases.append(case)
    payload = {
        "meta": meta(
            "generate_wild_twoway.py",
            {
                "model": "lemp ~ post + 1 + C(countyreal) + C(year) as explicit dummies "
                "(drop-first, sorted string labels); H0: beta_post = 0",
                "N": int(x.shape[0]),
                "K": int(x.shape[1]),
                "clusters": "region = countyreal // 5000 (11) x year (5); intersection 55",
                "variance": "statsmodels cov_cluster_2groups(use_correction=True): "
                "m1 V1 + m2 V2 - m12 V12, m = G/(G-1) (N-1)/(N-K) per term",
                "bootstrap": "Rademacher, full enumeration over the bootcluster, WCR refits "
                "OLS without 'post' for the restricted fit; p = mean(|t*| > |t| (1 + 1e-10))",
                "peer_support": peer_support(df),
            },
        ),
        "cases": cases,
    }
    print("wrote", write_json("wild_twoway_mpdta.json", payload))


if __name__ == "__main__":
    main()
