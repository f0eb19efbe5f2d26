"""Replication packages: run a paper's notebook and check its numbers against the paper.

A replication package is a folder (``papers/<slug>/`` in the repository) holding

- ``replicate.ipynb``: a notebook, stored without outputs, that reproduces a
  published table or figure with effekt and whose last cell writes
  ``results.json`` (a flat JSON object ``{key: number}``) in its working
  directory;
- ``expected.json``: the published numbers, each with where it is printed and an
  absolute tolerance justified in a note (schema
  ``data_schemas/expected.schema.json``);
- ``README.md``: citation, data provenance and known deviations.

:func:`reproduce` executes the notebook (with ``nbclient``, a core
dependency) in a temporary copy of the folder, so no stale
``results.json`` can pass and the package folder stays untouched, and compares
every expected quantity with :func:`compare`. ``effekt reproduce`` and
``nox -s papers`` run the same check from the command line.

Examples
--------
>>> from effekt.replication import compare
>>> expected = {"paper": "A. Author (2020)", "doi": "10.1000/xyz",
...             "quantities": [{"key": "att", "value": -15.6, "tolerance": 0.05,
...                             "source": "Table 1", "note": "printed to one decimal"}]}
>>> compare(expected, {"att": -15.6038}).ok
True
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt._plotting import label
from effekt.errors import OptionalDependencyError, ReplicationError, show_value
from effekt.results import Summary

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "ReplicationResult",
    "compare",
    "find_packages",
    "reproduce",
    "validate_expected",
]

NOTEBOOK = "replicate.ipynb"
EXPECTED = "expected.json"
RESULTS = "results.json"
# Tolerances are decimal numbers (0.05) compared with binary floats; this relative
# slack keeps e.g. |-15.65 - (-15.6)| = 0.05000000000000071 inside a 0.05 tolerance.
_FLOAT_SLACK = 1e-9
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _reject_constant(name: str) -> float:
    # Python's json accepts NaN/Infinity, which are not JSON and never a published number
    raise ValueError(f"{name} is not a valid JSON number")


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplicationError(f"{what} {str(path)!r} does not exist.") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise ReplicationError(f"{what} {str(path)!r} is not valid JSON: {err}.") from None


def _check_expected(spec: Any, where: str) -> dict[str, Any]:
    from effekt.schemas import document_problems

    problems = document_problems(spec, "expected")
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ReplicationError(
            f"{where} does not follow data_schemas/expected.schema.json: {shown}{more}. "
            "Fix the file; see papers/README.md for the format."
        )
    keys = [q["key"] for q in spec["quantities"]]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ReplicationError(
            f"{where} lists the key(s) {duplicated} more than once; every quantity needs its "
            "own key."
        )
    if not spec["doi"] and "url" not in spec:
        raise ReplicationError(f"{where} has an empty 'doi' and no 'url'; give one of them.")
    return dict(spec)


def validate_expected(path: str | Path) -> dict[str, Any]:
    """Read and check a package's ``expected.json``.

    Parameters
    ----------
    path : str or path-like
        The ``expected.json`` file, or the package folder holding it.

    Returns
    -------
    dict
        The parsed file: ``paper``, ``doi``, optional ``url``, and ``quantities``
        (a list of dicts with ``key, value, tolerance, source, note``).

    Raises
    ------
    ReplicationError
        If the file is missing, is not JSON (``NaN`` and ``Infinity`` included),
        violates ``data_schemas/expected.schema.json``, repeats a key, or has
        neither a DOI nor a URL.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from effekt.replication import validate_expected
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "expected.json").write_text(json.dumps({
    ...     "paper": "A. Author (2020)", "doi": "10.1000/xyz",
    ...     "quantities": [{"key": "att", "value": -15.6, "tolerance": 0.05,
    ...                     "source": "Table 1", "note": "printed to one decimal"}]}))
    >>> [q["key"] for q in validate_expected(folder)["quantities"]]
    ['att']
    """
    path = Path(path)
    if path.is_dir():
        path = path / EXPECTED
    return _check_expected(_read_json(path, "The expected-numbers file"), repr(str(path)))


@dataclass(frozen=True, eq=False)
class ReplicationResult:
    """Published numbers beside the numbers a replication package reproduced.

    Made by :func:`reproduce` and :func:`compare`; nothing here recomputes.

    Attributes
    ----------
    paper : str
        Citation of the paper.
    doi : str
        Its DOI (may be empty; see ``expected.json``'s ``url``).
    table : pandas.DataFrame
        One row per expected quantity, as :meth:`to_frame` returns it.
    extra : dict
        Numbers in ``results.json`` that ``expected.json`` does not check (for
        example results on a simulated world, which have no published value).
    folder : str or None
        The package folder, when run by :func:`reproduce`.
    seconds : float or None
        Wall time of the notebook, when run by :func:`reproduce`.

    Examples
    --------
    >>> from effekt.replication import compare
    >>> expected = {"paper": "A. Author (2020)", "doi": "10.1000/xyz",
    ...             "quantities": [{"key": "att", "value": -15.6, "tolerance": 0.05,
    ...                             "source": "Table 1", "note": "printed to one decimal"}]}
    >>> res = compare(expected, {"att": -15.9})
    >>> res.ok, res.failing
    (False, ('att',))
    """

    paper: str
    doi: str
    table: pd.DataFrame
    extra: dict[str, float]
    folder: str | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        """True when every expected quantity is present and within its tolerance."""
        return bool(self.table["ok"].all())

    @property
    def failing(self) -> tuple[str, ...]:
        """Keys outside tolerance or missing from ``results.json``."""
        return tuple(self.table.loc[~self.table["ok"], "key"])

    def to_frame(self) -> pd.DataFrame:
        """The comparison as a table (a copy).

        Returns
        -------
        pandas.DataFrame
            Columns ``key, published, reproduced, difference, tolerance, ok,
            source, note``; ``reproduced`` and ``difference`` are missing (NaN)
            for keys the notebook did not write.
        """
        return self.table.copy()

    def summary(self) -> Summary:
        """Text/HTML summary: the paper, the verdict and the comparison table.

        Returns
        -------
        effekt.results.Summary
        """
        n_ok = int(self.table["ok"].sum())
        info = [("Paper", self.paper)]
        if self.doi:
            info.append(("DOI", self.doi))
        if self.folder:
            info.append(("Package", self.folder))
        info.append(("Quantities within tolerance", f"{n_ok} of {len(self.table)}"))
        if self.seconds is not None:
            info.append(("Notebook wall time", f"{self.seconds:.1f} s"))
        notes = []
        if self.failing:
            notes.append(f"Outside tolerance or missing: {', '.join(self.failing)}.")
        if self.extra:
            notes.append(
                f"{len(self.extra)} further number(s) in results.json are not checked "
                "(no published value)."
            )
        shown = self.table[["key", "published", "reproduced", "difference", "tolerance", "ok"]]
        return Summary(
            title=f"{label('replication_title')}: {'OK' if self.ok else 'FAILED'}",
            info=tuple(info),
            tables=(("Published vs reproduced", shown.set_index("key")),),
            notes=tuple(notes),
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Each quantity's difference in units of its tolerance.

        Points inside the shaded band [-1, 1] are within tolerance; missing keys
        are drawn at the band's edge as crosses. One scale serves quantities of
        any size (packs per capita and log points alike).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure otherwise.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import new_axes

        t = self.table
        ax = new_axes(ax, figsize=(7.0, max(2.5, 0.28 * len(t) + 1.0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = t["difference"].to_numpy(float) / t["tolerance"].to_numpy(float)
        # an exact match under zero tolerance is 0, any other difference is off the band
        z = np.where((t["tolerance"] == 0) & (t["difference"] == 0), 0.0, z)
        z = np.clip(z, -3.0, 3.0)
        y = np.arange(len(t))[::-1]
        ok = t["ok"].to_numpy(bool)
        missing = t["reproduced"].isna().to_numpy()
        ax.axvspan(-1, 1, color="0.9", zorder=0)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.scatter(z[ok], y[ok], color="C0", label=label("replication_within"), zorder=3)
        bad = ~ok & ~missing
        ax.scatter(z[bad], y[bad], color="C3", label=label("replication_outside"), zorder=3)
        ax.scatter(np.full(missing.sum(), 1.0), y[missing], color="C3", marker="x", zorder=3)
        ax.set_yticks(y, t["key"].tolist())
        ax.set_xlim(-3.2, 3.2)
        ax.set_xlabel(label("replication_std_diff"))
        ax.legend(frameon=False, loc="lower right")
        return ax

    def __repr__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def compare(expected: Mapping[str, Any], results: Mapping[str, Any]) -> ReplicationResult:
    """Compare a notebook's results with the published numbers.

    Parameters
    ----------
    expected : mapping
        A parsed ``expected.json`` (see :func:`validate_expected`); checked
        against the schema here too.
    results : mapping
        The notebook's ``results.json``: ``{key: number}``. Keys that
        ``expected`` does not list are kept in :attr:`ReplicationResult.extra`.

    Returns
    -------
    ReplicationResult
        A quantity is ``ok`` when ``|reproduced - published| <= tolerance``
        (with a relative slack of 1e-9 for binary floating point); a key missing
        from ``results`` is not ok.

    Raises
    ------
    ReplicationError
        If ``expected`` is malformed, or ``results`` is not a flat mapping of
        finite numbers.

    Examples
    --------
    >>> from effekt.replication import compare
    >>> expected = {"paper": "A. Author (2020)", "doi": "10.1000/xyz",
    ...             "quantities": [{"key": "att", "value": -15.6, "tolerance": 0.05,
    ...                             "source": "Table 1", "note": "printed to one decimal"}]}
    >>> compare(expected, {"att": -15.62}).to_frame()[["key", "difference", "ok"]]
       key  difference    ok
    0  att       -0.02  True
    """
    spec = _check_expected(expected, "The expected numbers")
    if not isinstance(results, Mapping):
        raise ReplicationError(
            f"results.json must hold a JSON object {{key: number}}; got {show_value(results)}."
        )
    bad = {
        k: v
        for k, v in results.items()
        if not isinstance(k, str)
        or isinstance(v, bool)
        or not isinstance(v, int | float)
        or not math.isfinite(v)
    }
    if bad:
        raise ReplicationError(
            "results.json must map keys to finite numbers; these entries are not: "
            f"{show_value(bad, 200)}. Write plain floats (float(x)) in the notebook's last cell."
        )
    rows = []
    for q in spec["quantities"]:
        got = results.get(q["key"])
        reproduced = float(got) if got is not None else np.nan
        diff = reproduced - q["value"]
        ok = got is not None and abs(diff) <= q["tolerance"] * (1 + _FLOAT_SLACK)
        rows.append(
            {
                "key": q["key"],
                "published": float(q["value"]),
                "reproduced": reproduced,
                "difference": diff,
                "tolerance": float(q["tolerance"]),
                "ok": bool(ok),
                "source": q["source"],
                "note": q["note"],
            }
        )
    checked = {q["key"] for q in spec["quantities"]}
    extra = {k: float(v) for k, v in results.items() if k not in checked}
    return ReplicationResult(
        paper=spec["paper"], doi=spec["doi"], table=pd.DataFrame(rows), extra=extra
    )


def _execute(notebook: Path, workdir: Path, timeout: int) -> None:
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError
    except ImportError:
        raise OptionalDependencyError(
            "Running a replication package needs nbclient, nbformat and ipykernel (core "
            "dependencies of effekt); reinstall effekt or `pip install nbclient nbformat "
            "ipykernel`."
        ) from None
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    try:
        client.execute()
    except CellTimeoutError as err:
        raise ReplicationError(
            f"A cell of {str(notebook)!r} ran longer than timeout={timeout} s: {err}. Raise "
            "'timeout' or make the notebook faster."
        ) from None
    except CellExecutionError as err:
        # the kernel colours its traceback; terminals and CI logs want plain text
        message = _ANSI.sub("", str(err))
        raise ReplicationError(f"The notebook {str(notebook)!r} failed:\n{message}") from None


def reproduce(folder: str | Path, *, timeout: int = 900, check: bool = True) -> ReplicationResult:
    """Run a replication package's notebook and compare its numbers with the paper's.

    The folder is copied to a temporary directory, ``replicate.ipynb`` is executed
    there top to bottom (working directory = the copy) and the ``results.json`` it
    writes is compared with ``expected.json`` by :func:`compare`.

    Parameters
    ----------
    folder : str or path-like
        The package folder (``papers/<slug>``).
    timeout : int, default 900
        Seconds one notebook cell may run.
    check : bool, default True
        Raise :class:`~effekt.ReplicationError` when a quantity is outside its
        tolerance or missing; ``False`` returns the result for inspection.

    Returns
    -------
    ReplicationResult

    Raises
    ------
    ReplicationError
        If the folder, its notebook or ``expected.json`` is missing or malformed,
        the notebook fails or times out, it writes no valid ``results.json``, or
        (with ``check=True``) a quantity is outside tolerance or missing; the
        message lists the failing keys and ``err.result`` holds the comparison.
    OptionalDependencyError
        If nbclient, nbformat or ipykernel is missing (a broken installation).

    References
    ----------
    The packages in ``papers/`` (see ``papers/README.md``) reproduce, for
    example, Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. and
    Wager, S. (2021). Synthetic difference-in-differences. American Economic
    Review 111(12), 4088-4118. doi:10.1257/aer.20190159

    Examples
    --------
    A package whose notebook writes one number:

    >>> import json, pathlib, tempfile
    >>> import nbformat
    >>> from effekt.replication import reproduce
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> cell = 'import json; json.dump({"answer": 6 * 7}, open("results.json", "w"))'
    >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]),
    ...                folder / "replicate.ipynb")
    >>> _ = (folder / "expected.json").write_text(json.dumps({
    ...     "paper": "D. Adams (1979)", "doi": "10.1000/h2g2",
    ...     "quantities": [{"key": "answer", "value": 42, "tolerance": 0,
    ...                     "source": "ch. 27", "note": "an integer, exact"}]}))
    >>> reproduce(folder).ok
    True
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ReplicationError(
            f"The 'folder' argument of reproduce must be a replication package folder; "
            f"{str(folder)!r} is not a directory."
        )
    notebook = folder / NOTEBOOK
    if not notebook.is_file():
        raise ReplicationError(
            f"{str(folder)!r} has no {NOTEBOOK}; a replication package needs the notebook, "
            f"{EXPECTED} and README.md (see papers/README.md)."
        )
    spec = validate_expected(folder / EXPECTED)
    with tempfile.TemporaryDirectory(prefix="effekt-replication-") as tmp:
        work = Path(tmp) / folder.name
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns(RESULTS, ".ipynb_checkpoints"))
        start = time.perf_counter()
        _execute(work / NOTEBOOK, work, timeout)
        seconds = time.perf_counter() - start
        results = _read_json(work / RESULTS, f"The results file written by {NOTEBOOK},")
    res = compare(spec, results)
    res = ReplicationResult(res.paper, res.doi, res.table, res.extra, str(folder), seconds)
    if check and not res.ok:
        listed = "\n".join(
            f"  {r.key}: published {r.published:g}, reproduced {r.reproduced:g} "
            f"(difference {r.difference:+.4g}, tolerance {r.tolerance:g})"
            for r in res.table.loc[~res.table["ok"]].itertuples()
        )
        raise ReplicationError(
            f"{str(folder)!r} did not reproduce {len(res.failing)} of {len(res.table)} "
            f"published number(s) ({', '.join(res.failing)}):\n{listed}",
            failing=res.failing,
            result=res,
        )
    return res


def find_packages(papers_dir: str | Path) -> list[Path]:
    """The replication packages in a folder: sub-folders holding an ``expected.json``.

    Parameters
    ----------
    papers_dir : str or path-like
        Folder of packages, e.g. ``papers``.

    Returns
    -------
    list of pathlib.Path
        Package folders in name order.

    Raises
    ------
    ReplicationError
        If ``papers_dir`` is not a directory.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from effekt.replication import find_packages
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "b_2020").mkdir(); (root / "a_2019").mkdir(); (root / "notes").mkdir()
    >>> _ = (root / "b_2020" / "expected.json").write_text("{}")
    >>> _ = (root / "a_2019" / "expected.json").write_text("{}")
    >>> [p.name for p in find_packages(root)]
    ['a_2019', 'b_2020']
    """
    root = Path(papers_dir)
    if not root.is_dir():
        raise ReplicationError(
            f"The papers folder {str(root)!r} is not a directory; pass --papers-dir (the folder "
            "holding the packages, e.g. papers)."
        )
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / EXPECTED).is_file())
