"""Reference values for effekt.did.ChaisemartinDHaultfoeuille.

Two peers, each in its own virtual environment (neither is a test dependency):

* ``py_did_multiplegt_dyn`` 0.1.6 (PyPI), the official Python port of the R/Stata
  ``did_multiplegt_dyn`` by its authors' team; run with ``polars<2`` (1.44.2), since
  0.1.6 calls ``pl.count()`` without arguments, which polars 2 removed::

      uv venv /work/peers/dcdh_official
      VIRTUAL_ENV=/work/peers/dcdh_official uv pip install py_did_multiplegt_dyn==0.1.6 "polars<2"
      /work/peers/dcdh_official/bin/python tests/reference/dcdh/generate.py official

* ``diff-diff`` 3.13 (PyPI), ``ChaisemartinDHaultfoeuille``::

      uv venv /work/peers/diffdiff
      VIRTUAL_ENV=/work/peers/diffdiff uv pip install diff-diff==3.13
      /work/peers/diffdiff/bin/python tests/reference/dcdh/generate.py diffdiff

``python generate.py data`` (numpy, pandas only) writes the panels:
``switching.csv`` (groups that join, join and leave again, leave, or never switch;
16 clusters), ``single_switch.csv`` (every switcher switches once) and
``levels.csv`` (treatment levels 0-3).

``python generate.py favara PATH`` writes ``favara_imbs_complete.csv.gz`` from the
Favara & Imbs (2015, AER, doi:10.1257/aer.20121416) county panel that the
``did_multiplegt_dyn`` help uses as its example (``favara_imbs_did_multiplegt_dyn.dta``
from github.com/chaisemartinPackages/ApplicationData), here as shipped in the PyPI
package ``moderndid`` 0.2.0 (``moderndid/core/datasets/favara_imbs.csv.gz``). It keeps
the 928 of 1,048 counties observed in all 12 years with no missing outcome (effekt's
estimator needs a balanced panel); the help's call ``did_multiplegt_dyn Dl_vloans_b
county year inter_bra, effects(8) placebo(3) cluster(state_n)`` is then run by the
official port on that sample.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20261204


def make(seed: int, probs: tuple[float, ...], n: int = 80, n_t: int = 10) -> pd.DataFrame:
    """Binary treatment panel; effect 1 + 0.5 * periods treated so far, while treated."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        kind = rng.choice(["never", "join", "joinleave", "leave", "always"], p=list(probs))
        d = np.zeros(n_t, int)
        if kind == "join":
            d[rng.integers(2, n_t) :] = 1
        elif kind == "joinleave":
            f = rng.integers(2, n_t - 2)
            d[f : rng.integers(f + 1, n_t)] = 1
        elif kind == "leave":
            d[:] = 1
            d[rng.integers(2, n_t) :] = 0
        elif kind == "always":
            d[:] = 1
        a = rng.normal(0, 1)
        for t in range(n_t):
            y = a + 0.3 * t + rng.normal(0, 1) + d[t] * (1.0 + 0.5 * d[: t + 1].sum())
            rows.append((i + 1, 2000 + t, round(y, 10), d[t], (i % 16) + 1))
    return pd.DataFrame(rows, columns=["unit", "year", "y", "d", "cluster"])


def make_levels(seed: int, n: int = 90, n_t: int = 9) -> pd.DataFrame:
    """Treatment levels 0-3 that go up; some later move again, a few below their baseline."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = int(rng.integers(0, 2))
        d = np.full(n_t, base)
        if rng.random() < 0.7:
            f = int(rng.integers(2, n_t))
            d[f:] = base + int(rng.integers(1, 3))
            if f + 2 < n_t and rng.random() < 0.4:
                d[f + 2 :] = max(base + int(rng.integers(-1, 3)), 0)
        a = rng.normal()
        for t in range(n_t):
            y = a + 0.2 * t + rng.normal() + 0.8 * (d[t] - base) + 0.3 * (d[: t + 1] - base).sum()
            rows.append((i + 1, 2010 + t, round(y, 10), d[t], (i % 18) + 1))
    return pd.DataFrame(rows, columns=["unit", "year", "y", "d", "cluster"])


PANELS = {
    "switching": lambda: make(SEED, (0.25, 0.3, 0.2, 0.15, 0.1)),
    "single_switch": lambda: make(SEED, (0.3, 0.4, 0.0, 0.2, 0.1)),
    "levels": lambda: make_levels(SEED + 1),
}
EFFECTS, PLACEBO = 3, 2


def official() -> dict:
    import polars as pl
    from did_multiplegt_dyn import DidMultiplegtDyn

    out = {}
    fav = pd.read_csv(HERE / "favara_imbs_complete.csv.gz")
    for cluster in (None, "state_n"):
        model = DidMultiplegtDyn(
            pl.from_pandas(fav),
            "Dl_vloans_b",
            "county",
            "year",
            "inter_bra",
            effects=8,
            placebo=3,
            cluster=cluster,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit()
        res = model.result["did_multiplegt_dyn"]
        out[f"favara|cluster={cluster}"] = {
            "effects": res["Effects"]["Estimate"].astype(float).tolist(),
            "effects_se": res["Effects"]["SE"].astype(float).tolist(),
            "switchers": res["Effects"]["Switchers"].astype(float).tolist(),
            "placebos": res["Placebos"]["Estimate"].astype(float).tolist(),
            "placebos_se": res["Placebos"]["SE"].astype(float).tolist(),
            "ate": float(np.asarray(res["ATE"]["Estimate"]).ravel()[0]),
            "ate_se": float(np.asarray(res["ATE"]["SE"]).ravel()[0]),
            "p_jointplacebo": float(res["p_jointplacebo"]),
        }
    for name in PANELS:
        df = pd.read_csv(HERE / f"{name}.csv")
        for cluster in (None, "cluster"):
            for normalized in (False, True):
                model = DidMultiplegtDyn(
                    pl.from_pandas(df),
                    "y",
                    "unit",
                    "year",
                    "d",
                    effects=EFFECTS,
                    placebo=PLACEBO,
                    normalized=normalized,
                    cluster=cluster,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit()
                res = model.result["did_multiplegt_dyn"]
                eff, pla, ate = res["Effects"], res["Placebos"], res["ATE"]
                key = f"{name}|cluster={cluster}|normalized={normalized}"
                out[key] = {
                    "effects": eff["Estimate"].astype(float).tolist(),
                    "effects_se": eff["SE"].astype(float).tolist(),
                    "switchers": eff["Switchers"].astype(float).tolist(),
                    "placebos": pla["Estimate"].astype(float).tolist(),
                    "placebos_se": pla["SE"].astype(float).tolist(),
                    "placebo_switchers": pla["Switchers"].astype(float).tolist(),
                    "ate": float(np.asarray(ate["Estimate"]).ravel()[0]),
                    "ate_se": float(np.asarray(ate["SE"]).ravel()[0]),
                    "p_jointplacebo": float(res["p_jointplacebo"]),
                    "p_jointeffects": float(res["p_jointeffects"]),
                }
    return {"peer": "py_did_multiplegt_dyn 0.1.6 (polars 1.44.2)", "results": out}


def diffdiff() -> dict:
    from diff_diff import ChaisemartinDHaultfoeuille

    out = {}
    for name in ("single_switch", "switching"):
        df = pd.read_csv(HERE / f"{name}.csv")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = ChaisemartinDHaultfoeuille(twfe_diagnostic=False).fit(
                df, outcome="y", unit="unit", time="year", treatment="d", L_max=EFFECTS
            )
        es, pl_ = r.event_study_effects, r.placebo_event_study
        out[name] = {
            "effects": [es[h]["effect"] for h in range(1, EFFECTS + 1)],
            "effects_se": [es[h]["se"] for h in range(1, EFFECTS + 1)],
            "switchers": [es[h]["n_obs"] for h in range(1, EFFECTS + 1)],
            "placebos": [pl_[-h]["effect"] for h in range(1, PLACEBO + 1)],
            "normalized": [r.normalized_effects[h]["effect"] for h in range(1, EFFECTS + 1)],
            "ate": r.cost_benefit_delta["delta"],
        }
    return {"peer": "diff-diff 3.13", "results": out}


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "favara":
        raw = pd.read_csv(sys.argv[2])
        keep = raw.groupby("county").filter(
            lambda g: len(g) == 12 and g["Dl_vloans_b"].notna().all()
        )
        cols = ["county", "year", "state_n", "Dl_vloans_b", "inter_bra"]
        keep.loc[:, cols].to_csv(HERE / "favara_imbs_complete.csv.gz", index=False)
    elif what == "data":
        for name, build in PANELS.items():
            build().to_csv(HERE / f"{name}.csv", index=False)
    else:
        result = {"official": official, "diffdiff": diffdiff}[what]()
        (HERE / f"{what}.json").write_text(json.dumps(result, indent=1) + "\n")
