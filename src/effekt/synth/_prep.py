"""From a :class:`~effekt.Panel` to the matrices synthetic control works on.

Predictor specification (shared by :class:`~effekt.synth.SyntheticControl` and
its placebos):

``predictors``
    Mapping ``column -> periods`` (or a sequence of ``(column, periods)`` pairs, or
    of bare column names). Each entry is **one** predictor: the unit's mean of
    ``column`` over the periods, ignoring missing values, as R Synth does.
    ``periods`` is a ``(first, last)`` tuple (inclusive window), a list of
    periods, or None (every pre-treatment period).
``special_predictors``
    Mapping ``column -> list of periods``: **one predictor per period** (the
    value in that period), typically lagged outcomes such as
    ``{"cigsale": [1975, 1980, 1988]}``. A ``(first, last)`` tuple inside the
    list is one predictor averaged over that window.

Without either, the predictors are the outcome in every pre-treatment period.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    ParameterError,
    format_rows,
    invalid_parameter,
    missing_column,
    show_value,
)

if TYPE_CHECKING:  # pragma: no cover
    from effekt.panel import Ledger, Panel


@dataclass(frozen=True)
class PredictorSpec:
    """One predictor row: ``column`` averaged over ``periods``."""

    column: str
    periods: tuple[Any, ...]
    label: str


@dataclass
class SynthData:
    """Wide matrices for one treated unit and its donor pool."""

    treated: Any
    donors: list[Any]
    periods: np.ndarray  # all periods of the panel, sorted
    treatment_time: Any
    y1: np.ndarray  # (T,) treated outcome
    y0: np.ndarray  # (T, J) donor outcomes
    x1: np.ndarray  # (K,) raw predictors of the treated unit
    x0: np.ndarray  # (K, J) raw donor predictors
    predictors: list[PredictorSpec]
    loss_mask: np.ndarray  # (T,) periods whose outcome MSPE the V search minimises
    ledger: Ledger

    @property
    def pre(self) -> np.ndarray:
        return self.periods < self.treatment_time

    @property
    def post(self) -> np.ndarray:
        return ~self.pre


def outcome_wide(panel: Panel) -> pd.DataFrame:
    """Units x periods outcome matrix (NaN where a unit is not observed)."""
    data = panel._data
    return data.pivot(index=panel.unit, columns=panel.time, values=panel.outcome)


def cohorts(panel: Panel) -> pd.Series:
    """First treated period per unit (``inf``/NaT for never treated); empty without treatment."""
    if panel.cohort is None:
        return pd.Series(dtype=float)
    return panel._data.groupby(panel.unit, sort=True)[panel.cohort].first()


def resolve_treated(panel: Panel, treated: Any, owner: str) -> list[Any]:
    """The treated unit labels: the given one(s), or the panel's treated units."""
    units = panel._data[panel.unit].unique()
    if treated is None:
        g = cohorts(panel)
        if g.empty:
            raise IdentificationError(
                f"{owner} needs to know the treated unit: pass treated=<unit label>, or build the "
                "panel with treatment=... or cohort=... so the treated units can be read from it."
            )
        finite = g[_is_finite(g)]
        if finite.empty:
            raise IdentificationError(
                f"{owner}: the panel marks no unit as treated; pass treated=<unit label>."
            )
        return list(finite.index)
    labels = (
        list(treated) if isinstance(treated, list | tuple | np.ndarray | pd.Index) else [treated]
    )
    if not labels:
        raise invalid_parameter("treated", owner, "a unit label or a non-empty list", treated)
    known = set(units.tolist())
    for label in labels:
        if label not in known:
            raise missing_unit("treated", owner, label, units)
    if len(set(labels)) != len(labels):
        raise invalid_parameter("treated", owner, "distinct unit labels", treated)
    return labels


def missing_unit(argument: str, owner: str, label: Any, units: Any) -> DataError:
    """Error for a unit label that the panel does not have."""
    shown = sorted(map(str, units))
    from difflib import get_close_matches

    close = get_close_matches(str(label), shown, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(repr(u) for u in shown[:15]) + (", ..." if len(shown) > 15 else "")
    return DataError(
        f"The {argument!r} argument of {owner} names unit {label!r}, which is not in the "
        f"panel.{hint} Units: {listed}."
    )


def _is_finite(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.notna().to_numpy()
    return np.isfinite(values.to_numpy(dtype=float))


def treatment_time_for(panel: Panel, treated: Any, treatment_time: Any, owner: str) -> Any:
    """The treated unit's first treated period: given, or read from the panel's cohort."""
    periods = panel.periods
    if treatment_time is None:
        g = cohorts(panel)
        value = g.get(treated) if not g.empty else None
        if value is None or not bool(_is_finite(pd.Series([value]))[0]):
            raise IdentificationError(
                f"{owner} needs the treatment time of unit {treated!r}: pass treatment_time=..., "
                "or build the panel with its treatment/cohort so it can be read from there."
            )
        treatment_time = value
        if isinstance(value, float) and value.is_integer():
            treatment_time = int(value)
    try:
        n_pre = int(np.sum(periods < treatment_time))
    except TypeError:
        raise invalid_parameter(
            "treatment_time",
            owner,
            f"a period like the panel's ({periods[0]!r}...)",
            treatment_time,
        ) from None
    if n_pre == 0 or n_pre == len(periods):
        raise IdentificationError(
            f"The treatment_time {show_value(treatment_time)} of {owner} lies outside the panel's "
            f"periods {periods[0]!r}–{periods[-1]!r}: synthetic control needs at least one period "
            "before and one from the treatment time on. Check the value (the first treated period, "
            "e.g. 1989 for Proposition 99)."
        )
    return treatment_time


def parse_predictors(
    predictors: Any, special: Any, panel: Panel, pre_periods: np.ndarray, owner: str
) -> list[PredictorSpec]:
    """Turn the user's predictor specification into a list of :class:`PredictorSpec`."""
    specs: list[PredictorSpec] = []
    available = [panel.outcome, *panel.covariates]
    if predictors is None and special is None:
        return [
            PredictorSpec(str(panel.outcome), (t,), f"{panel.outcome} ({t})") for t in pre_periods
        ]
    for column, periods in _pairs(predictors, "predictors", owner):
        _check_column(column, "predictors", owner, available, panel)
        chosen = _periods(periods, pre_periods, "predictors", column, owner)
        specs.append(PredictorSpec(column, chosen, f"{column} ({_describe(periods, chosen)})"))
    for column, periods in _pairs(special, "special_predictors", owner):
        _check_column(column, "special_predictors", owner, available, panel)
        if isinstance(periods, tuple | str) or not isinstance(periods, Sequence | np.ndarray):
            raise invalid_parameter(
                "special_predictors",
                owner,
                "a mapping column -> list of periods (one predictor per period), e.g. "
                "{'cigsale': [1975, 1980, 1988]}",
                {column: periods},
                "For one predictor averaged over a window use predictors={column: (first, last)}.",
            )
        for item in periods:
            chosen = _periods(item, pre_periods, "special_predictors", column, owner)
            specs.append(PredictorSpec(column, chosen, f"{column} ({_describe(item, chosen)})"))
    if not specs:
        raise ParameterError(f"{owner}: the predictor specification is empty.")
    return specs


def _pairs(spec: Any, name: str, owner: str) -> list[tuple[str, Any]]:
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return [(str(k), v) for k, v in spec.items()]
    if isinstance(spec, str):
        return [(spec, None)]
    if isinstance(spec, Sequence):
        out: list[tuple[str, Any]] = []
        for item in spec:
            if isinstance(item, str):
                out.append((item, None))
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                out.append((item[0], item[1]))
            else:
                raise invalid_parameter(
                    name, owner, "a mapping column -> periods or a list of column names", spec
                )
        return out
    raise invalid_parameter(name, owner, "a mapping column -> periods", spec)


def _check_column(
    column: str, argument: str, owner: str, available: list[str], panel: Panel
) -> None:
    if column not in available:
        if column in panel._data.columns:
            return
        err = missing_column(argument, owner, column, available)
        raise DataError(
            f"{err} Predictors other than the outcome must be covariates of the panel: pass them "
            "as covariates=[...] (with missing='keep' if they are missing in some years) to "
            "Panel.from_frame."
        )


def _periods(spec: Any, pre: np.ndarray, argument: str, column: str, owner: str) -> tuple:
    if spec is None:
        return tuple(pre.tolist())
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise invalid_parameter(
                argument, owner, "(first, last) windows", {column: spec}, "Use a list for periods."
            )
        lo, hi = spec
        if hi < lo:
            raise invalid_parameter(
                argument, owner, "windows (first, last) with first <= last", {column: spec}
            )
        if hi >= pre[-1] + (pre[-1] - pre[-2] if len(pre) > 1 else 1):
            raise _post_window(argument, owner, column, spec, pre)
        chosen = tuple(p for p in pre.tolist() if lo <= p <= hi)
    else:
        items = list(spec) if np.ndim(spec) else [spec]
        late = [p for p in items if p > pre[-1]]
        if late:
            raise _post_window(argument, owner, column, spec, pre)
        chosen = tuple(p for p in pre.tolist() if p in set(items))
    if not chosen:
        raise DataError(
            f"The {argument!r} entry {column!r}: {show_value(spec)} of {owner} selects no "
            f"period of the panel (pre-treatment periods {pre[0]!r}–{pre[-1]!r}). Choose "
            "periods the panel has."
        )
    return chosen


def _post_window(argument: str, owner: str, column: str, spec: Any, pre: np.ndarray) -> Exception:
    return ParameterError(
        f"The {argument!r} entry {column!r}: {show_value(spec)} of {owner} reaches into the "
        f"treated periods (the last pre-treatment period is {pre[-1]!r}). Predictors must be "
        "measured before the treatment, or the synthetic control absorbs its effect; end the "
        "window earlier."
    )


def _describe(spec: Any, chosen: tuple) -> str:
    if spec is None or isinstance(spec, tuple):
        return f"{chosen[0]}–{chosen[-1]}" if len(chosen) > 1 else f"{chosen[0]}"
    return ", ".join(map(str, chosen))


def predictor_matrix(
    panel: Panel, units: list[Any], specs: list[PredictorSpec], owner: str
) -> np.ndarray:
    """K x len(units) matrix of predictor means over available (non-missing) values."""
    data = panel._data
    sub = data.loc[data[panel.unit].isin(units)]
    out = np.empty((len(specs), len(units)))
    for k, spec in enumerate(specs):
        rows = sub.loc[sub[panel.time].isin(spec.periods)]
        means = rows.groupby(panel.unit, sort=False)[spec.column].mean().reindex(units)
        bad = means.isna()
        if bad.any():
            raise DataError(
                f"Predictor {spec.label!r} of {owner} has no data for {int(bad.sum())} unit(s) in "
                f"its period(s) {_describe(None, spec.periods)}: "
                f"{show_value(means.index[bad].tolist())}. Choose a window where the column is "
                "observed for every unit (means are taken over the non-missing years, as in R "
                "Synth), or drop those units from the donors."
            )
        out[k] = means.to_numpy(dtype=float)
    return out


def build(
    panel: Panel,
    *,
    treated: Any,
    treatment_time: Any,
    donors: Sequence[Any] | None,
    predictors: Any,
    special_predictors: Any,
    loss_periods: Any,
    owner: str,
    exclude: Sequence[Any] = (),
) -> SynthData:
    """Validate and build the matrices for one treated unit."""
    wide = outcome_wide(panel)
    periods = np.asarray(wide.columns)
    pre = periods[periods < treatment_time]
    y1 = wide.loc[treated].to_numpy(dtype=float)
    gaps = np.isnan(y1) & (periods < treatment_time)
    if gaps.any():
        raise DataError(
            f"The treated unit {treated!r} has no outcome in pre-treatment period(s) "
            f"{show_value(periods[gaps].tolist())}; {owner} matches the treated unit's "
            "pre-treatment path and needs it complete. Impute or restrict the panel to the "
            "periods it is observed."
        )
    pool = _donor_pool(panel, treated, treatment_time, donors, exclude, owner)
    y0 = wide.loc[pool].to_numpy(dtype=float).T
    missing = np.isnan(y0).any(axis=0)
    ledger = panel.ledger
    if missing.any():
        dropped = [pool[j] for j in np.flatnonzero(missing)]
        rows = panel._data.loc[panel._data[panel.unit].isin(dropped)]
        warnings.warn(
            f"{owner}: {len(dropped)} donor(s) lack the outcome in some period and were left out "
            f"of the donor pool: {show_value(dropped)}. See result.ledger.",
            DroppedRowsWarning,
            stacklevel=4,
        )
        ledger = ledger.extend(
            pd.DataFrame(
                {
                    "row": rows.index,
                    "unit": rows[panel.unit].to_numpy(),
                    "time": rows[panel.time].to_numpy(),
                    "reason": "synthetic control: donor with incomplete outcome",
                }
            )
        )
        pool = [u for u, m in zip(pool, missing, strict=True) if not m]
        y0 = y0[:, ~missing]
    if len(pool) < 2:
        raise IdentificationError(
            f"{owner} needs at least 2 donors with complete outcomes; found {len(pool)} "
            f"({show_value(pool)}). Widen the donor pool (donors=...)."
        )
    specs = parse_predictors(predictors, special_predictors, panel, pre, owner)
    xall = predictor_matrix(panel, [treated, *pool], specs, owner)
    if y1[periods >= treatment_time].size and np.isnan(y1[periods >= treatment_time]).all():
        raise DataError(
            f"The treated unit {treated!r} has no outcome from the treatment time "
            f"{treatment_time!r} on; there is no effect to estimate."
        )
    loss_mask = _loss_mask(loss_periods, periods, treatment_time, owner)
    return SynthData(
        treated=treated,
        donors=pool,
        periods=periods,
        treatment_time=treatment_time,
        y1=y1,
        y0=y0,
        x1=xall[:, 0],
        x0=xall[:, 1:],
        predictors=specs,
        loss_mask=loss_mask,
        ledger=ledger,
    )


def _loss_mask(spec: Any, periods: np.ndarray, treatment_time: Any, owner: str) -> np.ndarray:
    pre = periods < treatment_time
    if spec is None:
        return pre
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise invalid_parameter(
            "loss_periods", owner, "None or a (first, last) window of pre-treatment periods", spec
        )
    mask = pre & (periods >= spec[0]) & (periods <= spec[1])
    if spec[1] >= treatment_time or not mask.any():
        raise invalid_parameter(
            "loss_periods",
            owner,
            f"a window inside the pre-treatment periods {periods[0]!r}–{periods[pre][-1]!r}",
            spec,
        )
    return mask


def _donor_pool(
    panel: Panel,
    treated: Any,
    treatment_time: Any,
    donors: Sequence[Any] | None,
    exclude: Sequence[Any],
    owner: str,
) -> list[Any]:
    units = panel._data[panel.unit].unique()
    g = cohorts(panel)
    last = panel.periods[-1]
    if donors is None:
        pool = [u for u in sorted(units.tolist(), key=str) if u != treated and u not in exclude]
        if not g.empty:  # donors that are themselves treated in the panel's window are not controls
            treated_units = set(g.index[_is_finite(g)].tolist())
            pool = [u for u in pool if u not in treated_units]
        return pool
    if isinstance(donors, str) or not isinstance(donors, Sequence | np.ndarray | pd.Index):
        raise invalid_parameter("donors", owner, "a list of unit labels or None", donors)
    pool = list(dict.fromkeys(donors))
    known = set(units.tolist())
    for label in pool:
        if label not in known:
            raise missing_unit("donors", owner, label, units)
    if treated in pool:
        raise ParameterError(
            f"The 'donors' of {owner} include the treated unit {treated!r}; leave it out."
        )
    if not g.empty:
        cg = g.reindex(pool)
        bad = cg[_is_finite(cg)]
        bad = bad[bad <= last]
        if len(bad):
            rows = bad.rename("first treated").to_frame()
            raise IdentificationError(
                f"{len(bad)} donor(s) of {owner} are themselves treated within the panel (the "
                f"treated unit {treated!r} starts at {treatment_time!r}):\n{format_rows(rows)}\n"
                "A treated donor is no control: its outcomes carry its own treatment effect. Drop "
                "it from donors=..."
            )
    return pool
