"""Execute notebooks top to bottom; exit non-zero on the first failing cell.

Usage: python tools/run_notebooks.py PATH [PATH ...]
Each PATH is a notebook or a folder whose *.ipynb files are run in name order,
with the folder as working directory. Outputs are not written back: notebooks
are stored without outputs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    print(f"ok   {path}  ({time.perf_counter() - start:.1f} s)", flush=True)


def main(argv: list[str]) -> int:
    notebooks: list[Path] = []
    for arg in argv:
        p = Path(arg)
        notebooks += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    if not notebooks:
        print("no notebooks found in", argv)
        return 1
    for nb in notebooks:
        try:
            run(nb)
        except CellExecutionError as err:
            print(f"FAIL {nb}\n{err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
