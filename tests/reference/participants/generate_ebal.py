"""Reference entropy-balancing weights from Google's empirical_calibration.

Peer: empirical-calibration 0.12 (PyPI), ``calibrate(..., objective=Objective.ENTROPY)``,
the entropy-balancing objective of Hainmueller (2012). Data: the NSW sample of R's
Matching package (lalonde.csv, written by generate_matching.R). The NSW controls are
reweighted to the treated means of the covariates (first moments), and in a second case
also to the treated means of age^2, educ^2 (second moments).

Run in a scratch venv:
    uv venv /work/peers/ebal
    VIRTUAL_ENV=/work/peers/ebal uv pip install empirical-calibration==0.12 pandas
    /work/peers/ebal/bin/python generate_ebal.py   # writes ebal_reference.json
"""

import json
from importlib.metadata import version
from pathlib import Path

import empirical_calibration as ec
import numpy as np
import pandas as pd

HERE = Path(__file__).parent
COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]

d = pd.read_csv(HERE / "lalonde.csv")
out = {"peer": f"empirical-calibration {version('empirical-calibration')}", "cases": {}}
for name, extra in (("means", []), ("second_moments", ["age2", "educ2"])):
    d["age2"] = d["age"] ** 2
    d["educ2"] = d["educ"] ** 2
    cols = COVARIATES + extra
    xc = d.loc[d["treat"] == 0, cols].to_numpy(float)
    xt = d.loc[d["treat"] == 1, cols].to_numpy(float)
    weights, _ = ec.calibrate(
        covariates=xc, target_covariates=xt, objective=ec.Objective.ENTROPY, autoscale=True
    )
    weights = np.asarray(weights, float)
    weights = weights / weights.sum()
    out["cases"][name] = {
        "columns": cols,
        "weights": weights.tolist(),
        "max_abs_imbalance": float(np.abs(weights @ xc - xt.mean(axis=0)).max()),
    }
(HERE / "ebal_reference.json").write_text(json.dumps(out, indent=1))
print(out["peer"], {k: v["max_abs_imbalance"] for k, v in out["cases"].items()})
