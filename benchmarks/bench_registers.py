"""Benchmark effekt.registers.area_indicators against a plain pandas implementation.

Usage::

    python benchmarks/bench_registers.py              # 20 million person-year rows
    python benchmarks/bench_registers.py --rows 2e6   # quick run

A synthetic register set (bef, udda, ras, ind, krsi, kraf, anbringelser) with the given
number of ``bef`` person-year rows is drawn with numpy (independently of
``effekt.simulate``) and written to Parquet. Three contenders then compute the same
area-year indicators, each in a fresh Python subprocess so that its peak memory is its
own:

- ``effekt (parquet)``: ``area_indicators`` given the file paths; DuckDB scans the files.
- ``effekt (pandas)``: the files read with ``pandas.read_parquet``, then
  ``area_indicators`` on the DataFrames.
- ``pandas``: the files read with ``pandas.read_parquet``, then vectorised merges and
  groupbys, written as a competent analyst would (``pandas_indicators`` below).

Reported per contender: wall time (reading and computing), CPU time (user + system, all
threads; less sensitive than wall time to other processes on a shared machine),
person-year rows per second, peak Python-side memory (``tracemalloc``: Python objects
and NumPy buffers, not Arrow or DuckDB memory) and peak resident memory of the process
(``ru_maxrss``). The results of effekt and pandas are checked to agree (relative
tolerance 1e-9).
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
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from effekt.registers import codes

REGISTERS = ("bef", "udda", "ras", "ind", "krsi", "kraf", "anbringelser")
FIRST_YEAR = 2011


# ---------------------------------------------------------------------------
# Synthetic registers


def _draw(rng: np.random.Generator, codes: list[int], probs: list[float], n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(np.asarray(codes, dtype=np.int16), size=n, p=p / p.sum())


def generate(n_rows: int, n_years: int, seed: int, folder: Path) -> dict[str, int]:
    """Draw the registers and write them to ``folder/<register>.parquet``.

    Persons live in contiguous spans of years (birth or immigration to death or
    emigration); 8% of addresses are in one of the housing areas, and each year 7% of
    persons move (to an area or elsewhere in Denmark). Status variables depend on age.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import effekt as ek

    rng = np.random.default_rng(seed)
    last_year = FIRST_YEAR + n_years - 1
    kommuner = ek.datasets.load_dataset("dk_kommuner")["kommune_code"].to_numpy(np.int16)
    n_areas = max(20, n_rows // 100_000)
    area_kom = rng.choice(kommuner, size=n_areas)

    # Persons and their spans; draw more than needed, then cut at n_rows rows.
    n_persons = int(n_rows / (0.85 * n_years) * 1.2) + 10
    birth = rng.integers(1925, last_year + 1, size=n_persons)
    entry = np.maximum(birth, FIRST_YEAR)
    immigrant = rng.random(n_persons) < 0.05
    entry = np.where(
        immigrant, np.maximum(entry, rng.integers(FIRST_YEAR, last_year + 1, n_persons)), entry
    )
    leaves = rng.random(n_persons) < 0.08
    exit_ = np.where(leaves, rng.integers(FIRST_YEAR, last_year + 1, n_persons), last_year)
    exit_ = np.maximum(exit_, entry)
    span = exit_ - entry + 1
    ends = np.cumsum(span)
    n_keep = int(np.searchsorted(ends, n_rows)) + 1
    if n_keep > n_persons:
        raise RuntimeError("drew too few persons; raise the oversampling factor")
    span = span[:n_keep].copy()
    span[-1] -= ends[n_keep - 1] - n_rows
    birth, entry = birth[:n_keep], entry[:n_keep]

    person = np.repeat(np.arange(n_keep), span)
    starts = np.cumsum(span) - span
    offset = np.arange(n_rows) - np.repeat(starts, span)
    year = (entry[person] + offset).astype(np.int16)
    age = year - birth[person]

    # Residence: a location per person-year, carried forward between moves.
    def location(n: int) -> np.ndarray:
        in_area = rng.random(n) < 0.08
        return np.where(
            in_area, rng.integers(0, n_areas, n), n_areas + rng.integers(0, len(kommuner), n)
        )

    fresh = (offset == 0) | (rng.random(n_rows) < 0.07)
    drawn = location(n_rows)
    carried = np.maximum.accumulate(np.where(fresh, np.arange(n_rows), 0))
    loc = drawn[carried]
    in_area = loc < n_areas
    kom = np.where(
        in_area, area_kom[np.minimum(loc, n_areas - 1)], kommuner[np.maximum(loc - n_areas, 0)]
    ).astype(np.int16)
    area_ids = pa.array([f"A{i:04d}" for i in range(n_areas)])
    omraade = pc.if_else(
        pa.array(in_area),
        area_ids.take(pa.array(np.where(in_area, loc, 0))),
        pa.scalar(None, pa.string()),
    )
    ids = pc.utf8_lpad(
        pc.cast(pa.array(rng.permutation(10 * n_keep)[:n_keep]), pa.string()), width=10, padding="0"
    )
    pnr = ids.take(pa.array(person))
    herkomst = _draw(rng, [1, 2, 3], [0.82, 0.05, 0.13], n_keep)[person]
    koen = rng.integers(1, 3, n_keep).astype(np.int16)[person]

    def table(columns: dict[str, object], mask: np.ndarray | None = None) -> pa.Table:
        if mask is not None:
            keep = pa.array(mask)
            return pa.table({k: pc.filter(pa.array(v), keep) for k, v in columns.items()})
        return pa.table(columns)

    written: dict[str, int] = {}

    def write(name: str, tab: pa.Table) -> None:
        pq.write_table(tab, folder / f"{name}.parquet")
        written[name] = tab.num_rows

    write(
        "bef",
        table(
            {
                "PNR": pnr,
                "AAR": year,
                "KOM": kom,
                "OMRAADE": omraade,
                "FOED_AAR": birth[person].astype(np.int16),
                "KOEN": koen,
                "HERKOMST": herkomst,
            }
        ),
    )

    edu_codes = [10, 20, 30, 40, 50, 70, 80]
    hfaudd = np.where(
        age >= 20,
        _draw(rng, edu_codes, [25, 10, 30, 5, 20, 9, 1], n_rows),
        np.where(age >= 17, _draw(rng, [10, 20], [80, 20], n_rows), 10),
    )
    igang = np.where(
        age < 6,
        0,
        np.where(
            age < 16,
            10,
            np.where(
                age < 30,
                _draw(rng, [0, 20, 30, 50, 70], [50, 15, 20, 10, 5], n_rows),
                _draw(rng, [0, 50], [97, 3], n_rows),
            ),
        ),
    )
    write(
        "udda",
        table(
            {
                "PNR": pnr,
                "AAR": year,
                "HFAUDD_NIVEAU": hfaudd.astype(np.int16),
                "UDD_IGANG": igang.astype(np.int16),
            }
        ),
    )

    adult = age >= 15
    working = [131, 132, 133, 134, 135, 114]
    socio = np.select(
        [age < 18, age < 30, age < 65],
        [
            _draw(rng, [310, 135, 410], [80, 10, 10], n_rows),
            _draw(
                rng,
                [*working, 310, 210, 220, 330, 410],
                [11, 11, 11, 11, 10, 1, 20, 5, 3, 10, 7],
                n_rows,
            ),
            _draw(
                rng,
                [*working, 210, 220, 321, 323, 330, 410],
                [12, 12, 12, 12, 10, 4, 5, 5, 7, 3, 8, 10],
                n_rows,
            ),
        ],
        _draw(rng, [322, 131], [95, 5], n_rows),
    ).astype(np.int16)
    write("ras", table({"PNR": pnr, "AAR": year, "SOCIO13": socio}, adult))
    income = np.round(rng.lognormal(12.2, 0.6, n_rows), 0)
    write("ind", table({"PNR": pnr, "AAR": year, "PERINDKIALT": income}, adult))

    categories = np.array(["straffelov", "vaabenlov", "euf", "faerdsel", "anden"])
    charged = (age >= 15) & (age <= 30) & (rng.random(n_rows) < 0.04)
    rows = np.flatnonzero(charged)
    rows = np.concatenate([rows, rows[: len(rows) // 4]])  # some have two charges
    write(
        "krsi",
        table(
            {
                "PNR": pnr.take(pa.array(rows)),
                "AAR": year[rows],
                "KATEGORI": categories[rng.integers(0, 5, len(rows))],
            }
        ),
    )
    rows = np.flatnonzero((age >= 18) & (rng.random(n_rows) < 0.02))
    decision = np.array(["dom", "frifindelse", "tiltalefrafald"])
    write(
        "kraf",
        table(
            {
                "PNR": pnr.take(pa.array(rows)),
                "AAR": year[rows],
                "KATEGORI": categories[rng.integers(0, 5, len(rows))],
                "AFGOERELSE": decision[_draw(rng, [0, 1, 2], [80, 10, 10], len(rows))],
            }
        ),
    )
    write(
        "anbringelser", table({"PNR": pnr, "AAR": year}, (age <= 17) & (rng.random(n_rows) < 0.01))
    )
    return written


# ---------------------------------------------------------------------------
# The pandas baseline


def pandas_indicators(r: dict[str, pd.DataFrame], kom_region: pd.Series) -> pd.DataFrame:
    """The area_year indicators with pandas merges and groupbys (register contract rules)."""
    key = ["PNR", "AAR"]
    bef = r["bef"].assign(age=lambda d: d["AAR"] - d["FOED_AAR"])
    years = np.sort(bef["AAR"].unique())

    # Regional income benchmark: everyone 15-64 in bef, students excluded.
    b = bef.loc[bef["age"].between(15, 64), [*key, "KOM"]]
    b = b.merge(r["ras"][[*key, "SOCIO13"]], on=key, how="left")
    b = b.merge(r["ind"][[*key, "PERINDKIALT"]], on=key, how="left")
    ok = b["SOCIO13"].notna() & b["SOCIO13"].ne(310) & b["PERINDKIALT"].notna()
    region_mean = (
        b[ok]
        .assign(region=b["KOM"].map(kom_region))
        .groupby(["region", "AAR"])["PERINDKIALT"]
        .mean()
    )

    # Area residents with their statuses and events.
    p = bef.loc[bef["OMRAADE"].notna(), [*key, "OMRAADE", "KOM", "age", "HERKOMST"]]
    p = p.merge(r["udda"][[*key, "HFAUDD_NIVEAU", "UDD_IGANG"]], on=key, how="left")
    p = p.merge(r["ras"][[*key, "SOCIO13"]], on=key, how="left")
    p = p.merge(r["ind"][[*key, "PERINDKIALT"]], on=key, how="left")
    kraf, krsi = r["kraf"], r["krsi"]
    events = {
        "convicted": kraf.loc[
            kraf["AFGOERELSE"].eq("dom")
            & kraf["KATEGORI"].isin(["straffelov", "vaabenlov", "euf"]),
            key,
        ],
        "charged": krsi.loc[krsi["KATEGORI"].ne("faerdsel"), key],
        "placed": r["anbringelser"][key],
    }
    for name, rows in events.items():
        flagged = pd.MultiIndex.from_frame(rows.drop_duplicates())
        p[name] = pd.MultiIndex.from_frame(p[key]).isin(flagged)

    age, socio, hfaudd, igang = p["age"], p["SOCIO13"], p["HFAUDD_NIVEAU"], p["UDD_IGANG"]
    ras_known, udda_known = socio.notna(), hfaudd.notna()
    income_ok = age.between(15, 64) & ras_known & socio.ne(310) & p["PERINDKIALT"].notna()
    youth = age.between(15, 24) & ras_known & udda_known
    c = pd.DataFrame(
        {
            "residents": 1,
            "n_nonwestern": p["HERKOMST"].eq(3),
            "pop_18_64": age.between(18, 64) & ras_known,
            "n_outside": age.between(18, 64) & socio.isin([210, 330, 410]),
            "pop_18plus": age.ge(18),
            "n_convicted": age.ge(18) & p["convicted"],
            "pop_30_59": age.between(30, 59) & udda_known,
            "n_basic": age.between(30, 59) & hfaudd.eq(10),
            "pop_15_64": income_ok,
            "income_sum": p["PERINDKIALT"].where(income_ok, 0.0),
            "pop_15_24": youth,
            "n_neet": youth & ~socio.between(110, 139) & socio.ne(310) & igang.eq(0),
            "pop_age20": age.eq(20) & udda_known,
            "n_edu20": age.eq(20) & (hfaudd.ge(20) | igang.isin([20, 30])),
            "pop_age25": age.eq(25) & udda_known,
            "n_edu25": age.eq(25) & hfaudd.ge(20),
            "pop_15_25": age.between(15, 25),
            "n_charged": age.between(15, 25) & p["charged"],
            "pop_0_17": age.between(0, 17),
            "n_placed": age.between(0, 17) & p["placed"],
        }
    )
    c[["OMRAADE", "AAR"]] = p[["OMRAADE", "AAR"]]
    s = c.groupby(["OMRAADE", "AAR"]).sum()

    # Moves: compare each year's (area, person) pairs with the year before.
    cur = p[["OMRAADE", "PNR", "AAR", "age"]]
    prev = cur[["OMRAADE", "PNR", "AAR"]].assign(AAR=cur["AAR"] + 1)
    has_prev = cur["AAR"].sub(1).isin(years)
    came = cur.merge(prev, on=["OMRAADE", "PNR", "AAR"], how="left", indicator=True)
    # newborns (born in t - 1 or t, in no bef row of t - 1) are counted, not moved in
    in_bef_before = pd.MultiIndex.from_arrays([cur["PNR"], cur["AAR"] - 1]).isin(
        pd.MultiIndex.from_frame(bef[key])
    )
    newborn = cur["age"].le(1).to_numpy() & ~in_bef_before
    moved_in = (
        came[(came["_merge"] == "left_only") & has_prev.to_numpy() & ~newborn]
        .groupby(["OMRAADE", "AAR"])
        .size()
    )
    went = prev.merge(
        cur[["OMRAADE", "PNR", "AAR"]], on=["OMRAADE", "PNR", "AAR"], how="left", indicator=True
    )
    moved_out = (
        went[(went["_merge"] == "left_only") & went["AAR"].isin(years)]
        .groupby(["OMRAADE", "AAR"])
        .size()
    )

    kom = p.groupby("OMRAADE")["KOM"].first()
    grid = pd.MultiIndex.from_product(
        [np.sort(p["OMRAADE"].unique()), years], names=["OMRAADE", "AAR"]
    )
    s = s.reindex(grid, fill_value=0)
    out = pd.DataFrame(index=grid)
    out["kommune_code"] = kom.reindex(grid.get_level_values(0)).to_numpy()
    out["residents"] = s["residents"]

    def share(num: str, den: str, scale: float = 1.0) -> pd.Series:
        return (scale * s[num] / s[den]).where(s[den] > 0)

    out["outside_work_edu_share"] = share("n_outside", "pop_18_64")
    out["convicted_share"] = share("n_convicted", "pop_18plus")
    out["basic_edu_share"] = share("n_basic", "pop_30_59")
    regions = out["kommune_code"].map(kom_region)
    bench = region_mean.reindex(pd.MultiIndex.from_arrays([regions, grid.get_level_values(1)]))
    out["income_rel_region"] = share("income_sum", "pop_15_64") / bench.to_numpy()
    out["nonwestern_share"] = share("n_nonwestern", "residents")
    out["neet_share"] = share("n_neet", "pop_15_24")
    out["youth_edu_20_share"] = share("n_edu20", "pop_age20")
    out["youth_edu_25_share"] = share("n_edu25", "pop_age25")
    out["youth_charged_per_1000"] = share("n_charged", "pop_15_25", 1000.0)
    out["children_placed_per_1000"] = share("n_placed", "pop_0_17", 1000.0)
    first = ~grid.get_level_values(1).isin(years + 1)
    for name, counts in (("moves_in", moved_in), ("moves_out", moved_out)):
        out[name] = counts.reindex(grid, fill_value=0).astype("Int64").mask(first)
    for col in codes.POPULATION_COUNTS:
        out[col] = s[col]
    out = out.rename_axis(["area_id", "year"]).reset_index()
    return out


# ---------------------------------------------------------------------------
# Workers and driver


def worker(contender: str, data: Path, out: Path) -> None:
    import effekt as ek
    from effekt.registers import area_indicators

    paths = {name: str(data / f"{name}.parquet") for name in REGISTERS}
    tracemalloc.start()
    begin = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = begin.ru_utime + begin.ru_stime
    start = time.perf_counter()
    load = 0.0
    if contender == "effekt-parquet":
        result = area_indicators(paths)
    else:
        frames = {name: pd.read_parquet(path) for name, path in paths.items()}
        load = time.perf_counter() - start
        if contender == "effekt-pandas":
            result = area_indicators(frames)
        else:
            kommuner = ek.datasets.load_dataset("dk_kommuner")
            kom_region = kommuner.set_index("kommune_code")["region_code"]
            result = pandas_indicators(frames, kom_region)
    wall = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    result.to_parquet(out, index=False)
    print(
        json.dumps(
            {
                "wall": wall,
                "load": load,
                "cpu": cpu,
                "traced_peak": traced_peak,
                "maxrss": usage.ru_maxrss * 1024,
            }
        )
    )  # ru_maxrss is in KiB on Linux


LABELS = {
    "effekt-parquet": "effekt (parquet)",
    "effekt-pandas": "effekt (pandas)",
    "pandas": "pandas",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=float, default=20e6, help="bef person-year rows (default 20 million)"
    )
    parser.add_argument("--years", type=int, default=10, help="number of years (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data",
        type=Path,
        help="folder for the Parquet files (default: temporary); registers "
        "already there are reused",
    )
    parser.add_argument("--quick", action="store_true", help="2 million rows")
    parser.add_argument("--worker", choices=list(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out)
        return

    n_rows = int(2e6 if args.quick else args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-registers-") as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        if all((data / f"{name}.parquet").is_file() for name in REGISTERS):
            import pyarrow.parquet as pq

            counts = {
                name: pq.read_metadata(data / f"{name}.parquet").num_rows for name in REGISTERS
            }
            n_rows = counts["bef"]
            print(f"Reusing the registers in {data}")
        else:
            start = time.perf_counter()
            counts = generate(n_rows, args.years, args.seed, data)
            print(
                f"Generated in {time.perf_counter() - start:.1f} s: "
                + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            )
        print(
            f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
            f"Python {sys.version.split()[0]}, pandas {pd.__version__}"
        )
        stats, results = {}, {}
        for contender in LABELS:
            out = Path(tmp) / f"result-{contender}.parquet"
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    contender,
                    "--data",
                    str(data),
                    "--out",
                    str(out),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                sys.exit(f"{contender} failed:\n{proc.stderr}")
            stats[contender] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[contender] = pd.read_parquet(out)

        print(f"\n{n_rows:,} person-year rows in bef; {sum(counts.values()):,} register rows")
        print(
            f"{'contender':18} {'wall s':>8} {'read s':>7} {'CPU s':>7} {'rows/s':>10} "
            f"{'py peak MiB':>12} {'RSS peak MiB':>13}"
        )
        for contender, st in stats.items():
            print(
                f"{LABELS[contender]:18} {st['wall']:8.1f} {st['load']:7.1f} {st['cpu']:7.1f} "
                f"{n_rows / st['wall']:10,.0f} {st['traced_peak'] / 2**20:12,.0f} "
                f"{st['maxrss'] / 2**20:13,.0f}"
            )
        base = stats["pandas"]
        for contender in ("effekt-parquet", "effekt-pandas"):
            print(
                f"{LABELS[contender]}: {base['wall'] / stats[contender]['wall']:.2f}x the speed "
                f"of pandas in wall time, {base['cpu'] / stats[contender]['cpu']:.2f}x in CPU time"
            )
        print(
            f"Load average after the run: {os.getloadavg()[0]:.2f} (other processes share the "
            "cores; CPU time is the less load-sensitive measure)"
        )

        expected = results["pandas"].sort_values(["area_id", "year"]).reset_index(drop=True)
        for contender in ("effekt-parquet", "effekt-pandas"):
            got = results[contender].sort_values(["area_id", "year"]).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected[got.columns], check_dtype=False, rtol=1e-9)
        print(
            f"Results agree: {len(expected):,} area-year rows x {expected.shape[1]} columns "
            "(effekt and pandas, rtol 1e-9)."
        )


if __name__ == "__main__":
    main()
