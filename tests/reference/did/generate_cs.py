"""Callaway & Sant'Anna (2021) reference values on mpdta from csdid and differences.

Writes ``cs_mpdta.json`` next to this file. Every standard error is the analytic
influence-function SE (no bootstrap), so every number is deterministic. csdid's values
are the primary reference (csdid 0.4.x tracks R ``did`` 2.x option by option);
differences is an independent implementation used as a cross-check, and the per-
quantity max |csdid - differences| is stored with each configuration.

Run with the peer environment (see README.md)::

    /work/refvenv/bin/python tests/reference/did/generate_cs.py
"""

from __future__ import annotations

import contextlib
import io
import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd
from _common import load_mpdta, max_abs_diff, meta, timed, write_json
from csdid.att_gt import ATTgt as CsATTgt
from differences import ATTgt as DiffATTgt
from scipy.stats import chi2

# csdid/R method name -> differences method name (R's "ipw" is the standardised
# (Hajek) IPW estimator std_ipw_did_panel; differences calls it "std_ipw").
DIFF_METHOD = {"dr": "dr", "reg": "reg", "ipw": "std_ipw"}
DIFF_CONTROL = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}
# aggregation key in the JSON -> (csdid typec, differences type, name of the index)
AGGS = {
    "simple": ("simple", "simple", None),
    "event_time": ("dynamic", "event", "event_time"),
    "group": ("group", "cohort", "group"),
    "calendar": ("calendar", "time", "time"),
}


def configurations() -> list[dict[str, Any]]:
    out = []
    for cg, cov, method in itertools.product(
        ("nevertreated", "notyettreated"), (None, "lpop"), ("dr", "reg", "ipw")
    ):
        out.append(
            {"control_group": cg, "covariates": cov, "est_method": method, "base_period": "varying"}
        )
    for cg in ("nevertreated", "notyettreated"):
        out.append(
            {
                "control_group": cg,
                "covariates": None,
                "est_method": "dr",
                "base_period": "universal",
            }
        )
    for c in out:
        cov = "nocov" if c["covariates"] is None else c["covariates"]
        c["id"] = f"{c['control_group']}_{c['est_method']}_{cov}_{c['base_period']}"
    return out


def run_csdid(df: pd.DataFrame, cfg: dict[str, Any]) -> dict[str, Any]:
    xformla = None if cfg["covariates"] is None else f"~ {cfg['covariates']}"

    def fit() -> CsATTgt:
        return CsATTgt(
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            data=df,
            control_group=cfg["control_group"],
            xformla=xformla,
            cband=False,
        ).fit(est_method=cfg["est_method"], base_period=cfg["base_period"], bstrap=False)

    model, seconds = timed(fit, repeat=3)
    r = model.results
    att_gt = [
        {"group": int(g), "time": int(t), "att": float(a), "se": float(s)}
        for g, t, a, s in zip(r["group"], r["year"], r["att"], r["se"], strict=True)
    ]
    aggregate: dict[str, Any] = {}
    for key, (typec, _, idx) in AGGS.items():
        with contextlib.redirect_stdout(io.StringIO()):  # aggte prints a summary table
            model.aggte(typec=typec, bstrap=False, cband=False)
        a = model.atte
        entry: dict[str, Any] = {
            "overall": {"att": float(a["overall_att"]), "se": float(a["overall_se"])}
        }
        if idx is not None:
            entry["by"] = [
                {idx: int(e), "att": float(v), "se": float(s)}
                for e, v, s in zip(a["egt"], a["att_egt"], a["se_egt"], strict=True)
            ]
        aggregate[key] = entry
    # csdid (like R) rounds Wpval to 5 decimals; store the unrounded chi2 tail too. The
    # degrees of freedom are the pre-treatment cells with a finite SE (R drops the
    # universal base cell, whose SE is NA).
    q = sum(1 for c in att_gt if c["time"] < c["group"] and np.isfinite(c["se"]))
    pretest = {
        "W": model.MP["W"],
        "df": q,
        "p_value": float(chi2.sf(model.MP["W"], q)),
        "p_value_csdid_rounded": model.MP["Wpval"],
    }
    return {"att_gt": att_gt, "aggregate": aggregate, "pretest": pretest, "seconds": seconds}


def run_differences(df: pd.DataFrame, cfg: dict[str, Any]) -> dict[str, Any]:
    d = df.assign(cohort=df["first.treat"].where(df["first.treat"] > 0))
    d = d.set_index(["countyreal", "year"])
    formula = "lemp" if cfg["covariates"] is None else f"lemp ~ {cfg['covariates']}"

    def fit() -> DiffATTgt:
        m = DiffATTgt(data=d, cohort_column="cohort", base_period=cfg["base_period"])
        m.fit(
            formula=formula,
            est_method=DIFF_METHOD[cfg["est_method"]],
            control_group=DIFF_CONTROL[cfg["control_group"]],
            progress_bar=False,
        )
        return m

    model, seconds = timed(fit, repeat=3)
    res = model.results()
    res.columns = [c[-1] for c in res.columns]
    res = res.reset_index()
    att_gt = [
        {"group": int(g), "time": int(t), "att": float(a), "se": float(s)}
        for g, t, a, s in zip(res["cohort"], res["time"], res["ATT"], res["std_error"], strict=True)
    ]
    aggregate: dict[str, Any] = {}
    for key, (_, dtype, idx) in AGGS.items():
        if dtype == "simple":
            tab = model.aggregate("simple")
            tab.columns = [c[-1] for c in tab.columns]
            aggregate[key] = {
                "overall": {"att": float(tab["ATT"].iloc[0]), "se": float(tab["std_error"].iloc[0])}
            }
            continue
        tab = model.aggregate(dtype)
        tab.columns = [c[-1] for c in tab.columns]
        ov = model.aggregate(dtype, overall=True)
        ov.columns = [c[-1] for c in ov.columns]
        aggregate[key] = {
            "overall": {"att": float(ov["ATT"].iloc[0]), "se": float(ov["std_error"].iloc[0])},
            "by": [
                {idx: int(e), "att": float(a), "se": float(s)}
                for e, a, s in zip(tab.index, tab["ATT"], tab["std_error"], strict=True)
            ],
        }
    return {"att_gt": att_gt, "aggregate": aggregate, "seconds": seconds}


def compare(cs: dict[str, Any], df_: dict[str, Any], cfg_id: str) -> dict[str, Any]:
    """Max |csdid - differences| per quantity, after aligning on the (g,t) / index keys."""
    a = pd.DataFrame(cs["att_gt"]).set_index(["group", "time"])
    b = pd.DataFrame(df_["att_gt"]).set_index(["group", "time"])
    # differences lists the base-period cell under a universal base period (att 0, SE NaN);
    # csdid lists it too. Any cell present in one and not the other is a real disagreement.
    if set(a.index) != set(b.index):
        raise RuntimeError(f"{cfg_id}: (g,t) cells differ: {set(a.index) ^ set(b.index)}")
    b = b.loc[a.index]
    out: dict[str, Any] = {
        "att_gt_att": max_abs_diff(a["att"], b["att"]),
        "att_gt_se": max_abs_diff(a["se"], b["se"]),
    }
    for key, (_, _, idx) in AGGS.items():
        ca, da = cs["aggregate"][key], df_["aggregate"][key]
        out[f"{key}_overall_att"] = max_abs_diff(ca["overall"]["att"], da["overall"]["att"])
        out[f"{key}_overall_se"] = max_abs_diff(ca["overall"]["se"], da["overall"]["se"])
        if idx is not None:
            x = pd.DataFrame(ca["by"]).set_index(idx)
            y = pd.DataFrame(da["by"]).set_index(idx)
            if set(x.index) != set(y.index):
                raise RuntimeError(f"{cfg_id}/{key}: index differs {set(x.index) ^ set(y.index)}")
            y = y.loc[x.index]
            out[f"{key}_att"] = max_abs_diff(x["att"], y["att"])
            out[f"{key}_se"] = max_abs_diff(x["se"], y["se"])
    return out


def bootstrap_timings(df: pd.DataFrame) -> dict[str, Any]:
    """Wall time of the multiplier bootstrap (999 draws), for later speed comparisons only."""
    d = df.assign(cohort=df["first.treat"].where(df["first.treat"] > 0))
    d = d.set_index(["countyreal", "year"])

    def cs_boot() -> None:
        m = CsATTgt(
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            data=df,
            control_group="nevertreated",
            biters=999,
            cband=True,
        ).fit(est_method="dr", bstrap=True)
        with contextlib.redirect_stdout(io.StringIO()):
            m.aggte(typec="dynamic")

    def diff_boot() -> None:
        m = DiffATTgt(data=d, cohort_column="cohort")
        m.fit(
            formula="lemp",
            est_method="dr",
            control_group="never_treated",
            boot_iterations=999,
            random_state=20240601,
            progress_bar=False,
        )
        m.aggregate("event", boot_iterations=999, random_state=20240601)

    _, t_cs = timed(cs_boot, repeat=3)
    _, t_diff = timed(diff_boot, repeat=3)
    return {
        "what": "never-treated, dr, no covariates: att_gt with 999 multiplier-bootstrap draws "
        "followed by the dynamic/event aggregation with its own 999 draws; best of 3 runs",
        "csdid_seconds": t_cs,
        "differences_seconds": t_diff,
    }


def main() -> None:
    df = load_mpdta()
    configs = []
    for cfg in configurations():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # peer packages' own deprecation chatter
            cs = run_csdid(df, cfg)
            dif = run_differences(df, cfg)
        diff = compare(cs, dif, cfg["id"])
        worst = max(v for v in diff.values() if v is not None)
        print(f"{cfg['id']:<40} max |csdid - differences| = {worst:.2e}")
        # the two implementations agree to ~1e-9 at worst (logit tolerances); a larger
        # gap means a changed option mapping or a regression in a peer, not a reference
        if worst > 1e-7:
            raise RuntimeError(f"{cfg['id']}: csdid and differences disagree: {diff}")
        configs.append(
            {
                **cfg,
                "csdid_call": (
                    "ATTgt(yname='lemp', tname='year', idname='countyreal', "
                    f"gname='first.treat', data=mpdta, control_group='{cfg['control_group']}', "
                    f"xformla={None if cfg['covariates'] is None else '~ ' + cfg['covariates']!r}, "
                    f"cband=False).fit(est_method='{cfg['est_method']}', "
                    f"base_period='{cfg['base_period']}', bstrap=False); "
                    "aggte(typec=..., bstrap=False, cband=False)"
                ),
                "differences_call": (
                    "ATTgt(data=mpdta.set_index(['countyreal','year']), cohort_column='cohort' "
                    f"(first.treat, NaN if 0), base_period='{cfg['base_period']}').fit(formula="
                    f"'{'lemp' if cfg['covariates'] is None else 'lemp ~ ' + cfg['covariates']}', "
                    f"est_method='{DIFF_METHOD[cfg['est_method']]}', "
                    f"control_group='{DIFF_CONTROL[cfg['control_group']]}'); "
                    "aggregate(type, overall=...)"
                ),
                "att_gt": cs["att_gt"],
                "aggregate": cs["aggregate"],
                "pretest": cs["pretest"],
                "differences": {"att_gt": dif["att_gt"], "aggregate": dif["aggregate"]},
                "max_abs_diff_csdid_vs_differences": diff,
                "seconds": {"csdid_fit": cs["seconds"], "differences_fit": dif["seconds"]},
            }
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = bootstrap_timings(df)
    payload = {
        "meta": meta(
            "generate_cs.py",
            {
                "estimator": "Callaway & Sant'Anna (2021), doi:10.1016/j.jeconom.2020.12.001",
                "primary_source": "csdid (att_gt / aggte); 'differences' block = cross-check",
                "se": "analytic influence-function SE, iid over counties "
                "(sqrt(mean(IF^2))/sqrt(n), n = 500 units); no bootstrap",
                "timing_note": "seconds = best of 3 wall-clock runs on a shared 2-core machine",
                "bootstrap_timing": boot,
            },
        ),
        "configurations": configs,
    }
    print("wrote", write_json("cs_mpdta.json", payload))


if __name__ == "__main__":
    main()
