"""Command line for analysts who script on the research servers.

Commands
--------
``effekt demo [--out DIR]``
    Run the main job and write its HTML report (see :mod:`effekt.demo`).
``effekt validate TABLE FILE``
    Check a CSV/Parquet/Stata/SAS file against one of effekt's schemas and print
    every violation; exit status 0 when valid, 1 otherwise.
``effekt reproduce PAPER [--papers-dir papers]`` / ``effekt reproduce --all``
    Run replication packages (see :mod:`effekt.replication`) and compare their
    numbers with the published ones; exit status 1 if any is outside tolerance.
``effekt run STUDY.toml --data area_year=FILE --data interventions=FILE [...]``
    Answer a study file (:mod:`effekt.study`) on the analyst's own tables (each
    read and validated with :func:`effekt.io.read_table`), or with ``--simulate N``
    on a simulated Denmark of N areas, and write the report (``--out``,
    ``--language da|en``, ``--format html|md``) with the estimates as LaTeX beside it.
``effekt områderapport --kommune K --data area_year=FILE [...] [--out FILE.html|.pdf]``
    A kommune's yearly management information on its deprived areas
    (:mod:`effekt.indicators`), Danish by default; ``omraaderapport`` is the ASCII
    spelling. ``--simulate N`` uses a simulated Denmark.

Examples
--------
>>> from effekt.cli import main
>>> main(["validate", "--help"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from effekt.errors import EffektError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from effekt._version import __version__

    parser = argparse.ArgumentParser(prog="effekt", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"effekt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job and write its HTML report")
    demo.add_argument("--out", default="reports/demo", help="output folder (default %(default)s)")
    demo.add_argument("--seed", type=int, default=2026, help="seed of the simulated world")
    demo.add_argument("--areas", type=int, default=120, help="areas in the simulated world")
    demo.add_argument(
        "--designs", default="did,synth,bayes", help="comma-separated designs (%(default)s)"
    )
    val = sub.add_parser("validate", help="check a data file against an effekt schema")
    val.add_argument("table", help="schema name, e.g. area_year")
    val.add_argument("file", help="CSV, Parquet, Stata (.dta) or SAS (.sas7bdat/.xpt) file")
    val.add_argument(
        "--study",
        help="also require the columns this study file needs (and allow its own outcomes)",
    )
    rep = sub.add_parser("reproduce", help="run replication packages and check their numbers")
    rep.add_argument("paper", nargs="?", help="package slug (e.g. arkhangelsky_2021) or folder")
    rep.add_argument("--all", action="store_true", help="every package in --papers-dir")
    rep.add_argument("--papers-dir", default="papers", help="folder of packages (%(default)s)")
    rep.add_argument("--timeout", type=int, default=900, help="seconds per notebook cell")
    run = sub.add_parser("run", help="answer a study file and write its report")
    run.add_argument("study", help="study file (TOML; schema data_schemas/study.schema.json)")
    src = run.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--data",
        action="append",
        metavar="TABLE=FILE",
        help="a canonical table: area_year=..., interventions=... (and areas=...)",
    )
    src.add_argument("--simulate", type=int, metavar="N", help="use a simulated Denmark of N areas")
    run.add_argument("--designs", default="did,synth,bayes", help="comma-separated (%(default)s)")
    run.add_argument("--out", default="reports/study.html", help="report path (%(default)s)")
    run.add_argument("--format", default="html", choices=("html", "md"), help="report format")
    run.add_argument("--language", default=None, choices=("en", "da"), help="report language")
    run.add_argument("--seed", type=int, default=0, help="seed of every random step")
    run.add_argument("--n-jobs", type=int, default=1, help="parallel workers for resampling")
    area = sub.add_parser(
        "områderapport",
        aliases=["omraaderapport"],
        help="a kommune's yearly management information on its deprived areas",
    )
    area.add_argument("--kommune", type=int, required=True, help="kommune code, e.g. 621")
    area_src = area.add_mutually_exclusive_group(required=True)
    area_src.add_argument(
        "--data",
        action="append",
        metavar="TABLE=FILE",
        help="area_year=... (national or the kommune's own), interventions=..., areas=...",
    )
    area_src.add_argument(
        "--simulate", type=int, metavar="N", help="use a simulated Denmark of N areas"
    )
    area.add_argument("--year", type=int, default=None, help="list year (default: latest)")
    area.add_argument("--language", default="da", choices=("da", "en"), help="(%(default)s)")
    area.add_argument("--seed", type=int, default=0, help="seed of the simulated world")
    area.add_argument(
        "--out", default="reports/omraaderapport.html", help="HTML or .pdf path (%(default)s)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 when validation fails or effekt reports an error.
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from effekt.demo import run_demo

            path = run_demo(
                args.out, seed=args.seed, n_areas=args.areas, designs=_designs(args.designs)
            )
            print(f"Report written to {path}")
        elif args.command == "validate":
            from effekt.io import read_table

            keywords: dict[str, object] = {}
            if args.study is not None:
                from effekt.study import load_study

                study = load_study(args.study)
                keywords["required"] = study.required_columns().get(args.table, [])
                if args.table == "area_year":
                    keywords["outcomes"] = study.custom_outcomes
            frame = read_table(args.file, args.table, **keywords)  # type: ignore[arg-type]
            print(f"{args.file}: valid {args.table!r} table ({len(frame):,} rows).")
        elif args.command == "reproduce":
            return _reproduce(args)
        elif args.command == "run":
            print(f"Report written to {_run(args)}")
        elif args.command in ("områderapport", "omraaderapport"):
            print(f"Report written to {_area_report(args)}")
    except EffektError as err:
        print(f"effekt: {err}", file=sys.stderr)
        return 1
    return 0


def _read_data(items: Sequence[str], study: Any = None) -> dict[str, Any]:
    """``--data TABLE=FILE`` arguments, each read and validated against its schema.

    With a ``study``, its own outcomes are allowed and its columns required, as in
    ``Study.run``.
    """
    from effekt.errors import ParameterError
    from effekt.io import read_table

    tables = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not file:
            raise ParameterError(
                f"--data takes TABLE=FILE, e.g. --data area_year=panel.parquet. Got {item!r}."
            )
        if study is None:
            tables[name] = read_table(file, name)
            continue
        own = study.custom_outcomes if name == "area_year" else None
        need = study.required_columns().get(name, []) if name != "area_year" else []
        tables[name] = read_table(file, name, outcomes=own, required=need)
    return tables


def _area_report(args: argparse.Namespace) -> str:
    """``effekt områderapport``: the kommune's yearly management information."""
    from pathlib import Path

    from effekt.errors import ParameterError
    from effekt.indicators import kommune_report

    if args.simulate is not None:
        from effekt.simulate import denmark

        world = denmark(n_areas=args.simulate, seed=args.seed)
        tables: dict[str, Any] = {
            "area_year": world.area_year,
            "interventions": world.interventions,
            "areas": world.areas,
        }
    else:
        tables = _read_data(args.data)
        if "area_year" not in tables:
            raise ParameterError(
                "effekt områderapport needs --data area_year=FILE (and optionally "
                "interventions=FILE and areas=FILE)."
            )
    report = kommune_report(
        tables["area_year"],
        tables.get("interventions"),
        kommune=args.kommune,
        year=args.year,
        areas=tables.get("areas"),
        language=args.language,
    )
    out = Path(args.out)
    if out.suffix.lower() == ".pdf":
        return str(report.to_pdf(out))
    report.to_html(out)
    return str(out)


def _reproduce(args: argparse.Namespace) -> int:
    """``effekt reproduce``: run the packages, print each verdict and wall time."""
    from pathlib import Path

    from effekt.errors import ReplicationError
    from effekt.replication import find_packages, reproduce

    if args.all == (args.paper is not None):
        print("effekt reproduce: give either PAPER or --all.", file=sys.stderr)
        return 2
    if args.all:
        folders = find_packages(args.papers_dir)
        if not folders:
            print(f"effekt: no replication package in {args.papers_dir!r}.", file=sys.stderr)
            return 1
    else:
        folder = Path(args.paper)
        folders = [folder if folder.is_dir() else Path(args.papers_dir) / args.paper]
    failed = []
    for folder in folders:
        try:
            res = reproduce(folder, timeout=args.timeout)
        except ReplicationError as err:
            print(f"FAIL {folder}\n{err}", file=sys.stderr, flush=True)
            failed.append(folder.name)
            continue
        n = len(res.table)
        print(f"ok   {folder}  ({n} of {n} numbers within tolerance, {res.seconds:.1f} s)")
    if failed:
        print(f"effekt: {len(failed)} package(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _designs(text: str) -> tuple[str, ...]:
    return tuple(d.strip() for d in text.split(",") if d.strip())


def _run(args: argparse.Namespace) -> str:
    """``effekt run``: read the study and its data, run it, write the report and tables."""
    from pathlib import Path

    from effekt.study import load_study

    study = load_study(args.study)
    data: object
    if args.simulate is not None:
        from effekt.simulate import denmark

        data = denmark(n_areas=args.simulate, seed=args.seed)
    else:
        data = _read_data(args.data, study)
    result = study.run(data, designs=_designs(args.designs), seed=args.seed, n_jobs=args.n_jobs)
    path = result.to_report(args.out, format=args.format, language=args.language)
    result.to_latex(Path(path).with_suffix(".tex"))
    return str(path)
