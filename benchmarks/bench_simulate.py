"""Benchmark: building the simulated Denmark (effekt.simulate.denmark).

Issue 3 asks that a small world (about 100 areas) builds in well under a second and a
Denmark-sized one (about 500 areas, 20 years) in seconds. Each size runs in a fresh
process (its own peak resident memory) and reports the CPU and wall time of building the
world (the ``area_year`` table, lists and transformations) and, separately, of the truth,
which is computed on first use. Each size runs with one thread and with every core
(``effekt.options["threads"]``; the person-year passes run on threads, with identical
results).

Run: ``python benchmarks/bench_simulate.py [--areas 100 500] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import itertools
import os

from _harness import run, table

CODE = """
import effekt as ek
from effekt import simulate
ek.set_options(threads={threads})
simulate.denmark(n_areas=10, years=(2005, 2009), seed=1)  # imports and data files
cpu, wall = time.process_time(), time.perf_counter()
w = simulate.denmark(n_areas={n}, seed={seed})
build_cpu, build_wall = time.process_time() - cpu, time.perf_counter() - wall
b = w._b
persons, person_years = int(b.ps.n), int(b.rows.n)
cpu, wall = time.process_time(), time.perf_counter()
w.truth
report(build_cpu=build_cpu, build_wall=build_wall, truth_cpu=time.process_time() - cpu,
       truth_wall=time.perf_counter() - wall, persons=persons, person_years=person_years,
       steps=b.seconds)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--areas", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="100 areas only")
    args = parser.parse_args()
    if args.quick:
        args.areas = [100]
    cores = max(1, min(len(os.sched_getaffinity(0)), 8))
    rows, steps, step_names = [], [], []
    for n, threads in itertools.product(args.areas, dict.fromkeys([1, cores])):
        res = run(f"denmark({n})", CODE.format(n=n, seed=args.seed, threads=threads))
        if res.values is None:
            rows.append([n, threads, "failed", res.error, "", "", "", "", ""])
            continue
        v = res.values
        step_names = [f"{name} s" for name in v["steps"]]
        steps.append([n, threads, *(round(x, 3) for x in v["steps"].values())])
        rows.append(
            [
                n,
                threads,
                f"{v['persons']:,}",
                f"{v['person_years']:,}",
                v["build_cpu"],
                v["build_wall"],
                v["truth_cpu"],
                v["truth_wall"],
                v["peak_rss_mb"],
            ]
        )
    header = [
        "areas",
        "threads",
        "persons",
        "person-years",
        "build CPU s",
        "build wall s",
        "truth CPU s",
        "truth wall s",
        "peak RSS MB",
    ]
    print(table(rows, header))
    # where the build's wall time goes, step by step (the rest: building the tables)
    print()
    print(table(steps, ["areas", "threads", *step_names]))


if __name__ == "__main__":
    main()
