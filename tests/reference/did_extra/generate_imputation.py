"""Borusyak-Jaravel-Spiess imputation reference values on mpdta from three peers.

* ``did_imputation`` (PyPI ``did-imputation``): a Python port of the authors' Stata
  command ``did_imputation`` (Borusyak). Point estimates, Theorem 3 standard errors
  (default ``avgeffectsby(Ei t)``, no leave-one-out, cluster = county) for the overall
  ATT and every horizon 0..3, and the ``pretrends(3)`` coefficients with their SEs.
  Its imputation weights come from an iterative projection stopped at an L1 change of
  1e-6, so its SEs carry that error.
* ``diff-diff`` ``ImputationDiD``: an independent implementation, same estimator and
  Theorem 3 variance (``aux_partition="cohort_horizon"``).
(pyfixest 0.60's ``did2s`` fails on mpdta: its first stage drops the 2004 cohort's
singleton untreated rows and the second stage then mis-sizes its weights; the point
estimates are instead checked in tests/test_imputation.py against a transparent
statsmodels dummy-variable regression on the untreated rows.)

Writes ``imputation_mpdta.json``. Run with the peer environment (see README.md)::

    /work/extravenv/bin/python tests/reference/did_extra/generate_imputation.py
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import pandas as pd
from _common import load_mpdta, meta, write_json

HORIZONS = (0, 1, 2, 3)


def run_did_imputation(df: pd.DataFrame) -> dict[str, Any]:
    from did_imputation import did_imputation

    d = df.assign(Ei=df["first.treat"].where(df["first.treat"] > 0))
    out: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        static = did_imputation(d.copy(), y="lemp", i="countyreal", t="year", Ei="Ei", minn=0)
        dyn = did_imputation(
            d.copy(),
            y="lemp",
            i="countyreal",
            t="year",
            Ei="Ei",
            horizons=list(HORIZONS),
            pretrends=3,
            minn=0,
        )
    out["att"] = {"coef": static.estimates["tau_ate"], "se": static.std_errors["tau_ate"]}
    out["horizons"] = [
        {"event_time": h, "coef": dyn.estimates[f"tau{h}"], "se": dyn.std_errors[f"tau{h}"]}
        for h in HORIZONS
    ]
    out["pretrends"] = [
        {
            "event_time": -h,
            "coef": dyn.pretrends_estimates[f"pre{h}"],
            "se": dyn.pretrends_std_errors[f"pre{h}"],
        }
        for h in (1, 2, 3)
    ]
    out["call"] = (
        'did_imputation(df, y="lemp", i="countyreal", t="year", Ei=first.treat or NaN, '
        "minn=0) for the ATT; horizons=[0,1,2,3], pretrends=3 for the event study"
    )
    return out


def run_diff_diff(df: pd.DataFrame) -> dict[str, Any]:
    from diff_diff import ImputationDiD

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = ImputationDiD(cluster="countyreal")
        res = est.fit(df, outcome="lemp", unit="countyreal", time="year", first_treat="first.treat")
        att = {"coef": float(res.overall_att), "se": float(res.overall_se)}
        es = res.aggregate("event_study")
    frame = es.to_dataframe() if hasattr(es, "to_dataframe") else pd.DataFrame(es)
    return {"att": att, "event_study_table": frame.to_dict(orient="records")}


def main() -> None:
    df = load_mpdta()
    write_json(
        "imputation_mpdta.json",
        meta(
            "generate_imputation.py",
            {
                "data": "src/effekt/datasets/data/mpdta.csv (R did::mpdta)",
                "did_imputation": run_did_imputation(df),
                "diff_diff": run_diff_diff(df),
            },
        ),
    )


if __name__ == "__main__":
    main()
