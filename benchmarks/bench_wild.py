"""Wild cluster bootstrap and randomization inference: effekt beside wildboottest.

Usage::

    python benchmarks/bench_wild.py [--peer-python /work/refvenv/bin/python] [--quick]

Cases (each contender in its own process; times cover the inference call only):

1. WCR, Rademacher, B = 9,999, H0: beta_post = 0 in ``lemp ~ post | countyreal + year`` on
   mpdta clustered by county (G = 500): effekt's ``TwoWayFE.wild_test`` beside pyfixest's
   ``wildboottest`` (the peer's default call, as in tests/reference/did). Ratio and p-values.
2. The same with G = 50 clusters and N = 1,000,000 rows (50,000 units x 20 years), effekt only
   (the peer builds a 50,000-column dummy design).
3. Randomization inference, 9,999 permutations on mpdta (target: under 2 s).
4. Scaling with n_jobs = 1 and 2 on case 1 (identical p-values required).
5. Scaling with n_jobs = 1 and 2 on the Callaway-Sant'Anna multiplier bootstrap (mpdta, DR,
   999 draws) and on the synthetic-control placebo loop (Prop 99, 38 placebo fits).
6. Two-way clustering (county x year, CGM variance), WCR with Webb weights drawn by county
   (G_b = 500), B = 9,999, on the explicit dummy design (N = 2,500, K = 505). effekt only:
   pyfixest 0.60 raises NotImplementedError for multiway clustering and wildboottest 0.3.2
   bootstraps a one-way variance only (see tests/reference/did/generate_wild_twoway.py).

The peer needs its own virtualenv (see tests/reference/did/README.md); without
``--peer-python`` (or if it does not exist) the peer rows are skipped with a note.
"""

from __future__ import annotations

import argparse

import _peers
from _harness import run, table

EFFEKT_WILD = """
import effekt as ek
ek.set_options(progress=False)
df = ek.datasets.load_dataset("mpdta")
panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
                            cohort="first.treat", never_treated=0)
fit = ek.did.TwoWayFE().fit(panel)
boot = ek.did.WildClusterBootstrap(reps={reps}, seed=1, n_jobs={n_jobs})
t0 = time.perf_counter()
test = fit.wild_test("treated", bootstrap=boot, ci=False)
report(seconds=time.perf_counter() - t0, p_value=test.p_value)
"""

PEER_WILD = """
import pandas as pd, pyfixest as pf
df = pd.read_csv("src/effekt/datasets/data/mpdta.csv")
df["post"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(float)
fit = pf.feols("lemp ~ post | countyreal + year", df, vcov={{"CRV1": "countyreal"}})
t0 = time.perf_counter()
res = fit.wildboottest(param="post", reps={reps}, cluster="countyreal", seed=1)
report(seconds=time.perf_counter() - t0, p_value=float(res["Pr(>|t|)"]))
"""

EFFEKT_BIG = """
import numpy as np, pandas as pd, effekt as ek
ek.set_options(progress=False)
rng = np.random.default_rng(0)
units, years = 50_000, 20
u = np.repeat(np.arange(units), years); t = np.tile(np.arange(2005, 2005 + years), units)
cohort = rng.choice([0, 2010, 2014, 2018], size=units)[u]
y = rng.normal(size=units)[u] + 0.1 * t + rng.normal(size=u.size) \\
    + 0.2 * ((cohort > 0) & (t >= cohort))
df = pd.DataFrame({{"u": u, "t": t, "y": y, "g": cohort, "k": u % 50}})
panel = ek.Panel.from_frame(df, unit="u", time="t", outcome="y", cohort="g",
                            never_treated=0, cluster="k")
fit = ek.did.TwoWayFE().fit(panel)
t0 = time.perf_counter()
test = fit.wild_test("treated", ci=False,
                     bootstrap=ek.did.WildClusterBootstrap(reps={reps}, seed=1))
report(seconds=time.perf_counter() - t0, p_value=test.p_value, rows=int(u.size))
"""

EFFEKT_RI = """
import effekt as ek
ek.set_options(progress=False)
df = ek.datasets.load_dataset("mpdta")
panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
                            cohort="first.treat", never_treated=0)
t0 = time.perf_counter()
res = ek.did.randomization_test(panel, reps={reps}, seed=1)
report(seconds=time.perf_counter() - t0, p_value=res.p_value)
"""


EFFEKT_CS = """
import effekt as ek
ek.set_options(progress=False)
df = ek.datasets.load_dataset("mpdta")
panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
                            cohort="first.treat", never_treated=0)
boot = ek.MultiplierBootstrap(reps=999, seed=1, n_jobs={n_jobs})
t0 = time.perf_counter()
res = ek.did.CallawaySantAnna(bootstrap=boot).fit(panel)
report(seconds=time.perf_counter() - t0, p_value=float(res.to_frame()["std_error"].sum()))
"""

EFFEKT_PLACEBO = """
import effekt as ek
ek.set_options(progress=False)
df = ek.datasets.load_dataset("prop99")
panel = ek.Panel.from_frame(df, unit="state", time="year", outcome="cigsale")
fit = ek.synth.SyntheticControl(treated="California", treatment_time=1989,
                                special_predictors={{"cigsale": [1975, 1980, 1988]}}).fit(panel)
t0 = time.perf_counter()
placebo = fit.placebo("space", n_jobs={n_jobs})
report(seconds=time.perf_counter() - t0, p_value=float(placebo.p_value))
"""

EFFEKT_TWOWAY = """
import numpy as np, pandas as pd, effekt as ek
from effekt.did.wild import WildClusterBootstrap, wild_test
ek.set_options(progress=False)
df = ek.datasets.load_dataset("mpdta")
post = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).to_numpy(float)
dummies = pd.get_dummies(df[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
x = np.column_stack([post, np.ones(len(df)), dummies.to_numpy()])
groups = np.column_stack([df["countyreal"].to_numpy(), df["year"].to_numpy()])
restriction = np.zeros(x.shape[1]); restriction[0] = 1.0
n, k = x.shape
boot = WildClusterBootstrap(reps={reps}, weights="webb", seed=1, bootcluster="max")
t0 = time.perf_counter()
test = wild_test(x, df["lemp"].to_numpy(float), groups, restriction, 0.0, boot, level=0.95,
                 scale=(n - 1) / (n - k), ci=False)
report(seconds=time.perf_counter() - t0, p_value=test.p_value)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer-python", help="interpreter with pyfixest (default: built)")
    parser.add_argument(
        "--no-build", action="store_true", help="do not build missing peer environments"
    )
    parser.add_argument("--quick", action="store_true", help="999 replications instead of 9999")
    args = parser.parse_args()
    reps = 999 if args.quick else 9999
    resolved = _peers.resolve("did", args.peer_python, build=not args.no_build)
    peer = resolved.python

    rows = []
    ours = run("effekt", EFFEKT_WILD.format(reps=reps, n_jobs=1))
    theirs = run("pyfixest/wildboottest", PEER_WILD.format(reps=reps), peer) if peer else None
    rows.append(
        [
            "1 mpdta G=500",
            "effekt",
            ours.values and ours.values["seconds"],
            ours.values and ours.values["p_value"],
            ours.values and ours.values["peak_rss_mb"],
            "",
        ]
    )
    if theirs is not None and theirs.values:
        ratio = theirs.values["seconds"] / ours.values["seconds"] if ours.values else ""
        rows.append(
            [
                "1 mpdta G=500",
                "pyfixest.wildboottest",
                theirs.values["seconds"],
                theirs.values["p_value"],
                theirs.values["peak_rss_mb"],
                f"effekt {ratio:.0f}x faster" if ratio else "",
            ]
        )
    else:
        note = theirs.error if theirs is not None else resolved.note()
        rows.append(["1 mpdta G=500", "pyfixest.wildboottest", "skipped", "", "", note])

    big = run("effekt", EFFEKT_BIG.format(reps=reps))
    rows.append(
        [
            "2 G=50, N=1e6",
            "effekt",
            big.values and big.values["seconds"],
            big.values and big.values["p_value"],
            big.values and big.values["peak_rss_mb"],
            big.error or "",
        ]
    )
    ri = run("effekt", EFFEKT_RI.format(reps=reps))
    rows.append(
        [
            "3 RI mpdta",
            "effekt",
            ri.values and ri.values["seconds"],
            ri.values and ri.values["p_value"],
            ri.values and ri.values["peak_rss_mb"],
            ri.error or "",
        ]
    )
    two = run("effekt", EFFEKT_WILD.format(reps=reps, n_jobs=2))
    same = two.values and ours.values and two.values["p_value"] == ours.values["p_value"]
    rows.append(
        [
            "4 n_jobs=2",
            "effekt",
            two.values and two.values["seconds"],
            two.values and two.values["p_value"],
            two.values and two.values["peak_rss_mb"],
            "same p-value as n_jobs=1" if same else "P-VALUE DIFFERS",
        ]
    )
    for label, code in (("5 C&S bootstrap", EFFEKT_CS), ("5 SC placebos", EFFEKT_PLACEBO)):
        runs = [run("effekt", code.format(n_jobs=n)) for n in (1, 2)]
        same = (
            all(r.values for r in runs) and runs[0].values["p_value"] == runs[1].values["p_value"]
        )
        for n, r in zip((1, 2), runs, strict=True):
            rows.append(
                [
                    f"{label} n_jobs={n}",
                    "effekt",
                    r.values and r.values["seconds"],
                    r.values and r.values["p_value"],
                    r.values and r.values["peak_rss_mb"],
                    r.error or ("identical across n_jobs" if same else "DIFFERS"),
                ]
            )
    tw = run("effekt", EFFEKT_TWOWAY.format(reps=reps))
    rows.append(
        [
            "6 two-way county x year",
            "effekt",
            tw.values and tw.values["seconds"],
            tw.values and tw.values["p_value"],
            tw.values and tw.values["peak_rss_mb"],
            tw.error or "no peer bootstraps a two-way variance",
        ]
    )
    print(f"Wild cluster bootstrap and randomization inference, B = {reps}")
    print(table(rows, ["case", "contender", "seconds", "p-value", "peak RSS MB", "note"]))


if __name__ == "__main__":
    main()
