"""Sun & Abraham (2021) reference values on mpdta from pyfixest's saturated event study.

pyfixest's ``SaturatedEventStudy`` is the Python counterpart of R ``fixest::sunab``:
``lemp ~ i(rel_time, first_treated_period, ref=-1, ref2=0) | countyreal + year`` with
CRV1 standard errors clustered by county (fixest's small-sample factor), and
``aggregate()`` weighting the cohort coefficients at each relative period by the
cohorts' shares of the observations there (weights treated as fixed: se = sqrt(w'Vw)).
The ATT (fixest's ``aggregate(x, "att")``: all post-treatment cohort x period
coefficients weighted by their number of observations) is formed here from pyfixest's
coefficients and covariance with those weights.

Writes ``sunab_mpdta.json``. Run with the peer environment (see README.md)::

    /work/extravenv/bin/python tests/reference/did_extra/generate_sunab.py
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pyfixest as pf
from _common import load_mpdta, meta, write_json


def main() -> None:
    df = load_mpdta()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest flags the saturated class as beta
        fit = pf.event_study(
            df,
            yname="lemp",
            idname="countyreal",
            tname="year",
            gname="first.treat",
            estimator="saturated",
            cluster="countyreal",
        )
        agg = fit.aggregate()
    mod = fit.mod if hasattr(fit, "mod") else fit
    tidy = mod.tidy()
    names = list(tidy.index)
    pattern = re.compile(r"rel_time::(-?[0-9.]+):first_treated_period::([0-9]+)")
    cells = []
    for name in names:
        m = pattern.fullmatch(name)
        e, g = int(float(m.group(1))), int(m.group(2))
        n_obs = int(((df["first.treat"] == g) & (df["year"] - g == e)).sum())
        cells.append(
            {
                "pyfixest_name": name,
                "cohort": g,
                "event_time": e,
                "n_obs": n_obs,
                "coef": float(tidy.loc[name, "Estimate"]),
                "se": float(tidy.loc[name, "Std. Error"]),
            }
        )
    vcov = np.asarray(mod._vcov)
    beta = np.asarray(mod._beta_hat)
    post = np.array([c["event_time"] >= 0 for c in cells])
    n = np.array([c["n_obs"] for c in cells], dtype=float)
    w = np.where(post, n, 0.0) / n[post].sum()
    att = {"coef": float(w @ beta), "se": float(np.sqrt(w @ vcov @ w))}

    event = [
        {
            "event_time": int(float(e)),
            "coef": float(row["Estimate"]),
            "se": float(row["Std. Error"]),
        }
        for e, row in agg.iterrows()
    ]
    write_json(
        "sunab_mpdta.json",
        meta(
            "generate_sunab.py",
            {
                "data": "src/effekt/datasets/data/mpdta.csv (R did::mpdta)",
                "call": (
                    'pf.event_study(mpdta, yname="lemp", idname="countyreal", tname="year", '
                    'gname="first.treat", estimator="saturated", cluster="countyreal"); '
                    ".aggregate() for the event-time effects"
                ),
                "vcov": "CRV1 by countyreal, fixest ssc: G/(G-1)*(N-1)/(N-K), K = 12 "
                "interactions + 5 year levels (county FE nested in the clusters: 1) - 1",
                "ssc_reported": float(np.asarray(mod._ssc).ravel()[0]),
                "df_t": float(mod._df_t),
                "cells": cells,
                "event_time": event,
                "att": att,
                "att_weights": "n_obs of each post-treatment cohort x period cell / their sum",
            },
        ),
    )


if __name__ == "__main__":
    main()
