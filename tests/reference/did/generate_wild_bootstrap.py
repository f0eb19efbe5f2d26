"""Wild cluster restricted (WCR) bootstrap reference values on mpdta.

Writes ``wild_bootstrap_mpdta.json`` next to this file. The tested coefficient is
``post`` in the static TWFE ``lemp ~ post | countyreal + year`` (H0: beta_post = 0),
WCR11 (null imposed, CRV1-type bootstrap t), two-sided symmetric p-value, Rademacher and
Webb weights, B = 9999, for three clusterings:

* ``county``: cluster = countyreal (G = 500);
* ``state``: cluster = countyreal // 1000, the state FIPS code (G = 29; treatment is
  assigned by state in mpdta);
* ``region11``: cluster = countyreal // 5000 (G = 11). With Rademacher weights 2^11 =
  2048 < B, so every sign vector is enumerated and the p-value has no Monte-Carlo error.

Peer: pyfixest's ``Feols.wildboottest`` (which one-hot encodes the fixed effects and calls
the ``wildboottest`` package's ``WildboottestCL``), cross-checked against a direct call
of ``wildboottest.wildboottest`` on a statsmodels OLS with the same dummies, and against
an independent numpy implementation (two-way within transformation) fed with the very
same weight draws. Each run is repeated over several seeds to show the Monte-Carlo
spread.

Run with the peer environment (see README.md); it takes about 20 minutes on two cores
because wildboottest builds a G x G matrix with a Python double loop (G = 500)::

    /work/refvenv/bin/python tests/reference/did/generate_wild_bootstrap.py
"""

from __future__ import annotations

import itertools
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyfixest as pf
import statsmodels.formula.api as smf
from _common import load_mpdta, meta, write_json
from wildboottest.wildboottest import wildboottest

B = 9999
PRIMARY_SEED = 12345
SEEDS = (PRIMARY_SEED, 1, 2, 3, 4)
WEBB = np.concatenate([-np.sqrt(np.array([3, 2, 1]) / 2), np.sqrt(np.array([1, 2, 3]) / 2)])

CLUSTERINGS = {
    "county": ("countyreal", "cluster = countyreal"),
    "state": ("state", "cluster = countyreal // 1000 (state FIPS)"),
    "region11": ("region11", "cluster = countyreal // 5000"),
}


def draws(weights: str, G: int, seed: int) -> np.ndarray:
    """The (G, B) weight matrix exactly as wildboottest 0.3.2 builds it."""
    if weights == "rademacher" and 2**G < B:
        # full enumeration: columns are itertools.product([-1, 1], repeat=G)
        return np.array(list(itertools.product([-1, 1], repeat=G))).T
    rng = np.random.default_rng(seed)
    if weights == "rademacher":
        return rng.choice([-1, 1], size=G * B, replace=True).reshape(G, B)
    return rng.choice(a=WEBB, size=G * B, replace=True).reshape(G, B)


class NumpyWCR:
    """Independent WCR11 for the balanced two-way FE model, via the within transformation.

    Restricted (beta = 0) residuals are the within-transformed outcome u~; a draw gives
    y* = fitted_restricted + v_g u~, whose within transform is within(v_g u~). beta* and
    its CR0 cluster variance follow from FWL; both t and t* are scaled by the same ssc.
    """

    def __init__(self, df: pd.DataFrame, cluster: str, ssc: float) -> None:
        d = df.sort_values(["countyreal", "year"])
        self.n_units, self.n_t = d["countyreal"].nunique(), d["year"].nunique()
        self.xt = self._within(d["post"].to_numpy(float)[:, None])[:, 0]
        self.ut = self._within(d["lemp"].to_numpy(float)[:, None])[:, 0]
        self.sxx = float(self.xt @ self.xt)
        ids, self.code = np.unique(d[cluster].to_numpy(), return_inverse=True)
        self.onehot = (self.code[None, :] == np.arange(len(ids))[:, None]).astype(float)
        self.ssc = ssc
        beta = float(self.xt @ self.ut) / self.sxx
        self.t, _ = self._t(self.ut[:, None])
        self.beta = beta

    def _within(self, z: np.ndarray) -> np.ndarray:
        m = z.reshape(self.n_units, self.n_t, -1)
        w = m - m.mean(1, keepdims=True) - m.mean(0, keepdims=True) + m.mean((0, 1), keepdims=True)
        return w.reshape(self.n_units * self.n_t, -1)

    def _t(self, yt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        beta = self.xt @ yt / self.sxx
        e = yt - self.xt[:, None] * beta[None, :]
        s = self.onehot @ (self.xt[:, None] * e)
        var = (s**2).sum(0) / self.sxx**2
        return beta / np.sqrt(self.ssc * var), beta

    def tboot(self, v: np.ndarray, chunk: int = 500) -> np.ndarray:
        out = []
        for j in range(0, v.shape[1], chunk):
            vo = v[self.code, j : j + chunk]
            t, _ = self._t(self._within(vo * self.ut[:, None]))
            out.append(t)
        return np.concatenate(out)


def pvalue_summary(t: float, tb: np.ndarray) -> dict[str, Any]:
    a, ab = abs(t), np.abs(tb)
    tol = 1e-9 * a
    return {
        "p_strict": float(np.mean(ab > a + tol)),
        "p_ties_counted": float(np.mean(ab >= a - tol)),
        "n_ties": int(np.sum(np.abs(ab - a) <= tol)),
    }


def run_case(df: pd.DataFrame, key: str, weights: str, seed: int, fit: Any) -> dict[str, Any]:
    col, _ = CLUSTERINGS[key]
    G = int(df[col].nunique())
    t0 = time.perf_counter()
    res, tb_pkg = fit.wildboottest(
        param="post",
        reps=B,
        cluster=col,
        weights_type=weights,
        impose_null=True,
        bootstrap_type="11",
        seed=seed,
        return_bootstrapped_t_stats=True,
    )
    secs = time.perf_counter() - t0
    tb_pkg = np.asarray(tb_pkg, dtype=float).ravel()
    t_pkg = float(res["t value"])
    ssc = float(res["ssc"])
    ref = NumpyWCR(df, col, ssc)
    v = draws(weights, G, seed)
    tb_np = ref.tboot(v)
    if tb_np.shape != tb_pkg.shape:
        raise RuntimeError(f"{key}/{weights}/{seed}: {tb_np.shape} vs {tb_pkg.shape}")
    full = weights == "rademacher" and 2**G < B
    out = {
        "cluster": key,
        "G": G,
        "weights": weights,
        "seed": seed,
        "B_requested": B,
        "B_used": len(tb_pkg),
        "full_enumeration": full,
        "p_value": float(res["Pr(>|t|)"]),
        "t": t_pkg,
        "ssc": ssc,
        "seconds": secs,
        "p_value_convention": "mean(|t| < |t*_b|) over the B_used draws (strict, original "
        "sample not added)",
        "numpy_check": {
            "t": float(ref.t[0]),
            "max_abs_diff_tboot": float(np.max(np.abs(tb_np - tb_pkg))),
            "p_value_numpy_raw_comparison": float(np.mean(abs(ref.t[0]) < np.abs(tb_np))),
            **pvalue_summary(t_pkg, tb_pkg),
        },
    }
    # Stop rather than write reference values the independent implementation disagrees with.
    chk = out["numpy_check"]
    if chk["max_abs_diff_tboot"] > 1e-8 or chk["p_strict"] != out["p_value"]:
        raise RuntimeError(f"{key}/{weights}/{seed}: numpy WCR disagrees with the package: {chk}")
    return out


def direct_wildboottest(df: pd.DataFrame, key: str, weights: str, seed: int) -> dict[str, Any]:
    """The wildboottest package called on a statsmodels OLS with explicit FE dummies."""
    col, _ = CLUSTERINGS[key]
    model = smf.ols("lemp ~ post + C(countyreal) + C(year)", data=df)
    t0 = time.perf_counter()
    tab = wildboottest(
        model,
        B=B,
        cluster=df[col].to_numpy(),
        param="post",
        weights_type=weights,
        impose_null=True,
        bootstrap_type="11",
        seed=seed,
        parallel=False,
        show=False,
    )
    return {
        "p_value": float(tab["p-value"].iloc[0]),
        "t": float(np.ravel(tab["statistic"].iloc[0])[0]),
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    df = load_mpdta()
    df["state"] = df["countyreal"] // 1000
    df["region11"] = df["countyreal"] // 5000
    fit = pf.feols("lemp ~ post | countyreal + year", data=df, vcov={"CRV1": "countyreal"})
    plan = [
        ("region11", "rademacher", SEEDS[:2]),  # enumeration: seed must not matter
        ("region11", "webb", SEEDS),
        ("state", "rademacher", SEEDS),
        ("state", "webb", SEEDS),
        ("county", "rademacher", SEEDS),
        ("county", "webb", SEEDS[:3]),
    ]
    runs = []
    for key, weights, seeds in plan:
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the package's full-enumeration notice
                r = run_case(df, key, weights, seed, fit)
                if seed == PRIMARY_SEED and (key != "county" or weights == "rademacher"):
                    r["direct_wildboottest"] = direct_wildboottest(df, key, weights, seed)
                    if r["direct_wildboottest"]["p_value"] != r["p_value"]:
                        raise RuntimeError(f"{key}/{weights}: direct wildboottest p differs")
            print(
                f"{key:<9} {weights:<10} seed {seed:<6} G {r['G']:<4} B {r['B_used']:<5} "
                f"p {r['p_value']:.6f} t {r['t']:.6f} "
                f"numpy p {r['numpy_check']['p_value_numpy_raw_comparison']:.6f} "
                f"max|dt*| {r['numpy_check']['max_abs_diff_tboot']:.1e} ({r['seconds']:.1f}s)",
                flush=True,
            )
            runs.append(r)
    spread = []
    for key, weights, _ in plan:
        ps = [r["p_value"] for r in runs if r["cluster"] == key and r["weights"] == weights]
        p = np.array(ps)
        spread.append(
            {
                "cluster": key,
                "weights": weights,
                "n_seeds": len(ps),
                "p_min": float(p.min()),
                "p_max": float(p.max()),
                "p_mean": float(p.mean()),
                "p_sd_across_seeds": float(p.std(ddof=1)),
                "binomial_mc_sd_at_mean": float(np.sqrt(p.mean() * (1 - p.mean()) / B)),
            }
        )
    feols = fit.tidy().loc["post"]
    payload = {
        "meta": meta(
            "generate_wild_bootstrap.py",
            {
                "model": "lemp ~ post | countyreal + year (post = 1{first.treat>0, "
                "year>=first.treat}); H0: beta_post = 0",
                "bootstrap": "WCR11 (impose_null=True, bootstrap_type='11'), two-sided "
                "symmetric p-value, B = 9999",
                "call": "pf.feols('lemp ~ post | countyreal + year', data, vcov={'CRV1': "
                "'countyreal'}).wildboottest(param='post', reps=9999, cluster=<col>, "
                "weights_type=<w>, impose_null=True, bootstrap_type='11', seed=<seed>)",
                "clusterings": {k: v[1] for k, v in CLUSTERINGS.items()},
                "weights_draw": "rng = numpy.random.default_rng(seed); Rademacher: "
                "rng.choice([-1, 1], size=G*B).reshape(G, B); Webb: rng.choice("
                "[-sqrt(3/2), -1, -sqrt(1/2), sqrt(1/2), 1, sqrt(3/2)], size=G*B)."
                "reshape(G, B); row g = g-th cluster id in sorted order; Rademacher with "
                "2**G < B: all 2**G sign vectors, columns in itertools.product([-1, 1], "
                "repeat=G) order",
                "ssc_note": "wildboottest's ssc = (N-1)/(N-k) * G/(G-1) with k = 505 columns "
                "of the one-hot design (intercept, post, 499 county and 4 year dummies), so "
                "its t differs from feols' CRV1 t (k = 6 there); the p-value does not depend "
                "on the ssc because t and t* share it",
                "feols_crv1_county": {
                    "coef": float(feols["Estimate"]),
                    "se": float(feols["Std. Error"]),
                    "t": float(feols["t value"]),
                },
                "seeds": list(SEEDS),
                "primary_seed": PRIMARY_SEED,
            },
        ),
        "runs": runs,
        "monte_carlo_spread": spread,
    }
    print("wrote", write_json("wild_bootstrap_mpdta.json", payload))


if __name__ == "__main__":
    main()
