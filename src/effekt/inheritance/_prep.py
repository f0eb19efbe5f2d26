"""Checks of the children table and the rows the inheritance designs drop (internal)."""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    check_choice,
    invalid_parameter,
    missing_column,
)
from effekt.panel import Ledger
from effekt.registers import codes

DISADVANTAGED = ("basic_education", "no_work", "either")


def check_window(window: Any, owner: str) -> tuple[int, int]:
    ok = (
        isinstance(window, tuple | list)
        and len(window) == 2
        and all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in window)
        and 0 <= window[0] <= window[1] <= 25
    )
    if not ok:
        raise invalid_parameter(
            "window", owner, "two integer ages (first, last) with 0 <= first <= last <= 25", window
        )
    return int(window[0]), int(window[1])


def prepare(
    children: Any, *, outcome: str, disadvantaged: str, owner: str, extra: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, Ledger]:
    """The children with a background and an observed outcome; the others in a ledger.

    Returns a new frame with ``y`` (the outcome, float) and ``dis`` (1 for children of
    disadvantaged parents, 0 for the others) added; the caller's frame is not changed.
    """
    if not isinstance(children, pd.DataFrame):
        raise invalid_parameter(
            "children", owner, "a DataFrame (schema children, effekt.registers.children)", children
        )
    check_choice("disadvantaged", owner, disadvantaged, DISADVANTAGED)
    need_parent = {
        "basic_education": ("parents_education",),
        "no_work": ("parents_employed",),
        "either": ("parents_education", "parents_employed"),
    }[disadvantaged]
    absent = [c for c in need_parent if c not in children.columns]
    if absent:
        raise DataError(
            f"{owner} compares children by their parents' background, but the children table "
            f"has no {absent[0]!r} column (no parent link). Build the table with "
            "effekt.registers.children(...) from registers whose bef has MOR_PNR/FAR_PNR, or "
            "add the parents' background yourself."
        )
    for col in ("person_id", "birth_year", "area_id", *extra):
        if col not in children.columns:
            raise missing_column("children", owner, col, list(children.columns))
    if not isinstance(outcome, str) or outcome not in children.columns:
        known = [c for c in codes.CHILD_OUTCOMES if c in children.columns]
        raise invalid_parameter("outcome", owner, f"a column of children, e.g. {known}", outcome)
    y = pd.to_numeric(children[outcome], errors="coerce").astype(float)
    if not y.notna().any():
        rule = codes.CHILD_OUTCOMES.get(outcome)
        age = f" (it needs the child observed up to age {rule[2]})" if rule else ""
        last = int(children["birth_year"].max())
        raise DataError(
            f"The outcome {outcome!r} is observed for no child{age}: the children are too young "
            f"or not in the registers at that age (the youngest cohort is {last}). Choose an "
            "outcome at a younger age (e.g. 'charged_by_18') or registers reaching later years."
        )
    edu = children.get("parents_education")
    emp = children.get("parents_employed")
    if disadvantaged == "basic_education":
        assert edu is not None
        dis = (edu == "basic").astype("boolean").where(edu.notna())
    elif disadvantaged == "no_work":
        assert emp is not None
        dis = (~emp.astype("boolean")).where(emp.notna())
    else:
        assert edu is not None and emp is not None
        dis = ((edu == "basic") | ~emp.astype("boolean")).where(edu.notna() & emp.notna())
    no_parent = dis.isna().to_numpy()
    unobserved = ~no_parent & y.isna().to_numpy()
    no_area = ~no_parent & ~unobserved & children["area_id"].isna().to_numpy()
    keep = ~(no_parent | unobserved | no_area)
    ledger = Ledger.empty()
    for mask, reason in (
        (no_parent, "no parent in the registers (no background)"),
        (unobserved, f"{outcome} not observed (too young or not in the registers)"),
        (no_area, "no childhood area"),
    ):
        if mask.any():
            ledger = ledger.extend(
                pd.DataFrame(
                    {
                        "row": children.index[mask],
                        "unit": children["person_id"].to_numpy()[mask],
                        "time": children["birth_year"].to_numpy()[mask],
                        "reason": reason,
                    }
                )
            )
    out = children.loc[keep].copy()
    out["y"] = y[keep].to_numpy()
    out["dis"] = dis[keep].astype(float).to_numpy()
    if not ((out["dis"] == 1).any() and (out["dis"] == 0).any()):
        raise IdentificationError(
            f"{owner} needs children of disadvantaged ({disadvantaged}) and of other parents, "
            f"but among the {len(out):,} usable children all are in one group. Check the "
            "parents' background columns or choose another 'disadvantaged' definition."
        )
    return out, ledger


def ledger_rows(frame: pd.DataFrame, mask: np.ndarray, reason: str) -> pd.DataFrame:
    """Ledger entries for the rows ``mask`` of a prepared children frame."""
    return pd.DataFrame(
        {
            "row": frame.index[mask],
            "unit": frame["person_id"].to_numpy()[mask],
            "time": frame["birth_year"].to_numpy()[mask],
            "reason": reason,
        }
    )


def warn_dropped(ledger: Ledger, n_total: int, owner: str) -> None:
    """One DroppedRowsWarning for everything a fit left out."""
    if len(ledger):
        warnings.warn(
            f"{owner}: {ledger.describe(n_total)} They are in result.ledger.",
            DroppedRowsWarning,
            stacklevel=3,
        )


def fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of the data fitted (for provenance)."""
    h = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha1(h.tobytes()).hexdigest()[:12]


def cluster_cov(
    x: np.ndarray, resid: np.ndarray, w: np.ndarray, groups: np.ndarray, bread: np.ndarray
) -> np.ndarray:
    """The raw cluster sandwich ``bread @ sum_g s_g s_g' @ bread`` (no small-sample factor)."""
    scores = x * (w * resid)[:, None]
    _, g = np.unique(groups, return_inverse=True)
    s = group_sums(g, scores, int(g.max()) + 1)
    return bread @ (s.T @ s) @ bread


def group_sums(codes: np.ndarray, a: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``a`` (n, p) by group code, shape (n_groups, p).

    One ``bincount`` per column: much faster than ``np.add.at`` on large arrays.
    """
    out = np.empty((n_groups, a.shape[1]))
    for j in range(a.shape[1]):  # loop over columns (few)
        out[:, j] = np.bincount(codes, weights=a[:, j], minlength=n_groups)
    return out
