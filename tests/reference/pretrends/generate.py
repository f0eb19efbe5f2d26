"""Store the He & Wang (2017) example of the R package ``pretrends`` with its published numbers.

Source (no peer package is run; the numbers are the ones printed in the READMEs):

- R package ``pretrends`` (Jonathan Roth), https://github.com/jonathandroth/pretrends,
  commit 122731d082a5990e274f57fd9af0968e44977e7a (2024-03-29, DESCRIPTION version
  0.1.0). ``data/HeAndWangResults.rda`` holds ``beta``, ``sigma`` and ``tVec`` (the
  event study of He & Wang 2017, Fig. 2C, a TWFE regression, reference period -1);
  the README prints ``beta`` and the outputs stored under ``published_r`` below.
- Stata package ``pretrends`` (Mauricio Caceres Bravo), https://github.com/mcaceresb/
  stata-pretrends, commit 5dc09d0c6c55d157fe3babc5ab68cb9fbc46a0fb: the same example
  (``PreTrendsExampleBeta()``/``PreTrendsExampleSigma()`` in src/mata/pretrends.mata,
  which agree with the .rda to the printed digits); its README's outputs are stored
  under ``published_stata``.

The .rda is R's XDR serialisation (gzip); this script reads its three double vectors
directly (type 14, REALSXP, big-endian), so no R is needed. Run from the repository
root with the pretrends repository checked out at RDA_PATH's parent:

    python tests/reference/pretrends/generate.py /path/to/pretrends/data/HeAndWangResults.rda
"""

from __future__ import annotations

import gzip
import json
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def real_vectors(raw: bytes) -> list[list[float]]:
    """Every REALSXP (type 14) vector in an XDR RData stream, in order."""
    out, i = [], 0
    while i < len(raw) - 8:
        flags = struct.unpack(">i", raw[i : i + 4])[0]
        if flags & 0xFF == 14:
            n = struct.unpack(">i", raw[i + 4 : i + 8])[0]
            if 0 < n < 1000 and i + 8 + 8 * n <= len(raw):
                values = list(struct.unpack(f">{n}d", raw[i + 8 : i + 8 + 8 * n]))
                if all(abs(v) < 1e3 for v in values):
                    out.append(values)
                    i += 8 + 8 * n
                    continue
        i += 1
    return out


def main(rda: str) -> None:
    raw = gzip.decompress(Path(rda).read_bytes())
    assert raw.startswith(b"RDX3\nX\n"), "expected an XDR RData (version 3) file"
    beta, sigma, t = real_vectors(raw)
    k = len(beta)
    assert len(sigma) == k * k and len(t) == k
    matrix = [sigma[j * k : (j + 1) * k] for j in range(k)]  # column-major; symmetric anyway
    record = {
        "source": {
            "r_package": "pretrends (R), github.com/jonathandroth/pretrends @ 122731d0 "
            "(README.md and data/HeAndWangResults.rda)",
            "stata_package": "pretrends (Stata), github.com/mcaceresb/stata-pretrends @ "
            "5dc09d0c (README.md)",
            "paper": "He, G. and Wang, S. (2017). Do college graduates serving as village "
            "officials help rural China? AEJ: Applied 9(4), 186-215, Figure 2C",
            "method": "Roth (2022), AER: Insights 4(3), 305-322, doi:10.1257/aeri.20210236",
        },
        "beta": beta,
        "sigma": matrix,
        "event_times": [int(v) for v in t],
        "reference": -1,
        "published_r": {
            "slope_for_power_0.5": 0.05205871,
            "power_at_slope50": 0.4999776,
            "bayes_factor_at_slope50": 0.56901,
            "likelihood_ratio_at_slope50": 0.1057627,
            "quadratic_0.024_power": 0.6624282,
            "quadratic_0.024_bayes_factor": 0.3841516,
            "quadratic_0.024_likelihood_ratio": 0.4332635,
            "df_eventplot": {
                "t": [-4, -3, -2, -1, 0, 1, 2, 3],
                "deltatrue": [
                    -0.15617613,
                    -0.10411742,
                    -0.05205871,
                    0.0,
                    0.05205871,
                    0.10411742,
                    0.15617613,
                    0.20823484,
                ],
                "se": [
                    0.09437463,
                    0.07705139,
                    0.05512372,
                    0.0,
                    0.06264775,
                    0.08981034,
                    0.08877826,
                    0.09893648,
                ],
                "meanAfterPretesting": [
                    -0.09230764,
                    -0.05555285,
                    -0.02790950,
                    0.0,
                    0.06490184,
                    0.12084694,
                    0.16946498,
                    0.22453827,
                ],
            },
        },
        "published_stata": {
            "slope_for_power_0.5": 0.0520258592463583,
            "power_at_slope": 0.4994900487831323,
            "bayes_factor_at_slope": 0.569600090034879,
            "likelihood_ratio_at_slope": 0.1060132573627281,
        },
        "notes": "Both packages use a quasi-Monte-Carlo rectangle probability (mvtnorm's "
        "pmvnorm; a Genz-Bretz port in Stata) with absolute error about 1e-3, so their "
        "slopes differ in the fourth digit (0.052059 vs 0.052026). No 80% slope is printed "
        "in either README.",
    }
    (HERE / "he_wang.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
