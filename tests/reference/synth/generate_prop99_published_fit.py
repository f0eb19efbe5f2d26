"""Pre-treatment fit of ADH (2010)'s own synthetic California (Table 2 weights).

The Prop 99 tests compare effekt's pre-treatment RMSPE and outer loss with those of the
published solution. They are not printed in the paper, so this script computes them from
the published Table 2 weights (Colorado 0.164, Connecticut 0.069, Montana 0.199, Nevada
0.234, Utah 0.334; they sum to 1.000) and the shipped data, with pandas alone (no effekt
estimator), and writes ``prop99_published_fit.json`` beside itself::

    python tests/reference/synth/generate_prop99_published_fit.py

The loss periods are all pre-treatment years 1970-1988, as in the tests' specification.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE.parents[2] / "src" / "effekt" / "datasets" / "data" / "prop99.csv"
PUBLISHED = json.loads((HERE / "published.json").read_text("utf-8"))["prop99_adh2010"]["weights"]

df = pd.read_csv(DATA)
wide = df.pivot(index="year", columns="state", values="cigsale").loc[1970:1988]
total = sum(PUBLISHED.values())
synthetic = sum(w / total * wide[state] for state, w in PUBLISHED.items())
mspe = float(((wide["California"] - synthetic) ** 2).mean())
out = {
    "source": "ADH (2010) Table 2 weights applied to src/effekt/datasets/data/prop99.csv",
    "weights": PUBLISHED,
    "pre_mspe_1970_1988": mspe,
    "pre_rmspe_1970_1988": float(np.sqrt(mspe)),
}
(HERE / "prop99_published_fit.json").write_text(json.dumps(out, indent=2) + "\n", "utf-8")
