"""HonestDiD reference values: the published Medicaid-expansion example.

The R package HonestDiD cannot be installed here, so the references are the numbers
printed in its README (asheshrambachan/HonestDiD, README.md; R output shown with 3-4
significant digits) and in the Stata port's README (mcaceresb/stata-honestdid 0.4.5,
README.md; 3 decimals), both computed from the same event study:

    df = ehec_data (Mixtape-Sessions/Advanced-DID, Exercises/Data/ehec_data.csv, copied
         to ehec_data.csv here), keep year < 2016 and yexp2 != 2015 (missing kept),
    D = 1{yexp2 == 2014},
    fixest::feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster = "stfips")

This script re-runs that regression with pyfixest (the fixest port) and stores the
coefficients and covariance next to the transcribed published intervals, so the test can
check both that effekt's TwoWayFE event study reproduces the input and that
``honest_did`` reproduces the published sets. Writes ``honest_ehec.json``::

    /work/extravenv/bin/python tests/reference/did_extra/generate_honest.py
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
from _common import HERE, meta, write_json

# Transcribed from the READMEs (see module docstring). lb/ub per bound.
R_README_RM_FIRST = {  # createSensitivityResults_relativeMagnitudes, Mbarvec = 0.5..2, C-LF
    "0.5": [0.0240, 0.0672],
    "1.0": [0.0170, 0.0720],
    "1.5": [0.00824, 0.0797],
    "2.0": [-0.000916, 0.0881],
}
R_README_SD_FIRST = {  # createSensitivityResults, Mvec = 0..0.05, FLCI
    "0.00": [0.0259, 0.0607],
    "0.01": [0.0132, 0.0787],
    "0.02": [0.00286, 0.0907],
    "0.03": [-0.00714, 0.101],
    "0.04": [-0.0171, 0.111],
    "0.05": [-0.0271, 0.121],
}
STATA_README_ORIGINAL_FIRST = [0.029, 0.064]
STATA_README_RM_AVERAGE = {  # l_vec = (0.5, 0.5), mvec(0(0.5)2), C-LF
    "original": [0.040, 0.075],
    "0.0": [0.041, 0.075],
    "0.5": [0.033, 0.080],
    "1.0": [0.020, 0.090],
    "1.5": [0.006, 0.103],
    "2.0": [-0.008, 0.117],
}


def main() -> None:
    df = pd.read_csv(HERE / "ehec_data.csv")
    d = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))].copy()
    d["D"] = (d["yexp2"] == 2014).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(
            "dins ~ i(year, D, ref=2013) | stfips + year", data=d, vcov={"CRV1": "stfips"}
        )
    names = list(fit.coef().index)
    write_json(
        "honest_ehec.json",
        meta(
            "generate_honest.py",
            {
                "data": "tests/reference/did_extra/ehec_data.csv (Mixtape-Sessions/Advanced-DID "
                "Exercises/Data/ehec_data.csv, commit 597021a2)",
                "regression": 'pf.feols("dins ~ i(year, D, ref=2013) | stfips + year", '
                'vcov={"CRV1": "stfips"}) on year < 2016, yexp2 != 2015',
                "event_times": [int(n.split("::")[1].split(":")[0]) - 2014 for n in names],
                "betahat": np.asarray(fit.coef()),
                "sigma": np.asarray(fit._vcov),
                "published": {
                    "source_r": "asheshrambachan/HonestDiD README.md (R output, 3-4 significant "
                    "digits; C-LF grid of 1,000 points, FLCI with simulated quantiles)",
                    "source_stata": "mcaceresb/stata-honestdid README.md, version 0.4.5 "
                    "(3 decimals)",
                    "rm_first_post_r": R_README_RM_FIRST,
                    "sd_first_post_r": R_README_SD_FIRST,
                    "original_first_post_stata": STATA_README_ORIGINAL_FIRST,
                    "rm_average_post_stata": STATA_README_RM_AVERAGE,
                },
            },
        ),
    )


if __name__ == "__main__":
    main()
