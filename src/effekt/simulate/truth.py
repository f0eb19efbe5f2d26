"""The known truth of a simulated world: true effects by event time, cohort and group-time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from effekt.errors import check_choice, invalid_parameter
from effekt.simulate._effects import KINDS, Effect

__all__ = ["Truth"]

_BY = ("group_time", "event_time", "cohort", "calendar", "overall", "unit_time")
_POPULATIONS = ("area", "stayers")
_OWNER = "Truth.att"


class Truth:
    """True average treatment effects on the treated of every intervention kind.

    A :class:`Truth` belongs to a :class:`~effekt.simulate.World`. All effects are
    differences between the simulated world and an exact counterfactual world in
    which one intervention kind never happened and everything else (every random
    draw, every other intervention) is the same (common random numbers). They are
    therefore the realised effects in this sample of areas and persons, with no
    Monte Carlo error.

    **Cohort.** The cohort ``g`` of an area for a kind is the first year in which
    an intervention of that kind operated in the area (kommune-wide efforts count
    for every area of the kommune). The counterfactual removes every intervention
    of the kind in every area and year, so ATT(g, t) is the effect of having
    become treated in ``g``, including later renewals (e.g. LBF plans granted again
    in later funding rounds).

    **Area estimand** (``population="area"``). For an indicator ``Y`` of
    ``area_year`` (a share or rate over the area's residents in year ``t``),
    ``ATT(g, t)`` is the mean over the areas of cohort ``g`` of
    ``Y_at - Y_at(0)``, where ``Y_at(0)`` is the indicator the area would have had
    without the kind, computed over the residents it would have had then: for
    ``fysisk_omdannelse`` a different set of in-movers, for every other kind the
    same residents. Leads (``t < g``) are included; they are zero except for
    ``income_rel_region``, whose regional denominator includes other areas that
    were treated earlier.

    **Stayer estimand** (``population="stayers"``). The same difference computed
    for each area over the baseline stayers: the persons resident in the area in
    ``g - 1`` (the last year before treatment) who have lived there continuously
    since and still live there in ``t``; defined for ``t >= g``. Each indicator
    keeps its own age band (e.g. the stayers aged 20 in ``t`` for
    ``youth_edu_20_share``). In-movers with short exposure and a changed
    composition enter the area estimand but not the stayer estimand, so the two
    differ.

    **Aggregations** (``by``), all unweighted means over areas as in Callaway and
    Sant'Anna (2021): ``"group_time"`` ATT(g, t); ``"event_time"`` the mean over
    treated areas observed ``e = t - g`` years after treatment starts;
    ``"cohort"`` the mean over ``t >= g`` of ATT(g, t); ``"calendar"`` the mean over
    areas treated by ``t``; ``"overall"`` the mean over all treated area-years with
    ``t >= g``; ``"unit_time"`` the area-level effects themselves (for synthetic
    control), with the ``observed`` and ``counterfactual`` indicator values (for
    stayers, ``observed`` equals ``effekt.registers.area_indicators(...,
    population="stayers", baseline_year=g - 1)`` on :meth:`World.registers`).
    Areas where an indicator is missing (empty denominator) are left out of that
    mean; ``n_units`` says how many distinct areas entered it.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with
    multiple time periods. Journal of Econometrics 225(2), 200-230.
    doi:10.1016/j.jeconom.2020.12.001

    Examples
    --------
    >>> from effekt import simulate
    >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
    >>> att = world.truth.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000",
    ...                       by="overall")
    >>> bool(att["estimate"].iloc[0] < 0)
    True
    """

    def __init__(
        self,
        units: pd.DataFrame,
        inheritance: pd.DataFrame,
        effects: Mapping[tuple[str, str], Effect],
        cohorts: pd.DataFrame,
        child_effects: Mapping[str, pd.DataFrame] | None = None,
    ) -> None:
        self._child_effects = dict(child_effects or {})
        self._units = units
        self._inheritance = inheritance
        self._effects = dict(effects)
        self._cohorts = cohorts

    @property
    def effects(self) -> dict[tuple[str, str], Effect]:
        """The planted effects (``denmark(effects=...)``), keyed by ``(kind, outcome)``."""
        return dict(self._effects)

    @property
    def cohorts(self) -> pd.DataFrame:
        """First treated year of every area by kind (``0``: never treated): a copy."""
        return self._cohorts.copy()

    @property
    def inheritance(self) -> pd.DataFrame:
        """The parental-education gradient in completing a youth education by 25.

        For each intervention kind with an effect on youth education, among the
        children exposed to it (at least one year before age 18 in an area where
        it operated), the difference between children of parents with higher
        (``contrast="higher_vs_basic"``) or youth (``"youth_vs_basic"``) education
        and children of parents with basic education only, in the mean probability
        of completing a youth education by 25: ``with_exposure`` as simulated,
        ``without_exposure`` for the same children without that kind, and
        ``change = with_exposure - without_exposure`` (negative: the intervention
        weakens the link between parents' and children's education). On
        ``scale="probability"`` the gradient is a difference of mean
        probabilities; on ``scale="log_odds"`` the difference of the log-odds of
        those means. ``n_children`` counts the children of the two groups.

        For every kind with a planted effect, the frame also holds one row per child
        outcome of ``effekt.registers.codes.CHILD_OUTCOMES`` and definition of
        disadvantaged parents (``contrast="basic_education_minus_other"`` or
        ``"no_work_minus_other"``, as in ``World.children()``: measured in the
        parents' register rows at the child's age 15), on ``scale="probability"``:
        among the children with at least one year of exposure to the kind at ages
        6-17 whose outcome is observed, the mean outcome of children of
        disadvantaged parents minus that of the others, as simulated
        (``with_exposure``) and for the same children in the exact counterfactual
        world without the kind (``without_exposure``, the realised outcomes with
        common random numbers, not probabilities). ``change`` is then the effect on
        the disadvantaged minus the effect on the others. Per-child effects are in
        :meth:`child_effects`.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind, outcome, contrast, scale, without_exposure,
            with_exposure, change, n_children`` (a copy).
        """
        return self._inheritance.copy()

    def child_effects(self, kind: str) -> pd.DataFrame:
        """Every child's own true effect of ``kind`` on each child outcome.

        For each child of ``World.children()`` (``person_id``), the outcome as
        simulated minus the outcome in the exact counterfactual world without the
        kind (common random numbers), for every outcome of
        ``effekt.registers.codes.CHILD_OUTCOMES`` (NaN where the outcome is not
        observed). Any estimand over children (a gradient change over chosen cells,
        an exposure slope) is the same estimator applied to these effects instead
        of the outcomes: the exact truth of that estimand on this sample.

        Parameters
        ----------
        kind : str
            An intervention kind with a planted effect.

        Returns
        -------
        pandas.DataFrame
            ``person_id`` and one column per child outcome (a copy).

        Raises
        ------
        ParameterError
            If the kind has no planted effect in this world.

        Examples
        --------
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
        >>> eff = world.truth.child_effects("lbf_helhedsplan")
        >>> list(eff.columns)[:2]
        ['person_id', 'youth_edu_21']
        """
        if kind not in self._child_effects:
            raise invalid_parameter(
                "kind", "Truth.child_effects", f"one of {sorted(self._child_effects)}", kind
            )
        return self._child_effects[kind].copy()

    def att(
        self,
        *,
        kind: str | None = None,
        outcome: str | None = None,
        by: Literal[
            "group_time", "event_time", "cohort", "calendar", "overall", "unit_time"
        ] = "event_time",
        population: Literal["area", "stayers"] = "area",
    ) -> pd.DataFrame:
        """True ATT of an intervention kind, aggregated like an estimator's effect table.

        Parameters
        ----------
        kind : str, optional
            Intervention kind (e.g. ``"lbf_helhedsplan"``); all kinds if omitted.
        outcome : str, optional
            An ``area_year`` indicator (e.g. ``"youth_charged_per_1000"``); all if
            omitted.
        by : {"group_time", "event_time", "cohort", "calendar", "overall", "unit_time"}
            Aggregation (see the class docstring), default ``"event_time"``.
        population : {"area", "stayers"}, default "area"
            The area-population or baseline-stayer estimand.

        Returns
        -------
        pandas.DataFrame
            Key columns ``kind, outcome, population, aggregation`` and, as the
            aggregation has them, ``cohort, time, event_time, unit``; then
            ``estimate`` (the true effect) and ``n_units`` (areas averaged). Column
            names match effekt's effect tables, so estimates can be merged on them.

        Raises
        ------
        ParameterError
            If ``kind``, ``outcome``, ``by`` or ``population`` is not a valid choice.

        Examples
        --------
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
        >>> tab = world.truth.att(kind="lbf_helhedsplan", outcome="outside_work_edu_share")
        >>> list(tab.columns)
        ['kind', 'outcome', 'population', 'aggregation', 'event_time', 'estimate', 'n_units']
        """
        check_choice("by", _OWNER, by, _BY)
        check_choice("population", _OWNER, population, _POPULATIONS)
        if kind is not None:
            check_choice("kind", _OWNER, kind, KINDS)
        units = self._units
        if outcome is not None:
            known = tuple(units["outcome"].unique())
            if outcome not in known:
                raise invalid_parameter("outcome", _OWNER, f"one of {known}", outcome)
        sel = units["population"] == population
        if kind is not None:
            sel &= units["kind"] == kind
        if outcome is not None:
            sel &= units["outcome"] == outcome
        u = units[sel]
        keys = ["kind", "outcome", "population"]
        if by == "unit_time":
            cols = [*keys, "unit", "cohort", "time", "event_time", "estimate"]
            out = u[cols].assign(
                n_units=1, observed=u["observed"], counterfactual=u["counterfactual"]
            )
        elif by == "group_time":
            out = self._mean(u, [*keys, "cohort", "time", "event_time"])
        elif by == "event_time":
            out = self._mean(u, [*keys, "event_time"])
        elif by == "cohort":
            post = u[u["event_time"] >= 0]
            gt = self._mean(post, [*keys, "cohort", "time"])
            out = gt.groupby([*keys, "cohort"], sort=True, as_index=False).agg(
                estimate=("estimate", "mean")
            )
            areas = post.groupby([*keys, "cohort"], sort=True)["unit"].nunique()
            out["n_units"] = areas.to_numpy()
        elif by == "calendar":
            out = self._mean(u[u["event_time"] >= 0], [*keys, "time"])
        else:
            out = self._mean(u[u["event_time"] >= 0], keys)
        out = out.reset_index(drop=True)
        out.insert(3, "aggregation", pd.Series([by] * len(out), index=out.index, dtype="str"))
        return out

    @staticmethod
    def _mean(u: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return u.groupby(keys, sort=True, as_index=False).agg(
            estimate=("estimate", "mean"), n_units=("unit", "nunique")
        )

    def __repr__(self) -> str:
        kinds = sorted(set(self._units["kind"]), key=KINDS.index)
        return (
            f"<effekt.simulate.Truth: {len(self._effects)} planted effect(s); "
            f"kinds with treated areas: {', '.join(kinds) or 'none'}>"
        )


def _empty_units() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": pd.Series(dtype="str"),
            "outcome": pd.Series(dtype="str"),
            "population": pd.Series(dtype="str"),
            "unit": pd.Series(dtype="str"),
            "cohort": pd.Series(dtype=np.int64),
            "time": pd.Series(dtype=np.int64),
            "event_time": pd.Series(dtype=np.int64),
            "estimate": pd.Series(dtype=float),
            "observed": pd.Series(dtype=float),
            "counterfactual": pd.Series(dtype=float),
        }
    )
