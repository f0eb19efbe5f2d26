"""Monte-Carlo studies of estimators: bias, RMSE, coverage, interval width, power.

A *design* produces one replication from a random generator: simulate a world
whose truth is known, fit an estimator, return the estimates and the truth.
:func:`monte_carlo` runs it ``n_reps`` times on :mod:`effekt.parallel` (one
stream per chunk, one child stream per replication, so the numbers are identical
for any ``n_jobs`` and joblib backend, Dask included) and summarises the
performance of each estimand with Monte-Carlo standard errors (Morris, White &
Crowther 2019), so a referee can tell real miscoverage from simulation noise.

References
----------
Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation studies
to evaluate statistical methods. Statistics in Medicine 38(11), 2074-2102.
doi:10.1002/sim.8086
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from effekt._plotting import label
from effekt.errors import (
    DataError,
    EffektError,
    SamplingWarning,
    check_choice,
    invalid_parameter,
)
from effekt.options import resolve_level
from effekt.panel import Ledger
from effekt.parallel import resample
from effekt.results import Provenance, Result, tidy_effects
from effekt.schemas import load_schema

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["MonteCarloResult", "monte_carlo"]

_VALUES = ("estimate", "std_error", "ci_lower", "ci_upper", "ci_level", "p_value")
_KEY_COLUMNS = tuple(load_schema("effect_table")["keyColumns"])
_METRICS = ("bias", "emp_se", "rmse", "coverage", "ci_width", "rejection_rate")


def monte_carlo(
    design: Callable[[np.random.Generator], Any] | tuple[Callable[..., Any], Callable[..., Any]],
    *,
    n_reps: int,
    seed: int | np.random.SeedSequence | None,
    n_jobs: int = 1,
    alpha: float = 0.05,
    errors: Literal["raise", "record"] = "raise",
    progress: bool | None = None,
) -> MonteCarloResult:
    """Run a simulation study of an estimator and summarise its performance.

    Parameters
    ----------
    design : callable or (world, estimator) pair
        One replication. Either a callable ``design(rng)`` returning

        - a mapping with ``estimate`` and ``truth`` (and optionally
          ``std_error``, ``ci_lower``, ``ci_upper``, ``ci_level``, ``p_value``):
          one estimand;
        - a DataFrame with those columns, one row per estimand, named by key
          columns of the ``effect_table`` schema (``term``, ``event_time``, ...);
        - a pair ``(estimates, truth)``: ``estimates`` an effekt result (its
          ``to_frame()`` is used), a DataFrame or a mapping; ``truth`` a number
          (the same for every row) or a DataFrame with a ``truth`` column and
          key columns to join on;

        or a pair ``(world, estimator)`` with ``world(rng) -> (data, truth)`` and
        ``estimator(data) -> estimates`` (as above). ``rng`` is a
        :class:`numpy.random.Generator` of the replication's own stream; pass
        ``int(rng.integers(2**63))`` to functions that want an integer seed.
        With ``n_jobs > 1`` the callables are sent to worker processes (joblib
        pickles lambdas and closures too).
    n_reps : int
        Replications.
    seed : int, SeedSequence or None
        Root seed; the same seed gives identical output for any ``n_jobs``.
    n_jobs : int, default 1
        Parallel workers (``-1``: all cores); joblib backends, including
        ``joblib.parallel_config(backend="dask")``, take over unchanged.
    alpha : float, default 0.05
        Test level of the rejection rate: a replication rejects ``H0: effect = 0``
        when its ``p_value < alpha``, or, without p-values, when its interval
        excludes 0.
    errors : {"raise", "record"}, default "raise"
        What an :class:`~effekt.errors.EffektError` inside a replication does:
        stop the study, or be recorded (``failures``) with the replication left
        out of the summaries and a :class:`~effekt.errors.SamplingWarning`.
    progress : bool, optional
        Progress bar; default ``effekt.options["progress"]``.

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    ParameterError
        Invalid arguments.
    DataError
        A replication returned something without ``estimate`` or ``truth``, or
        with key columns the ``effect_table`` schema does not know.

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation
    studies to evaluate statistical methods. Statistics in Medicine 38(11),
    2074-2102. doi:10.1002/sim.8086

    Examples
    --------
    The sample mean of 20 draws from N(1, 2^2) with a t interval:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from effekt.simulate import monte_carlo
    >>> def mean_of_normals(rng):
    ...     x = rng.normal(1.0, 2.0, size=20)
    ...     half = stats.t.ppf(0.975, 19) * x.std(ddof=1) / np.sqrt(20)
    ...     return {"estimate": x.mean(), "ci_lower": x.mean() - half,
    ...             "ci_upper": x.mean() + half, "truth": 1.0}
    >>> mc = monte_carlo(mean_of_normals, n_reps=500, seed=1, progress=False)
    >>> row = mc.to_frame().iloc[0]
    >>> bool(abs(row["coverage"] - 0.95) < 4 * row["coverage_mcse"])
    True
    """
    owner = "monte_carlo"
    if isinstance(n_reps, bool) or not isinstance(n_reps, int | np.integer) or n_reps < 2:
        raise invalid_parameter("n_reps", owner, "an integer >= 2", n_reps)
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise invalid_parameter("alpha", owner, "a number strictly between 0 and 1", alpha)
    check_choice("errors", owner, errors, ("raise", "record"))
    if isinstance(design, tuple):
        if len(design) != 2 or not all(callable(f) for f in design):
            raise invalid_parameter(
                "design", owner, "a callable or a pair (world, estimator) of callables", design
            )
    elif not callable(design):
        raise invalid_parameter(
            "design", owner, "a callable or a pair (world, estimator) of callables", design
        )
    chunk = partial(_run_chunk, design=design, errors=errors)
    outputs = resample(
        chunk, int(n_reps), seed=seed, n_jobs=n_jobs, progress=progress, desc="simulation study"
    )
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for rep, out in enumerate(outputs):
        if isinstance(out, str):
            failures.append({"rep": rep, "error": out})
        else:
            rows += [{"rep": rep, **row} for row in out]
    if not rows:
        raise DataError(
            f"Every one of the {n_reps} replications failed; the first error was: "
            f"{failures[0]['error']}"
        )
    if failures:
        warnings.warn(
            f"{len(failures)} of {n_reps} replications raised an error and are left out of the "
            f"summaries (see .failures); the first: {failures[0]['error']}",
            SamplingWarning,
            stacklevel=2,
        )
    draws = pd.DataFrame(rows)
    seed_value = int(seed) if isinstance(seed, int | np.integer) else None
    return MonteCarloResult(
        draws=draws,
        failures=pd.DataFrame(failures, columns=["rep", "error"]),
        n_reps=int(n_reps),
        alpha=float(alpha),
        provenance=Provenance(
            "monte_carlo",
            {"design": _describe(design), "n_reps": int(n_reps), "alpha": alpha},
            seed_value,
            "simulation",
        ),
    )


def _describe(design: Any) -> str:
    parts = design if isinstance(design, tuple) else (design,)
    return " + ".join(getattr(f, "__qualname__", type(f).__name__) for f in parts)


class _OutputError(DataError):
    """A replication returned something monte_carlo cannot read: never recorded."""


def _run_chunk(rng: np.random.Generator, size: int, *, design: Any, errors: str) -> np.ndarray:
    """``size`` replications, each on its own child stream of the chunk's stream."""
    out = np.empty(size, dtype=object)
    for i, child in enumerate(rng.spawn(size)):
        try:
            out[i] = _replicate(design, child)
        except EffektError as err:
            if errors == "raise" or isinstance(err, _OutputError):
                raise
            out[i] = f"{type(err).__name__}: {err}"
    return out


def _replicate(design: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
    if isinstance(design, tuple):
        world, estimator = design
        made = world(rng)
        if not isinstance(made, tuple) or len(made) != 2:
            raise _OutputError(
                "The world of a (world, estimator) design must return a pair (data, truth); "
                f"got {type(made).__name__}."
            )
        data, truth = made
        return _rows(estimator(data), truth)
    made = design(rng)
    if isinstance(made, tuple):
        if len(made) != 2:
            raise _OutputError(
                f"A design returned a tuple of {len(made)} items; return (estimates, truth)."
            )
        return _rows(*made)
    return _rows(made, None)


def _rows(estimates: Any, truth: Any) -> list[dict[str, Any]]:
    """Normalise one replication's output to records with estimate and truth.

    Plain dicts rather than DataFrames: for cheap designs the per-replication
    pandas overhead would dominate the study.
    """
    if isinstance(estimates, Result):
        records = estimates.to_frame().to_dict("records")
    elif isinstance(estimates, pd.DataFrame):
        records = estimates.to_dict("records")
    elif isinstance(estimates, Mapping):
        records = [dict(estimates)]
    else:
        raise _OutputError(
            "A replication must return an effekt result, a DataFrame or a mapping with "
            f"'estimate' (and 'truth'); got {type(estimates).__name__}."
        )
    columns = [str(c) for c in records[0]] if records else []
    if "estimate" not in columns:
        raise _OutputError(f"A replication's estimates have no 'estimate' column; got {columns}.")
    keys = [c for c in columns if c not in _VALUES and c != "truth"]
    if isinstance(estimates, Result):
        keys = [c for c in keys if c in _KEY_COLUMNS]  # results add extras (n_obs, inference)
    unknown = [c for c in keys if c not in _KEY_COLUMNS]
    if unknown:
        raise _OutputError(
            f"A replication's estimates have columns {unknown} that are neither values nor "
            f"effect_table key columns; name estimands with key columns such as 'term' "
            f"(allowed: {list(_KEY_COLUMNS)})."
        )
    kept = keys + [c for c in _VALUES if c in columns]
    out = [{c: rec[c] for c in kept} for rec in records]
    if truth is None:
        if "truth" not in columns:
            raise _OutputError(
                "A replication returned no truth: add a 'truth' entry or return (estimates, truth)."
            )
        for row, rec in zip(out, records, strict=True):
            row["truth"] = float(rec["truth"])
    elif isinstance(truth, pd.DataFrame):
        on = [str(c) for c in truth.columns if c != "truth"]
        if "truth" not in truth.columns or any(c not in keys for c in on):
            raise _OutputError(
                f"A truth frame needs a 'truth' column and key columns among the estimates' "
                f"keys {keys}; got columns {list(truth.columns)}."
            )
        lookup = {tuple(r[c] for c in on): float(r["truth"]) for r in truth.to_dict("records")}
        for row in out:  # estimands missing from the truth frame get NaN
            row["truth"] = lookup.get(tuple(row[c] for c in on), np.nan)
    elif isinstance(truth, int | float | np.number) and not isinstance(truth, bool):
        for row in out:
            row["truth"] = float(truth)
    else:
        raise _OutputError(
            f"The truth must be a number or a DataFrame with a 'truth' column; got "
            f"{type(truth).__name__}."
        )
    return out


def _performance(draws: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Performance measures and their Monte-Carlo SEs (Morris et al. 2019, Table 6)."""
    keys = [c for c in draws.columns if c not in (*_VALUES, "truth", "rep")]
    groups = draws.groupby(keys, sort=False, dropna=False) if keys else [((), draws)]
    rows = []
    for key, part in groups:
        ok = part[np.isfinite(part["estimate"].to_numpy(float))]
        n = len(ok)
        est = ok["estimate"].to_numpy(float)
        err = est - ok["truth"].to_numpy(float)
        row: dict[str, Any] = dict(
            zip(keys, key if isinstance(key, tuple) else (key,), strict=True)
        )
        row["n_reps"] = n
        row["truth"] = float(ok["truth"].mean()) if n else np.nan
        row["mean_estimate"] = float(est.mean()) if n else np.nan
        row["mean_estimate_mcse"] = _sd(est) / np.sqrt(n) if n > 1 else np.nan
        row["bias"] = float(err.mean()) if n else np.nan
        row["bias_mcse"] = _sd(err) / np.sqrt(n) if n > 1 else np.nan
        emp = _sd(est)
        row["emp_se"] = emp
        row["emp_se_mcse"] = emp / np.sqrt(2 * (n - 1)) if n > 1 else np.nan
        mse = float(np.mean(err**2)) if n else np.nan
        mse_mcse = _sd(err**2) / np.sqrt(n) if n > 1 else np.nan
        row["rmse"] = np.sqrt(mse)
        # delta method: se(sqrt(MSE)) = se(MSE) / (2 sqrt(MSE))
        row["rmse_mcse"] = mse_mcse / (2 * np.sqrt(mse)) if mse > 0 else np.nan
        if "std_error" in ok:
            se = ok["std_error"].to_numpy(float)
            se = se[np.isfinite(se)]
            row["mean_std_error"] = float(se.mean()) if len(se) else np.nan
        lo, hi = _interval(ok)
        has_ci = np.isfinite(lo) & np.isfinite(hi)
        truth = ok["truth"].to_numpy(float)
        row.update(_rate("coverage", (lo <= truth) & (truth <= hi), has_ci))
        width = (hi - lo)[has_ci]
        row["ci_width"] = float(width.mean()) if len(width) else np.nan
        row["ci_width_mcse"] = _sd(width) / np.sqrt(len(width)) if len(width) > 1 else np.nan
        row["ci_level"] = (
            float(ok["ci_level"].mean()) if "ci_level" in ok and has_ci.any() else np.nan
        )
        if "p_value" in ok and np.isfinite(ok["p_value"].to_numpy(float)).any():
            p = ok["p_value"].to_numpy(float)
            row.update(_rate("rejection_rate", p < alpha, np.isfinite(p)))
        else:
            row.update(_rate("rejection_rate", (lo > 0) | (hi < 0), has_ci))
        rows.append(row)
    return pd.DataFrame(rows)


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else np.nan


def _interval(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if "ci_lower" in part and "ci_upper" in part:
        return part["ci_lower"].to_numpy(float), part["ci_upper"].to_numpy(float)
    nan = np.full(len(part), np.nan)
    return nan, nan


def _rate(name: str, hits: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    n = int(valid.sum())
    rate = float(hits[valid].mean()) if n else np.nan
    mcse = float(np.sqrt(rate * (1 - rate) / n)) if n else np.nan
    return {name: rate, f"{name}_mcse": mcse}


class MonteCarloResult(Result):
    """Result of :func:`monte_carlo`: performance of each estimand across replications.

    Attributes
    ----------
    draws : pandas.DataFrame
        One row per replication and estimand: ``rep``, key columns, the value
        columns the design returned, ``truth``.
    performance : pandas.DataFrame
        One row per estimand: ``n_reps``, ``truth`` (mean), ``mean_estimate``,
        ``bias``, ``emp_se`` (SD of the estimates), ``rmse``, ``mean_std_error``
        (when given), ``coverage``, ``ci_width``, ``ci_level``,
        ``rejection_rate``, each with a ``*_mcse`` Monte-Carlo SE.
    failures : pandas.DataFrame
        ``rep, error`` of the replications that raised (``errors="record"``).
    n_reps : int
    alpha : float
    """

    title = "Monte-Carlo simulation study"

    def __init__(
        self,
        *,
        draws: pd.DataFrame,
        failures: pd.DataFrame,
        n_reps: int,
        alpha: float,
        provenance: Provenance,
    ) -> None:
        self.draws = draws
        self.failures = failures
        self.n_reps = n_reps
        self.alpha = alpha
        self.performance = _performance(draws, alpha)
        self.ledger = Ledger.empty()
        self.provenance = provenance
        self._freeze()

    @property
    def _keys(self) -> list[str]:
        return [c for c in self.draws.columns if c not in (*_VALUES, "truth", "rep")]

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per estimand.

        ``estimate`` is the mean estimate across replications, ``std_error`` its
        Monte-Carlo SE, the interval the normal interval for the mean estimate at
        ``effekt.options["ci_level"]`` and ``p_value`` empty; the performance
        measures and their ``*_mcse`` follow as extra columns.
        """
        perf = self.performance
        keys = perf.loc[:, self._keys] if self._keys else {"term": ["estimate"] * len(perf)}
        extra_cols = [c for c in perf.columns if c not in (*self._keys, "mean_estimate")]
        extra_cols = [c for c in extra_cols if c not in ("mean_estimate_mcse", "ci_level")]
        return tidy_effects(
            keys,
            perf["mean_estimate"].to_numpy(float),
            perf["mean_estimate_mcse"].to_numpy(float),
            level=resolve_level(None),
            p_value=np.full(len(perf), np.nan),
            extra={c: perf[c].to_numpy() for c in extra_cols},
        )

    def plot(
        self, ax: Axes | None = None, *, metric: str = "coverage", level: float = 0.95
    ) -> Axes:
        """Plot one performance measure per estimand with Monte-Carlo intervals.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        metric : {"coverage", "bias", "rmse", "emp_se", "ci_width", "rejection_rate"}
        level : float, default 0.95
            Level of the Monte-Carlo intervals (value +- z * MCSE).

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        ParameterError
            Unknown ``metric``.
        """
        from effekt._plotting import new_axes

        check_choice("metric", "MonteCarloResult.plot", metric, _METRICS)
        ax = new_axes(ax)
        perf = self.performance
        labels = (
            perf.loc[:, self._keys].astype(str).agg(" ".join, axis=1).tolist()
            if self._keys
            else ["estimate"]
        )
        z = stats.norm.ppf(0.5 + level / 2)
        x = np.arange(len(perf))
        ax.errorbar(
            x, perf[metric], yerr=z * perf[f"{metric}_mcse"], fmt="o", capsize=3, color="C0"
        )
        # the value a good method hits: no bias, nominal coverage, size alpha under H0
        reference = {
            "bias": 0.0,
            "coverage": float(np.nanmean(perf["ci_level"]))
            if perf["ci_level"].notna().any()
            else np.nan,
            "rejection_rate": self.alpha,
        }.get(metric, np.nan)
        if np.isfinite(reference):
            ax.axhline(reference, color="grey", linestyle="--", label=label("mc_nominal"))
        ax.set_xticks(x, labels, rotation=45 if len(x) > 6 else 0)
        ax.set_xlabel(label("mc_estimand"))
        ax.set_ylabel(label(f"mc_{metric}"))
        return ax

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Replications", f"{self.n_reps} ({len(self.failures)} failed)"),
            ("Rejection rate", f"p < {self.alpha:g} (or interval excluding 0)"),
            ("Design", str(self.provenance.params["design"])),
        ]
        return info
