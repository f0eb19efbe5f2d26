"""Reference values for effekt.did.ContinuousDiD from diff-diff 3.13 ``ContinuousDiD``.

``python generate.py data`` (numpy, pandas) writes ``dose_panel.csv``: 240 units over
periods 1-6, cohorts 3 and 5 and 30% never treated, doses uniform on (0.5, 3), effect
``(1 + 0.3 (t - g)) * 1.5 * sqrt(d)`` after the start. Then, in diff-diff's virtualenv::

    uv venv /work/peers/diffdiff && VIRTUAL_ENV=/work/peers/diffdiff uv pip install diff-diff==3.13
    /work/peers/diffdiff/bin/python generate.py diffdiff

writes ``diffdiff.json`` (defaults: cubic, no interior knots, never-treated controls,
varying base period, analytic SEs; and ``num_knots=2``).
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def make(seed: int = 20261204, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    g = np.where(u < 0.3, 0, np.where(u < 0.65, 3, 5))
    dose = np.where(g > 0, rng.uniform(0.5, 3.0, n), 0.0)
    rows = []
    for i in range(n):
        a = rng.normal()
        for t in range(1, 7):
            eff = (1 + 0.3 * (t - g[i])) * 1.5 * np.sqrt(dose[i]) if g[i] and t >= g[i] else 0.0
            y = round(a + 0.2 * t + eff + rng.normal(), 10)
            rows.append((i + 1, t, g[i], round(dose[i], 10), y))
    return pd.DataFrame(rows, columns=["unit", "period", "first_treat", "dose", "y"])


def diffdiff() -> dict:
    from diff_diff import ContinuousDiD

    df = pd.read_csv(HERE / "dose_panel.csv")
    out = {}
    for knots in (0, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = ContinuousDiD(num_knots=knots).fit(
                df,
                outcome="y",
                unit="unit",
                time="period",
                first_treat="first_treat",
                dose="dose",
            )
        att, acrt = r.dose_response_att, r.dose_response_acrt
        out[f"num_knots={knots}"] = {
            "grid": np.asarray(att.dose_grid, float).tolist(),
            "att": np.asarray(att.effects, float).tolist(),
            "att_se": np.asarray(att.se, float).tolist(),
            "acrt": np.asarray(acrt.effects, float).tolist(),
            "acrt_se": np.asarray(acrt.se, float).tolist(),
            "att_glob": float(r.overall_att),
            "att_glob_se": float(r.overall_att_se),
            "acrt_glob": float(r.overall_acrt),
            "acrt_glob_se": float(r.overall_acrt_se),
        }
    return {"peer": "diff-diff 3.13", "results": out}


if __name__ == "__main__":
    if sys.argv[1] == "data":
        make().to_csv(HERE / "dose_panel.csv", index=False)
    else:
        (HERE / "diffdiff.json").write_text(json.dumps(diffdiff(), indent=1) + "\n")
