"""pysyncon's V for the Basque Country (R Synth's basque example specification).

pysyncon's own parity test (tests/test_synth_basque.py) reproduces Abadie & Gardeazabal's
weights, Cataluna 0.8508 and Madrid 0.1492, with a donor pool of every region but the Basque
Country, i.e. including "Spain (Espana)", the national aggregate (R Synth's example uses
regions 2-16 and 18, without it). Run with an interpreter that has pysyncon 1.7::

    /work/synthvenv/bin/python tests/reference/synth/generate_basque_pysyncon.py

Writes ``basque_pysyncon.json`` beside this file: the V and W pysyncon reports
(Nelder-Mead from equal weights), and its loss.
"""

import json
from pathlib import Path

import pandas as pd
from pysyncon import Dataprep, Synth

HERE = Path(__file__).parent
DATA = HERE.parents[2] / "src" / "effekt" / "datasets" / "data" / "basque.csv"
SECTORS = ["agriculture", "energy", "industry", "construction", "services.venta"]
SECTORS += ["services.nonventa"]

df = pd.read_csv(DATA)
treated = "Basque Country (Pais Vasco)"
dataprep = Dataprep(
    foo=df,
    predictors=[
        "school.illit",
        "school.prim",
        "school.med",
        "school.high",
        "school.post.high",
        "invest",
    ],
    predictors_op="mean",
    time_predictors_prior=range(1964, 1970),
    special_predictors=[("gdpcap", range(1960, 1970), "mean")]
    + [(f"sec.{s}", range(1961, 1970, 2), "mean") for s in SECTORS]
    + [("popdens", [1969], "mean")],
    dependent="gdpcap",
    unit_variable="regionname",
    time_variable="year",
    treatment_identifier=treated,
    controls_identifier=[u for u in df["regionname"].unique() if u != treated],
    time_optimize_ssr=range(1960, 1970),
)
synth = Synth()
synth.fit(dataprep=dataprep, optim_method="Nelder-Mead", optim_initial="equal")
out = {
    "package": "pysyncon 1.7.0",
    "donors": "every region but the Basque Country (Spain (Espana) included)",
    "v_order": "school.illit, school.prim, school.med, school.high, school.post.high, invest, "
    "gdpcap, sec.agriculture, sec.energy, sec.industry, sec.construction, sec.services.venta, "
    "sec.services.nonventa, popdens",
    "v": [float(x) for x in synth.V],
    "weights": {k: float(v) for k, v in synth.weights(round=9).items() if v > 0},
    "loss_v": float(synth.loss_V),
}
(HERE / "basque_pysyncon.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
