"""Benchmark effekt.synth against pysyncon and the Python synthdid package.

Usage::

    python benchmarks/bench_synth.py                                  # effekt only
    python benchmarks/bench_synth.py --pysyncon-python /work/synthvenv/bin/python \\
        --synthdid-python /work/sdidvenv/bin/python --peer-fits 39

Three measurements, effekt and the peer in the same run:

1. Placebo in space on Proposition 99 (ADH 2010 specification, V optimised in every one
   of the 39 fits). Peer: pysyncon's ``Synth`` (Nelder-Mead on V from equal weights, its
   documented setting, SLSQP for W), in a subprocess with the peer's interpreter. pysyncon
   takes minutes per fit, so ``--peer-fits k`` times the first ``k`` fits and extrapolates
   linearly to 39 (said so in the output). Also reported: each side's largest deviation
   of California's weights from ADH's Table 2.
2. Synthetic DiD on California with 200 placebo replications. Peer: ``synthdid``
   (a Python port of R synthdid; it pins old numpy/pandas, hence its own interpreter),
   its ``placebo_se`` with 200 replications.
3. Scale: one treated area against 2,000 donors x 20 years (SyntheticControl with the
   15 pre-period outcomes as predictors and V optimised; SyntheticDiD point estimate).
4. Workers: the Proposition 99 placebo loop with ``n_jobs=1`` and ``n_jobs=2`` (joblib
   processes; wall time, since the work moves to the workers), and a check that both give
   the same placebo table.

Times are wall and CPU seconds (CPU: user + system of the process doing the work, less
sensitive to other load on a shared machine); ratios use CPU time. A peer whose
interpreter is not given or cannot import its package is skipped with a message.
Other scripts' options (``nox -s bench -- ...``) are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import _peers
import numpy as np
import pandas as pd

import effekt as ek

TABLE2 = {"Colorado": 0.164, "Connecticut": 0.069, "Montana": 0.199, "Nevada": 0.234, "Utah": 0.334}
PREDICTORS = {
    "lnincome": (1980, 1988),
    "retprice": (1980, 1988),
    "age15to24": (1980, 1988),
    "beer": (1984, 1988),
}
SPECIAL = {"cigsale": [1975, 1980, 1988]}

PYSYNCON_WORKER = r"""
import json, sys, time, resource, warnings
warnings.simplefilter("ignore")
import pandas as pd
from pysyncon import Dataprep, Synth
df = pd.read_csv(sys.argv[1])
n_fits = int(sys.argv[2])
states = sorted(df["state"].unique())
donors = [s for s in states if s != "California"]
order = ["California"] + donors
out = {"fits": 0, "weights": None}
t0 = time.perf_counter(); c0 = resource.getrusage(resource.RUSAGE_SELF)
for unit in order[:n_fits]:
    controls = [s for s in donors if s != unit]
    dp = Dataprep(
        foo=df, predictors=["lnincome", "age15to24", "retprice"], predictors_op="mean",
        time_predictors_prior=range(1980, 1989),
        special_predictors=[("beer", range(1984, 1989), "mean"), ("cigsale", [1975], "mean"),
                            ("cigsale", [1980], "mean"), ("cigsale", [1988], "mean")],
        dependent="cigsale", unit_variable="state", time_variable="year",
        treatment_identifier=unit, controls_identifier=controls,
        time_optimize_ssr=range(1970, 1989))
    s = Synth()
    s.fit(dataprep=dp, optim_method="Nelder-Mead", optim_initial="equal")
    if unit == "California":
        out["weights"] = {k: float(v) for k, v in s.weights(round=6).items()}
    out["fits"] += 1
c1 = resource.getrusage(resource.RUSAGE_SELF)
out["wall"] = time.perf_counter() - t0
out["cpu"] = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
print(json.dumps(out))
"""

SYNTHDID_WORKER = r"""
import json, sys, time, resource, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from synthdid.synthdid import Synthdid
from synthdid.vcov import placebo_se
df = pd.read_csv(sys.argv[1])
reps = int(sys.argv[2])
df["year"] = df["year"].astype(int)
df["treated"] = ((df["state"] == "California") & (df["year"] >= 1989)).astype(int)
np.random.seed(0)
t0 = time.perf_counter(); c0 = resource.getrusage(resource.RUSAGE_SELF)
m = Synthdid(df, unit="state", time="year", treatment="treated", outcome="cigsale").fit()
se = placebo_se(m.data_ref, n_reps=reps)
c1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"att": float(m.att), "se": float(se), "wall": time.perf_counter() - t0,
                  "cpu": (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)}))
"""


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(func):
    t0, c0 = time.perf_counter(), _cpu()
    value = func()
    return value, time.perf_counter() - t0, _cpu() - c0


def _run_peer(peer: _peers.Peer, script: str, args: list[str], name: str) -> dict | None:
    if peer.python is None:
        print(f"  {name}: {peer.note()}")
        return None
    python = peer.python
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        proc = subprocess.run([python, path, *args], capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        print(f"  {name}: skipped (the peer failed: {tail[0]})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _deviation(weights: dict) -> float:
    return max(abs(weights.get(k, 0.0) - v) for k, v in TABLE2.items())


def bench_placebo(args, csv: Path) -> None:
    print("\n1. Placebo in space, Proposition 99 (39 fits, V optimised)")
    df = ek.datasets.load_dataset("prop99")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = ek.Panel.from_frame(
            df,
            unit="state",
            time="year",
            outcome="cigsale",
            covariates=list(PREDICTORS),
            missing="keep",
        )
    est = ek.synth.SyntheticControl(
        treated="California", treatment_time=1989, predictors=PREDICTORS, special_predictors=SPECIAL
    )

    def run():
        res = est.fit(panel)
        return res, res.placebo("space")

    (res, placebo), wall, cpu = _timed(run)
    dev = _deviation(res.weights.to_dict())
    print(
        f"  effekt:   {wall:8.1f} s wall, {cpu:8.1f} s CPU; California p = {placebo.p_value:.4f};"
        f" max |w - Table 2| = {dev:.4f}"
    )
    peer = _run_peer(
        _peers.resolve("pysyncon", args.pysyncon_python, build=not args.no_build),
        PYSYNCON_WORKER,
        [str(csv), str(args.peer_fits)],
        "pysyncon",
    )
    if peer:
        scale = 39 / peer["fits"]
        note = "" if peer["fits"] == 39 else f" (measured {peer['fits']} fits, x{scale:.1f})"
        pdev = _deviation(peer["weights"]) if peer["weights"] else float("nan")
        print(
            f"  pysyncon: {peer['wall'] * scale:8.1f} s wall, {peer['cpu'] * scale:8.1f} s CPU"
            f"{note}; max |w - Table 2| = {pdev:.4f}"
        )
        print(f"  ratio (pysyncon CPU / effekt CPU): {peer['cpu'] * scale / cpu:.1f}x")


def bench_sdid(args, csv: Path) -> None:
    print("\n2. Synthetic DiD, California, 200 placebo replications")
    df = ek.datasets.load_dataset("prop99")
    panel = ek.Panel.from_frame(df, unit="state", time="year", outcome="cigsale")
    est = ek.synth.SyntheticDiD(treated="California", treatment_time=1989, n_reps=200)
    with ek.set_options(progress=False):
        res, wall, cpu = _timed(lambda: est.fit(panel))
    print(
        f"  effekt:   {wall:8.2f} s wall, {cpu:8.2f} s CPU; att = {res.att:.3f}, se = {res.se:.2f}"
    )
    peer = _run_peer(
        _peers.resolve("synthdid", args.synthdid_python, build=not args.no_build),
        SYNTHDID_WORKER,
        [str(csv), "200"],
        "synthdid",
    )
    if peer:
        print(
            f"  synthdid: {peer['wall']:8.2f} s wall, {peer['cpu']:8.2f} s CPU; "
            f"att = {peer['att']:.3f}, se = {peer['se']:.2f}"
        )
        print(f"  ratio (synthdid CPU / effekt CPU): {peer['cpu'] / cpu:.1f}x")


def bench_scale() -> None:
    print("\n3. Scale: 1 treated area, 2,000 donors x 20 years")
    rng = np.random.default_rng(0)
    n, years = 2000, np.arange(2005, 2025)
    f = np.column_stack([np.linspace(0, 1, 20), np.sin(years / 2.0), rng.normal(size=20)])
    y = rng.normal(size=(n, 1)) + rng.normal(size=(n, 3)) @ f.T + 0.1 * rng.normal(size=(n, 20))
    w = rng.dirichlet(np.ones(5))
    treated = w @ y[:5] + np.where(years >= 2020, -1.0, 0.0)
    units = [f"area{i:04d}" for i in range(n)] + ["treated"]
    frame = pd.DataFrame(
        {
            "area": np.repeat(units, 20),
            "year": np.tile(years, n + 1),
            "y": np.concatenate([y.ravel(), treated]),
        }
    )
    panel = ek.Panel.from_frame(frame, unit="area", time="year", outcome="y")
    sc, wall, cpu = _timed(
        lambda: ek.synth.SyntheticControl(treated="treated", treatment_time=2020).fit(panel)
    )
    att = sc.to_frame().query("term == 'att'")["estimate"].item()
    print(
        f"  SyntheticControl (15 predictors, V optimised): {wall:6.2f} s wall, {cpu:6.2f} s CPU;"
        f" att = {att:.3f} (planted -1)"
    )
    sd, wall, cpu = _timed(
        lambda: ek.synth.SyntheticDiD(treated="treated", treatment_time=2020, se=None).fit(panel)
    )
    print(
        f"  SyntheticDiD (point estimate):                 {wall:6.2f} s wall, {cpu:6.2f} s CPU;"
        f" att = {sd.att:.3f}"
    )


def bench_jobs() -> None:
    print("\n4. Placebo loop, n_jobs = 1 vs 2 (Proposition 99, 38 placebo fits)")
    df = ek.datasets.load_dataset("prop99")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = ek.Panel.from_frame(
            df,
            unit="state",
            time="year",
            outcome="cigsale",
            covariates=list(PREDICTORS),
            missing="keep",
        )
    est = ek.synth.SyntheticControl(
        treated="California", treatment_time=1989, predictors=PREDICTORS, special_predictors=SPECIAL
    )
    tables = {}
    for jobs in (1, 2):
        res = est.fit(panel)  # a fresh result: placebo studies are cached on the result
        placebo, wall, _ = _timed(lambda res=res, jobs=jobs: res.placebo("space", n_jobs=jobs))
        tables[jobs] = placebo.table
        print(f"  n_jobs={jobs}: {wall:6.2f} s wall; p = {placebo.p_value:.4f}")
    same = tables[1]["ratio"].equals(tables[2]["ratio"])
    print(f"  identical placebo ratios: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pysyncon-python",
        default=os.environ.get("EFFEKT_PYSYNCON_PYTHON"),
        help="interpreter with pysyncon (env EFFEKT_PYSYNCON_PYTHON; default: built)",
    )
    parser.add_argument(
        "--synthdid-python",
        default=os.environ.get("EFFEKT_SYNTHDID_PYTHON"),
        help="interpreter with synthdid (env EFFEKT_SYNTHDID_PYTHON; default: built)",
    )
    parser.add_argument(
        "--no-build", action="store_true", help="do not build missing peer environments"
    )
    parser.add_argument(
        "--peer-fits",
        type=int,
        default=3,
        help="pysyncon fits to time, extrapolated to 39 (default 3)",
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["placebo", "sdid", "scale", "jobs"]
    )
    parser.add_argument(
        "--quick", action="store_true", help="the Prop 99 placebo and SDID only, 1 peer fit"
    )
    args, _ = parser.parse_known_args()
    if args.quick:
        args.skip = sorted({*args.skip, "scale", "jobs"})
        args.peer_fits = 1
    print(
        f"effekt {ek.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"Python {sys.version.split()[0]}"
    )
    ek.set_options(progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "prop99.csv"
        ek.datasets.load_dataset("prop99").to_csv(csv, index=False)
        if "placebo" not in args.skip:
            bench_placebo(args, csv)
        if "sdid" not in args.skip:
            bench_sdid(args, csv)
    if "scale" not in args.skip:
        bench_scale()
    if "jobs" not in args.skip:
        bench_jobs()


if __name__ == "__main__":
    main()
