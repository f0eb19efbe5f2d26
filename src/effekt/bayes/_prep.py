"""Data preparation for :class:`~effekt.bayes.HierarchicalDiD`: from tables to index arrays.

Everything here is plain numpy/pandas (no PyMC), so it is fast to test and the model
code only wires arrays together.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    format_rows,
    missing_column,
    show_value,
)
from effekt.panel import Ledger, Panel

__all__ = ["DiDData", "prepare_did", "treatment_cohorts"]

_IV_COLUMNS = ("area_id", "kind", "start_year")


def treatment_cohorts(
    interventions: pd.DataFrame, areas: pd.DataFrame, *, unit: str = "area_id"
) -> pd.DataFrame:
    """Each area's first year of each intervention kind, from an interventions table.

    Parameters
    ----------
    interventions : pandas.DataFrame
        Intervention spells in the shape of schema ``interventions``: at least
        ``area_id, kind, start_year``; kommune-wide spells (empty ``area_id``) also
        need ``kommune_code`` and count for every area of that kommune.
    areas : pandas.DataFrame
        The areas to assign cohorts to: ``unit`` and, if there are kommune-wide
        spells, ``kommune_code`` (e.g. ``world.areas`` or an ``area_year`` table).
    unit : str, default "area_id"
        Column of ``areas`` holding the area identifiers used in ``area_id``.

    Returns
    -------
    pandas.DataFrame
        One row per (area, kind) with at least one spell: ``unit, kind,
        first_treated`` (the earliest ``start_year``), sorted. Areas of ``areas``
        only; spells of other areas are ignored.

    Raises
    ------
    DataError
        Missing columns, or kommune-wide spells without ``kommune_code``.

    Examples
    --------
    >>> import pandas as pd
    >>> from effekt.bayes import treatment_cohorts
    >>> iv = pd.DataFrame({"area_id": ["a", None, "a"], "kommune_code": [101, 101, 101],
    ...                    "kind": ["lbf", "cafe", "lbf"], "start_year": [2010, 2012, 2008]})
    >>> areas = pd.DataFrame({"area_id": ["a", "b"], "kommune_code": [101, 101]})
    >>> print(treatment_cohorts(iv, areas))
      area_id  kind  first_treated
    0       a  cafe           2012
    1       a   lbf           2008
    2       b  cafe           2012
    """
    owner = "treatment_cohorts"
    if not isinstance(interventions, pd.DataFrame):
        raise DataError(
            f"{owner} needs the interventions as a pandas DataFrame; got "
            f"{type(interventions).__name__}."
        )
    for col in _IV_COLUMNS:
        if col not in interventions.columns:
            raise missing_column("interventions", owner, col, list(interventions.columns))
    if unit not in areas.columns:
        raise missing_column("unit", owner, unit, list(areas.columns))
    iv = interventions.loc[:, [c for c in (*_IV_COLUMNS, "kommune_code") if c in interventions]]
    if iv["kind"].isna().any() or iv["start_year"].isna().any():
        bad = iv["kind"].isna() | iv["start_year"].isna()
        raise DataError(
            f"{int(bad.sum())} intervention spell(s) have no kind or no start_year; every spell "
            f"needs both. First offending rows:\n{format_rows(interventions.loc[bad])}"
        )
    area_level = iv[iv["area_id"].notna()]
    parts = [
        pd.DataFrame(
            {
                unit: area_level["area_id"].astype(str).to_numpy(),
                "kind": area_level["kind"].astype(str).to_numpy(),
                "first_treated": area_level["start_year"].to_numpy(dtype=np.int64),
            }
        )
    ]
    wide = iv[iv["area_id"].isna()]
    if len(wide):
        if "kommune_code" not in iv.columns or "kommune_code" not in areas.columns:
            raise DataError(
                f"{len(wide)} intervention spell(s) are kommune-wide (no area_id), so both the "
                "interventions and the area table need a 'kommune_code' column to assign them "
                "to the kommune's areas."
            )
        lookup = areas.loc[:, [unit, "kommune_code"]].drop_duplicates()
        joined = wide.drop(columns="area_id").merge(lookup, on="kommune_code", how="inner")
        parts.append(
            pd.DataFrame(
                {
                    unit: joined[unit].astype(str).to_numpy(),
                    "kind": joined["kind"].astype(str).to_numpy(),
                    "first_treated": joined["start_year"].to_numpy(dtype=np.int64),
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    long = long[long[unit].isin(set(areas[unit].astype(str)))]
    out = long.groupby([unit, "kind"], sort=True)["first_treated"].min().reset_index()
    out[unit] = out[unit].astype("str")
    out["kind"] = out["kind"].astype("str")
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class DiDData:
    """Arrays of one HierarchicalDiD fit (rows sorted by unit, then time)."""

    frame: pd.DataFrame  # unit, time, group, y, trials (validated rows)
    unit_idx: np.ndarray
    group_idx: np.ndarray
    time_idx: np.ndarray
    time_scaled: np.ndarray
    units: pd.Index
    groups: pd.Index
    times: pd.Index
    kinds: list[str]
    cohorts: pd.DataFrame  # unit, kind, first_treated (modelled, treated in the window)
    # post-treatment pairs (row, kind): e >= 0
    post_row: np.ndarray
    post_kind: np.ndarray
    post_event: np.ndarray  # index into event_grid
    post_uk: np.ndarray  # index into unit-kind pairs
    post_cell: np.ndarray  # index into cells
    post_unit: np.ndarray
    event_grid: np.ndarray  # modelled post event times 0..L
    # lead pairs
    lead_row: np.ndarray
    lead_kind: np.ndarray
    lead_event: np.ndarray
    lead_cell: np.ndarray
    lead_grid: np.ndarray
    cells: pd.DataFrame  # kind, event_time, n_areas, n_pairs
    n_unit_kind: int
    mundlak_unit: np.ndarray  # per treated (unit, kind): the unit's index
    mundlak_col: np.ndarray  # and the index of its (kind, cohort) dummy
    mundlak_labels: list[str]
    moderators: np.ndarray  # n_units x n_moderators, standardised
    moderator_names: list[str]
    moderator_scale: np.ndarray
    moderator_centre: np.ndarray
    prev_row: np.ndarray  # previous row of the same unit, -1 if none
    gap: np.ndarray  # periods since that row (1 if none)
    y: np.ndarray
    trials: np.ndarray | None
    successes: np.ndarray | None
    ledger: Ledger
    fingerprint: str
    not_modelled: list[str]
    binned_after: int | None


def prepare_did(
    est: Any, data: pd.DataFrame, interventions: pd.DataFrame | None, owner: str
) -> DiDData:
    """Validate the inputs of HierarchicalDiD and build its index arrays."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{owner}.fit needs the area-year data as a pandas DataFrame; got "
            f"{type(data).__name__}. For a Panel, pass the frame it was built from."
        )
    unit, time, outcome, group = est.unit, est.time, est.outcome, est.group
    for name in ("unit", "time", "outcome", "group"):
        col = getattr(est, name)
        if col not in data.columns:
            raise missing_column(name, owner, col, list(data.columns))
    if group == unit:
        raise IdentificationError(
            f"The 'group' of {owner} is the unit column {unit!r}; areas must be nested in "
            "larger groups (e.g. group='kommune_code') for the group-level intercepts and trends."
        )
    moderators = list(est.moderators)
    for col in moderators:
        if col not in data.columns:
            raise missing_column("moderators", owner, col, list(data.columns))
    binomial = est.likelihood == "binomial"
    if binomial:
        _check_binomial_columns(data, est.trials, outcome, [unit, time], owner)
    if interventions is None:
        for name in ("kind", "cohort"):
            col = getattr(est, name)
            if col not in data.columns:
                raise missing_column(
                    name,
                    owner,
                    col,
                    list(data.columns),
                )
    covs = [*moderators, *([est.trials] if binomial else [])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DroppedRowsWarning)
        panel = Panel.from_frame(
            data,
            unit=unit,
            time=time,
            outcome=outcome,
            cluster=group,
            covariates=covs,
            cohort=est.cohort if interventions is None else None,
            never_treated=est.never_treated if interventions is None else None,
        )
    for w in caught:  # re-issued from here, so that users see their own call
        warnings.warn(str(w.message), w.category, stacklevel=4)
    frame = panel._data
    if pd.api.types.is_datetime64_any_dtype(frame[time]):
        raise DataError(
            f"{owner} needs integer periods (years) in {time!r}, not dates; event times are "
            "counted in whole periods. Convert the dates to years first."
        )
    ledger = panel.ledger

    # ------------------------------------------------------------ treatment timing
    if interventions is None:
        cohorts = _cohorts_from_frame(data, panel, est.kind, owner)
    else:
        cohorts = treatment_cohorts(
            interventions, data.assign(**{unit: data[unit].astype(str)}), unit=unit
        ).rename(columns={unit: "unit"})
        cohorts = cohorts[cohorts["unit"].isin(set(frame[unit].astype(str)))]
    cohorts = cohorts.assign(unit=cohorts["unit"].astype(str))
    frame = frame.assign(**{unit: frame[unit].astype(str)})

    first = frame.groupby(unit, sort=True)[time].min()
    last_period = int(frame[time].max())
    # a cohort after the window is not (yet) treated in these data
    cohorts = cohorts[cohorts["first_treated"] <= last_period]
    found = sorted(cohorts["kind"].unique())
    if est.kinds is None:
        kinds = found
    else:
        kinds = list(est.kinds)
        empty = [k for k in kinds if k not in found]
        if empty:
            raise IdentificationError(
                f"{owner}: kind(s) {empty} have no treated area in the data (no area starts "
                f"them by {last_period}); a kind's effect cannot be estimated without treated "
                f"areas. Kinds with treated areas: {found}. Drop the others from 'kinds'."
            )
    not_modelled = [k for k in found if k not in kinds]
    cohorts = cohorts[cohorts["kind"].isin(kinds)]
    if not len(kinds):
        raise IdentificationError(
            f"{owner}: no area is treated in the data, so there is no effect to estimate. "
            "Check the cohort/kind columns or the interventions table."
        )

    # areas treated from their first observed period have no pre-treatment period
    always = cohorts[cohorts["first_treated"] <= cohorts["unit"].map(first).to_numpy()]
    if len(always):
        drop_units = sorted(always["unit"].unique())
        dropped = frame[frame[unit].isin(drop_units)]
        reason = always.groupby("unit")["kind"].agg(lambda s: ", ".join(sorted(s)))
        entries = pd.DataFrame(
            {
                "row": dropped.index.to_numpy(),
                "unit": dropped[unit].to_numpy(),
                "time": dropped[time].to_numpy(),
                "reason": [
                    f"treated by {reason[u]} from its first period (no pre-treatment period)"
                    for u in dropped[unit]
                ],
            }
        )
        ledger = ledger.extend(entries)
        warnings.warn(
            f"{owner}: dropped {len(drop_units)} area(s) ({len(dropped)} rows) treated from "
            f"their first observed period, e.g. {drop_units[:3]}: without a pre-treatment "
            "period their level and their effect cannot be told apart. See result.ledger.",
            DroppedRowsWarning,
            stacklevel=4,
        )
        frame = frame[~frame[unit].isin(drop_units)]
        cohorts = cohorts[~cohorts["unit"].isin(drop_units)]
        left = set(cohorts["kind"])
        gone = [k for k in kinds if k not in left]
        if gone:
            raise IdentificationError(
                f"{owner}: every treated area of kind(s) {gone} is treated from its first "
                "observed period; add earlier years or leave the kind out of 'kinds'."
            )
    frame = frame.reset_index(drop=True)

    groups_found = frame[group].nunique()
    if groups_found < 2:
        raise IdentificationError(
            f"{owner} needs areas in at least two groups ({group!r}), to pool the group "
            f"intercepts and trends; the data have {groups_found} "
            f"({show_value(frame[group].unique().tolist())}). For a single kommune, give "
            "group a column of sub-groups or use a DiD estimator from effekt.did."
        )

    # ------------------------------------------------------------ indices
    units = pd.Index(sorted(frame[unit].unique()))
    unit_idx = units.get_indexer(frame[unit])
    groups = pd.Index(sorted(frame[group].unique()))
    group_idx = groups.get_indexer(frame[group])
    times = pd.Index(sorted(frame[time].unique()))
    time_idx = times.get_indexer(frame[time])
    t = frame[time].to_numpy(dtype=float)
    span = float(times.max() - times.min()) or 1.0
    time_scaled = (t - (times.min() + times.max()) / 2.0) / span

    kind_pos = {k: i for i, k in enumerate(kinds)}
    cohorts = cohorts.sort_values(["unit", "kind"]).reset_index(drop=True)
    cohorts = cohorts.assign(
        uk=np.arange(len(cohorts)), kind_idx=cohorts["kind"].map(kind_pos).to_numpy()
    )
    rows = pd.DataFrame({"row": np.arange(len(frame)), "unit": frame[unit].to_numpy(), "t": t})
    pairs = rows.merge(cohorts, on="unit", how="inner")
    pairs["e"] = (pairs["t"] - pairs["first_treated"]).astype(np.int64)
    post = pairs[pairs["e"] >= 0]
    n_leads = int(est.leads)
    lead = pairs[(pairs["e"] <= -2) & (pairs["e"] >= -n_leads)]

    max_e = int(post["e"].max())
    binned_after: int | None = None
    if est.lags is not None and est.lags < max_e:
        top = int(est.lags)
        binned_after = top
    else:
        top = max_e
    event_grid = np.arange(top + 1)
    lead_grid = np.arange(-n_leads, -1) if n_leads >= 2 else np.zeros(0, np.int64)

    cell_keys = pd.concat(
        [post[["kind_idx", "e"]], lead[["kind_idx", "e"]]], ignore_index=True
    ).drop_duplicates()
    cell_keys = cell_keys.sort_values(["kind_idx", "e"]).reset_index(drop=True)
    cell_index = pd.MultiIndex.from_frame(cell_keys)
    post_cell = cell_index.get_indexer(pd.MultiIndex.from_frame(post[["kind_idx", "e"]]))
    lead_cell = cell_index.get_indexer(pd.MultiIndex.from_frame(lead[["kind_idx", "e"]]))
    all_pairs = pd.concat([post, lead], ignore_index=True)
    counts = all_pairs.groupby(["kind_idx", "e"]).agg(
        n_areas=("unit", "nunique"), n_pairs=("row", "size")
    )
    cells = pd.DataFrame(
        {
            "kind": [kinds[i] for i in cell_keys["kind_idx"]],
            "event_time": cell_keys["e"].to_numpy(dtype=np.int64),
            "n_areas": counts.loc[cell_index, "n_areas"].to_numpy(),
        }
    )

    # every period needs some untreated area-year, or its effect is the treatment's
    untreated = np.ones(len(frame), bool)
    untreated[post["row"].to_numpy()] = False
    covered = pd.Series(untreated).groupby(frame[time].to_numpy()).any()
    if not covered.all():
        bad = covered.index[~covered].tolist()
        raise IdentificationError(
            f"{owner}: in period(s) {bad} every area is already treated by a modelled kind, "
            "so those periods' common effect cannot be told apart from the treatment effects. "
            "Add never-treated or later-treated areas, or drop those periods."
        )

    # correlated random effects (Mundlak 1978; Wooldridge 2021): the area intercepts get a
    # mean by treatment cohort, so that shrinkage cannot pull treated areas' levels toward
    # untreated ones and leak selection into the effects
    cohort_label = cohorts["kind"] + "@" + cohorts["first_treated"].astype(str)
    mundlak_labels = sorted(cohort_label.unique())
    mundlak_unit = units.get_indexer(pd.Index(cohorts["unit"]))
    mundlak_col = pd.Index(mundlak_labels).get_indexer(pd.Index(cohort_label))

    mods, centre, scale = _moderators(frame, unit, units, moderators, cohorts, owner)

    prev_row = np.arange(len(frame)) - 1
    same = np.zeros(len(frame), bool)
    same[1:] = unit_idx[1:] == unit_idx[:-1]
    prev_row = np.where(same, prev_row, -1)
    gap = np.ones(len(frame), np.int64)
    tt = frame[time].to_numpy(dtype=np.int64)
    gap[same] = (tt[1:] - tt[:-1])[same[1:]]

    y = frame[outcome].to_numpy(dtype=float)
    trials = successes = None
    if binomial:
        trials, successes = _binomial_counts(frame, est.trials, outcome, [unit, time], owner)

    h = hashlib.sha256(panel.fingerprint.encode())
    h.update(
        pd.util.hash_pandas_object(cohorts[["unit", "kind", "first_treated"]], index=False)
        .to_numpy()
        .tobytes()
    )
    return DiDData(
        frame=frame,
        unit_idx=unit_idx,
        group_idx=group_idx,
        time_idx=time_idx,
        time_scaled=time_scaled,
        units=units,
        groups=groups,
        times=times,
        kinds=kinds,
        cohorts=cohorts[["unit", "kind", "first_treated"]],
        post_row=post["row"].to_numpy(),
        post_kind=post["kind_idx"].to_numpy(),
        post_event=np.minimum(post["e"].to_numpy(), top),
        post_uk=post["uk"].to_numpy(),
        post_cell=post_cell,
        post_unit=units.get_indexer(post["unit"]),
        event_grid=event_grid,
        lead_row=lead["row"].to_numpy(),
        lead_kind=lead["kind_idx"].to_numpy(),
        lead_event=(lead["e"].to_numpy() + n_leads).astype(np.int64),
        lead_cell=lead_cell,
        lead_grid=lead_grid,
        cells=cells,
        n_unit_kind=len(cohorts),
        mundlak_unit=mundlak_unit,
        mundlak_col=mundlak_col,
        mundlak_labels=mundlak_labels,
        moderators=mods,
        moderator_names=moderators,
        moderator_scale=scale,
        moderator_centre=centre,
        prev_row=prev_row,
        gap=gap,
        y=y,
        trials=trials,
        successes=successes,
        ledger=ledger,
        fingerprint=h.hexdigest()[:16],
        not_modelled=not_modelled,
        binned_after=binned_after,
    )


def _cohorts_from_frame(data: pd.DataFrame, panel: Panel, kind: str, owner: str) -> pd.DataFrame:
    unit = panel.unit
    per_unit = panel._data.groupby(unit, sort=True)[str(panel.cohort)].first()
    kinds = data.loc[:, [unit, kind]].dropna().drop_duplicates()
    varying = kinds[unit][kinds[unit].duplicated()].unique()
    if len(varying):
        rows = data.loc[data[unit].isin(varying[:3]), [unit, kind]].drop_duplicates()
        raise DataError(
            f"The 'kind' column {kind!r} varies within {len(varying)} area(s), e.g. "
            f"{list(varying[:3])}; it must name the one kind of each treated area's cohort:\n"
            f"{format_rows(rows)}\nFor areas with several kinds, pass the spells as "
            "fit(..., interventions=...) instead."
        )
    treated = per_unit[np.isfinite(per_unit.to_numpy(dtype=float))]
    kind_of = kinds.set_index(unit)[kind]
    missing = [u for u in treated.index if u not in kind_of.index]
    if missing:
        rows = data.loc[data[unit].isin(missing[:3]), [unit, kind]].head()
        raise DataError(
            f"{len(missing)} treated area(s) have no value in the 'kind' column {kind!r}, e.g. "
            f"{missing[:3]}; every treated area's cohort needs its intervention kind:\n"
            f"{format_rows(rows)}"
        )
    return pd.DataFrame(
        {
            "unit": treated.index.astype(str),
            "kind": kind_of.loc[treated.index].astype(str).to_numpy(),
            "first_treated": treated.to_numpy(dtype=np.int64),
        }
    )


def _moderators(
    frame: pd.DataFrame,
    unit: str,
    units: pd.Index,
    names: Sequence[str],
    cohorts: pd.DataFrame,
    owner: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(units)
    if not names:
        return np.zeros((n, 0)), np.zeros(0), np.ones(0)
    out = np.zeros((n, len(names)))
    centre = np.zeros(len(names))
    scale = np.ones(len(names))
    treated = units.get_indexer(pd.Index(cohorts["unit"].unique()))
    for j, col in enumerate(names):
        spread = frame.groupby(unit)[col].agg(["min", "max"])
        varying = spread.index[spread["min"] != spread["max"]]
        if len(varying):
            raise DataError(
                f"The moderator {col!r} of {owner} varies within {len(varying)} area(s), e.g. "
                f"{list(varying[:3])}; moderators are area-level. Use a baseline value, e.g. "
                f"df[{col!r}] = df.groupby(unit)[{col!r}].transform('first')."
            )
        values = spread["min"].reindex(units).to_numpy(dtype=float)
        ref = values[treated]
        sd = float(ref.std())
        if not sd > 0:
            raise DataError(
                f"The moderator {col!r} of {owner} is constant over the treated areas "
                f"({show_value(float(ref[0]))}); it cannot moderate anything. Drop it."
            )
        centre[j], scale[j] = float(ref.mean()), sd
        out[:, j] = (values - centre[j]) / sd
    return out, centre, scale


def _check_binomial_columns(
    data: pd.DataFrame, trials: str | None, outcome: str, keys: list[str], owner: str
) -> None:
    if trials is None:
        raise DataError(
            f"likelihood='binomial' in {owner} needs the persons each share rests on: pass "
            "trials=... naming the denominator column (e.g. trials='pop_15_24' for neet_share)."
        )
    if trials not in data.columns:
        raise missing_column("trials", owner, trials, list(data.columns))
    gaps = data[trials].isna() & data[outcome].notna()
    if gaps.any():
        raise DataError(
            f"The population counts in {trials!r} are missing in {int(gaps.sum())} row(s) "
            f"with an outcome; the binomial likelihood needs every count. First offending "
            f"rows:\n{format_rows(data.loc[gaps, [*keys, outcome, trials]])}\nFill them from "
            "the registers, or use likelihood='gaussian'."
        )


def _binomial_counts(
    frame: pd.DataFrame, trials: str, outcome: str, keys: list[str], owner: str
) -> tuple[np.ndarray, np.ndarray]:
    y = frame[outcome].to_numpy(dtype=float)
    n = frame[trials].to_numpy(dtype=float)
    outside = (y < 0) | (y > 1)
    if outside.any():
        raise DataError(
            f"likelihood='binomial' in {owner} needs a share in [0, 1], but {outcome!r} has "
            f"{int(outside.sum())} value(s) outside it. First offending rows:\n"
            f"{format_rows(frame.loc[outside, [*keys, outcome]])}\nFor rates per 1,000, divide "
            "by 1,000 first; for other outcomes use likelihood='gaussian'."
        )
    bad_n = (n < 0) | (n != np.round(n))
    if bad_n.any():
        raise DataError(
            f"The trials column {trials!r} must hold whole, non-negative person counts; "
            f"{int(bad_n.sum())} row(s) do not. First offending rows:\n"
            f"{format_rows(frame.loc[bad_n, [*keys, trials]])}"
        )
    k = y * n
    off = np.abs(k - np.round(k)) > 0.05
    if off.any():
        raise DataError(
            f"share x trials is not a whole number of persons in {int(off.sum())} row(s) "
            f"({outcome!r} x {trials!r}); is {trials!r} the share's denominator? First "
            f"offending rows:\n{format_rows(frame.loc[off, [*keys, outcome, trials]])}"
        )
    return n.astype(np.int64), np.round(k).astype(np.int64)
