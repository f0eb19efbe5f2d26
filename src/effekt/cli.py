"""Command line for analysts who script on the research servers.

Commands
--------
``effekt demo [--out DIR]``
    Run the main job and write its HTML report (see :mod:`effekt.demo`).
``effekt validate TABLE FILE``
    Check a CSV/Parquet/Stata/SAS file against one of effekt's schemas and print
    every violation; exit status 0 when valid, 1 otherwise.

Examples
--------
>>> from effekt.cli import main
>>> main(["validate", "--help"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    val = sub.add_parser("validate", help="check a data file against an effekt schema")
    val.add_argument("table", help="schema name, e.g. area_year")
    val.add_argument("file", help="CSV, Parquet, Stata (.dta) or SAS (.sas7bdat/.xpt) file")
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

            path = run_demo(args.out, seed=args.seed)
            print(f"Report written to {path}")
        elif args.command == "validate":
            from effekt.io import read_table

            frame = read_table(args.file, args.table)
            print(f"{args.file}: valid {args.table!r} table ({len(frame):,} rows).")
    except EffektError as err:
        print(f"effekt: {err}", file=sys.stderr)
        return 1
    return 0
