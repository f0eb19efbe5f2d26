"""HonestDiD relative magnitudes: effekt beside the Python honestdid port.

Usage::

    python benchmarks/bench_honest.py [--quick] [--honestdid-python PATH] [--no-build]

The task, for both: the Sun-Abraham event study of mpdta (log teen employment,
Callaway & Sant'Anna 2021), reference period -1; robust confidence sets for the
effect at event time 0 under relative magnitudes, Mbar = 0.5, 1, 1.5, 2 (C-LF, the
default of R HonestDiD and of the port). The event-study coefficients and their
covariance are computed once by effekt and handed to both, so only the sensitivity
analysis is timed. honestdid runs in the environment built from
``benchmarks/peers/honestdid.txt`` (it needs numpy < 2.3). Reported: wall time in a
fresh process (imports excluded), the ratio, peak memory, and the largest difference
of the interval bounds (both search a grid of 1,000 points, so bounds agree to about
the grid step).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import _peers
from _harness import run, table

MBAR = [0.5, 1.0, 1.5, 2.0]

EFFEKT = """
import numpy as np, pandas as pd, effekt as ek
import effekt.did
beta = np.array(json.load(open({path!r}))["beta"])
sigma = np.array(json.load(open({path!r}))["sigma"])
df = ek.datasets.load_dataset("mpdta")
panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
                            cohort="first.treat", never_treated=0)
es = ek.did.SunAbraham().fit(panel)
ek.did.honest_did(es, Mbar=[0.5])  # warm-up: first-call costs excluded
t0 = time.perf_counter()
res = ek.did.honest_did(es, Mbar={mbar!r})
seconds = time.perf_counter() - t0
f = res.to_frame()
f = f[f["ci_method"] != "original"]
report(seconds=seconds, lower=f["ci_lower"].tolist(), upper=f["ci_upper"].tolist())
"""

HONESTDID = """
import numpy as np, warnings
warnings.simplefilter("ignore")
import honestdid
d = json.load(open({path!r}))
beta, sigma = np.array(d["beta"]), np.array(d["sigma"])
t0 = time.perf_counter()
res = honestdid.createSensitivityResults_relativeMagnitudes(
    betahat=beta, sigma=sigma, numPrePeriods=d["n_pre"], numPostPeriods=d["n_post"],
    Mbarvec={mbar!r})
seconds = time.perf_counter() - t0
report(seconds=seconds, lower=[float(x) for x in res["lb"]], upper=[float(x) for x in res["ub"]])
"""

COEFFICIENTS = """
import numpy as np, effekt as ek
import effekt.did
df = ek.datasets.load_dataset("mpdta")
panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
                            cohort="first.treat", never_treated=0)
est, cov = ek.did.SunAbraham().fit(panel).event_study_coefficients()
keep = [e for e in est.index if e != -1]
json.dump({{"beta": est.loc[keep].tolist(), "sigma": cov.loc[keep, keep].to_numpy().tolist(),
           "n_pre": sum(e < 0 for e in keep), "n_post": sum(e >= 0 for e in keep)}},
          open({path!r}, "w"))
report(n=len(keep))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honestdid-python", help="interpreter with honestdid (default: built)")
    parser.add_argument(
        "--no-build", action="store_true", help="do not build missing peer environments"
    )
    parser.add_argument("--quick", action="store_true", help="Mbar = 1 only")
    args = parser.parse_args()
    mbar = [1.0] if args.quick else MBAR
    peer = _peers.resolve("honestdid", args.honestdid_python, build=not args.no_build)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "coefficients.json")
        made = run("coefficients", COEFFICIENTS.format(path=path))
        if made.values is None:
            raise SystemExit(f"could not compute the event study: {made.error}")
        ours = run("effekt", EFFEKT.format(path=path, mbar=mbar))
        theirs = run("honestdid", HONESTDID.format(path=path, mbar=mbar), peer.python)
    rows = []
    o = ours.values
    rows.append(["effekt", o and o["seconds"], o and o["peak_rss_mb"], "", ours.error or ""])
    if peer.python is None:
        rows.append(["honestdid", "", "", "", peer.note()])
    elif theirs.values is None:
        rows.append(["honestdid", "", "", "", f"failed: {theirs.error}"])
    else:
        t = theirs.values
        ratio = f"{t['seconds'] / o['seconds']:.0f}x" if o else ""
        gap = (
            max(
                abs(a - b)
                for a, b in zip(o["lower"] + o["upper"], t["lower"] + t["upper"], strict=True)
            )
            if o
            else float("nan")
        )
        rows.append(
            ["honestdid", t["seconds"], t["peak_rss_mb"], ratio, f"max |d bound| {gap:.2g}"]
        )
    print(f"\nHonestDiD relative magnitudes, Mbar = {mbar}, effect at e = 0 (mpdta, Sun-Abraham)")
    print(table(rows, ["contender", "seconds", "peak RSS MB", "effekt faster", "numbers"]))
    print(json.dumps({"job": "honestdid_rm", "rows": rows}, default=str))


if __name__ == "__main__":
    main()
