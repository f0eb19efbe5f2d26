"""The validated long panel every effekt estimator takes.

:class:`Panel` is the one boundary between a user's DataFrame and effekt's
estimators. It is built once with :meth:`Panel.from_frame`, which works on a copy,
checks the data, records every row it drops (with the reason) in a ledger, and
is immutable afterwards, so an estimator never sees unvalidated data and a
result can always say which rows it rests on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    ParameterError,
    check_bool,
    check_choice,
    check_column,
    check_columns,
    check_finite,
    check_keywords,
    format_rows,
    missing_column,
    show_value,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["Ledger", "Panel"]

_OWNER = "Panel.from_frame"


class Ledger:
    """Record of rows dropped on the way from the user's frame to a fit.

    Each entry keeps the row's label in the caller's frame, its unit and time,
    and the reason. A ledger is immutable; :meth:`extend` returns a new one, so
    an estimator can add its own drops to the panel's without touching it.

    Examples
    --------
    >>> import effekt as ek
    >>> ek.panel.Ledger.empty().to_frame().columns.tolist()
    ['row', 'unit', 'time', 'reason']
    """

    _COLUMNS = ("row", "unit", "time", "reason")

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame.reset_index(drop=True)

    @classmethod
    def empty(cls) -> Ledger:
        """A ledger with no entries."""
        return cls(pd.DataFrame({c: pd.Series(dtype=object) for c in cls._COLUMNS}))

    def extend(self, rows: pd.DataFrame) -> Ledger:
        """Return a new ledger with ``rows`` (columns row, unit, time, reason) appended."""
        if rows.empty:
            return self
        if self._frame.empty:
            return Ledger(rows.loc[:, list(self._COLUMNS)])
        return Ledger(pd.concat([self._frame, rows.loc[:, list(self._COLUMNS)]], ignore_index=True))

    def __len__(self) -> int:
        return len(self._frame)

    def to_frame(self) -> pd.DataFrame:
        """The entries as a new DataFrame."""
        return self._frame.copy()

    def counts(self) -> pd.Series:
        """Number of dropped rows by reason."""
        if self._frame.empty:
            return pd.Series(dtype="int64", name="n_rows")
        return self._frame.groupby("reason", sort=False).size().rename("n_rows")

    def describe(self, n_total: int | None = None) -> str:
        """One sentence: how many rows were dropped and why."""
        if not len(self):
            return "No rows dropped."
        parts = "; ".join(f"{n:,} {reason}" for reason, n in self.counts().items())
        of = f" of {n_total:,}" if n_total is not None else ""
        return f"Dropped {len(self):,}{of} rows: {parts}."


class Panel:
    """A validated, immutable long panel of units observed over time.

    Build it with :meth:`Panel.from_frame`; the constructor is internal.

    Attributes
    ----------
    unit, time, outcome : str
        Names of the role columns.
    treatment, cohort : str or None
        Names of the 0/1 treatment indicator and of the first-treated period
        (cohort). When one is given the other is derived; never-treated units
        have cohort ``inf`` (integer time) or ``NaT`` (date time).
    covariates : tuple of str
    cluster, weights : str or None
    dropped : pandas.DataFrame
        The ledger of rows dropped by validation (row label, unit, time, reason).

    See Also
    --------
    Panel.from_frame : the way to build a panel.
    """

    _data: pd.DataFrame
    _roles: dict[str, Any]
    _ledger: Ledger
    _n_input: int
    _absorbing: bool

    __slots__ = (
        "_absorbing",
        "_data",
        "_ledger",
        "_n_input",
        "_roles",
    )

    def __init__(
        self,
        data: pd.DataFrame,
        roles: dict[str, Any],
        ledger: Ledger,
        n_input: int,
        absorbing: bool,
    ) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_roles", roles)
        object.__setattr__(self, "_ledger", ledger)
        object.__setattr__(self, "_n_input", n_input)
        object.__setattr__(self, "_absorbing", absorbing)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("A Panel is immutable; build a new one with Panel.from_frame.")

    # ------------------------------------------------------------------ build
    @classmethod
    @check_keywords
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        unit: str,
        time: str,
        outcome: str,
        treatment: str | None = None,
        cohort: str | None = None,
        covariates: Sequence[str] | str = (),
        cluster: str | None = None,
        weights: str | None = None,
        never_treated: float | None = None,
        missing: Literal["drop", "raise", "keep"] = "drop",
        absorbing: bool = True,
    ) -> Panel:
        """Validate a long DataFrame and build a :class:`Panel` from a copy of it.

        Parameters
        ----------
        df : pandas.DataFrame
            Long data, one row per unit and period. It is never modified.
        unit, time, outcome : str
            Columns identifying the unit (e.g. housing area), the period (integer
            year, or dates) and the outcome (numeric).
        treatment : str, optional
            0/1 (or boolean) column, 1 from the period a unit is treated. With
        ``absorbing=False`` it may also hold numeric treatment levels (for
        :class:`effekt.did.ChaisemartinDHaultfoeuille`).
        cohort : str, optional
            Column holding each unit's first treated period, constant within a unit.
            Give ``treatment``, ``cohort`` or both (they are then checked against
            each other); the missing one is derived.
        covariates : sequence of str, optional
            Numeric covariates.
        cluster : str, optional
            Column to cluster standard errors on (e.g. ``"kommune_code"``).
        weights : str, optional
            Positive observation weights (e.g. population).
        never_treated : scalar, optional
            The value that marks never-treated units in ``cohort``: e.g. ``0``
            (as in R ``did``'s mpdta), ``numpy.inf`` or ``numpy.nan``. Required
            as soon as ``cohort`` holds a value that is not a period of the
            panel's time range's kind, so that the coding is always explicit.
        missing : {"drop", "raise", "keep"}, default "drop"
            What to do with rows whose outcome, treatment, covariates, cluster or
            weight is missing: drop them (recorded in :attr:`dropped` and
            announced once with a :class:`~effekt.DroppedRowsWarning` giving
            counts by reason), or raise :class:`~effekt.DataError`. ``"keep"``
            keeps rows whose only missing values are covariates (synthetic
            control averages predictors over windows, so a covariate missing in
            some years must not cost those years' outcomes); rows missing
            anything else are still dropped. Estimators that need complete
            covariates check :meth:`missing_covariates` and raise. Missing
            ``unit`` or ``time`` always raises.
        absorbing : bool, default True
            Require the treatment to be absorbing (once treated, always treated),
            as staggered-adoption designs do. Set False for on/off treatments;
            no cohort can then be derived.

        Returns
        -------
        Panel

        Raises
        ------
        DataError
            Empty frame, unknown columns, duplicated (unit, time) pairs, string or
            fractional times, non-numeric outcome, treatment not 0/1, cohort
            varying within a unit, treatment and cohort disagreeing, implicit
            never-treated coding, a ``never_treated`` code that matches no row while
            other codes lie outside the periods, non-positive weights, infinite
            outcomes, weights, covariates or times, unit or cluster ids mixing
            numbers and text (``8001`` and ``"8001"``), MultiIndex columns, missing
            values with ``missing="raise"``.
        IdentificationError
            A treatment that switches off when ``absorbing=True``.
        ParameterError
            Invalid arguments (e.g. ``missing="ignore"``, a list or set where one
            column name is expected, a set of covariates); a misspelt keyword
            raises :class:`~effekt.errors.UnknownParameterError`.

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year",
        ...                             outcome="lemp", cohort="first.treat",
        ...                             never_treated=0, covariates=["lpop"])
        >>> panel.n_units, panel.n_periods, panel.is_balanced
        (500, 5, True)
        >>> sorted(panel.cohort_sizes().items())[:2]
        [(2004.0, 20), (2006.0, 40)]
        """
        return _build(
            df,
            unit=unit,
            time=time,
            outcome=outcome,
            treatment=treatment,
            cohort=cohort,
            covariates=covariates,
            cluster=cluster,
            weights=weights,
            never_treated=never_treated,
            missing=missing,
            absorbing=absorbing,
        )

    # -------------------------------------------------------------- accessors
    @property
    def unit(self) -> str:
        """Name of the unit column."""
        return self._roles["unit"]

    @property
    def time(self) -> str:
        """Name of the time column."""
        return self._roles["time"]

    @property
    def outcome(self) -> str:
        """Name of the outcome column."""
        return self._roles["outcome"]

    @property
    def treatment(self) -> str | None:
        """Name of the 0/1 treatment column (given or derived from the cohort)."""
        return self._roles["treatment"]

    @property
    def cohort(self) -> str | None:
        """Name of the cohort (first treated period) column (given or derived)."""
        return self._roles["cohort"]

    @property
    def covariates(self) -> tuple[str, ...]:
        """Names of the covariate columns."""
        return tuple(self._roles["covariates"])

    @property
    def cluster(self) -> str | None:
        """Name of the cluster column, if any."""
        return self._roles["cluster"]

    @property
    def weights(self) -> str | None:
        """Name of the weights column, if any."""
        return self._roles["weights"]

    @property
    def roles(self) -> dict[str, Any]:
        """Mapping of role to column name (a copy)."""
        return {k: (tuple(v) if isinstance(v, list) else v) for k, v in self._roles.items()}

    @property
    def data(self) -> pd.DataFrame:
        """The validated data (a copy), sorted by unit and time, role columns only."""
        return self._data.copy()

    @property
    def absorbing(self) -> bool:
        """Whether the treatment was required (and found) to be absorbing."""
        return bool(self._absorbing)

    @property
    def dropped(self) -> pd.DataFrame:
        """Ledger of rows dropped by validation: ``row, unit, time, reason``."""
        return self._ledger.to_frame()

    @property
    def ledger(self) -> Ledger:
        """The drop ledger as a :class:`Ledger` (estimators extend it)."""
        return self._ledger

    @property
    def n_obs(self) -> int:
        """Number of rows (unit-periods)."""
        return len(self._data)

    @property
    def n_units(self) -> int:
        """Number of distinct units."""
        return int(self._data[self.unit].nunique())

    @property
    def periods(self) -> np.ndarray:
        """Sorted distinct periods."""
        return np.sort(self._data[self.time].unique())

    @property
    def n_periods(self) -> int:
        """Number of distinct periods."""
        return len(self.periods)

    @property
    def is_balanced(self) -> bool:
        """True when every unit is observed in every period."""
        return self.n_obs == self.n_units * self.n_periods

    @property
    def never_treated_value(self) -> float | np.datetime64:
        """How never-treated units are coded in the cohort column (``inf`` or ``NaT``)."""
        if pd.api.types.is_datetime64_any_dtype(self._data[self.time]):
            return np.datetime64("NaT")
        return np.inf

    def missing_covariates(self) -> pd.Series:
        """Number of missing values per covariate (non-zero only with ``missing="keep"``)."""
        return self._data.loc[:, list(self.covariates)].isna().sum()

    def unit_table(self) -> pd.DataFrame:
        """One row per unit: cohort (if any), cluster (if constant) and periods observed."""
        grouped = self._data.groupby(self.unit, sort=True)
        out = pd.DataFrame({"n_periods": grouped.size()})
        if self.cohort is not None:
            out["cohort"] = grouped[self.cohort].first()
        if self.cluster is not None:
            out["cluster"] = grouped[self.cluster].first()
        return out

    def cohort_sizes(self) -> dict[Any, int]:
        """Number of units per cohort; never-treated units under ``inf``/``NaT``.

        Raises
        ------
        IdentificationError
            If the panel has no treatment information.
        """
        self._require_cohort("cohort_sizes")
        sizes = self.unit_table()["cohort"].value_counts(dropna=False).sort_index()
        return {k: int(v) for k, v in sizes.items()}

    def _require_cohort(self, what: str) -> None:
        if self.cohort is None:
            raise IdentificationError(
                f"{what} needs treatment timing, but this panel was built without 'treatment' "
                "or 'cohort'. Pass one of them to Panel.from_frame."
            )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the validated data and roles: identical data give identical prints."""
        h = hashlib.sha256()
        h.update(repr(sorted((k, repr(v)) for k, v in self._roles.items())).encode())
        h.update(pd.util.hash_pandas_object(self._data, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]

    # ---------------------------------------------------------------- display
    def _overview(self) -> list[tuple[str, str]]:
        t = self.periods
        rows = [
            ("units", f"{self.n_units:,} ({self.unit})"),
            ("periods", f"{self.n_periods} ({self.time}: {_fmt_time(t[0])}–{_fmt_time(t[-1])})"),
            (
                "observations",
                f"{self.n_obs:,} ({'balanced' if self.is_balanced else 'unbalanced'})",
            ),
            ("outcome", str(self.outcome)),
        ]
        if self.cohort is not None:
            sizes = self.cohort_sizes()
            never = sum(n for g, n in sizes.items() if pd.isna(g) or g == np.inf)
            treated = {g: n for g, n in sizes.items() if not (pd.isna(g) or g == np.inf)}
            cohort_txt = ", ".join(f"{_fmt_time(g)}: {n}" for g, n in treated.items())
            rows.append(("cohorts", f"{len(treated)} ({cohort_txt}); never treated: {never}"))
        if self.covariates:
            rows.append(("covariates", ", ".join(map(str, self.covariates))))
        if self.cluster is not None:
            n_cl = self._data[self.cluster].nunique()
            rows.append(("cluster", f"{self.cluster} ({n_cl} clusters)"))
        if self.weights is not None:
            rows.append(("weights", str(self.weights)))
        rows.append(("dropped rows", self._ledger.describe(self._n_input)))
        return rows

    def overview(self) -> pd.DataFrame:
        """The facts shown by ``repr``: units, periods, balance, cohorts, dropped rows.

        Returns
        -------
        pandas.DataFrame
            One row per fact, indexed by its name, with a ``value`` column.

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp")
        >>> panel.overview().loc["units", "value"]
        '500 (countyreal)'
        """
        facts = self._overview()
        return pd.DataFrame({"value": [v for _, v in facts]}, index=[k for k, _ in facts])

    def __repr__(self) -> str:
        width = max(len(k) for k, _ in self._overview())
        body = "\n".join(f"  {k:<{width}}  {v}" for k, v in self._overview())
        return f"<effekt.Panel>\n{body}"

    def _repr_html_(self) -> str:
        from html import escape

        cells = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td style='text-align:left'>"
            f"{escape(v)}</td></tr>"
            for k, v in self._overview()
        )
        return f"<div><strong>effekt.Panel</strong><table>{cells}</table></div>"

    def plot_rollout(self, ax: Axes | None = None, *, max_units: int = 400) -> Axes:
        """Plot the treatment rollout: units (sorted by cohort) × periods, treated shaded.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is created if omitted.
        max_units : int, default 400
            With more units, an evenly spaced subset (keeping the cohort order) is
            drawn so that the picture stays readable.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
        ...                             cohort="first.treat", never_treated=0)
        >>> ax = panel.plot_rollout()
        """
        from effekt._plotting import label, new_axes

        self._require_cohort("plot_rollout")
        # the treatment column exists whenever the cohort does (one is derived from the other)
        wide = self._data.pivot(index=self.unit, columns=self.time, values=self._roles["treatment"])
        order = self.unit_table()["cohort"].sort_values(kind="stable").index
        wide = wide.loc[order]
        if len(wide) > max_units:
            wide = wide.iloc[np.linspace(0, len(wide) - 1, max_units).round().astype(int)]
        ax = new_axes(ax)
        from matplotlib.colors import ListedColormap

        cmap = ListedColormap(["#d9d9d9", "#08519c"]).with_extremes(bad="white")
        values = np.ma.masked_invalid(wide.to_numpy(dtype=float))
        ax.imshow(values, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        cols = list(wide.columns)
        step = max(1, len(cols) // 10)
        ax.set_xticks(range(0, len(cols), step), [_fmt_time(c) for c in cols[::step]])
        ax.set_yticks([])
        ax.set_xlabel(label("period"))
        ax.set_ylabel(f"{label('units')} ({len(wide)})")
        ax.set_title(label("treatment_rollout"))
        from matplotlib.patches import Patch

        ax.legend(
            handles=[
                Patch(color="#08519c", label=label("treated")),
                Patch(color="#d9d9d9", label=label("not_treated")),
            ],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
        )
        return ax


# ---------------------------------------------------------------------------
# Validation, step by step. Each step raises with the first offending rows.


def _fmt_time(value: Any) -> str:
    if isinstance(value, float | np.floating) and np.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, np.datetime64 | pd.Timestamp):
        return str(pd.Timestamp(value).date())
    return str(value)


def _build(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treatment: str | None,
    cohort: str | None,
    covariates: Sequence[str] | str,
    cluster: str | None,
    weights: str | None,
    never_treated: Any,
    missing: str,
    absorbing: bool,
) -> Panel:
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(
            f"{_OWNER} needs a pandas DataFrame as 'df'. Got {type(df).__name__} instead; "
            "convert it with pandas.DataFrame(...) first."
        )
    check_choice("missing", _OWNER, missing, ("drop", "raise", "keep"))
    check_bool("absorbing", _OWNER, absorbing)
    if df.empty:
        raise DataError(
            f"{_OWNER} got an empty frame ({df.shape[0]} rows, {df.shape[1]} columns); "
            "there is nothing to analyse. Check the filter that produced it."
        )
    if isinstance(df.columns, pd.MultiIndex):
        raise DataError(
            f"The frame passed to {_OWNER} has MultiIndex columns (levels "
            f"{list(df.columns.names)}, e.g. {show_value(df.columns[0])}); a panel needs one "
            "name per column. Flatten them first, e.g. df.columns = ['_'.join(map(str, c)) "
            "for c in df.columns], or select one level with df.droplevel(...)."
        )
    if df.columns.has_duplicates:
        dupes = df.columns[df.columns.duplicated()].unique().tolist()
        raise DataError(f"The frame has duplicated column names {dupes}; rename them first.")

    covs = check_columns("covariates", _OWNER, covariates)
    named: dict[str, str | None] = {
        "unit": unit,
        "time": time,
        "outcome": outcome,
        "treatment": treatment,
        "cohort": cohort,
        "cluster": cluster,
        "weights": weights,
    }
    for role, col in named.items():  # a list or set here would reach pandas as a key
        check_column(role, _OWNER, col, none=role not in ("unit", "time", "outcome"))
    _check_never_treated(never_treated)
    for role, col in [*named.items(), *(("covariates", c) for c in covs)]:
        if col is not None and col not in df.columns:
            raise missing_column(role, _OWNER, col, list(df.columns))
    used: dict[str, str] = {}
    for role, col in [*named.items(), *(("covariates", c) for c in covs)]:
        if col is None or (role == "cluster" and col == unit):  # clustering by unit is common
            continue
        if col in used:
            raise ParameterError(
                f"Column {col!r} is given both as {used[col]!r} and as {role!r} to {_OWNER}; "
                "each column can play one role."
            )
        used[col] = role

    columns = list(used)
    data = df.loc[:, columns].copy()  # the caller's frame is never touched after this line
    n_input = len(data)

    # unit and time identify rows: a missing one cannot be dropped meaningfully
    for role in ("unit", "time"):
        col = named[role]
        bad = data[col].isna()
        if bad.any():
            raise DataError(
                f"The {role!r} column {col!r} has {int(bad.sum())} missing value(s); every row "
                f"needs a {role}. First offending rows:\n"
                f"{format_rows(df.loc[bad[bad].index, columns])}"
            )
    data[time] = _check_time(data[time], time)
    for role in ("unit", "cluster"):
        if (id_col := named[role]) is not None:
            _check_id_types(data[id_col], role, id_col)

    dup = data.duplicated(subset=[unit, time], keep=False)
    if dup.any():
        raise DataError(
            f"{int(dup.sum())} rows share a ({unit!r}, {time!r}) pair; a panel has one row "
            "per unit "
            f"and period. First offending rows:\n{format_rows(df.loc[dup[dup].index, columns])}\n"
            "Aggregate them (e.g. df.groupby([unit, time]).mean()) or drop the duplicates."
        )

    data[outcome] = _check_numeric(data[outcome], "outcome", outcome)
    if weights is not None:
        data[weights] = _check_numeric(data[weights], "weights", weights)
    for c in covs:
        data[c] = _check_numeric(data[c], "covariates", c)
    # isna() lets +-inf through, and an infinite outcome turns every estimate into NaN
    check_finite(data, [outcome], _OWNER, "outcome")
    if weights is not None:
        check_finite(data, [weights], _OWNER, "weights")
    check_finite(data, covs, _OWNER, "covariates")

    ledger, data = _drop_missing(df, data, named, covs, missing, never_treated)

    if weights is not None:
        bad = data[weights] <= 0
        if bad.any():
            raise DataError(
                f"The 'weights' column {weights!r} must be positive; {int(bad.sum())} row(s) are "
                f"zero or negative. First offending rows:\n{format_rows(data.loc[bad, columns])}\n"
                "Remove those rows or choose another weight."
            )

    roles: dict[str, Any] = {**named, "covariates": covs}
    if treatment is not None and absorbing:
        data[treatment] = _check_binary(data[treatment], treatment, columns, data)
    elif treatment is not None:  # switching designs (dCDH) also take treatment levels
        data[treatment] = _check_level(data[treatment], treatment, columns, data)
    if cohort is not None:
        data[cohort] = _check_cohort(data, unit, time, cohort, never_treated, columns)
    data = data.sort_values([unit, time], kind="stable").reset_index(drop=True)

    if treatment is not None:
        switching = _non_absorbing_units(data, unit, treatment)
        if absorbing and len(switching):
            rows = data.loc[data[unit].isin(switching[:5]), [unit, time, treatment]]
            raise IdentificationError(
                f"The treatment {treatment!r} is not absorbing: {len(switching)} unit(s) switch "
                f"from treated back to untreated, e.g. units {switching[:5].tolist()}:\n"
                f"{format_rows(rows, 12)}\nStaggered-adoption designs need treatment to stay on "
                "once it starts. Recode spells (e.g. 'ever treated from first start'), or pass "
                "absorbing=False and use effekt.did.ChaisemartinDHaultfoeuille, which allows "
                "treatment to switch on and off."
            )
        if cohort is None and absorbing:
            name = _fresh_name(data, "cohort")
            data[name] = _derive_cohort(data, unit, time, treatment)
            roles["cohort"] = name
    if cohort is not None:
        derived = _treatment_from_cohort(data, time, cohort)
        if treatment is None:
            name = _fresh_name(data, "treated")
            data[name] = derived
            roles["treatment"] = name
        else:
            disagree = data[treatment].to_numpy() != derived.to_numpy()
            if disagree.any():
                rows = data.loc[disagree, [unit, time, treatment, cohort]]
                raise DataError(
                    f"The 'treatment' column {treatment!r} disagrees with the 'cohort' column "
                    f"{cohort!r} in {int(disagree.sum())} row(s) (treatment should be 1 exactly "
                    f"from the cohort period on):\n{format_rows(rows)}\n"
                    "Pass only one of them, or fix the coding."
                )

    if len(ledger):
        import warnings

        warnings.warn(
            f"{_OWNER}: {ledger.describe(n_input)} See panel.dropped for the rows.",
            DroppedRowsWarning,
            stacklevel=3,
        )
    is_absorbing = roles["treatment"] is not None and not len(
        _non_absorbing_units(data, unit, roles["treatment"])
    )
    return Panel(data, roles, ledger, n_input, is_absorbing)


def _fresh_name(data: pd.DataFrame, base: str) -> str:
    name = base
    while name in data.columns:
        name += "_"
    return name


def _check_time(series: pd.Series, col: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        example = series.iloc[0]
        raise DataError(
            f"The 'time' column {col!r} must hold integer periods (e.g. years) or dates; it has "
            f"dtype {series.dtype} (first value {show_value(example)}). Convert it, e.g. "
            f"df[{col!r}] = df[{col!r}].astype(int) for years stored as text, or "
            "pandas.to_datetime(...) for dates."
        )
    if pd.api.types.is_integer_dtype(series):
        return series.astype("int64")
    values = series.to_numpy(dtype=float)
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"The 'time' column {col!r} holds {int(infinite.sum())} infinite value(s) (rows "
            f"{show_value(series.index[infinite][:5].tolist())}); periods must be whole "
            "numbers. Fix or remove those rows."
        )
    fractional = values != np.round(values)
    if fractional.any():
        raise DataError(
            f"The 'time' column {col!r} holds fractional values (e.g. "
            f"{show_value(values[fractional][:3].tolist())}); periods must be whole numbers. "
            "Use integer periods (e.g. year, or year*4 + quarter) or dates."
        )
    return series.astype("int64")  # lossless: the float years were integral


def _check_never_treated(value: Any) -> None:
    if value is None or isinstance(value, np.datetime64 | pd.Timestamp):
        return
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise ParameterError(
            f"The 'never_treated' parameter of {_OWNER} must be one number (the code of "
            f"never-treated units in the cohort column, e.g. 0, numpy.inf or numpy.nan). Got "
            f"{show_value(value)} instead."
        )


def _check_id_types(series: pd.Series, role: str, col: str) -> None:
    """Refuse identifiers that mix numbers and text: 8001 and "8001" would be two units."""
    if series.dtype != object:
        return
    kinds = series.map(
        lambda v: (
            "text"
            if isinstance(v, str)
            else "number"
            if isinstance(v, int | float | np.number) and not isinstance(v, bool)
            else type(v).__name__
        )
    )
    if kinds.nunique() < 2:
        return
    text = series.astype(str)
    clash = text.groupby(text).transform(lambda s: kinds[s.index].nunique() > 1)
    examples = series[clash].drop_duplicates().head(6).tolist() or (
        series.groupby(kinds).first().tolist()
    )
    same = " (the same id written both ways, so it would count as two units)" if clash.any() else ""
    raise DataError(
        f"The {role!r} column {col!r} mixes numbers and text "
        f"({', '.join(f'{k}: {n}' for k, n in kinds.value_counts().items())}), e.g. "
        f"{show_value(examples)}{same}. Make the ids one type first, e.g. "
        f"df[{col!r}] = df[{col!r}].astype(str)."
    )


def _check_numeric(series: pd.Series, role: str, col: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if not pd.api.types.is_numeric_dtype(series):
        sample = series.dropna().iloc[:3].tolist()
        raise DataError(
            f"The {role!r} column {col!r} must be numeric; it has dtype {series.dtype} "
            f"(e.g. {show_value(sample)}). Convert it with pandas.to_numeric(...) first."
        )
    return series.astype("float64")


def _check_binary(series: pd.Series, col: str, columns: list, data: pd.DataFrame) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("int8")
    if pd.api.types.is_numeric_dtype(series):
        ok = series.isin([0, 1])
        if ok.all():
            return series.astype("int8")
    else:
        ok = pd.Series(False, index=series.index)
    bad = ~ok
    raise DataError(
        f"The 'treatment' column {col!r} must be 0/1 or boolean; found values "
        f"{show_value(sorted(map(str, series[bad].unique()[:5])))}. First offending rows:\n"
        f"{format_rows(data.loc[bad, columns])}\nRecode it as 1 from the first treated period on."
    )


def _check_level(series: pd.Series, col: str, columns: list, data: pd.DataFrame) -> pd.Series:
    """0/1 stays int8 (as with absorbing=True); other finite numeric levels become float64."""
    if pd.api.types.is_bool_dtype(series) or series.isin([0, 1]).all():
        return _check_binary(series, col, columns, data)
    ok = pd.Series(False, index=series.index)
    if pd.api.types.is_numeric_dtype(series):
        values = series.astype("float64")
        ok = pd.Series(np.isfinite(values.to_numpy()), index=series.index, dtype=bool)
        if ok.all():
            return values
    bad = ~ok
    raise DataError(
        f"The 'treatment' column {col!r} must be numeric (0/1, or treatment levels with "
        f"absorbing=False); found {show_value(sorted(map(str, series[bad].unique()[:5])))}. "
        f"First offending rows:\n{format_rows(data.loc[bad, columns])}"
    )


def _drop_missing(
    df: pd.DataFrame,
    data: pd.DataFrame,
    named: dict[str, str | None],
    covs: list[str],
    missing: str,
    never_treated: Any,
) -> tuple[Ledger, pd.DataFrame]:
    checks: list[tuple[str, str]] = [
        (role, col)
        for role in ("outcome", "treatment", "cluster", "weights")
        if (col := named[role]) is not None
    ]
    if missing != "keep":
        checks += [("covariate", c) for c in covs]
    reasons = pd.Series("", index=data.index, dtype=object)
    for role, col in checks:
        isna = data[col].isna()
        if isna.any():
            reasons[isna] = reasons[isna] + f"missing {role} {col!r}; "
    cohort = named["cohort"]
    if cohort is not None and not _is_nan(never_treated):
        isna = data[cohort].isna()
        if isna.any():
            raise DataError(
                f"The 'cohort' column {cohort!r} has {int(isna.sum())} missing value(s), but "
                f"never_treated={never_treated!r} says never-treated units are coded otherwise. "
                "If a missing cohort means never treated, pass never_treated=numpy.nan; "
                f"otherwise fill the cohorts. First offending rows:\n"
                f"{format_rows(df.loc[isna[isna].index, list(data.columns)])}"
            )
    bad = reasons != ""
    if not bad.any():
        return Ledger.empty(), data
    if missing == "raise":
        raise DataError(
            f"{int(bad.sum())} row(s) have missing values in role columns "
            f"({', '.join(sorted({r.strip('; ') for r in reasons[bad].unique()}))}). First "
            f"offending rows:\n{format_rows(df.loc[bad[bad].index, list(data.columns)])}\n"
            "Fill or remove them, or pass missing='drop' to drop them with a ledger entry."
        )
    entries = pd.DataFrame(
        {
            "row": data.index[bad],
            "unit": data.loc[bad, named["unit"]].to_numpy(),
            "time": data.loc[bad, named["time"]].to_numpy(),
            "reason": reasons[bad].str.rstrip("; ").to_numpy(),
        }
    )
    return Ledger.empty().extend(entries), data.loc[~bad]


def _is_nan(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_cohort(
    data: pd.DataFrame,
    unit: str,
    time: str,
    cohort: str,
    never_treated: Any,
    columns: list,
) -> pd.Series:
    series = data[cohort]
    time_is_date = pd.api.types.is_datetime64_any_dtype(data[time])
    if time_is_date:
        if not pd.api.types.is_datetime64_any_dtype(series):
            raise DataError(
                f"The 'time' column {time!r} holds dates, so the 'cohort' column {cohort!r} must "
                f"hold dates too (NaT for never treated); it has dtype {series.dtype}."
            )
        values = series
    else:
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            raise DataError(
                f"The 'cohort' column {cohort!r} must hold the first treated period as a number "
                f"(like the time column {time!r}); it has dtype {series.dtype} "
                f"(e.g. {show_value(series.dropna().iloc[:3].tolist())})."
            )
        values = series.astype("float64")
        lo, hi = data[time].min(), data[time].max()
        if never_treated is not None:
            marker = values.isna() if _is_nan(never_treated) else values == float(never_treated)
            if not marker.any() and not (_is_nan(never_treated) or np.isinf(never_treated)):
                _never_code_unused(values, cohort, never_treated, lo, hi)
            values = values.mask(marker, np.inf)
        finite = values[np.isfinite(values)]
        fractional = finite != np.round(finite)
        if fractional.any():
            raise DataError(
                f"The 'cohort' column {cohort!r} holds fractional periods "
                f"{show_value(finite[fractional].unique()[:3].tolist())}; use whole periods."
            )
        if never_treated is None:
            # values outside the observed periods are ambiguous: a never-treated code, or a
            # real cohort before/after the window? The user must say which.
            implicit = values.isna() | ~np.isfinite(values) | (values < lo) | (values > hi)
            if implicit.any():
                example = series[implicit].unique()[:3].tolist()
                raise DataError(
                    f"The 'cohort' column {cohort!r} holds {show_value(example)}, outside the "
                    f"observed periods {lo}–{hi}. Say how never-treated units are coded with "
                    f"never_treated=..., e.g. never_treated={example[0]!r} if that marks them; if "
                    "these are real cohorts outside the window, pass the code your data use for "
                    "never-treated units (e.g. never_treated=numpy.inf) to confirm."
                )
    # a unit's cohort is a property of the unit, not of the row
    n_distinct = values.fillna(-np.inf).groupby(data[unit]).nunique()
    varying = n_distinct[n_distinct > 1].index
    if len(varying):
        rows = data.loc[data[unit].isin(varying[:3]), [unit, time, cohort]]
        raise DataError(
            f"The 'cohort' column {cohort!r} varies within {len(varying)} unit(s), e.g. "
            f"{varying[:5].tolist()}; a cohort is the unit's first treated period and must be "
            f"constant within a unit:\n{format_rows(rows, 10)}\nUse each unit's first treated "
            "period (e.g. df.groupby(unit)[cohort].transform('min'))."
        )
    return values


def _never_code_unused(values: pd.Series, cohort: str, code: Any, lo: Any, hi: Any) -> None:
    """``never_treated=code`` matches no row: a typo, if codes outside the periods remain."""
    outside = values[np.isfinite(values) & ((values < lo) | (values > hi))].unique()[:3].tolist()
    if outside:
        raise DataError(
            f"never_treated={code!r} matches no row of the 'cohort' column {cohort!r}, which "
            f"holds {show_value(outside)} outside the observed periods {lo}–{hi}. If those mark "
            f"never-treated units, pass never_treated={outside[0]!r}; otherwise fix the cohorts."
        )
    # no value outside the periods: every cohort is a real one, and nothing is recoded


def _treatment_from_cohort(data: pd.DataFrame, time: str, cohort: str) -> pd.Series:
    g = data[cohort]
    if pd.api.types.is_datetime64_any_dtype(g):
        treated = g.notna() & (data[time] >= g)
    else:
        treated = data[time].astype("float64") >= g
    return treated.astype("int8")


def _derive_cohort(data: pd.DataFrame, unit: str, time: str, treatment: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(data[time]):
        first = data[time].where(data[treatment] == 1)
    else:
        first = data[time].astype("float64").where(data[treatment] == 1)
    g = first.groupby(data[unit]).transform("min")
    if pd.api.types.is_datetime64_any_dtype(g):
        return g
    return g.fillna(np.inf)


def _non_absorbing_units(data: pd.DataFrame, unit: str, treatment: str) -> pd.Index:
    d = data[treatment].astype("float64")
    drops = d.groupby(data[unit]).diff() < 0  # sorted by time within unit
    return pd.Index(data.loc[drops, unit].unique())


def require_panel(panel: Any, owner: str) -> None:
    """Raise unless ``panel`` is a :class:`Panel`; a DataFrame gets the recipe for one."""
    if isinstance(panel, Panel):
        return
    if isinstance(panel, pd.DataFrame):
        raise ParameterError(
            f"The 'panel' argument of {owner} must be an effekt.Panel. Got a pandas DataFrame "
            f"({panel.shape[0]} rows) instead. Build the panel first, e.g. "
            "panel = effekt.Panel.from_frame(df, unit='area_id', time='year', "
            "outcome='neet_share', cohort='first_treated', never_treated=0), then fit(panel)."
        )
    raise ParameterError(
        f"The 'panel' argument of {owner} must be an effekt.Panel. Got "
        f"{type(panel).__name__} instead; build one with effekt.Panel.from_frame(df, ...)."
    )
