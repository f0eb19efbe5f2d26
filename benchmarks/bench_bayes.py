"""Benchmark effekt.bayes: HierarchicalDiD sampling efficiency and SocialInheritance scale.

Usage::

    python benchmarks/bench_bayes.py                       # effekt (nutpie and PyMC NUTS)
    python benchmarks/bench_bayes.py --bambi-python /work/bayespeer/bin/python
    python benchmarks/bench_bayes.py --quick               # small sizes, a smoke run
    python benchmarks/bench_bayes.py --n-areas 150 --draws 500 --tune 500   # smaller run

Three measurements, each in a fresh subprocess (own peak memory):

1. HierarchicalDiD on a simulated Denmark of 500 areas x 20 years with 6 modelled
   kinds (the LBF plans and five kernedrift kinds), 4 chains x 1,000 draws after
   1,000 tuning steps: wall time (model compilation included, and sampling alone),
   bulk ESS per second of the reported effects (``att``, ``att_event``; minimum and
   median over them) and the largest R-hat. Once with nutpie, once with PyMC's NUTS
   on the same model.
2. Peer: the closest model bambi can express (its formula has no AR(1) residual,
   no pooling of kind effects and no zero-sum constraints): Gaussian outcome on
   year and cohort dummies, fixed kind x event-time dummies, random intercepts for
   kommune and area, sampled with bambi's default (PyMC NUTS); ESS/s of its
   kind x event-time coefficients. Needs an interpreter with bambi
   (``--bambi-python``); skipped otherwise.
3. SocialInheritance on 1,000,000 persons (the simulated persons with an observed
   outcome, resampled with replacement to a million, seeded): time to aggregate to
   binomial cells, number of cells, fit wall time and peak resident memory.

Other scripts' options (``nox -s bench -- ...``) are ignored.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import _peers
from _harness import run, table

KINDS = [
    "lbf_helhedsplan",
    "ungdomscafe",
    "lommepengeprojekt",
    "fritidsjob",
    "skolesamarbejde",
    "fremskudt_beskaeftigelse",
]

MAKE_DATA = r"""
import warnings
import numpy as np, pandas as pd
import effekt as ek
world = ek.simulate.denmark(n_areas={n_areas}, seed=2026)
ay, iv = world.area_year, world.interventions
ay.to_parquet({ay_path!r})
iv.to_parquet({iv_path!r})
report(rows=len(ay))
"""

EFFEKT_DID = r"""
import warnings
import numpy as np, pandas as pd
import arviz as az
import effekt as ek
ay = pd.read_parquet({ay_path!r}); iv = pd.read_parquet({iv_path!r})
model = ek.bayes.HierarchicalDiD(
    outcome="outside_work_edu_share", kinds={kinds!r}, draws={draws}, tune={tune},
    chains={chains}, sampler={sampler!r}, seed=1)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = model.fit(ay, interventions=iv)
wall = time.perf_counter() - start
post = res.idata.posterior[["att", "att_event"]]
ess = np.concatenate([az.ess(post)[v].to_numpy().ravel() for v in ("att", "att_event")])
rhat = np.concatenate([az.rhat(post)[v].to_numpy().ravel() for v in ("att", "att_event")])
report(wall_s=wall, sampling_s=res.seconds, ess_min=float(ess.min()),
       ess_median=float(np.median(ess)), rhat_max=float(rhat.max()),
       divergences=res.diagnostics.divergences, all_rhat_max=res.diagnostics.max_rhat)
"""

BAMBI_DID = r"""
import warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
import arviz as az
import bambi as bmb
ay = pd.read_parquet({ay_path!r}); iv = pd.read_parquet({iv_path!r})
kinds = {kinds!r}
# the same treatment coding as effekt: first start per area and kind, kommune-wide
# spells for every area of the kommune, post-treatment event-time dummies per kind
iv = iv[iv["kind"].isin(kinds)]
area_level = iv[iv["area_id"].notna()][["area_id", "kind", "start_year"]]
wide = iv[iv["area_id"].isna()].drop(columns="area_id").merge(
    ay[["area_id", "kommune_code"]].drop_duplicates(), on="kommune_code")
coh = pd.concat([area_level, wide[["area_id", "kind", "start_year"]]])
coh = coh.groupby(["area_id", "kind"], as_index=False)["start_year"].min()
df = ay[["area_id", "year", "kommune_code", "outside_work_edu_share"]].copy()
df = df.rename(columns={{"outside_work_edu_share": "y"}})
df["year"] = df["year"].astype(str)
terms = []
for k in kinds:
    g = df["area_id"].map(coh[coh["kind"] == k].set_index("area_id")["start_year"])
    e = df["year"].astype(int) - g
    for ev in sorted(e[e >= 0].dropna().unique()):
        name = f"d_{{k}}_{{int(ev)}}"
        df[name] = (e == ev).astype(float)
        terms.append(name)
    for gg in sorted(g.dropna().unique()):
        name = f"c_{{k}}_{{int(gg)}}"
        df[name] = (g == gg).astype(float)
        terms.append(name)
df["kommune_code"] = df["kommune_code"].astype(str)
formula = "y ~ 0 + year + " + " + ".join(terms) + " + (1|kommune_code) + (1|area_id)"
model = bmb.Model(formula, df)
start = time.perf_counter()
idata = model.fit(draws={draws}, tune={tune}, chains={chains}, random_seed=1,
                  progressbar=False)
wall = time.perf_counter() - start
effects = [t for t in terms if t.startswith("d_")]
# Dataset in, Dataset out: the same call on ArviZ versions whose DataArray results differ
ess = np.array([float(az.ess(idata.posterior[[t]])[t].values) for t in effects])
rhat = np.array([float(az.rhat(idata.posterior[[t]])[t].values) for t in effects])
report(wall_s=wall, ess_min=float(ess.min()), ess_median=float(np.median(ess)),
       rhat_max=float(rhat.max()), n_effects=len(effects))
"""

EFFEKT_INHERITANCE = r"""
import warnings
import numpy as np, pandas as pd
import effekt as ek
world = ek.simulate.denmark(n_areas={n_areas}, seed=2026)
persons = world.persons.dropna(subset=["youth_edu_by_25", "baseline_area_id"])
rng = np.random.default_rng(1)
persons = persons.iloc[rng.integers(0, len(persons), {n_persons})].reset_index(drop=True)
areas = world.areas
del world
model = ek.bayes.SocialInheritance(covariates=("sex", "origin", "birth_year"),
                                   draws={draws}, tune={tune}, chains={chains}, seed=1)
start = time.perf_counter()
cells = model.cells(persons, areas=areas)
aggregate = time.perf_counter() - start
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = model.fit(persons, areas=areas)
wall = time.perf_counter() - start
report(persons=len(persons), cells=len(cells), aggregate_s=aggregate, wall_s=wall,
       sampling_s=res.seconds, rhat_max=res.diagnostics.max_rhat,
       ess_bulk_min=res.diagnostics.min_ess_bulk)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bambi-python", default=os.environ.get("EFFEKT_BAMBI_PYTHON"))
    parser.add_argument(
        "--no-build", action="store_true", help="do not build missing peer environments"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--skip-pymc", action="store_true", help="no PyMC-NUTS run")
    parser.add_argument("--skip-inheritance", action="store_true", help="no SocialInheritance")
    # a smaller, documented configuration for loaded machines: e.g. --n-areas 150 --draws 500
    for name in ("n-areas", "draws", "tune", "chains", "persons"):
        parser.add_argument(f"--{name}", type=int, default=None, help="override the size")
    args, _ = parser.parse_known_args()
    n_areas, draws, tune, chains = (60, 200, 200, 2) if args.quick else (500, 1000, 1000, 4)
    n_persons = 50_000 if args.quick else 1_000_000
    n_areas = args.n_areas or n_areas
    draws, tune, chains = args.draws or draws, args.tune or tune, args.chains or chains
    n_persons = args.persons or n_persons

    with tempfile.TemporaryDirectory() as tmp:
        paths = {"ay_path": f"{tmp}/ay.parquet", "iv_path": f"{tmp}/iv.parquet"}
        made = run("data", MAKE_DATA.format(n_areas=n_areas, **paths))
        if made.values is None:
            sys.exit(f"could not simulate the data: {made.error}")
        common = {"kinds": KINDS, "draws": draws, "tune": tune, "chains": chains, **paths}
        did_rows = []
        samplers = ["nutpie"] if args.skip_pymc else ["nutpie", "pymc"]
        for sampler in samplers:
            out = run(f"effekt ({sampler})", EFFEKT_DID.format(sampler=sampler, **common))
            did_rows.append(_did_row(f"effekt HierarchicalDiD ({sampler})", out))
        resolved = _peers.resolve("bambi", args.bambi_python, build=not args.no_build)
        bambi = resolved.python
        if bambi is None:
            print(f"bambi: {resolved.note()}")
        else:
            out = run("bambi", BAMBI_DID.format(**common), python=bambi)
            did_rows.append(_did_row("bambi (fixed kind x event dummies, iid)", out))
    print(
        f"\nHierarchicalDiD: {n_areas} areas x 20 years, {len(KINDS)} kinds, "
        f"{chains} chains x {draws} draws ({tune} tune); ESS/s = bulk ESS of the reported "
        "effects / wall seconds (compilation included)"
    )
    print(
        table(
            did_rows,
            [
                "contender",
                "wall s",
                "sampling s",
                "ESS min",
                "ESS median",
                "ESS/s (min)",
                "ESS/s (median)",
                "max R-hat",
                "peak MB",
            ],
        )
    )

    if args.skip_inheritance:
        return
    out = run(
        "inheritance",
        EFFEKT_INHERITANCE.format(
            n_areas=n_areas, n_persons=n_persons, draws=draws, tune=tune, chains=chains
        ),
    )
    print(f"\nSocialInheritance: {n_persons:,} persons, {chains} chains x {draws} draws")
    if out.values is None:
        print(f"failed: {out.error}")
    else:
        v = out.values
        print(
            table(
                [
                    [
                        v["persons"],
                        v["cells"],
                        v["aggregate_s"],
                        v["wall_s"],
                        v["sampling_s"],
                        v["rhat_max"],
                        v["peak_rss_mb"],
                    ]
                ],
                ["persons", "cells", "aggregate s", "wall s", "sampling s", "max R-hat", "peak MB"],
            )
        )


def _did_row(name: str, out) -> list:  # type: ignore[no-untyped-def]
    if out.values is None:
        return [name, f"failed: {out.error}", "", "", "", "", "", "", ""]
    v = out.values
    return [
        name,
        v["wall_s"],
        v.get("sampling_s", float("nan")),
        v["ess_min"],
        v["ess_median"],
        v["ess_min"] / v["wall_s"],
        v["ess_median"] / v["wall_s"],
        v["rhat_max"],
        v["peak_rss_mb"],
    ]


if __name__ == "__main__":
    main()
