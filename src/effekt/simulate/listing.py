"""A known effect of being listed, planted on a simulated world, to test list-threshold RDs.

:func:`plant_listing_effect` classifies a world's ``area_year`` table with
:func:`effekt.lists.classify` (the rules in force each year) and returns an
outcome panel in which being in ``category`` on the list of year ``Y`` adds
exactly ``effect`` to the outcome of year ``Y + horizon``, with nothing else
planted, together with that truth. The baseline is the world's outcome without
any intervention (:meth:`World.counterfactual` ``("all")``), so no other
simulated effect (helhedsplaner, transformations of listed areas) leaks into
the comparison at the threshold.

Limitation: the effect is added on top of the simulated world after it is
built; it does not feed back into the world (a listed area's residents, moves
and later criteria are those of the world without the planted effect). It is
the truth of the estimand the RD targets -- the jump at the boundary in the
outcome ``horizon`` years after one list -- not a simulation of what listing
does to an area.

:func:`list_threshold_data` is a light stand-alone alternative for fast tests and
examples: an ``area_year`` table whose criteria scatter around the 2018/2021
thresholds, with an outcome that is smooth in the criteria plus the planted effect.

Examples
--------
>>> from effekt import simulate
>>> from effekt.simulate.listing import plant_listing_effect
>>> world = simulate.denmark(n_areas=20, years=(2016, 2022), seed=2)
>>> panel, truth = plant_listing_effect(world, outcome="neet_share", effect=-0.05)
>>> truth.effect, sorted(panel.columns)[:3]
(-0.05, ['area_id', 'listed', 'listed_year'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from effekt import lists
from effekt.errors import DataError, ParameterError, invalid_parameter, missing_column, show_value

if TYPE_CHECKING:  # pragma: no cover
    from effekt.simulate.world import World

__all__ = ["ListingTruth", "list_threshold_data", "plant_listing_effect"]

_OWNER = "effekt.simulate.listing.plant_listing_effect"


@dataclass(frozen=True)
class ListingTruth:
    """The exact truth planted by :func:`plant_listing_effect`.

    Attributes
    ----------
    effect : float
        What being in ``category`` on a list adds to the outcome ``horizon`` years
        later, for every listed area (so also at the threshold: the RD estimand).
    outcome, category : str
    horizon, lag : int
    noise_sd : float
        Standard deviation of the extra normal noise added (0: none).
    """

    effect: float
    outcome: str
    category: str
    horizon: int
    lag: int
    noise_sd: float


def plant_listing_effect(
    world: World | pd.DataFrame,
    *,
    outcome: str,
    effect: float,
    category: str = "udsat",
    horizon: int = 1,
    lag: int = 1,
    baseline: pd.DataFrame | None = None,
    noise_sd: float = 0.0,
    seed: int | None = None,
) -> tuple[pd.DataFrame, ListingTruth]:
    """Outcome panel with a known effect of listing added, and its truth.

    Parameters
    ----------
    world : effekt.simulate.World or pandas.DataFrame
        The world (its ``area_year`` defines the lists, its
        ``counterfactual("all")`` is the baseline), or an ``area_year`` table (then
        ``baseline`` defaults to that same table).
    outcome : str
        ``area_year`` column to plant the effect on.
    effect : float
        Effect of being listed.
    category : str, default "udsat"
        List category (a column of :func:`effekt.lists.classify`); list years
        whose rules lack it plant nothing.
    horizon : int, default 1
        The list of year ``Y`` acts on the outcome of year ``Y + horizon``.
    lag : int, default 1
        Data lag of the lists (:func:`effekt.lists.classify`).
    baseline : pandas.DataFrame, optional
        ``area_id, year, outcome`` of the untreated outcome; default as above.
    noise_sd : float, default 0
        Extra independent normal noise per area-year (for Monte-Carlo draws on one
        world); ``seed`` seeds it.
    seed : int, optional

    Returns
    -------
    panel : pandas.DataFrame
        ``area_id, year, <outcome>`` (baseline + planted effect + noise),
        ``listed`` (bool: in ``category`` on the list of ``year - horizon``) and
        ``listed_year``; one row per baseline area-year.
    truth : ListingTruth

    Raises
    ------
    ParameterError
        Unknown ``category``, negative ``horizon``, non-finite ``effect`` or
        negative ``noise_sd``.
    DataError
        ``outcome`` missing from the baseline.
    """
    for name, value in (("horizon", horizon), ("lag", lag)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise invalid_parameter(name, _OWNER, "a non-negative integer", value)
    if not np.isfinite(effect):
        raise invalid_parameter("effect", _OWNER, "a finite number", effect)
    if not np.isfinite(noise_sd) or noise_sd < 0:
        raise invalid_parameter("noise_sd", _OWNER, "a non-negative number", noise_sd)
    names = {c.name for r in lists.REGIMES.values() for c in r.categories}
    if category not in names:
        raise ParameterError(
            f"The 'category' parameter of {_OWNER} must be one of {sorted(names)}. Got "
            f"{show_value(category)} instead."
        )
    if isinstance(world, pd.DataFrame):
        area_year = world
        base = area_year if baseline is None else baseline
    else:
        area_year = world.area_year
        base = world.counterfactual("all") if baseline is None else baseline
    for col in ("area_id", "year", outcome):
        if col not in base.columns:
            raise missing_column(
                "outcome" if col == outcome else col, _OWNER, col, list(base.columns)
            )
    classified = lists.classify(area_year, lag=lag)
    listed = classified[["area_id", "year", category]].copy()
    listed[category] = listed[category].fillna(False).astype(bool)
    listed = listed.rename(columns={"year": "listed_year", category: "listed"})
    panel = base[["area_id", "year", outcome]].copy()
    panel["listed_year"] = panel["year"] - horizon
    panel = panel.merge(listed, on=["area_id", "listed_year"], how="left")
    panel["listed"] = panel["listed"].fillna(False).astype(bool)
    values = panel[outcome].to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values[~np.isnan(values)]).all():
        raise DataError(f"{_OWNER}: the baseline {outcome!r} has infinite values.")
    values = values + effect * panel["listed"].to_numpy(dtype=float)
    if noise_sd > 0:
        values = values + np.random.default_rng(seed).normal(0.0, noise_sd, len(values))
    panel[outcome] = values
    truth = ListingTruth(float(effect), outcome, category, int(horizon), int(lag), float(noise_sd))
    return panel[["area_id", "year", outcome, "listed", "listed_year"]], truth


def list_threshold_data(
    *,
    n_areas: int = 300,
    years: tuple[int, int] = (2016, 2024),
    effect: float = 0.05,
    category: str = "udsat",
    horizon: int = 1,
    noise_sd: float = 0.03,
    seed: int = 0,
) -> tuple[pd.DataFrame, ListingTruth]:
    """A small ``area_year`` table near the list thresholds, with a planted listing effect.

    Each area has a latent deprivation :math:`d_i \\sim N(0, 1)`; each criterion of
    year ``t`` is a threshold-centred linear function of :math:`d_i` plus its own
    normal noise (so areas fall on both sides of every threshold and of the
    "2 of 4" boundary), clipped to its range. The column ``outcome`` is
    :math:`0.3 + 0.4\\,\\text{labour}_t + 0.2\\,\\text{education}_t + 0.05\\,d_i
    + \\varepsilon_{it} + \\text{effect} \\cdot \\text{listed}_{i,t-h}`, smooth in the
    criteria except for the listing term, with listing decided by
    :func:`effekt.lists.classify` (rules in force, lag 1).

    Parameters
    ----------
    n_areas : int, default 300
    years : tuple of int, default (2016, 2024)
        First and last data year.
    effect : float, default 0.05
    category : str, default "udsat"
        List category whose listing carries the effect.
    horizon : int, default 1
    noise_sd : float, default 0.03
        Standard deviation of :math:`\\varepsilon_{it}`.
    seed : int, default 0

    Returns
    -------
    area_year : pandas.DataFrame
        ``area_id, year, residents`` and the five criterion columns, ``outcome``
        and ``listed`` (bool: in ``category`` on the list of ``year - horizon``).
    truth : ListingTruth

    Examples
    --------
    >>> from effekt.simulate.listing import list_threshold_data
    >>> ay, truth = list_threshold_data(n_areas=50, seed=1)
    >>> ay.shape, truth.effect
    ((450, 10), 0.05)
    """
    for name, value in (("n_areas", n_areas), ("seed", seed)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or value < 1 - (name == "seed")
        ):
            raise invalid_parameter(name, "list_threshold_data", "a positive integer", value)
    first, last = years
    rng = np.random.default_rng(seed)
    t = np.arange(first, last + 1)
    n, T = int(n_areas), t.size
    d = rng.normal(size=n)

    def crit(centre: float, slope: float, lo: float, hi: float) -> np.ndarray:
        z = d[:, None] + 0.7 * rng.normal(size=(n, T))
        return np.clip(centre + slope * z, lo, hi)

    frame = pd.DataFrame(
        {
            "area_id": np.repeat([f"a{i:04d}" for i in range(n)], T),
            "year": np.tile(t, n),
            "residents": np.repeat(np.round(1000 * np.exp(0.15 + 0.35 * rng.normal(size=n))), T),
            "outside_work_edu_share": crit(0.34, 0.07, 0.01, 0.99).ravel(),
            "convicted_share": crit(0.017, 0.007, 0.0, 0.2).ravel(),
            "basic_edu_share": crit(0.53, 0.07, 0.01, 0.99).ravel(),
            "income_rel_region": crit(0.68, -0.11, 0.1, 3.0).ravel(),
            "nonwestern_share": crit(0.42, 0.15, 0.0, 1.0).ravel(),
        }
    )
    panel, truth = plant_listing_effect(
        frame.assign(
            outcome=0.3
            + 0.4 * frame["outside_work_edu_share"]
            + 0.2 * frame["basic_edu_share"]
            + 0.05 * np.repeat(d, T)
        ),
        outcome="outcome",
        effect=effect,
        category=category,
        horizon=horizon,
        noise_sd=noise_sd,
        seed=int(rng.integers(2**31)),
    )
    frame["outcome"] = panel["outcome"].to_numpy()
    frame["listed"] = panel["listed"].to_numpy()
    return frame, truth
