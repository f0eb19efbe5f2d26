"""de Chaisemartin-D'Haultfoeuille event study: effekt beside its two Python peers.

Usage::

    python benchmarks/bench_dcdh.py [--quick] [--official-python PATH]
                                    [--diffdiff-python PATH] [--no-build]
                                    [--units 2500] [--years 20]

One case: a binary treatment that switches on (and for a quarter of the switchers off
again) on ``units`` x ``years`` (default 2,500 x 20 = 50,000 rows), 5 effects and 3
placebos, standard errors clustered by group. Contenders, each in its own process
(times cover the fit only): effekt's ``ChaisemartinDHaultfoeuille``, the official port
``py_did_multiplegt_dyn`` 0.1.6 (same numbers as effekt, tests/test_chaisemartin.py)
and ``diff-diff`` 3.13 (drops the groups that switch twice, so its first effect
differs). Peers without an interpreter are skipped with a note; their virtualenvs are
described in tests/reference/dcdh/generate.py.
"""

from __future__ import annotations

import argparse

import _peers
from _harness import run, table

DATA = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
units, years = {units}, {years}
first = np.where(rng.random(units) < 0.3, 10**6, rng.integers(2, years, units))
stop = np.where(rng.random(units) < 0.25, first + rng.integers(1, 4, units), 10**6)
t = np.arange(years)
d = ((t[None, :] >= first[:, None]) & (t[None, :] < stop[:, None])).astype(int)
y = rng.normal(size=units)[:, None] + 0.1 * t + 1.5 * d + rng.normal(size=(units, years))
df = pd.DataFrame({{"unit": np.repeat(np.arange(units), years), "year": np.tile(t, units),
                   "y": y.ravel(), "d": d.ravel()}})
"""

EFFEKT = (
    DATA
    + """
import warnings, effekt as ek
panel = ek.Panel.from_frame(df, unit="unit", time="year", outcome="y", treatment="d",
                            absorbing=False)
warnings.simplefilter("ignore")
est = ek.did.ChaisemartinDHaultfoeuille(effects=5, placebo=3)
import scipy.stats  # effekt imports it lazily; keep the import out of the timing
t0 = time.perf_counter()
res = est.fit(panel)
report(seconds=time.perf_counter() - t0, effect_1=float(res.effects["estimate"].iloc[0]))
"""
)

OFFICIAL = (
    DATA
    + """
import warnings, polars as pl
from did_multiplegt_dyn import DidMultiplegtDyn
warnings.simplefilter("ignore")
t0 = time.perf_counter()
m = DidMultiplegtDyn(pl.from_pandas(df), "y", "unit", "year", "d", effects=5, placebo=3)
m.fit()
est = float(m.result["did_multiplegt_dyn"]["Effects"]["Estimate"].iloc[0])
report(seconds=time.perf_counter() - t0, effect_1=est)
"""
)

DIFFDIFF = (
    DATA
    + """
import warnings
from diff_diff import ChaisemartinDHaultfoeuille
warnings.simplefilter("ignore")
t0 = time.perf_counter()
r = ChaisemartinDHaultfoeuille(twfe_diagnostic=False).fit(
    df, outcome="y", unit="unit", time="year", treatment="d", L_max=5)
report(seconds=time.perf_counter() - t0, effect_1=float(r.event_study_effects[1]["effect"]))
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--official-python", help="py_did_multiplegt_dyn (default: built)")
    parser.add_argument("--diffdiff-python", help="interpreter with diff-diff (default: built)")
    parser.add_argument(
        "--no-build", action="store_true", help="do not build missing peer environments"
    )
    parser.add_argument("--quick", action="store_true", help="500 units")
    parser.add_argument("--units", type=int, default=2500)
    parser.add_argument("--years", type=int, default=20)
    args = parser.parse_args()
    if args.quick:
        args.units = 500
    size = {"units": args.units, "years": args.years}
    official = _peers.resolve("dcdh", args.official_python, build=not args.no_build)
    diffdiff = _peers.resolve("diffdiff", args.diffdiff_python, build=not args.no_build)
    rows = []
    contenders = (
        ("effekt", EFFEKT, None),
        ("py_did_multiplegt_dyn 0.1.6", OFFICIAL, official),
        ("diff-diff 3.13", DIFFDIFF, diffdiff),
    )
    base = None
    for name, code, peer in contenders:
        if peer is not None and peer.python is None:
            rows.append([name, None, None, None, None, peer.note()])
            continue
        out = run(name, code.format(**size), python=peer.python if peer else None)
        seconds = out.values and out.values["seconds"]
        if name == "effekt":
            base = seconds
        ratio = seconds / base if seconds and base else None
        rows.append(
            [
                name,
                seconds,
                ratio,
                out.values and out.values["effect_1"],
                out.values and out.values["peak_rss_mb"],
                out.error or "",
            ]
        )
    print(f"dCDH event study, {args.units} units x {args.years} years, 5 effects, 3 placebos")
    print(table(rows, ["contender", "seconds", "x effekt", "effect_1", "peak RSS MB", "note"]))


if __name__ == "__main__":
    main()
