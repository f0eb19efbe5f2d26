"""Benchmark the social-inheritance designs on a large synthetic children table.

Usage::

    python benchmarks/bench_inheritance.py                  # 1,000,000 children
    python benchmarks/bench_inheritance.py --children 1e5   # quick run

A children table (schema ``children``) is drawn with numpy, independently of
``effekt.simulate``: ``--areas`` areas (default 500) over 25 birth cohorts, half of
the areas with an effort starting in a year drawn from 2008-2018, families of one to
three siblings, a binary outcome whose gap by background narrows by 3 percentage
points in exposed cohorts. Reported: wall and CPU time of ``CohortExposure.fit`` and
``SiblingExposure.fit`` and the peak resident memory of the process (``ru_maxrss``).
The issue's targets: ``CohortExposure`` with clustered SEs on 1M children in <= 20 s
and <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings

import numpy as np
import pandas as pd

import effekt as ek


def generate(n_children: int, n_areas: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_fam = int(n_children / 2)
    fam_area = rng.integers(0, n_areas, n_fam)
    size = rng.integers(1, 4, n_fam)
    fam = np.repeat(np.arange(n_fam), size)[:n_children]
    n = len(fam)
    birth = np.clip(
        np.repeat(rng.integers(1985, 2008, n_fam), size)[:n] + rng.integers(0, 4, n), 1985, 2009
    )
    area = fam_area[fam]
    start = np.where(rng.random(n_areas) < 0.5, rng.integers(2008, 2019, n_areas), 0)
    dis = np.repeat(rng.random(n_fam) < 0.35, size)[:n]
    s = start[area]
    exposed = (s > 0) & (birth > s - 18)
    expo = np.where(exposed, np.clip(birth + 18 - s, 0, 12), 0)
    p = 0.75 - 0.15 * dis + 0.03 * dis * exposed + 0.02 * rng.standard_normal(n_areas)[area]
    y = (rng.random(n) < p).astype(float)
    ids = np.char.add("c", np.arange(n).astype(str))
    kids = pd.DataFrame(
        {
            "person_id": pd.array(ids, dtype="str"),
            "birth_year": birth.astype(np.int64),
            "mother_id": pd.array(np.char.add("m", fam.astype(str)), dtype="str"),
            "father_id": pd.array([None] * n, dtype="str"),
            "n_parents": np.ones(n, np.int64),
            "parents_education": pd.array(np.where(dis, "basic", "youth"), dtype="str"),
            "parents_employed": pd.array(np.ones(n, bool), dtype="boolean"),
            "area_id": pd.array(np.char.add("a", area.astype(str)), dtype="str"),
            "kommune_code": np.full(n, 101, np.int64),
            "area_age": np.full(n, 6, np.int64),
            "exposure_lbf_helhedsplan": expo.astype(np.int64),
            "youth_edu_21": y,
        }
    )
    treated = np.flatnonzero(start > 0)
    iv = pd.DataFrame(
        {
            "area_id": [f"a{a}" for a in treated],
            "kommune_code": 101,
            "scope": "area",
            "kind": "lbf_helhedsplan",
            "start_year": start[treated],
            "end_year": pd.array([pd.NA] * len(treated), dtype="Int64"),
        }
    )
    return kids, iv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=float, default=1e6)
    parser.add_argument("--areas", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kids, iv = generate(int(args.children), args.areas, args.seed)
    out: dict[str, float] = {"children": len(kids), "areas": args.areas}
    warnings.simplefilter("ignore")
    for name, fit in (
        (
            "CohortExposure",
            lambda: ek.inheritance.CohortExposure(outcome="youth_edu_21").fit(
                kids, interventions=iv
            ),
        ),
        (
            "SiblingExposure",
            lambda: ek.inheritance.SiblingExposure(outcome="youth_edu_21").fit(kids),
        ),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        res = fit()
        out[f"{name}_wall_s"] = round(time.perf_counter() - wall, 2)
        out[f"{name}_cpu_s"] = round(time.process_time() - cpu, 2)
        out[f"{name}_estimate"] = round(
            float(res.to_frame()["estimate"].iloc[-1 if name == "SiblingExposure" else 0]), 4
        )
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
