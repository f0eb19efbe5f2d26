"""Point estimates of the Python synthdid package (a port of R synthdid) on Proposition 99.

Run with an interpreter that has ``synthdid`` installed (it pins old numpy/pandas, so use
its own venv, e.g. ``uv venv /work/sdidvenv --python 3.11 && VIRTUAL_ENV=/work/sdidvenv uv
pip install synthdid``)::

    /work/sdidvenv/bin/python tests/reference/synth/generate_synthdid.py

Writes ``synthdid_prop99.json`` beside this file. Its ``synth=True`` variant is not R's
``sc_estimate`` (it gives -16.12 rather than -19.62), so only sdid and did are used.
"""

import json
from pathlib import Path

import pandas as pd
from synthdid.synthdid import Synthdid

HERE = Path(__file__).parent
DATA = HERE.parents[2] / "src" / "effekt" / "datasets" / "data" / "prop99.csv"

df = pd.read_csv(DATA)
df["year"] = df["year"].astype(int)
df["treated"] = ((df["state"] == "California") & (df["year"] >= 1989)).astype(int)
out = {"package": "synthdid (PyPI) 0.10.1"}
for name, kw in {"sdid": {}, "did": {"did": True}}.items():
    model = Synthdid(df, unit="state", time="year", treatment="treated", outcome="cigsale")
    model.fit(**kw)
    out[name] = float(model.att)
(HERE / "synthdid_prop99.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
print(out)
