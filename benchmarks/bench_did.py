"""Benchmark effekt's Callaway & Sant'Anna against csdid and differences.

Usage::

    python benchmarks/bench_did.py                       # 2,500 and 25,000 units
    python benchmarks/bench_did.py --units 2500 --repeat 5
    python benchmarks/bench_did.py --peer-python /path/to/venv/bin/python

The task, for every contender: doubly robust ATT(g,t) with one covariate and the
never-treated comparison group on a balanced panel of N units x 20 years with 6
treated cohorts, 999 multiplier-bootstrap draws (uniform band), then the event-time
aggregation with its bootstrap; timed from the DataFrame to the aggregated result
(effekt's time includes building the validated ``Panel``). The panel is drawn with
numpy here, independently of ``effekt.simulate``, and written to CSV.

Each contender runs in a fresh Python subprocess, so that its peak memory is its own:
effekt in this interpreter, the peers in the environments the benchmark builds itself with uv
from ``benchmarks/peers/`` (``diffdiff.txt``: diff-diff 3.13; ``did.txt``: csdid,
differences), or in interpreters given by ``--diffdiff-python`` / ``--peer-python``.
A peer that cannot be installed is listed with the reason. Reported per contender:
best wall time over ``--repeat`` runs (after one warm-up run at 200 units, so imports
and first-call costs are excluded)
and over ``--rounds`` alternating rounds of all contenders (fresh processes each),
the ratio to effekt, peak resident memory of the process (``ru_maxrss``) and the peak
Python-side allocation during one run (``tracemalloc``: Python objects and NumPy
buffers). Identical numbers are checked on the analytic fit: every ATT(g,t) and its
influence-function standard error, effekt against each peer.

Finally effekt runs alone on a person-level panel (``--persons`` persons x 20 years,
default 50,000, i.e. one million rows; unit = person, clustered by 500 areas), once
balanced and once with 20% of person-years missing (``data="unbalanced_panel"``),
reporting wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _peers
import numpy as np
import pandas as pd

FIRST_YEAR = 2001
COHORTS = (2004, 2006, 2008, 2010, 2012, 2015)  # six treated cohorts
MARK = "@@RESULT@@"


def make_panel(n_units: int, n_years: int = 20, seed: int = 0) -> pd.DataFrame:
    """Staggered adoption with covariate-dependent trends and dynamic effects."""
    rng = np.random.default_rng(seed)
    years = np.arange(FIRST_YEAR, FIRST_YEAR + n_years)
    x = rng.normal(size=n_units)
    # cohort membership depends on x (so the covariate matters); 40% never treated
    p_treat = 0.6 / (1 + np.exp(-0.5 * x))
    treated = rng.random(n_units) < p_treat
    g = np.where(treated, rng.choice(COHORTS, size=n_units), 0)
    unit = np.repeat(np.arange(n_units), n_years)
    t = np.tile(years, n_units)
    gg = np.repeat(g, n_years)
    xx = np.repeat(x, n_years)
    e = t - gg
    effect = np.where((gg > 0) & (e >= 0), 0.05 * (1 + np.minimum(e, 5)), 0.0)
    y = (
        np.repeat(rng.normal(size=n_units), n_years)
        + 0.03 * (t - FIRST_YEAR) * (1 + 0.5 * xx)
        + effect
        + rng.normal(scale=0.5, size=len(t))
    )
    return pd.DataFrame({"unit": unit, "year": t, "y": y, "g": gg, "x": xx})


# Child programs: each reads (csv, reps, repeat, warm csv) from argv and prints
# MARK + JSON with timings, memory and the analytic ATT(g,t) and standard errors.
_COMMON = r"""
import contextlib, io, json, resource, sys, time, tracemalloc, warnings
import pandas as pd
warnings.simplefilter("ignore")
csv, reps, repeat, warm_csv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def measure(task, df):
    task(pd.read_csv(warm_csv))  # warm-up: imports and first-call costs
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        task(df)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    task(df)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, traced

def report(seconds, traced, cells):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(MARK + json.dumps({"seconds": seconds, "traced_bytes": traced, "rss_bytes": rss,
                             "cells": cells}))
"""

EFFEKT = (
    _COMMON
    + r"""
import effekt as ek
import effekt.did
ek.set_options(progress=False)

def panel(df):
    return ek.Panel.from_frame(df, unit="unit", time="year", outcome="y", cohort="g",
                               never_treated=0, covariates=["x"])

def task(df):
    boot = ek.did.MultiplierBootstrap(reps=reps, seed=1)
    res = ek.did.CallawaySantAnna(bootstrap=boot).fit(panel(df))
    res.aggregate("event_time")

df = pd.read_csv(csv)
seconds, traced = measure(task, df)
t = ek.did.CallawaySantAnna().fit(panel(df)).att_gt
cells = [[float(a), float(b), float(c), float(d)]
         for a, b, c, d in zip(t["cohort"], t["time"], t["estimate"], t["std_error"])]
report(seconds, traced, cells)
"""
)

CSDID = (
    _COMMON
    + r"""
from csdid.att_gt import ATTgt

def model(df, boot):
    return ATTgt(yname="y", tname="year", idname="unit", gname="g", data=df,
                 control_group="nevertreated", xformla="~ x", biters=reps, cband=boot
                 ).fit(est_method="dr", bstrap=boot)

def task(df):
    m = model(df, True)
    with contextlib.redirect_stdout(io.StringIO()):
        m.aggte(typec="dynamic")

df = pd.read_csv(csv)
seconds, traced = measure(task, df)
r = model(df, False).results
cells = [[float(a), float(b), float(c), float(d)]
         for a, b, c, d in zip(r["group"], r["year"], r["att"], r["se"])]
report(seconds, traced, cells)
"""
)

DIFFERENCES = (
    _COMMON
    + r"""
from differences import ATTgt

def prepared(df):
    return df.assign(cohort=df["g"].where(df["g"] > 0)).set_index(["unit", "year"])

def task(df):
    m = ATTgt(data=prepared(df), cohort_column="cohort")
    m.fit(formula="y ~ x", est_method="dr", control_group="never_treated",
          boot_iterations=reps, random_state=1, progress_bar=False)
    m.aggregate("event", boot_iterations=reps, random_state=1)

df = pd.read_csv(csv)
seconds, traced = measure(task, df)
m = ATTgt(data=prepared(df), cohort_column="cohort")
m.fit(formula="y ~ x", est_method="dr", control_group="never_treated", progress_bar=False)
res = m.results()
res.columns = [c[-1] for c in res.columns]
res = res.reset_index()
cells = [[float(a), float(b), float(c), float(d)]
         for a, b, c, d in zip(res["cohort"], res["time"], res["ATT"], res["std_error"])]
report(seconds, traced, cells)
"""
)


# diff-diff 3.13 (Rust backend where its wheel has one). Its propensity scores are
# trimmed at 0.01 by default; R did and effekt do not trim, so the trim is set to the
# smallest value it accepts for the numbers to be comparable.
DIFFDIFF = (
    _COMMON
    + r"""
from diff_diff import CallawaySantAnna

def model(boot):
    return CallawaySantAnna(control_group="never_treated", estimation_method="dr",
                            n_bootstrap=reps if boot else 0, seed=1, pscore_trim=1e-6)

def fitted(df, boot):
    return model(boot).fit(df, outcome="y", unit="unit", time="year", first_treat="g",
                           covariates=["x"])

def task(df):
    fitted(df, True).aggregate("event_study")

df = pd.read_csv(csv)
seconds, traced = measure(task, df)
r = fitted(df, False).group_time_effects
cells = [[float(g), float(t), float(v["effect"]), float(v["se"])] for (g, t), v in r.items()]
report(seconds, traced, cells)
"""
)

PERSONS = r"""
import resource, sys, time
import numpy as np, pandas as pd
import effekt as ek
import effekt.did
ek.set_options(progress=False)
persons, data = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
years = np.arange(2001, 2021)
n_areas = 500
area_g = rng.choice([0, 0, 2005, 2008, 2011, 2014, 2017], size=n_areas)
area = rng.integers(0, n_areas, persons)
df = pd.DataFrame({"person": np.repeat(np.arange(persons), len(years)),
                   "year": np.tile(years, persons)})
df["area"] = area[df["person"].to_numpy()]
df["g"] = area_g[df["area"].to_numpy()]
df["x"] = np.repeat(rng.normal(size=persons), len(years))
effect = np.where((df["g"] > 0) & (df["year"] >= df["g"]), 0.05, 0.0)
df["y"] = 0.1 * df["x"] + 0.01 * (df["year"] - 2000) + effect + rng.normal(size=len(df))
if data == "unbalanced_panel":  # persons move in and out: 20% of person-years missing
    df = df[rng.random(len(df)) < 0.8].reset_index(drop=True)
t0 = time.perf_counter()
panel = ek.Panel.from_frame(df, unit="person", time="year", outcome="y", cohort="g",
                            never_treated=0, covariates=["x"], cluster="area")
boot = ek.did.MultiplierBootstrap(reps=999, seed=1)
ek.did.CallawaySantAnna(data=data, bootstrap=boot).fit(panel).aggregate("event_time")
seconds = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(MARK + json.dumps({"rows": len(df), "seconds": seconds, "rss_bytes": rss}))
"""


def _run_child(python: str, program: str, args: list[str], timeout: float) -> dict[str, Any] | str:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    code = f"MARK = {MARK!r}\n" + program
    try:
        out = subprocess.run(
            [python, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    for line in out.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    last = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed: {last}"


def _best(old: dict[str, Any] | str | None, new: dict[str, Any] | str) -> dict[str, Any] | str:
    """The faster of two runs; peak memory is the larger of the two."""
    if not isinstance(old, dict) or isinstance(new, str):
        return new if old is None or isinstance(old, str) else old
    best = dict(new if new["seconds"] < old["seconds"] else old)
    for key in ("rss_bytes", "traced_bytes"):
        best[key] = max(old[key], new[key])
    return best


def _compare(ours: list[list[float]], theirs: list[list[float]]) -> str:
    a = pd.DataFrame(ours, columns=["g", "t", "att", "se"]).set_index(["g", "t"])
    b = pd.DataFrame(theirs, columns=["g", "t", "att", "se"]).set_index(["g", "t"])
    common = a.index.intersection(b.index)
    if len(common) != len(a) or len(common) != len(b):
        return f"cells differ ({len(a)} vs {len(b)})"
    a, b = a.loc[common], b.loc[common]
    att = float(np.max(np.abs(a["att"] - b["att"])))
    ok = np.isfinite(a["se"]) & np.isfinite(b["se"])
    se = float(np.max(np.abs(a.loc[ok, "se"] / b.loc[ok, "se"] - 1)))
    return f"max |dATT| {att:.1e}, max rel dSE {se:.1e}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", default="2500,25000", help="comma-separated unit counts")
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--reps", type=int, default=999)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (best is reported)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds of all contenders (small N)"
    )
    parser.add_argument(
        "--peer-python", help="interpreter with csdid and differences (default: built)"
    )
    parser.add_argument("--diffdiff-python", help="interpreter with diff-diff (default: built)")
    parser.add_argument(
        "--no-build", action="store_true", help="do not build missing peer environments"
    )
    parser.add_argument("--quick", action="store_true", help="2,500 units, 1 repeat, 1 round")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per contender, s")
    parser.add_argument(
        "--persons",
        type=int,
        default=50_000,
        help="effekt alone on a person-level panel (x 20 years, clustered by 500 areas); 0: skip",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.units, args.repeat, args.rounds, args.persons = "2500", 1, 1, 0
    units = [int(float(u)) for u in args.units.split(",")]

    contenders: dict[str, tuple[str, str]] = {"effekt": (sys.executable, EFFEKT)}
    unavailable: dict[str, str] = {}
    for env, override, programs in (
        ("diffdiff", args.diffdiff_python, {"diff-diff": DIFFDIFF}),
        ("did", args.peer_python, {"csdid": CSDID, "differences": DIFFERENCES}),
    ):
        peer = _peers.resolve(env, override, build=not args.no_build)
        for name, program in programs.items():
            if peer.python:
                contenders[name] = (peer.python, program)
            else:
                unavailable[name] = peer.note()

    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.csv"
        make_panel(200, args.years, seed=1).to_csv(warm, index=False)
        for n in units:
            df = make_panel(n, args.years)
            path = Path(tmp) / f"panel_{n}.csv"
            df.to_csv(path, index=False)
            repeat = args.repeat if n <= 5000 else 1
            print(
                f"\n{n:,} units x {args.years} years ({len(df):,} rows), 6 cohorts, DR with one "
                f"covariate, {args.reps} bootstrap draws + event-time aggregation; best of "
                f"{repeat}"
            )
            # contenders alternate over rounds, so that load from other processes on a
            # shared machine does not favour one of them; the best round counts
            results: dict[str, dict[str, Any] | str] = {}
            for _ in range(args.rounds if n <= 5000 else 1):
                for name, (python, program) in contenders.items():
                    if isinstance(results.get(name), str):
                        continue  # failed or timed out once: do not retry
                    res = _run_child(
                        python,
                        program,
                        [str(path), str(args.reps), str(repeat), str(warm)],
                        args.timeout,
                    )
                    results[name] = _best(results.get(name), res)
            base = results["effekt"]
            header = f"{'contender':<12} {'seconds':>9} {'x effekt':>9} {'peak RSS':>10} "
            print(header + f"{'traced':>10}  numbers vs effekt")
            for name, note in unavailable.items():
                print(f"{name:<12} {note}")
            for name, res in results.items():
                if isinstance(res, str):
                    print(f"{name:<12} {res}")
                    continue
                ratio = res["seconds"] / base["seconds"] if isinstance(base, dict) else float("nan")
                same = (
                    "-"
                    if name == "effekt" or not isinstance(base, dict)
                    else _compare(base["cells"], res["cells"])
                )
                print(
                    f"{name:<12} {res['seconds']:>9.3f} {ratio:>9.1f} "
                    f"{res['rss_bytes'] / 2**20:>8.0f}MB {res['traced_bytes'] / 2**20:>8.0f}MB"
                    f"  {same}"
                )

    if args.persons:
        print(
            f"\nPerson level, effekt alone: {args.persons:,} persons x 20 years in 500 areas, "
            "DR with one covariate, 999 bootstrap draws clustered by area + event-time "
            "aggregation (one run, including Panel.from_frame)"
        )
        for data in ("panel", "unbalanced_panel"):
            program = "import json\n" + PERSONS
            res = _run_child(sys.executable, program, [str(args.persons), data], args.timeout)
            if isinstance(res, str):
                print(f"{data:<17} {res}")
            else:
                print(
                    f"{data:<17} {res['rows']:>10,} rows {res['seconds']:>8.2f} s "
                    f"{res['rss_bytes'] / 2**20:>8.0f} MB peak RSS"
                )


if __name__ == "__main__":
    main()
