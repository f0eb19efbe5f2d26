"""Two-way fixed-effects reference values on mpdta from pyfixest and linearmodels.

Writes ``twfe_mpdta.json`` next to this file:

* static TWFE ``lemp ~ post | countyreal + year`` with SEs clustered by county (pyfixest
  CRV1 and linearmodels PanelOLS, several small-sample conventions), two-way clustered
  by county and year, and clustered by state;
* an event-study TWFE with one dummy per relative period (reference period -1, never-
  treated counties as controls, no binning);
* a package-free decomposition: beta and the raw CR0 sandwich computed with numpy from
  the two-way within transformation, so each package's SE can be written as
  ``sqrt(factor * CR0)`` with the factor stated exactly.

``post`` = 1{first.treat > 0 and year >= first.treat}. mpdta's own ``treat`` column is the
ever-treated indicator and is collinear with the county fixed effects.

Run with the peer environment (see README.md)::

    /work/refvenv/bin/python tests/reference/did/generate_twfe.py
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyfixest as pf
from _common import load_mpdta, meta, timed, write_json
from linearmodels.panel import PanelOLS
from scipy import stats

REL_TIMES = (-4, -3, -2, 0, 1, 2, 3)  # all relative periods in mpdta except the reference -1


def rel_name(e: int) -> str:
    return f"rel_m{-e}" if e < 0 else f"rel_{e}"


def add_event_dummies(df: pd.DataFrame) -> pd.DataFrame:
    rel = np.where(df["first.treat"] > 0, df["year"] - df["first.treat"], np.nan)
    out = df.copy()
    for e in REL_TIMES:
        out[rel_name(e)] = (rel == e).astype(int)
    return out


def within(df: pd.DataFrame, col: str) -> np.ndarray:
    """Two-way within transformation; exact because the panel is balanced."""
    x = df[col].astype(float)
    return (
        x
        - x.groupby(df["countyreal"]).transform("mean")
        - x.groupby(df["year"]).transform("mean")
        + x.mean()
    ).to_numpy()


def numpy_reference(df: pd.DataFrame) -> dict[str, Any]:
    """beta and unadjusted (CR0) cluster sandwiches, from first principles (FWL)."""
    yt, xt = within(df, "lemp"), within(df, "post")
    sxx = float(xt @ xt)
    beta = float(xt @ yt) / sxx
    score = xt * (yt - beta * xt)

    def cr0(groups: pd.Series) -> float:
        s = pd.Series(score).groupby(groups.to_numpy()).sum().to_numpy()
        return float(s @ s) / sxx**2

    county, year = df["countyreal"], df["year"]
    inter = county.astype(str) + "_" + year.astype(str)  # county x year = each observation
    v_c, v_y, v_cy = cr0(county), cr0(year), cr0(inter)
    return {
        "beta": beta,
        "cr0_var_county": v_c,
        "cr0_var_year": v_y,
        "cr0_var_county_x_year": v_cy,
        "cr0_var_state": cr0(df["countyreal"] // 1000),
        "N": len(df),
        "G_county": int(county.nunique()),
        "G_year": int(year.nunique()),
        "G_state": int((df["countyreal"] // 1000).nunique()),
        "formula": "beta = sum(x~ y~)/sum(x~^2); score_i = x~_i e_i with e = y~ - beta x~; "
        "CR0 var = sum_g (sum_{i in g} score_i)^2 / (sum x~^2)^2, where ~ is the two-way "
        "within transformation (z - zbar_county - zbar_year + zbar)",
    }


def pyfixest_row(fit: Any, name: str, cr0_var: float | None) -> dict[str, Any]:
    tidy = fit.tidy().loc[name]
    se = float(tidy["Std. Error"])
    out = {
        "coef": float(tidy["Estimate"]),
        "se": se,
        "t": float(tidy["t value"]),
        "p": float(tidy["Pr(>|t|)"]),
        "ci95": [float(tidy["2.5%"]), float(tidy["97.5%"])],
        "df_t": float(fit._df_t),
        "p_distribution": f"Student t with df = {float(fit._df_t):g}",
    }
    # independent check of the p-value convention
    out["p_recomputed_t_df"] = float(2 * stats.t.sf(abs(out["t"]), fit._df_t))
    if cr0_var is not None:
        out["factor_vs_cr0"] = se**2 / cr0_var
    return out


def linearmodels_row(res: Any, cr0_var: float) -> dict[str, Any]:
    se = float(res.std_errors["post"])
    t = float(res.tstats["post"])
    return {
        "coef": float(res.params["post"]),
        "se": se,
        "t": t,
        "p": float(res.pvalues["post"]),
        "df_resid": int(res.df_resid),
        "p_recomputed_t_df_resid": float(2 * stats.t.sf(abs(t), res.df_resid)),
        "p_recomputed_normal": float(2 * stats.norm.sf(abs(t))),
        "factor_vs_cr0": se**2 / cr0_var,
    }


def static(df: pd.DataFrame, ref: dict[str, Any]) -> dict[str, Any]:
    N, G = ref["N"], ref["G_county"]
    G_state, G_year = ref["G_state"], ref["G_year"]
    d = df.assign(state=df["countyreal"] // 1000)
    out: dict[str, Any] = {}

    fit, secs = timed(
        lambda: pf.feols("lemp ~ post | countyreal + year", data=d, vcov={"CRV1": "countyreal"}),
        repeat=3,
    )
    row = pyfixest_row(fit, "post", ref["cr0_var_county"])
    # pyfixest (= fixest, k_fixef="nonnested"): df_k = k + (sum of FE levels - (n_fe - 1))
    # - (levels of FE nested in the cluster) + (number of fully nested FEs)
    # = 1 + (500 + 5 - 1) - 500 + 1 = 6.
    k = 1 + (500 + 5 - 1) - 500 + 1
    row["ssc"] = {
        "formula": "G/(G-1) * (N-1)/(N-k), G = 500 counties, N = 2500, k = 6 "
        "(post + 5 year levels; county FE nested in the clusters count as 1)",
        "value_reported": float(np.asarray(fit._ssc).ravel()[0]),
        "value_formula": G / (G - 1) * (N - 1) / (N - k),
    }
    row["call"] = 'pf.feols("lemp ~ post | countyreal + year", data, vcov={"CRV1": "countyreal"})'
    row["seconds"] = secs
    out["pyfixest_crv1_county"] = row

    fit2 = pf.feols("lemp ~ post | countyreal + year", data=d, vcov={"CRV1": "countyreal+year"})
    row = pyfixest_row(fit2, "post", None)
    two_way_cr0 = ref["cr0_var_county"] + ref["cr0_var_year"] - ref["cr0_var_county_x_year"]
    k2 = 1 + (500 + 5 - 1) - 505 + 2  # both FEs nested in one of the two cluster dimensions
    row["cr0_two_way_var"] = two_way_cr0
    row["factor_vs_cr0_two_way"] = row["se"] ** 2 / two_way_cr0
    row["ssc"] = {
        "formula": "G_df='min': every one of V_county + V_year - V_county*year is scaled by "
        "Gmin/(Gmin-1) * (N-1)/(N-k) with Gmin = min(500, 5) = 5 and k = 2 (both FEs are "
        "nested in a cluster dimension); t df = Gmin - 1 = 4",
        "value_reported": np.asarray(fit2._ssc).ravel().tolist(),
        "value_formula": G_year / (G_year - 1) * (N - 1) / (N - k2),
    }
    row["call"] = (
        'pf.feols("lemp ~ post | countyreal + year", data, vcov={"CRV1": "countyreal+year"})'
    )
    out["pyfixest_crv1_county_and_year"] = row

    fit3 = pf.feols("lemp ~ post | countyreal + year", data=d, vcov={"CRV1": "state"})
    row = pyfixest_row(fit3, "post", ref["cr0_var_state"])
    k3 = 1 + (500 + 5 - 1) - 500 + 1
    row["ssc"] = {
        "formula": "G/(G-1) * (N-1)/(N-k), G = 29 states (countyreal // 1000), k = 6",
        "value_reported": float(np.asarray(fit3._ssc).ravel()[0]),
        "value_formula": G_state / (G_state - 1) * (N - 1) / (N - k3),
    }
    row["call"] = 'pf.feols("lemp ~ post | countyreal + year", data, vcov={"CRV1": "state"})'
    out["pyfixest_crv1_state"] = row

    panel = d.set_index(["countyreal", "year"])
    model = PanelOLS.from_formula("lemp ~ post + EntityEffects + TimeEffects", data=panel)
    d_eff = (500 - 1) + (5 - 1) + 1  # absorbed effects incl. the constant: N - df_resid - k
    variants = {
        "linearmodels_default": (
            {"cov_type": "clustered", "cluster_entity": True},
            "N/(N-d-k) = 2500/1995 with d = 504 absorbed effects (county AND year effects "
            "are counted because the model has two effects; see PanelOLS.fit Notes), k = 1; "
            "no G/(G-1)",
            N / (N - d_eff - 1),
        ),
        "linearmodels_group_debias": (
            {"cov_type": "clustered", "cluster_entity": True, "group_debias": True},
            "N/(N-d-k) * G/(G-1) * (N-1)/N with d = 504, k = 1, G = 500",
            N / (N - d_eff - 1) * G / (G - 1) * (N - 1) / N,
        ),
        "linearmodels_no_effect_df": (
            {
                "cov_type": "clustered",
                "cluster_entity": True,
                "group_debias": True,
                "auto_df": False,
                "count_effects": False,
            },
            "N/(N-k) * G/(G-1) * (N-1)/N = (N-1)/(N-1) * G/(G-1) with k = 1: effects not "
            "counted (auto_df=False, count_effects=False)",
            N / (N - 1) * G / (G - 1) * (N - 1) / N,
        ),
    }
    for key, (kw, formula, factor) in variants.items():
        res, secs = timed(lambda kw=kw: model.fit(**kw), repeat=3)
        row = linearmodels_row(res, ref["cr0_var_county"])
        row["ssc"] = {"formula": formula, "value_formula": factor}
        row["call"] = (
            'PanelOLS.from_formula("lemp ~ post + EntityEffects + TimeEffects", '
            f"data=mpdta.set_index(['countyreal','year'])).fit(**{kw!r})"
        )
        row["seconds"] = secs
        out[key] = row

    res = model.fit(cov_type="clustered", cluster_entity=True, cluster_time=True)
    row = linearmodels_row(res, two_way_cr0)
    row["ssc"] = {
        "formula": "N/(N-d-k) * (V_county + V_year - V_county*year), d = 504, k = 1; "
        "no G/(G-1) (group_debias=False)",
        "value_formula": N / (N - d_eff - 1),
    }
    row["call"] = "PanelOLS(...).fit(cov_type='clustered', cluster_entity=True, cluster_time=True)"
    out["linearmodels_two_way_default"] = row
    return out


def event_study(df: pd.DataFrame) -> dict[str, Any]:
    d = add_event_dummies(df)
    rhs = " + ".join(rel_name(e) for e in REL_TIMES)
    formula = f"lemp ~ {rhs} | countyreal + year"
    fit, secs = timed(lambda: pf.feols(formula, data=d, vcov={"CRV1": "countyreal"}), repeat=3)
    coefs = []
    for e in REL_TIMES:
        row = pyfixest_row(fit, rel_name(e), None)
        coefs.append({"event_time": e, **{k: row[k] for k in ("coef", "se", "t", "p", "ci95")}})
    # cross-check 1: pyfixest's own i() syntax (never-treated coded -1 = the reference)
    d2 = d.assign(rel=np.where(d["first.treat"] > 0, d["year"] - d["first.treat"], -1))
    fit_i = pf.feols(
        "lemp ~ i(rel, ref=-1) | countyreal + year", data=d2, vcov={"CRV1": "countyreal"}
    )
    b_i = fit_i.coef().to_numpy()
    se_i = fit_i.se().to_numpy()
    # cross-check 2: linearmodels point estimates (SE convention differs, see static block)
    panel = d.set_index(["countyreal", "year"])
    lm = PanelOLS.from_formula(f"lemp ~ {rhs} + EntityEffects + TimeEffects", data=panel).fit(
        cov_type="clustered", cluster_entity=True
    )
    b = np.array([c["coef"] for c in coefs])
    se = np.array([c["se"] for c in coefs])
    return {
        "spec": "lemp_it = a_i + l_t + sum_{e != -1} b_e 1{first.treat_i > 0, t - "
        "first.treat_i = e} + u_it; relative periods -4..3 (all present in mpdta), "
        "reference -1, never-treated counties have every dummy 0; no binning/trimming",
        "dummies": {
            rel_name(e): f"1{{first.treat>0 and year-first.treat=={e}}}" for e in REL_TIMES
        },
        "call": f'pf.feols("{formula}", data, vcov={{"CRV1": "countyreal"}})',
        "vcov": "CRV1 by countyreal; ssc G/(G-1)*(N-1)/(N-k), G = 500, N = 2500, "
        "k = 7 + 5 = 12 (7 dummies, 5 year levels; nested county FE count 1); t df = 499",
        "ssc_reported": float(np.asarray(fit._ssc).ravel()[0]),
        "ssc_formula": 500 / 499 * 2499 / (2500 - 12),
        "df_t": float(fit._df_t),
        "coefficients": coefs,
        "cross_check": {
            "pyfixest_i_syntax_max_abs_diff_coef": float(np.max(np.abs(b_i - b))),
            "pyfixest_i_syntax_max_abs_diff_se": float(np.max(np.abs(se_i - se))),
            "linearmodels_max_abs_diff_coef": float(
                np.max(np.abs(lm.params[[rel_name(e) for e in REL_TIMES]].to_numpy() - b))
            ),
        },
        "seconds": secs,
    }


def main() -> None:
    df = load_mpdta()
    ref = numpy_reference(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peer packages' own deprecation chatter
        st = static(df, ref)
        es = event_study(df)
    for key, row in st.items():
        print(f"{key:<32} coef {row['coef']:.10f}  se {row['se']:.10f}  p {row['p']:.6f}")
        if not np.isclose(row["coef"], ref["beta"], rtol=0, atol=1e-12):
            raise RuntimeError(f"{key}: coefficient disagrees with the numpy FWL beta")
        sv = row["ssc"].get("value_formula")
        fac = row.get("factor_vs_cr0", row.get("factor_vs_cr0_two_way"))
        if not np.isclose(fac, sv, rtol=1e-10):
            raise RuntimeError(f"{key}: SE^2/CR0 = {fac} but documented factor = {sv}")
    if not np.isclose(es["ssc_reported"], es["ssc_formula"], rtol=1e-12):
        raise RuntimeError("event study ssc differs from the documented formula")
    payload = {
        "meta": meta(
            "generate_twfe.py",
            {
                "treatment": "post = 1{first.treat > 0 and year >= first.treat} "
                "(mpdta's `treat` is ever-treated)",
                "timing_note": "seconds = best of 3 wall-clock runs on a shared 2-core machine",
            },
        ),
        "numpy_reference": ref,
        "static": st,
        "event_study": es,
    }
    print("wrote", write_json("twfe_mpdta.json", payload))


if __name__ == "__main__":
    main()
