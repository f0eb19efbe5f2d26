"""What every Bayesian model in effekt shares: priors, sampling, diagnostics, summaries, plots."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.bayes._deps import az, has_nutpie, pm
from effekt.errors import (
    ParameterError,
    SamplingWarning,
    check_choice,
    invalid_parameter,
    show_value,
)
from effekt.options import options

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "Diagnostics",
    "PredictiveCheck",
    "PriorSensitivity",
    "PriorSpec",
    "SamplerSettings",
    "check_priors",
    "diagnose",
    "make_prior",
    "run_prior_sensitivity",
    "sample_model",
    "scaled_priors",
    "summarise_draws",
]

# Thresholds of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021): R-hat below 1.01
# and at least 100 effective draws per chain, in the bulk and in the tails.
RHAT_MAX = 1.01
ESS_PER_CHAIN = 100


# --------------------------------------------------------------------------- priors


@dataclass(frozen=True)
class PriorSpec:
    """A default prior: a Normal (``loc``, ``scale``) or a HalfNormal (``scale``).

    ``scalar`` priors may be replaced by any PyMC distribution (``pm.X.dist(...)``);
    vector-valued ones only by a new scale (their shape is fixed by the data).
    """

    family: str  # "normal" or "halfnormal"
    scale: float
    loc: float = 0.0
    scalar: bool = True
    what: str = ""


def check_priors(priors: Any, specs: Mapping[str, PriorSpec], owner: str) -> dict[str, Any]:
    """Validate a user's ``priors`` mapping against the model's named priors."""
    if priors is None:
        return {}
    if not isinstance(priors, Mapping):
        raise invalid_parameter(
            "priors",
            owner,
            "None or a mapping from prior names to numbers or PyMC distributions",
            priors,
        )
    out: dict[str, Any] = {}
    for name, value in priors.items():
        if name not in specs:
            raise ParameterError(
                f"The 'priors' parameter of {owner} names an unknown prior {name!r}. The "
                f"model's priors are: {', '.join(sorted(specs))}."
            )
        if _is_distribution(value):
            if not specs[name].scalar:
                raise ParameterError(
                    f"The prior {name!r} of {owner} is vector-valued (its shape comes from the "
                    "data), so it can only be given a new scale (a positive number), not a "
                    "distribution."
                )
            if value.ndim != 0:
                raise ParameterError(
                    f"The prior {name!r} of {owner} must be a scalar distribution; got one with "
                    f"{value.ndim} dimension(s). Drop the 'shape'/'size' argument."
                )
        elif not (
            isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool)
            and np.isfinite(value)
            and value > 0
        ):
            raise invalid_parameter(
                "priors",
                owner,
                "a mapping to positive numbers (the prior's scale) or PyMC distributions "
                "made with .dist(...)",
                f"{name}: {show_value(value)}",
                "For example priors={'sigma_kind': 0.5} or "
                "priors={'sigma_kind': pymc.Exponential.dist(2.0)}.",
            )
        out[name] = value
    return out


def _is_distribution(value: Any) -> bool:
    from pymc.distributions.distribution import SymbolicRandomVariable
    from pytensor.graph.basic import Variable
    from pytensor.tensor.random.op import RandomVariable

    return (
        isinstance(value, Variable)
        and value.owner is not None
        and isinstance(value.owner.op, RandomVariable | SymbolicRandomVariable)
    )


def make_prior(name: str, spec: PriorSpec, priors: Mapping[str, Any], *, dims: Any = None) -> Any:
    """Create the named prior in the model on the context stack."""
    value = priors.get(name)
    if value is not None and _is_distribution(value):
        # a fresh copy of the user's distribution, so that their object is never renamed
        rv = value.owner.clone().default_output()
        return pm.modelcontext(None).register_rv(rv, name)
    scale = float(value) if value is not None else spec.scale
    if spec.family == "halfnormal":
        return pm.HalfNormal(name, sigma=scale, dims=dims)
    return pm.Normal(name, mu=spec.loc, sigma=scale, dims=dims)


def describe_priors(specs: Mapping[str, PriorSpec], priors: Mapping[str, Any]) -> pd.DataFrame:
    """Table of the priors actually used: name, distribution, meaning."""
    rows = []
    for name, spec in specs.items():
        value = priors.get(name)
        if value is not None and _is_distribution(value):
            dist = f"user: {type(value.owner.op).__name__}"
        else:
            scale = float(value) if value is not None else spec.scale
            dist = {
                "halfnormal": f"HalfNormal({scale:.4g})",
                "normal": f"Normal({spec.loc:.4g}, {scale:.4g})",
                "uniform": "Uniform(-1, 1)",
            }[spec.family]
            if value is not None:
                dist += " (user)"
        rows.append({"prior": name, "distribution": dist, "meaning": spec.what})
    return pd.DataFrame(rows)


def scaled_priors(
    specs: Mapping[str, PriorSpec],
    priors: Mapping[str, Any],
    names: Any,
    scales: Any,
    owner: str,
) -> tuple[list[str], list[float]]:
    """Validate the arguments of ``prior_sensitivity``: the priors to scale and the factors.

    Scalable priors are those with a scale (Normal, HalfNormal) that the user did not
    replace by a distribution of their own.
    """
    scalable = [
        n
        for n, spec in specs.items()
        if spec.family in ("normal", "halfnormal") and not _is_distribution(priors.get(n))
    ]
    if names is None:
        chosen = scalable
    else:
        if isinstance(names, str) or not isinstance(names, Sequence) or not len(names):
            raise invalid_parameter(
                "priors", owner, "None or a non-empty list of prior names", names
            )
        chosen = []
        for name in names:
            if name not in scalable:
                raise ParameterError(
                    f"The 'priors' parameter of {owner} names {name!r}, which is not a prior "
                    f"that can be scaled. Scalable priors of this fit: {', '.join(scalable)} "
                    "(priors replaced by your own distributions keep them)."
                )
            chosen.append(str(name))
    if isinstance(scales, str) or not isinstance(scales, Sequence) or not len(scales):
        raise invalid_parameter("scales", owner, "a non-empty list of positive numbers", scales)
    factors = []
    for value in scales:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.integer | np.floating)
            or not np.isfinite(value)
            or value <= 0
        ):
            raise invalid_parameter(
                "scales", owner, "a non-empty list of positive numbers", scales,
                "For example scales=(0.5, 1, 2) halves and doubles every prior scale.",
            )  # fmt: skip
        factors.append(float(value))
    if len(set(factors)) != len(factors):
        raise invalid_parameter("scales", owner, "distinct factors", scales)
    return chosen, factors


def rescale(
    specs: Mapping[str, PriorSpec], priors: Mapping[str, Any], names: Sequence[str], factor: float
) -> dict[str, Any]:
    """The user's priors with the scale of each of ``names`` multiplied by ``factor``."""
    out = dict(priors)
    for name in names:
        base = priors.get(name)
        out[name] = factor * (float(base) if base is not None else specs[name].scale)
    return out


class PriorSensitivity:
    """Reported effects of one model refitted with every prior scale multiplied by a factor.

    Attributes
    ----------
    table : pandas.DataFrame
        ``prior_scale`` (the factor; 1 is the original fit) followed by the rows of
        the result's :meth:`to_frame` that were compared, for every factor.
    scaled : list of str
        The priors whose scales were multiplied.
    diagnostics : dict
        :class:`Diagnostics` of each fit, keyed by factor.
    priors : dict
        The priors table (``result.priors``) of each fit, keyed by factor.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        scaled: list[str],
        diagnostics: dict[float, Diagnostics],
        priors: dict[float, pd.DataFrame],
        label_column: str,
        outcome: str,
        level: float,
    ) -> None:
        self.table = table
        self.scaled = scaled
        self.diagnostics = diagnostics
        self.priors = priors
        self._label_column = label_column
        self._outcome = outcome
        self._level = level

    def to_frame(self) -> pd.DataFrame:
        """The comparison table (a copy).

        Returns
        -------
        pandas.DataFrame
        """
        return self.table.copy()

    def max_shift(self) -> pd.Series:
        """Largest change of each estimate over the factors, in units of its posterior SD.

        Returns
        -------
        pandas.Series
            Indexed by the compared effect; under about 0.5 the priors hardly matter.
        """
        t = self.table
        ref = t[t["prior_scale"] == 1.0] if (t["prior_scale"] == 1.0).any() else t
        sd = ref.groupby(self._label_column, sort=False)["std_error"].mean()
        spread = t.groupby(self._label_column, sort=False)["estimate"].agg(np.ptp)
        return (spread / sd).rename("max_shift_in_sd")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Estimates and credible intervals of every compared effect under every factor.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        t = self.table
        names = list(dict.fromkeys(t[self._label_column]))[::-1]
        factors = list(dict.fromkeys(t["prior_scale"]))
        offsets = np.linspace(-0.25, 0.25, len(factors)) if len(factors) > 1 else [0.0]
        for off, f in zip(offsets, factors, strict=True):
            rows = t[t["prior_scale"] == f].set_index(self._label_column).loc[names]
            y = np.arange(len(names)) + off
            ax.errorbar(
                rows["estimate"],
                y,
                xerr=[rows["estimate"] - rows["ci_lower"], rows["ci_upper"] - rows["estimate"]],
                fmt="o",
                ms=4,
                capsize=2,
                label=label("prior_scale", scale=f),
            )
        ax.axvline(0.0, color="0.6", lw=0.8)
        ax.set_yticks(np.arange(len(names)), names)
        ax.set_xlabel(f"{label('effect')}: {self._outcome}")
        ax.set_title(
            f"{label('prior_sensitivity')} ({label('credible_interval', level=self._level)})"
        )
        ax.legend(frameon=False, fontsize="small")
        return ax


def run_prior_sensitivity(
    result: Any,
    refit: Any,
    scales: Sequence[float],
    names: Sequence[str],
    rows: Any,
    label_column: str,
) -> PriorSensitivity:
    """Refit ``result``'s model at each factor (``refit(factor)``) and stack ``rows(res)``."""
    parts = []
    diagnostics = {}
    priors = {}
    for factor in scales:
        res = result if factor == 1.0 else refit(factor)
        diagnostics[factor] = res.diagnostics
        priors[factor] = res.priors
        part = rows(res)
        parts.append(part.assign(prior_scale=factor)[["prior_scale", *part.columns]])
    table = pd.concat(parts, ignore_index=True)
    return PriorSensitivity(
        table, list(names), diagnostics, priors, label_column, result.outcome, result.level
    )


# --------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class SamplerSettings:
    """Validated sampler settings of an estimator."""

    draws: int
    tune: int
    chains: int
    cores: int
    seed: int | None
    sampler: str
    target_accept: float


def check_sampler(est: Any, owner: str) -> SamplerSettings:
    """Validate the sampler parameters every Bayesian estimator has."""

    def is_int(x: Any) -> bool:
        return isinstance(x, int | np.integer) and not isinstance(x, bool)

    for name, low in (("draws", 1), ("tune", 0), ("chains", 1)):
        value = getattr(est, name)
        if not is_int(value) or value < low:
            raise invalid_parameter(name, owner, f"an integer >= {low}", value)
    cores = est.cores
    if cores is not None and (not is_int(cores) or cores < 1):
        raise invalid_parameter("cores", owner, "None or a positive integer", cores)
    if est.seed is not None and (not is_int(est.seed) or est.seed < 0):
        raise invalid_parameter("seed", owner, "None or a non-negative integer", est.seed)
    check_choice("sampler", owner, est.sampler, ("nutpie", "pymc"))
    ta = est.target_accept
    if isinstance(ta, bool) or not isinstance(ta, float | int) or not 0.5 <= ta < 1:
        raise invalid_parameter(
            "target_accept",
            owner,
            "a number in [0.5, 1)",
            ta,
            "Raise it (0.95, 0.99) to remove divergences.",
        )
    n_cpu = os.cpu_count() or 1
    return SamplerSettings(
        draws=int(est.draws),
        tune=int(est.tune),
        chains=int(est.chains),
        cores=int(cores) if cores is not None else max(1, min(int(est.chains), n_cpu)),
        seed=None if est.seed is None else int(est.seed),
        sampler=str(est.sampler),
        target_accept=float(ta),
    )


def sample_model(model: Any, settings: SamplerSettings) -> tuple[Any, str, list[str], float]:
    """Run NUTS on ``model``; return the InferenceData, the sampler used, notes and seconds.

    nutpie (Rust NUTS on a Numba-compiled density) is used when requested and
    installed; otherwise PyMC's own NUTS, with a note saying so.
    """
    notes: list[str] = []
    sampler = settings.sampler
    if sampler == "nutpie" and not has_nutpie():
        sampler = "pymc"
        notes.append(
            "nutpie is not installed, so PyMC's NUTS sampler was used (slower, same "
            "posterior); pip install nutpie for speed."
        )
    kwargs: dict[str, Any] = {}
    if sampler == "nutpie":
        kwargs["nuts_sampler_kwargs"] = {"cores": settings.cores}
    start = time.perf_counter()
    idata = pm.sample(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        random_seed=settings.seed,
        target_accept=settings.target_accept,
        nuts_sampler=sampler,
        progressbar=bool(options["progress"]),
        compute_convergence_checks=False,
        model=model,
        **kwargs,
    )
    return idata, sampler, notes, time.perf_counter() - start


# --------------------------------------------------------------------------- diagnostics


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of one fit.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per parameter (its worst element): ``rhat``, ``ess_bulk``, ``ess_tail``.
    max_rhat, min_ess_bulk, min_ess_tail : float
    divergences : int
        Divergent transitions after warm-up.
    n_draws : int
        Posterior draws over all chains.
    problems : tuple of str
        What is wrong and what to do; empty when all checks pass.
    """

    table: pd.DataFrame
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    n_draws: int
    problems: tuple[str, ...]

    def describe(self) -> str:
        """One line for summaries."""
        return (
            f"max R-hat {self.max_rhat:.3f}, min bulk ESS {self.min_ess_bulk:.0f}, "
            f"min tail ESS {self.min_ess_tail:.0f}, {self.divergences} divergence(s) "
            f"in {self.n_draws:,} draws"
        )


def diagnose(idata: Any, var_names: Sequence[str], owner: str) -> Diagnostics:
    """R-hat, bulk and tail ESS and divergences; warn with advice when they fail."""
    post = idata.posterior[list(var_names)]
    n_chains = int(post.sizes["chain"])
    n_draws = n_chains * int(post.sizes["draw"])
    rows = []
    with warnings.catch_warnings():
        # R-hat/ESS of a constant (e.g. a one-level zero-sum effect) are NaN with a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post) if n_chains > 1 else None
        bulk = az.ess(post, method="bulk")
        tail = az.ess(post, method="tail")
    for name in var_names:
        r = float(np.nanmax(rhat[name].to_numpy())) if rhat is not None else np.nan
        rows.append(
            {
                "parameter": name,
                "rhat": r,
                "ess_bulk": float(np.nanmin(bulk[name].to_numpy())),
                "ess_tail": float(np.nanmin(tail[name].to_numpy())),
            }
        )
    table = pd.DataFrame(rows).set_index("parameter")
    stats = idata.get("sample_stats")
    divergences = int(stats["diverging"].sum()) if stats is not None and "diverging" in stats else 0
    max_rhat = float(np.nanmax(table["rhat"])) if table["rhat"].notna().any() else np.nan
    min_bulk = float(np.nanmin(table["ess_bulk"]))
    min_tail = float(np.nanmin(table["ess_tail"]))
    problems: list[str] = []
    if divergences:
        problems.append(
            f"{divergences} divergent transition(s): the sampler met curvature it could not "
            "follow, so the posterior may be biased. Raise target_accept (e.g. 0.95 or 0.99); "
            "if they persist, tighten the priors on the hierarchical scales (priors={...})."
        )
    if np.isfinite(max_rhat) and max_rhat > RHAT_MAX:
        worst = table["rhat"].idxmax()
        problems.append(
            f"R-hat {max_rhat:.3f} > {RHAT_MAX} (worst: {worst!r}): the chains disagree. "
            "Use more tune and draws (e.g. tune=2000, draws=2000) and check the trace plot "
            "(plot(kind='trace'))."
        )
    floor = ESS_PER_CHAIN * n_chains
    if min(min_bulk, min_tail) < floor:
        worst = table[["ess_bulk", "ess_tail"]].min(axis=1).idxmin()
        problems.append(
            f"effective sample size {min(min_bulk, min_tail):.0f} < {floor} "
            f"({ESS_PER_CHAIN} per chain; worst: {worst!r}): intervals and tail "
            "probabilities are imprecise. Use more draws."
        )
    if n_chains < 2:
        problems.append("R-hat needs at least 2 chains; use chains=4.")
    if problems:
        warnings.warn(
            f"{owner}: the posterior may be unreliable. " + " ".join(problems),
            SamplingWarning,
            stacklevel=3,
        )
    return Diagnostics(
        table=table,
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        divergences=divergences,
        n_draws=n_draws,
        problems=tuple(problems),
    )


# --------------------------------------------------------------------------- summaries


def summarise_draws(draws: np.ndarray, level: float) -> dict[str, np.ndarray]:
    """Posterior mean, SD, equal-tailed interval and P(> 0) of draws (samples on axis 0)."""
    alpha = (1.0 - level) / 2.0
    return {
        "estimate": draws.mean(axis=0),
        "std_error": draws.std(axis=0, ddof=1),
        "ci_lower": np.quantile(draws, alpha, axis=0),
        "ci_upper": np.quantile(draws, 1.0 - alpha, axis=0),
        "prob_positive": (draws > 0).mean(axis=0),
    }


def posterior_predictive(idata: Any, model: Any, draws: int, seed: int | None) -> Any:
    """Replicate the observed variable ``y`` from ``draws`` evenly thinned posterior draws."""
    post = idata.posterior
    total = post.sizes["chain"] * post.sizes["draw"]
    pick = np.linspace(0, total - 1, min(draws, total)).astype(int)
    thinned = post.stack(sample=("chain", "draw")).isel(sample=pick)
    thinned = thinned.drop_vars(["chain", "draw", "sample"]).rename(sample="draw")
    thinned = thinned.expand_dims(chain=[0]).transpose("chain", "draw", ...)
    return pm.sample_posterior_predictive(
        az.InferenceData(posterior=thinned),
        model=model,
        var_names=["y"],
        random_seed=seed,
        progressbar=False,
    )


def stacked(idata: Any, name: str) -> np.ndarray:
    """Draws of a posterior variable with chains and draws flattened onto axis 0."""
    values = idata.posterior[name].to_numpy()
    return values.reshape(-1, *values.shape[2:])


# --------------------------------------------------------------------------- plots


def plot_trace(idata: Any, var_name: str, ax: Axes | None) -> Axes:
    """Trace of one scalar parameter (or the first element of a vector), chain by chain."""
    from effekt._plotting import label, new_axes

    if var_name not in idata.posterior:
        raise ParameterError(
            f"plot(kind='trace') got var_name={var_name!r}, which is not a posterior "
            f"variable. Choose one of: {', '.join(sorted(idata.posterior.data_vars))}."
        )
    ax = new_axes(ax)
    values = idata.posterior[var_name].to_numpy()
    values = values.reshape(values.shape[0], values.shape[1], -1)[:, :, 0]
    for c in range(values.shape[0]):
        ax.plot(values[c], lw=0.6, alpha=0.8, label=f"{label('chain')} {c + 1}")
    ax.set_xlabel(label("draw"))
    ax.set_ylabel(var_name)
    ax.set_title(f"{label('trace')}: {var_name}")
    ax.legend(frameon=False, fontsize="small")
    return ax


class PredictiveCheck:
    """Prior or posterior predictive draws, with a plot against the observed outcome.

    Attributes
    ----------
    idata : arviz.InferenceData
        With a ``prior_predictive`` or ``posterior_predictive`` group (variable ``y``).
    group : {"prior", "posterior"}
    observed : numpy.ndarray
        The observed outcome (shares for binomial models).
    """

    def __init__(
        self,
        idata: Any,
        group: str,
        observed: np.ndarray,
        trials: np.ndarray | None,
        outcome: str,
    ) -> None:
        self.idata = idata
        self.group = group
        self.observed = observed
        self._trials = trials
        self._outcome = outcome

    def replicated(self, n: int = 50) -> np.ndarray:
        """Up to ``n`` replicated data sets on the observed scale (one row per draw).

        Parameters
        ----------
        n : int, default 50

        Returns
        -------
        numpy.ndarray
        """
        values = self.idata[f"{self.group}_predictive"]["y"].to_numpy()
        values = values.reshape(-1, values.shape[-1])
        step = max(1, values.shape[0] // n)
        values = values[::step][:n].astype(float)
        if self._trials is not None:  # binomial: counts back to shares
            with np.errstate(invalid="ignore", divide="ignore"):
                values = values / self._trials[None, :]
        return values

    def plot(self, ax: Axes | None = None, *, n: int = 50) -> Axes:
        """Histogram of the observed outcome over ``n`` replicated data sets.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        n : int, default 50

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label

        key = "prior_predictive_check" if self.group == "prior" else "posterior_predictive_check"
        return plot_predictive(
            self.observed,
            self.replicated(n),
            ax,
            title=f"{label(key)}: {self._outcome}",
            xlabel=self._outcome,
        )


def plot_predictive(
    observed: np.ndarray, predicted: np.ndarray, ax: Axes | None, *, title: str, xlabel: str
) -> Axes:
    """Histogram of the observed values over those of replicated data sets."""
    from effekt._plotting import label, new_axes

    ax = new_axes(ax)
    lo = float(np.nanmin([np.nanmin(observed), np.nanmin(predicted)]))
    hi = float(np.nanmax([np.nanmax(observed), np.nanmax(predicted)]))
    edges = np.linspace(lo, hi, 41) if hi > lo else np.linspace(lo - 0.5, hi + 0.5, 41)
    bins = edges.tolist()
    for i in range(predicted.shape[0]):
        ax.hist(
            predicted[i],
            bins=bins,
            density=True,
            histtype="step",
            color="#9ecae1",
            alpha=0.4,
            lw=0.7,
            label=label("replicated") if i == 0 else None,
        )
    ax.hist(
        observed,
        bins=bins,
        density=True,
        histtype="step",
        color="#08519c",
        lw=1.8,
        label=label("observed"),
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label("density"))
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax
