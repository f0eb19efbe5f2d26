"""Statistical disclosure control for tables leaving Statistics Denmark's servers.

Results built on register data may leave Statistics Denmark's (DST) research
machines only when no person can be recognised in them, directly or by
subtraction. The rule used in practice is a *threshold rule*: no published cell
may rest on fewer than ``min_count`` persons (5 by default, 3 in some projects;
``effekt.options["min_cell_count"]``). This module applies it before an analyst
sends output through DST's transfer tool:

- :func:`check` reports every cell that breaks the rule (and refuses
  person-level tables outright);
- :func:`suppress` returns a copy with those cells masked (*primary
  suppression*) and, where the table has totals, further cells masked so that
  no masked cell can be recovered by subtracting the published cells of its
  group from the total (*secondary* or *complementary suppression*).

What a cell's person count is
-----------------------------
Every value cell rests on a count column of the same row: ``counts="n"`` (one
column for all value columns), ``counts={"share": "n_share", ...}``, or, for
tables in the ``area_year`` schema, nothing at all: each share or rate field of
that schema names its count column in the custom property ``denominator``
(``neet_share`` -> ``pop_15_24``), and the fields with unit ``persons``
(``residents``, ``moves_in``, ``pop_*``) are counts of themselves. Count
columns are checked too: a published ``pop_15_24`` of 3 is a cell of 3 persons.

Rules
-----
count rule (always)
    A cell with ``0 < n < min_count`` is disclosive. A cell with ``n = 0``
    concerns nobody and is published unless ``zeros=True``.
numerator rule (``numerators=True``, off by default)
    A share also reveals how many persons *have* the attribute: 2 out of 400
    convicted identifies a group of two. With the rule on, a share is disclosive
    when its numerator ``k = round(value * n / scale)`` (``scale`` 1 for shares,
    1000 for rates per 1,000) or its complement ``n - k`` lies in
    ``(0, min_count)``; ``zeros=True`` also treats ``k = 0`` and ``k = n``
    (nobody / everybody has the attribute) as disclosive. It is off by default
    because DST's rule concerns observations per cell and the stricter rule
    masks most area-level crime shares; turn it on where the project's
    agreement with DST counts numerators, and always for shares of rare events.
    Ratios such as ``income_rel_region`` have no numerator in persons and are
    checked by the count rule only. Magnitude tables (sums of incomes) need a
    dominance rule as well, which this module does not implement.

Not handled here: interval (bounds) disclosure of suppressed cells, links
between several published tables, and differencing of overlapping groups; see
Hundepool et al. (2012), ch. 4, and use tau-ARGUS for tables with complex
hierarchies.

References
----------
.. [1] Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte
   Nordholt, E., Spicer, K. and de Wolf, P.-P. (2012). *Statistical Disclosure
   Control*. Wiley. doi:10.1002/9781118348239
.. [2] Cox, L. H. (1980). Suppression methodology and statistical disclosure
   control. *Journal of the American Statistical Association* 75(370),
   377-385.

Examples
--------
>>> import pandas as pd
>>> from effekt import disclosure
>>> table = pd.DataFrame({"kommune": ["A", "B", "C", "I alt"],
...                       "n": [3, 10, 7, 20]})
>>> disclosure.check(table, counts="n").ok
False
>>> disclosure.suppress(table, counts="n", total=("kommune", "I alt"))
  kommune     n n_suppressed
0       A  <NA>        count
1       B    10          NaN
2       C  <NA>    secondary
3   I alt    20          NaN
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from effekt import errors
from effekt.errors import AssumptionWarning, DataError, EffektWarning, ParameterError
from effekt.options import options
from effekt.schemas import load_schema

__all__ = ["FLAG_DTYPE", "REASONS", "DisclosureCheck", "check", "suppress"]

#: Categories of the ``<column>_suppressed`` flag columns written by :func:`suppress`
#: (a missing flag means the cell is published).
FLAG_DTYPE = pd.CategoricalDtype(["count", "numerator", "secondary"])

#: Report wording of each flag, by language (``effekt.options["language"]``);
#: fill ``{min_count}`` with ``str.format``.
REASONS: dict[str, dict[str, str]] = {
    "en": {
        "count": "suppressed (n < {min_count})",
        "numerator": "suppressed (fewer than {min_count} persons with or without the attribute)",
        "secondary": "suppressed (complementary, protects another suppressed cell)",
    },
    "da": {
        "count": "diskretioneret (n < {min_count})",
        "numerator": "diskretioneret (færre end {min_count} personer med eller uden egenskaben)",
        "secondary": "diskretioneret (komplementær, beskytter en anden diskretioneret celle)",
    },
}

_COUNT, _NUMERATOR, _SECONDARY = 0, 1, 2
_RESULT_COLUMNS = ("row", "column", "count_column", "count", "numerator", "reason")

# Column names of person- or enterprise-level identifiers (DST and effekt's persons schema).
_PERSON_KEYS = frozenset(
    {"pnr", "cpr", "cprnr", "cpr_nr", "person_id", "personid", "cvrnr", "cvr_nr"}
)
# Numeric columns that identify a cell rather than hold a value, so never default value columns.
_KEY_NAMES = frozenset(
    {
        "year",
        "aar",
        "kommune_code",
        "kom",
        "region_code",
        "cohort",
        "time",
        "event_time",
        "quarter",
        "month",
    }
)
# Units of the area_year schema for which a share's numerator is value * n / scale.
_UNIT_SCALE = {"share": 1.0, "per 1,000": 1000.0}


# ---------------------------------------------------------------------------
# Result object


@dataclass(frozen=True, eq=False)
class DisclosureCheck:
    """Outcome of :func:`check`: which cells break the threshold rule.

    Attributes
    ----------
    violations : pandas.DataFrame
        One row per disclosive cell: the table's identifying columns, then
        ``row`` (index label in the checked table), ``column``, ``count_column``,
        ``count`` (persons the cell rests on), ``numerator`` (persons with the
        attribute, where the numerator rule applies) and ``reason``
        (``"count"`` or ``"numerator"``).
    min_count : int
        Threshold used: a cell needs at least this many persons.
    columns : dict
        Checked column -> the count column it rests on (count columns map to
        themselves).
    numerator_scales : dict
        Columns checked by the numerator rule -> their scale (1 shares,
        1000 rates per 1,000).
    unchecked : tuple of str
        Numeric columns with no known person count, hence *not* checked. They
        are the analyst's responsibility before export.
    n_cells : int
        Number of published (non-missing) cells checked.
    zeros : bool
        Whether counts (and numerators) of 0 were treated as disclosive.

    Examples
    --------
    >>> import pandas as pd
    >>> from effekt import disclosure
    >>> res = disclosure.check(pd.DataFrame({"n": [4, 12]}), counts="n")
    >>> res.ok, res.n_violations
    (False, 1)
    """

    violations: pd.DataFrame
    min_count: int
    columns: dict[str, str]
    numerator_scales: dict[str, float]
    unchecked: tuple[str, ...]
    n_cells: int
    zeros: bool

    @property
    def ok(self) -> bool:
        """True when no checked cell breaks the rule (unchecked columns aside)."""
        return self.violations.empty

    @property
    def n_violations(self) -> int:
        """Number of disclosive cells."""
        return len(self.violations)

    def to_frame(self) -> pd.DataFrame:
        """Return the violations as a new DataFrame (see :attr:`violations`).

        Returns
        -------
        pandas.DataFrame
            A copy, safe to modify.

        Examples
        --------
        >>> import pandas as pd
        >>> from effekt import disclosure
        >>> res = disclosure.check(pd.DataFrame({"n": [4, 12]}), counts="n")
        >>> res.to_frame()[["row", "column", "count", "reason"]]
           row column  count reason
        0    0      n      4  count
        """
        return self.violations.copy()

    def _summary_lines(self) -> list[str]:
        k = self.min_count
        if self.ok:
            head = f"OK: none of {self.n_cells} published cells rests on fewer than {k} persons"
        else:
            head = f"NOT OK: {self.n_violations} of {self.n_cells} published cells break the rule"
        zero = "n = 0 also disclosive" if self.zeros else "n = 0 allowed"
        numer = f"on for {', '.join(self.numerator_scales)}" if self.numerator_scales else "off"
        checked = ", ".join(c if c == n else f"{c} (n: {n})" for c, n in self.columns.items())
        lines = [
            f"DisclosureCheck(min_count={k}) {head}",
            f"  rule: cells with n < {k} persons ({zero}); numerator rule: {numer}",
            f"  checked: {checked}",
        ]
        if self.unchecked:
            lines.append(f"  NOT checked (no person count known): {', '.join(self.unchecked)}")
        if not self.ok:
            per_col = self.violations["column"].value_counts(sort=False)
            lines.append(
                "  violations per column: " + ", ".join(f"{c} {n}" for c, n in per_col.items())
            )
        return lines

    def __repr__(self) -> str:
        lines = self._summary_lines()
        if not self.ok:
            lines.append(errors.format_rows(self.violations, int(options["display_max_rows"])))
            lines.append("Mask them with effekt.disclosure.suppress() before export.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        lines = self._summary_lines()
        body = "<br>".join(html.escape(line.strip()) for line in lines)
        out = f"<div><p>{body}</p>"
        if not self.ok:
            n_max = int(options["display_max_rows"])
            out += self.violations.head(n_max).to_html(index=False)
            if self.n_violations > n_max:
                out += f"<p>... and {self.n_violations - n_max} more (see .to_frame())</p>"
        return out + "</div>"


# ---------------------------------------------------------------------------
# Public functions


def check(
    table: pd.DataFrame,
    *,
    counts: str | Mapping[str, str] | None = None,
    values: str | Sequence[str] | None = None,
    min_count: int | None = None,
    numerators: bool | Mapping[str, float] = False,
    zeros: bool = False,
) -> DisclosureCheck:
    """Flag every cell of an aggregate table that rests on too few persons.

    A cell is one value column in one row. It breaks the count rule when the
    person count it rests on satisfies ``0 < n < min_count``; with
    ``numerators=True`` a share also breaks the rule when fewer than
    ``min_count`` persons have, or lack, the attribute (module docstring).
    Missing values are not published and never violate. Only this primary
    rule is checked; protection against subtraction from totals is the job of
    :func:`suppress`.

    Parameters
    ----------
    table : pandas.DataFrame
        Aggregate table, one row per cell group (area-year, subgroup, ...).
        Person-level tables are refused.
    counts : str, mapping or None, optional
        Where each cell's person count is. A column name: that column is the
        count for every value column. A mapping ``{value column: count
        column}``: only those value columns are checked. ``None`` (default):
        infer from the ``area_year`` schema (each field's ``denominator``;
        fields with unit ``persons`` count themselves). Count columns are
        always checked themselves.
    values : str or sequence of str, optional
        Value columns to check. With ``counts`` a column name, the default is
        every numeric column except the count column and key-like columns
        (``year``, ``kommune_code``, ``region_code``, ``cohort``, ``time``,
        ``event_time``, ...); pass ``values`` when the table has other numeric
        keys. With ``counts=None`` it restricts the inferred columns. Not
        allowed with a mapping ``counts``.
    min_count : int, optional
        Smallest allowed person count, at least 1. Default
        ``effekt.options["min_cell_count"]`` (5).
    numerators : bool or mapping, default False
        Apply the numerator rule. ``True`` uses the units of the ``area_year``
        schema (shares: scale 1, rates per 1,000: scale 1000; ratios are
        skipped); a mapping ``{column: scale}`` gives the scale of other
        columns (100 for percentages).
    zeros : bool, default False
        Treat a count of 0 (and a numerator or complement of 0, i.e. a share of
        exactly 0 or 1) as disclosive too.

    Returns
    -------
    DisclosureCheck
        ``.ok``, ``.violations`` (also ``.to_frame()``), readable ``repr`` and
        HTML representation.

    Raises
    ------
    DataError
        If the table looks person-level (a ``PNR``/``person_id``/``CPR``
        column), a count column is missing or holds negative or non-integer
        counts, a value is present where its count is missing, or a numerator
        falls outside ``[0, n]``.
    ParameterError
        If ``min_count`` is not an integer >= 1, ``counts`` cannot be inferred
        (the table has no ``area_year`` columns) or has the wrong type, or
        ``numerators=True`` meets a column of unknown unit.

    See Also
    --------
    suppress : mask the violating cells (and complementary cells).

    References
    ----------
    .. [1] Hundepool, A. et al. (2012). *Statistical Disclosure Control*,
       sec. 5.2 (threshold rule). Wiley. doi:10.1002/9781118348239

    Examples
    --------
    >>> import pandas as pd
    >>> import effekt as ek
    >>> from effekt import disclosure
    >>> table = pd.DataFrame({"group": ["a", "b"], "n": [4, 250],
    ...                       "share": [0.25, 0.004]})
    >>> res = disclosure.check(table, counts="n")
    >>> res.ok, res.n_violations
    (False, 2)
    >>> res.to_frame()[["group", "column", "count", "reason"]]
      group column  count reason
    0     a      n      4  count
    1     a  share      4  count
    >>> strict = disclosure.check(table, counts="n", numerators={"share": 1})
    >>> strict.to_frame()[["group", "column", "numerator", "reason"]]
      group column  numerator     reason
    0     a      n       <NA>      count
    1     a  share          1      count
    2     b  share          1  numerator
    >>> with ek.set_options(min_cell_count=3):
    ...     disclosure.check(table, counts="n").ok
    True
    """
    owner = "check()"
    _check_table(table, owner)
    k = _resolve_min_count(min_count, owner)
    _check_flag(zeros, "zeros", owner)
    plan = _plan(table, counts, values, numerators, (), owner)
    n_of = _count_arrays(table, plan, owner)
    codes, numer = _primary(table, plan, n_of, k, zeros, owner)

    frames = []
    for col, code in codes.items():
        pos = np.flatnonzero(code >= 0)
        if pos.size == 0:
            continue
        cnt = plan.count_of[col]
        part = table.iloc[pos][list(plan.ids)].reset_index(drop=True)
        part["row"] = table.index[pos]
        part["column"] = col
        part["count_column"] = cnt
        part["count"] = pd.array(n_of[cnt][pos], dtype="Int64")
        part["numerator"] = pd.array(
            numer[col][pos] if col in numer else [pd.NA] * pos.size, dtype="Int64"
        )
        part["reason"] = pd.Categorical.from_codes(code[pos], dtype=FLAG_DTYPE)
        part["_pos"] = pos
        frames.append(part)
    order = {c: i for i, c in enumerate(codes)}
    if frames:
        viol = pd.concat(frames, ignore_index=True)
        viol["_col"] = viol["column"].map(order)
        viol = viol.sort_values(["_pos", "_col"], kind="stable").drop(columns=["_pos", "_col"])
        viol = viol.reset_index(drop=True)
    else:
        viol = pd.DataFrame({c: [] for c in (*plan.ids, *_RESULT_COLUMNS)})
    n_cells = int(sum(table[c].notna().sum() for c in plan.count_of))
    return DisclosureCheck(
        viol, k, dict(plan.count_of), dict(plan.scale), plan.unchecked, n_cells, zeros
    )


def suppress(
    table: pd.DataFrame,
    *,
    counts: str | Mapping[str, str] | None = None,
    values: str | Sequence[str] | None = None,
    min_count: int | None = None,
    numerators: bool | Mapping[str, float] = False,
    zeros: bool = False,
    secondary: bool = True,
    groups: str | Sequence[str] | None = None,
    total: tuple[str, Any] | Mapping[str, Any] | None = None,
    flag_suffix: str | None = "_suppressed",
) -> pd.DataFrame:
    """Mask disclosive cells, and complementary cells that would reveal them.

    **Primary suppression.** Every cell :func:`check` flags is set to missing;
    count cells below ``min_count`` are masked too, and a value cell whose
    count cell is masked is masked with it (so every published value has a
    published count and the result passes :func:`check`).

    **Secondary suppression.** If the table holds additive relations (parts
    and their total), a masked part could be recovered as total minus the
    published parts. Each relation is a set of rows: with ``total`` given, for
    every dimension ``d`` in ``total`` the rows that agree on ``groups`` and on
    the other total dimensions, i.e. the parts of ``d`` and the row whose
    ``d`` equals the total label; with only ``groups``, the rows of each group
    (their total is assumed to be published elsewhere, e.g. in StatBank). The
    greedy heuristic, run per checked column: while some relation has exactly
    one masked cell, mask in it the published cell resting on the fewest
    persons (cells with ``n = 0`` last, ties by row order), sweeping the
    dimensions in the order given until nothing changes. Cells are compared
    by persons, not by value, so shares and their counts get the same
    pattern. The relation being additive in ``share * n``, shares and rates
    are protected like counts.

    This is the classical sequential complementary-suppression heuristic
    (Cox 1980; Hundepool et al. 2012, ch. 4). It is not optimal: it may mask
    more cells than an optimising method (tau-ARGUS's modular or optimal
    methods), it guarantees only that no relation has a single masked cell, so
    in two-way and larger tables a cell can occasionally still be recovered by
    combining several relations, and it ignores the bounds an intruder can put
    on masked cells (interval disclosure). Audit critical tables with tau-ARGUS.

    Parameters
    ----------
    table : pandas.DataFrame
        Aggregate table in long form, one row per cell group. A wide two-way
        table is handled in long form: ``wide.stack()`` it first (example below).
    counts, values, min_count, numerators, zeros
        As in :func:`check`.
    secondary : bool, default True
        Apply secondary suppression. Without ``groups`` and ``total`` the
        table has no known relations and only primary suppression is done.
    groups : str or sequence of str, optional
        Columns whose values define the additive groups (with ``total``:
        columns that are *not* summed over, e.g. ``"year"``).
    total : tuple or mapping, optional
        How to recognise total rows: ``(column, label)``, e.g.
        ``("kommune", "I alt")``, or ``{column: label, ...}`` for a table with
        totals along several dimensions (a two-way table has two). Every
        relation must have its total row, and the cells (``groups`` plus the
        total columns) must be unique.
    flag_suffix : str or None, default "_suppressed"
        For every checked column ``c``, add a column ``c + flag_suffix`` of
        dtype :data:`FLAG_DTYPE`: missing where the cell is published, else
        the reason ``"count"``, ``"numerator"`` or ``"secondary"``
        (:data:`REASONS` holds report wording such as "suppressed (n < 5)").
        ``None`` adds no columns (e.g. to keep a table valid against its
        schema); the reasons are then lost.

    Returns
    -------
    pandas.DataFrame
        A new frame, same rows and index, masked cells missing. Checked
        integer columns become nullable ``Int64`` (whether or not anything was
        masked, so the dtype does not depend on the data). ``attrs
        ["disclosure"]`` records ``min_count``, the rules, the checked columns
        and the numbers of primary and secondary suppressions.

    Raises
    ------
    DataError
        As in :func:`check`; also if a ``total`` label does not occur, a
        relation has no total row, or cells are duplicated.
    ParameterError
        As in :func:`check`; also for malformed ``groups``/``total``, a group
        or total column that is also checked, or a flag column that already
        exists.

    Warns
    -----
    AssumptionWarning
        If total counts differ from the sum of their parts (wrong ``groups``
        or ``total``, or a non-additive measure): the relations then do not
        describe the table.
    EffektWarning
        If a relation keeps a single masked cell because no other cell of it
        can be masked (e.g. a one-part group whose total is published
        elsewhere); that cell is recoverable and needs manual attention.

    See Also
    --------
    check : report violations without masking.

    References
    ----------
    .. [1] Cox, L. H. (1980). Suppression methodology and statistical
       disclosure control. *Journal of the American Statistical Association*
       75(370), 377-385.
    .. [2] Hundepool, A. et al. (2012). *Statistical Disclosure Control*,
       ch. 4 (tabular data, secondary cell suppression). Wiley.
       doi:10.1002/9781118348239

    Examples
    --------
    A long table with a total row per year: one primary cell per group needs
    one complementary cell, the smallest other part.

    >>> import pandas as pd
    >>> from effekt import disclosure
    >>> long = pd.DataFrame({"year": [2020] * 4,
    ...                      "kommune": ["A", "B", "C", "I alt"],
    ...                      "n": [3, 10, 7, 20]})
    >>> out = disclosure.suppress(long, counts="n", groups="year",
    ...                           total=("kommune", "I alt"))
    >>> out["n"].tolist()
    [<NA>, 10, <NA>, 20]
    >>> out.attrs["disclosure"]["n_secondary"]
    1

    A wide two-way table (totals in a row and a column) goes through long form.

    >>> wide = pd.DataFrame({"c1": [3, 8, 11], "c2": [20, 40, 60],
    ...                      "All": [23, 48, 71]},
    ...                     index=pd.Index(["r1", "r2", "All"], name="row"))
    >>> long = wide.rename_axis(columns="col").stack().rename("n").reset_index()
    >>> out = disclosure.suppress(long, counts="n", total={"row": "All", "col": "All"})
    >>> order = ["r1", "r2", "All"], ["c1", "c2", "All"]
    >>> out.pivot(index="row", columns="col", values="n").loc[order]
    ... # doctest: +NORMALIZE_WHITESPACE
    col    c1    c2  All
    row
    r1   <NA>  <NA>   23
    r2   <NA>  <NA>   48
    All    11    60   71
    """
    owner = "suppress()"
    _check_table(table, owner)
    k = _resolve_min_count(min_count, owner)
    _check_flag(zeros, "zeros", owner)
    _check_flag(secondary, "secondary", owner)
    group_cols, totals = _structure_args(table, groups, total, owner)
    plan = _plan(table, counts, values, numerators, (*group_cols, *totals), owner)
    if flag_suffix is not None:
        if not isinstance(flag_suffix, str) or not flag_suffix:
            raise errors.invalid_parameter(
                "flag_suffix", owner, "a non-empty string or None", flag_suffix
            )
        clash = [f"{c}{flag_suffix}" for c in plan.count_of if f"{c}{flag_suffix}" in table]
        if clash:
            raise errors.invalid_parameter(
                "flag_suffix",
                owner,
                "a suffix giving new column names",
                flag_suffix,
                f"The table already has {', '.join(map(repr, clash))} (was it suppressed "
                "before?). Drop those columns or choose another suffix.",
            )
    relations = _relations(table, group_cols, totals) if secondary else []
    n_of = _count_arrays(table, plan, owner)
    codes, _ = _primary(table, plan, n_of, k, zeros, owner)
    if relations and totals:
        _warn_non_additive(table, plan, n_of, relations)

    # Counts first, so that values resting on a masked count can follow it.
    ordered = sorted(plan.count_of, key=lambda c: plan.count_of[c] != c)
    final: dict[str, np.ndarray] = {}
    unprotected: dict[str, int] = {}
    for col in ordered:
        cnt = plan.count_of[col]
        code = codes[col].copy()
        present = table[col].notna().to_numpy()
        if cnt != col:
            follow = (code < 0) & present & (final[cnt] >= 0)
            code[follow] = final[cnt][follow]
        if relations:
            masked = code >= 0
            added, n_open = _complement(masked, present & ~masked, n_of[cnt], relations)
            code[added] = _SECONDARY
            if n_open:
                unprotected[col] = n_open
        final[col] = code
    if unprotected:
        listed = ", ".join(f"{c!r} ({n})" for c, n in unprotected.items())
        warnings.warn(
            f"suppress() left relations with a single masked cell in {listed}: no other cell "
            "of those groups could be masked, so the masked cell equals the group's total minus "
            "its published parts. Mask or coarsen those groups by hand, or do not publish their "
            "totals.",
            EffektWarning,
            stacklevel=2,
        )

    out = table.copy()
    for col in plan.count_of:
        series = out[col]
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype("boolean")
        elif pd.api.types.is_integer_dtype(series.dtype):
            series = series.astype("Int64")  # nullable, so masked counts stay integers
        out[col] = series.mask(final[col] >= 0)
    if flag_suffix is not None:
        for col in plan.count_of:
            out[f"{col}{flag_suffix}"] = pd.Categorical.from_codes(final[col], dtype=FLAG_DTYPE)
    n_primary = sum(int(np.isin(final[c], (_COUNT, _NUMERATOR)).sum()) for c in final)
    n_secondary = sum(int((final[c] == _SECONDARY).sum()) for c in final)
    out.attrs["disclosure"] = {
        "min_count": k,
        "zeros": zeros,
        "numerator_scales": dict(plan.scale),
        "columns": dict(plan.count_of),
        "secondary": bool(relations),
        "flag_suffix": flag_suffix,
        "n_primary": n_primary,
        "n_secondary": n_secondary,
    }
    return out


# ---------------------------------------------------------------------------
# Argument handling


@dataclass(frozen=True)
class _Plan:
    count_of: dict[str, str]  # checked column -> its count column, in table order
    scale: dict[str, float]  # columns under the numerator rule -> scale
    unchecked: tuple[str, ...]
    ids: tuple[str, ...]  # identifying columns, shown beside violations


def _check_table(table: Any, owner: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise errors.invalid_parameter("table", owner, "a pandas DataFrame", type(table).__name__)
    names = [str(c) for c in table.columns]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise DataError(f"{owner} needs unique column names; {dupes} appear more than once.")
    ids = [
        n
        for n in (*names, *(str(n) for n in table.index.names if n is not None))
        if n.lower() in _PERSON_KEYS
    ]
    if ids:
        raise DataError(
            f"{owner} refuses this table: column {ids[0]!r} identifies persons or firms, so the "
            "table looks like micro data. Never export per-person rows from DST's servers; "
            "aggregate first (e.g. groupby(...).agg(...) to counts and shares per group) and "
            "drop the identifier."
        )


def _resolve_min_count(min_count: Any, owner: str) -> int:
    if min_count is None:
        return int(options["min_cell_count"])
    return int(
        errors.check_int(
            "min_count",
            owner,
            min_count,
            low=1,
            expected="an integer >= 1 (Statistics Denmark: 5)",
            hint="Leave it out to use effekt.options['min_cell_count'].",
        )
    )


def _check_flag(value: Any, name: str, owner: str) -> None:
    errors.check_bool(name, owner, value)


def _as_list(value: str | Sequence[str] | None, name: str, owner: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise errors.invalid_parameter(name, owner, "a column name or a list of column names", value)


def _need_columns(table: pd.DataFrame, cols: Sequence[str], argument: str, owner: str) -> None:
    for col in cols:
        if col not in table.columns:
            raise errors.missing_column(argument, owner, col, list(table.columns))


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _plan(
    table: pd.DataFrame,
    counts: Any,
    values: Any,
    numerators: Any,
    structure: tuple[str, ...],
    owner: str,
) -> _Plan:
    value_list = _as_list(values, "values", owner)
    fields = {f["name"]: f for f in load_schema("area_year")["fields"]}
    units = {name: f.get("unit") for name, f in fields.items()}
    count_of: dict[str, str] = {}

    if counts is None:
        # area_year: shares rest on their denominator, person counts on themselves.
        known = {n: f["denominator"] for n, f in fields.items() if "denominator" in f}
        known.update({n: n for n, u in units.items() if u == "persons"})
        if value_list is None:
            chosen = [c for c in table.columns if c in known]
        else:
            _need_columns(table, value_list, "values", owner)
            unknown = [c for c in value_list if c not in known]
            if unknown:
                raise errors.invalid_parameter(
                    "values",
                    owner,
                    "area_year columns with a known person count when counts is None",
                    unknown,
                    "Pass counts= to name their count columns.",
                )
            chosen = value_list
        if not chosen:
            raise ParameterError(
                f"{owner} cannot tell which person count each cell rests on: the table has none "
                "of the area_year schema's share or count columns. Pass counts='n' (one count "
                "column for every value column) or counts={'value_column': 'count_column', ...}."
            )
        for col in chosen:
            if known[col] not in table.columns:
                raise DataError(
                    f"Column {col!r} rests on the person count {known[col]!r} (its denominator "
                    f"in the area_year schema), which is not in the table. Add {known[col]!r} "
                    f"or pass counts={{{col!r}: <count column>}}."
                )
            count_of[col] = known[col]
    elif isinstance(counts, str):
        _need_columns(table, [counts], "counts", owner)
        if value_list is None:
            value_list = [
                c
                for c in table.columns
                if c != counts
                and c not in structure
                and _is_numeric(table[c])
                and str(c).lower() not in _KEY_NAMES
            ]
        else:
            _need_columns(table, value_list, "values", owner)
        count_of = {c: counts for c in value_list}
        count_of.setdefault(counts, counts)  # a bare frequency table checks its counts only
    elif isinstance(counts, Mapping):
        if value_list is not None:
            raise errors.invalid_parameter(
                "values",
                owner,
                "None when counts is a mapping",
                values,
                "The mapping's keys already name the value columns.",
            )
        if not counts or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in counts.items()
        ):
            raise errors.invalid_parameter(
                "counts", owner, "a non-empty mapping of column names to column names", counts
            )
        _need_columns(table, list(counts), "counts", owner)
        _need_columns(table, list(counts.values()), "counts", owner)
        count_of = dict(counts)
    else:
        raise errors.invalid_parameter(
            "counts", owner, "a column name, a mapping {value column: count column} or None", counts
        )

    count_cols = set(count_of.values())
    mixed = [c for c in count_cols if count_of.get(c, c) != c]
    if mixed:
        raise errors.invalid_parameter(
            "counts",
            owner,
            "a mapping in which a count column is not itself a value column "
            "resting on another count",
            {c: count_of[c] for c in mixed},
        )
    for col in count_cols:
        count_of[col] = col
    both = [c for c in count_of if c in structure]
    if both:
        raise ParameterError(
            f"Column(s) {both} of {owner} are both grouping/total columns and checked columns. "
            "A column that defines groups cannot be masked; remove it from counts/values."
        )
    count_of = {c: count_of[c] for c in table.columns if c in count_of}

    scale = _numerator_scales(numerators, count_of, units, owner)
    unchecked = tuple(
        str(c)
        for c in table.columns
        if c not in count_of
        and c not in structure
        and _is_numeric(table[c])
        and str(c).lower() not in _KEY_NAMES
    )
    # Identifying columns shown beside violations; the result's own column names win.
    ids = tuple(c for c in table.columns if c not in count_of and c not in _RESULT_COLUMNS)
    return _Plan(count_of, scale, unchecked, ids)


def _numerator_scales(
    numerators: Any, count_of: dict[str, str], units: dict[str, Any], owner: str
) -> dict[str, float]:
    value_cols = [c for c, n in count_of.items() if c != n]
    if isinstance(numerators, bool):
        if not numerators:
            return {}
        # area_year ratios and person counts have no numerator in persons: skipped.
        skip = {"ratio", "persons"}
        unknown = [c for c in value_cols if units.get(c) not in (*_UNIT_SCALE, *skip)]
        if unknown:
            raise errors.invalid_parameter(
                "numerators",
                owner,
                "a mapping {column: scale} for columns whose unit effekt does not know",
                True,
                f"Columns {unknown} are not area_year shares or rates; pass e.g. "
                f"numerators={{{unknown[0]!r}: 1}} (1 for shares, 100 for percentages, 1000 for "
                "rates per 1,000).",
            )
        return {c: _UNIT_SCALE[units[c]] for c in value_cols if units.get(c) in _UNIT_SCALE}
    if isinstance(numerators, Mapping):
        out: dict[str, float] = {}
        for col, s in numerators.items():
            if col not in value_cols:
                raise errors.invalid_parameter(
                    "numerators",
                    owner,
                    "a mapping whose keys are checked value columns (not count columns)",
                    col,
                    f"Checked value columns: {value_cols}.",
                )
            if (
                isinstance(s, bool)
                or not isinstance(s, int | float)
                or not np.isfinite(s)
                or s <= 0
            ):
                raise errors.invalid_parameter(
                    "numerators",
                    owner,
                    "a mapping to positive scales (1 shares, 100 percentages, 1000 per 1,000)",
                    {col: s},
                )
            out[col] = float(s)
        return out
    raise errors.invalid_parameter(
        "numerators", owner, "True, False or a mapping {column: scale}", numerators
    )


def _count_arrays(table: pd.DataFrame, plan: _Plan, owner: str) -> dict[str, np.ndarray]:
    """Validated person counts as float arrays (NaN where missing), per count column."""
    out: dict[str, np.ndarray] = {}
    for col in dict.fromkeys(plan.count_of.values()):
        series = table[col]
        if not _is_numeric(series):
            raise DataError(
                f"The count column {col!r} must hold integer person counts, but it has dtype "
                f"{series.dtype}. Convert it, or name another column in 'counts'."
            )
        arr = series.to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(arr)
        bad = present & ~(np.isfinite(arr) & (np.floor(arr) == arr))
        if bad.any():
            raise DataError(
                f"The count column {col!r} must hold whole numbers of persons; {int(bad.sum())} "
                f"row(s) do not:\n{errors.format_rows(table.loc[bad, [col]])}\n"
                "Pass the person counts, not weighted or averaged values."
            )
        neg = present & (arr < 0)
        if neg.any():
            raise DataError(
                f"The count column {col!r} holds negative person counts in {int(neg.sum())} "
                f"row(s):\n{errors.format_rows(table.loc[neg, [col]])}"
            )
        out[col] = arr
    for col, cnt in plan.count_of.items():
        orphan = table[col].notna().to_numpy() & np.isnan(out[cnt])
        if orphan.any():
            raise DataError(
                f"Column {col!r} has values whose person count {cnt!r} is missing, so they cannot "
                f"be checked ({int(orphan.sum())} row(s)):\n"
                f"{errors.format_rows(table.loc[orphan, [col, cnt]])}\n"
                f"Fill in {cnt!r} or set those values to missing."
            )
    return out


def _below(x: np.ndarray, k: int, zeros: bool) -> np.ndarray:
    """Persons in ``[1, k)`` (``[0, k)`` with ``zeros``); NaN is never below."""
    with np.errstate(invalid="ignore"):
        return (x < k) & ((x > 0) | zeros)


def _primary(
    table: pd.DataFrame, plan: _Plan, n_of: dict[str, np.ndarray], k: int, zeros: bool, owner: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Primary flags per checked column (-1 none, else reason code) and numerators."""
    codes: dict[str, np.ndarray] = {}
    numer: dict[str, np.ndarray] = {}
    for col, cnt in plan.count_of.items():
        n = n_of[cnt]
        present = table[col].notna().to_numpy()
        small = present & _below(n, k, zeros)
        code = np.full(len(table), -1, dtype=np.int8)
        code[small] = _COUNT
        if col in plan.scale:
            if not _is_numeric(table[col]):
                raise DataError(
                    f"The numerator rule needs numbers in {col!r}, but it has dtype "
                    f"{table[col].dtype}."
                )
            value = table[col].to_numpy(dtype=float, na_value=np.nan)
            x = np.rint(value * n / plan.scale[col])
            outside = present & ((x < 0) | (x > n))
            if outside.any():
                raise DataError(
                    f"Column {col!r} implies a numerator outside [0, {cnt}] (value * {cnt} / "
                    f"{plan.scale[col]:g}) in {int(outside.sum())} row(s):\n"
                    f"{errors.format_rows(table.loc[outside, [col, cnt]])}\n"
                    "Is it a percentage rather than a share? Set its scale in 'numerators'."
                )
            code[present & ~small & (_below(x, k, zeros) | _below(n - x, k, zeros))] = _NUMERATOR
            numer[col] = x
        codes[col] = code
    return codes, numer


# ---------------------------------------------------------------------------
# Additive structure and secondary suppression


def _structure_args(
    table: pd.DataFrame, groups: Any, total: Any, owner: str
) -> tuple[list[str], dict[str, Any]]:
    group_cols = _as_list(groups, "groups", owner) or []
    _need_columns(table, group_cols, "groups", owner)
    if total is None:
        totals: dict[str, Any] = {}
    elif isinstance(total, tuple) and len(total) == 2 and isinstance(total[0], str):
        totals = {total[0]: total[1]}
    elif isinstance(total, Mapping) and total and all(isinstance(c, str) for c in total):
        totals = dict(total)
    else:
        raise errors.invalid_parameter(
            "total",
            owner,
            "a (column, label) pair or a mapping {column: label}",
            total,
            "For example total=('kommune', 'I alt').",
        )
    _need_columns(table, list(totals), "total", owner)
    overlap = [c for c in totals if c in group_cols]
    if overlap:
        raise errors.invalid_parameter(
            "groups",
            owner,
            "columns other than the total columns",
            group_cols,
            f"{overlap} are total columns: the groups are what the totals are *not* summed over.",
        )
    for col, label in totals.items():
        if not table[col].eq(label).any():
            shown = ", ".join(map(repr, pd.unique(table[col])[:10]))
            raise DataError(
                f"No row has {col} == {label!r}, the total label given in 'total'. "
                f"Values of {col!r} include: {shown}."
            )
    return group_cols, totals


def _group_ids(table: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, int]:
    if not keys:
        return np.zeros(len(table), dtype=np.intp), 1
    ids = table.groupby(keys, dropna=False, sort=False).ngroup().to_numpy(dtype=np.intp)
    return ids, int(ids.max()) + 1 if ids.size else 0


@dataclass(frozen=True)
class _Relation:
    group: np.ndarray  # relation id of each row
    n_groups: int
    is_total: np.ndarray | None  # the total row of each relation; None: total published elsewhere


def _relations(
    table: pd.DataFrame, group_cols: list[str], totals: dict[str, Any]
) -> list[_Relation]:
    if not totals:
        if not group_cols:
            return []
        return [_Relation(*_group_ids(table, group_cols), None)]
    keys = [*group_cols, *totals]
    dup = table.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        raise DataError(
            f"Each cell must appear once, but {int(dup.sum())} rows share their {keys} values:\n"
            f"{errors.format_rows(table.loc[dup, keys])}\n"
            "Add the missing grouping column to 'groups' or aggregate the duplicates."
        )
    out = []
    for dim, label in totals.items():
        others = [*group_cols, *(t for t in totals if t != dim)]
        group, n_groups = _group_ids(table, others)
        is_total = table[dim].eq(label).to_numpy(dtype=bool, na_value=False)
        has_total = np.bincount(group, weights=is_total, minlength=n_groups) > 0
        if not has_total.all():
            lacking = ~has_total[group]
            raise DataError(
                f"Some groups have no total row ({dim} == {label!r}), so their parts do not add "
                f"up to anything in the table ({int(lacking.sum())} row(s)):\n"
                f"{errors.format_rows(table.loc[lacking, keys])}\n"
                "Add the total rows, or leave those groups out of 'total'."
            )
        out.append(_Relation(group, n_groups, is_total))
    return out


def _warn_non_additive(
    table: pd.DataFrame, plan: _Plan, n_of: dict[str, np.ndarray], relations: list[_Relation]
) -> None:
    for cnt in dict.fromkeys(plan.count_of.values()):
        n = n_of[cnt]
        for rel in relations:
            if rel.is_total is None:
                continue
            part = ~rel.is_total
            parts_sum = np.bincount(
                rel.group, weights=np.where(part, np.nan_to_num(n), 0.0), minlength=rel.n_groups
            )
            incomplete = (
                np.bincount(rel.group, weights=part & np.isnan(n), minlength=rel.n_groups) > 0
            )
            tot = np.full(rel.n_groups, np.nan)
            tot[rel.group[rel.is_total]] = n[rel.is_total]
            off = ~incomplete & ~np.isnan(tot) & (np.abs(parts_sum - tot) > 0.5)
            if off.any():
                warnings.warn(
                    f"In {int(off.sum())} group(s) the total of count column {cnt!r} differs "
                    "from the sum of its parts. Secondary suppression assumes total rows are "
                    "sums of their parts; check 'groups' and 'total'.",
                    AssumptionWarning,
                    stacklevel=3,
                )
                return


def _complement(
    masked: np.ndarray, available: np.ndarray, persons: np.ndarray, relations: list[_Relation]
) -> tuple[np.ndarray, int]:
    """Greedy complementary suppression for one column.

    Returns the cells added and the number of relations left with one masked
    cell (no candidate remained in them).
    """
    masked = masked.copy()
    available = available.copy()
    added = np.zeros_like(masked)
    position = np.arange(masked.size)
    empty = persons == 0
    changed = True
    while changed:
        changed = False
        for rel in relations:
            exposed = np.bincount(rel.group, weights=masked, minlength=rel.n_groups) == 1
            cand = np.flatnonzero(available & exposed[rel.group])
            if cand.size == 0:
                continue
            # Per relation, the candidate with fewest persons (empty cells last, then row order).
            order = np.lexsort((position[cand], persons[cand], empty[cand], rel.group[cand]))
            ranked = cand[order]
            grp = rel.group[ranked]
            pick = ranked[np.r_[True, grp[1:] != grp[:-1]]]
            masked[pick] = True
            available[pick] = False
            added[pick] = True
            changed = True
    n_open = sum(
        int((np.bincount(rel.group, weights=masked, minlength=rel.n_groups) == 1).sum())
        for rel in relations
    )
    return added, n_open
