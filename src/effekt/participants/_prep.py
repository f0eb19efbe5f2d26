"""From a participant table and person-year register data to matched-design records.

One record per (person, start cohort): every participant once, at its own start
year, and every never-participant once for each start cohort in which it could be a
comparison (it has a record in that cohort's base year and its whole follow-up).
Covariates are read in the base year (the last year before the start), the outcome
in the base year and each follow-up year.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    format_rows,
    missing_column,
)
from effekt.panel import Ledger

__all__ = ["Records", "build_records"]


@dataclass(frozen=True)
class Records:
    """The stacked design: participants and comparison records by start cohort."""

    person: np.ndarray  # person id (object)
    cohort: np.ndarray  # start year (int)
    treated: np.ndarray  # bool
    x: np.ndarray  # covariates in the base year (n, k)
    exact: np.ndarray  # exact-match cell codes (int), cohort included
    cluster: np.ndarray  # cluster codes for the bootstrap (int)
    level: np.ndarray  # outcome in each follow-up year (n, F+1)
    change: np.ndarray  # outcome change from the base year (n, F+1)
    event_times: np.ndarray  # 0..F
    ledger: Ledger
    fingerprint: str


def _year_of(values: pd.Series, argument: str, owner: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year.to_numpy(dtype=np.int64)
    num = pd.to_numeric(values, errors="coerce")
    bad = num.isna() | (num != np.round(num))
    if bad.any():
        raise DataError(
            f"The {argument!r} column of {owner} must hold start years (integers) or dates. "
            f"Offending rows:\n{format_rows(values[bad].to_frame())}"
        )
    return num.to_numpy(dtype=np.int64)


def build_records(
    participants: pd.DataFrame,
    person_years: pd.DataFrame,
    *,
    owner: str,
    person: str,
    time: str,
    start: str,
    outcome: str,
    covariates: Sequence[str],
    exact: Sequence[str],
    cluster: str | None,
    follow_up: int,
) -> Records:
    """Validate the two tables and build the stacked :class:`Records` (copies only)."""
    if not isinstance(participants, pd.DataFrame):
        raise DataError(
            f"The 'participants' argument of {owner} must be a DataFrame; "
            f"got {type(participants).__name__}."
        )
    if not isinstance(person_years, pd.DataFrame):
        raise DataError(
            f"The 'person_years' argument of {owner} must be a DataFrame; "
            f"got {type(person_years).__name__}."
        )
    for arg, col in (("person", person), ("start", start)):
        if col not in participants.columns:
            raise missing_column(arg, owner, col, list(participants.columns))
    roles = [("person", person), ("time", time), ("outcome", outcome)]
    roles += [("covariates", c) for c in covariates] + [("exact", c) for c in exact]
    if cluster is not None:
        roles.append(("cluster", cluster))
    for arg, col in roles:
        if col not in person_years.columns:
            raise missing_column(arg, owner, col, list(person_years.columns))
    if len(participants) == 0:
        raise IdentificationError(
            f"The 'participants' table of {owner} has no rows: there is nobody to follow. "
            "Pass the persons who took part, with their start year."
        )
    dup = participants[person].duplicated(keep=False)
    if dup.any():
        raise DataError(
            f"The 'participants' table of {owner} lists a person more than once (column "
            f"{person!r}); keep one row per person, with the first start.\n"
            f"{format_rows(participants.loc[dup, [person, start]])}"
        )
    starts = _year_of(participants[start], "start", owner)
    part = pd.Series(starts, index=participants[person].to_numpy())

    extra = [] if cluster is None else [cluster]
    cols = list(dict.fromkeys([person, time, outcome, *covariates, *exact, *extra]))
    py = person_years.loc[:, cols].copy()
    py[time] = _year_of(py[time], "time", owner)
    dup_py = py.duplicated([person, time], keep=False)
    if dup_py.any():
        raise DataError(
            f"The 'person_years' table of {owner} has more than one row for some "
            f"({person}, {time}); keep one row per person and year.\n"
            f"{format_rows(py.loc[dup_py, [person, time]])}"
        )
    for c in covariates:
        if not pd.api.types.is_numeric_dtype(py[c]) and not pd.api.types.is_bool_dtype(py[c]):
            raise DataError(
                f"Covariate {c!r} (argument 'covariates' of {owner}) is not numeric "
                f"(dtype {py[c].dtype}); encode categories as 0/1 indicator columns."
            )
    outcome_values = pd.to_numeric(py[outcome], errors="coerce").astype(float)
    pyi = py.set_index([person, time])
    y_wide = outcome_values.set_axis(pyi.index).unstack(time)
    years = np.asarray(y_wide.columns, dtype=np.int64)
    ids = y_wide.index.to_numpy()
    pos = pd.Series(np.arange(len(ids)), index=ids)
    ymat = y_wide.to_numpy(dtype=float)
    event_times = np.arange(follow_up + 1)

    ledger_rows: list[dict[str, object]] = []
    persons: list[np.ndarray] = []
    cohorts: list[np.ndarray] = []
    treated: list[np.ndarray] = []
    is_participant = np.isin(ids, part.index.to_numpy())
    in_data = part.index.isin(ids)
    for pid, first in part[~in_data].items():
        ledger_rows.append(
            {"row": pid, "unit": pid, "time": first, "reason": "participant not in person_years"}
        )
    levels: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    for s in np.unique(starts):
        base = s - 1
        need = np.concatenate([[base], s + event_times])
        where = np.searchsorted(years, need)
        present = (where < len(years)) & (years[np.minimum(where, len(years) - 1)] == need)
        block = np.full((len(ids), len(need)), np.nan)
        block[:, present] = ymat[:, where[present]]
        complete = np.isfinite(block).all(axis=1)
        p_here = part.index[(part.to_numpy() == s) & in_data].to_numpy()
        p_pos = np.sort(pos[p_here].to_numpy())  # row order of the caller never matters
        p_here = ids[p_pos]
        ok = complete[p_pos]
        for pid in p_here[~ok]:
            ledger_rows.append(
                {
                    "row": pid,
                    "unit": pid,
                    "time": int(s),
                    "reason": "participant without outcome in the base year or a follow-up year",
                }
            )
        if not ok.any():  # a cohort without participants needs no comparisons
            continue
        c_pos = np.flatnonzero(complete & ~is_participant)
        use = np.concatenate([p_pos[ok], c_pos])
        persons.append(ids[use])
        cohorts.append(np.full(len(use), s, np.int64))
        treated.append(np.r_[np.ones(ok.sum(), bool), np.zeros(len(c_pos), bool)])
        levels.append(block[use, 1:])
        changes.append(block[use, 1:] - block[use, :1])
    ledger = Ledger.empty().extend(
        pd.DataFrame(ledger_rows, columns=["row", "unit", "time", "reason"])
    )
    if ledger_rows:
        reasons = "; ".join(f"{n} {reason}" for reason, n in ledger.counts().items())
        warnings.warn(
            f"{owner}: {len(ledger_rows)} participant(s) dropped ({reasons}); see result.ledger.",
            DroppedRowsWarning,
            stacklevel=4,
        )
    if not persons:
        raise IdentificationError(
            f"No participant of {owner} has the outcome {outcome!r} in the base year "
            f"(start - 1) and all {follow_up + 1} follow-up years; lower 'follow_up' or "
            "check the years in 'person_years'."
        )
    person_arr = np.concatenate(persons)
    cohort_arr = np.concatenate(cohorts)
    treated_arr = np.concatenate(treated)
    if not treated_arr.any():
        raise IdentificationError(
            f"No participant of {owner} has the outcome {outcome!r} in the base year "
            f"(start - 1) and all {follow_up + 1} follow-up years; lower 'follow_up' or "
            "check the years in 'person_years'."
        )
    base_idx = pd.MultiIndex.from_arrays([person_arr, cohort_arr - 1])
    base_rows = pyi.reindex(base_idx)
    x = (
        base_rows.loc[:, list(covariates)].to_numpy(dtype=float)
        if covariates
        else np.empty((len(person_arr), 0))
    )
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        shown = base_rows.iloc[np.flatnonzero(bad)][list(covariates)].reset_index()
        shown.columns = [person, time, *covariates]
        raise DataError(
            f"The covariates of {owner} (argument 'covariates') have missing or non-finite "
            f"values in the base year of {int(bad.sum())} record(s) "
            f"({int((bad & treated_arr).sum())} participant(s)); impute or drop them, or "
            f"remove the covariate.\n{format_rows(shown)}"
        )
    cell_cols = [cohort_arr] + [base_rows[c].to_numpy() for c in exact]
    cells = pd.DataFrame({f"c{i}": v for i, v in enumerate(cell_cols)})
    if cells.isna().any().any():
        raise DataError(
            f"The 'exact' columns {list(exact)} of {owner} have missing values in the base year."
        )
    exact_codes = cells.groupby(list(cells.columns), sort=True).ngroup().to_numpy(np.int64)
    if cluster is not None:
        cl = base_rows[cluster].to_numpy()
        if pd.isna(cl).any():
            raise DataError(
                f"The 'cluster' column {cluster!r} of {owner} is missing in the base year of "
                f"{int(pd.isna(cl).sum())} record(s)."
            )
        cluster_codes = pd.factorize(pd.Series(cl).astype(str), sort=True)[0]
    else:
        cluster_codes = pd.factorize(pd.Series(person_arr).astype(str), sort=True)[0]
    h = pd.util.hash_pandas_object(
        pd.DataFrame({"p": person_arr.astype(str), "c": cohort_arr, "t": treated_arr}), index=False
    ).to_numpy()
    h2 = pd.util.hash_array(np.ascontiguousarray(np.c_[x, np.concatenate(changes)]).ravel())
    import hashlib

    fp = hashlib.sha256(np.sort(h).tobytes() + np.sort(h2).tobytes()).hexdigest()[:16]
    return Records(
        person=person_arr,
        cohort=cohort_arr,
        treated=treated_arr,
        x=x,
        exact=exact_codes,
        cluster=np.asarray(cluster_codes, np.int64),
        level=np.concatenate(levels),
        change=np.concatenate(changes),
        event_times=event_times,
        ledger=ledger,
        fingerprint=fp,
    )
