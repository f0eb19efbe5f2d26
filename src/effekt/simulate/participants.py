"""Participants of a kernedrift effort, with selection on observables and a known effect.

:func:`participants` takes a simulated :class:`~effekt.simulate.World` and draws who
takes part in one kind of kernedrift effort (by default pocket-money projects,
``lommepengeprojekt``): youths who turn ``age`` in a year when the effort operates in
their area (or kommune) are eligible once; each takes part with a probability that
depends only on covariates observed in the registers the year before (sex, origin,
parental education), so selection is on observables. Participation raises the
outcome by a known amount from the start year on, and the exact effect on the
participants is kept, so :class:`effekt.participants.MatchedFollowUp` can be checked
against it.

The module reads only the world's public tables (``registers()``, ``persons`` and
``interventions``); it changes nothing in the world.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from effekt.errors import IdentificationError, check_choice, invalid_parameter
from effekt.registers.codes import SOCIO13_STUDENT, SOCIO13_WORKING
from effekt.simulate._effects import KERNEDRIFT_KINDS
from effekt.simulate.world import World

__all__ = ["ParticipantSimulation", "participants"]

_OWNER = "effekt.simulate.participants"
#: Outcomes the simulation can emit (0/1 per person-year, from the registers).
PARTICIPANT_OUTCOMES = ("in_education", "in_education_or_work", "employed")
#: The covariates (base year) that selection depends on; pass them to the matcher.
COVARIATES = ("female", "nonwestern", "western", "parent_basic", "parent_higher")
# log-odds of participation per covariate: pocket-money projects recruit boys,
# youths of non-Western origin and of parents with basic education (who have lower
# and falling education enrolment in the simulated world), so the naive comparison
# is biased downwards
_SELECTION = {
    "female": -0.5,
    "nonwestern": 1.0,
    "western": 0.2,
    "parent_basic": 0.8,
    "parent_higher": -0.8,
}


@dataclass(frozen=True)
class ParticipantSimulation:
    """Participants, their person-years and the exact effect; from :func:`participants`.

    Attributes
    ----------
    participants : DataFrame
        ``person_id, start_year, area_id, kommune_code``.
    person_years : DataFrame
        Eligible youths (participants and the eligible non-participants), each year
        from the base year on: ``person_id, year, age, area_id, kommune_code``, the
        covariates, and the outcome (observed: with the effect for participants).
    covariates : tuple of str
        The covariates selection depends on.
    outcome : str
    effect : float
        Probability that participation turns a 0 into a 1 in a follow-up year.
    kind : str
    """

    participants: pd.DataFrame
    person_years: pd.DataFrame
    covariates: tuple[str, ...]
    outcome: str
    effect: float
    kind: str
    _untreated: pd.DataFrame = field(repr=False)

    def att(self, follow_up: int = 3) -> pd.DataFrame:
        """The exact effect on the participants, by follow-up year and pooled.

        Over the participants that :class:`~effekt.participants.MatchedFollowUp`
        keeps with the same ``follow_up`` (the outcome observed in the base year and
        every year to ``start + follow_up``): the mean of ``Y(1) - Y(0)``.

        Returns
        -------
        DataFrame
            ``aggregation, event_time, estimate, n_participants``.
        """
        if isinstance(follow_up, bool) or not isinstance(follow_up, int) or follow_up < 0:
            raise invalid_parameter(
                "follow_up", "ParticipantSimulation.att", "an integer >= 0", follow_up
            )
        u = self._untreated
        e = np.arange(follow_up + 1)
        rows = u[u["event_time"].between(-1, follow_up)]
        n_years = rows.groupby("person_id")["event_time"].nunique()
        full = n_years.index[n_years == follow_up + 2]
        rows = rows[rows["person_id"].isin(full) & (rows["event_time"] >= 0)]
        by = rows.groupby("event_time")["gain"].mean().reindex(e)
        return pd.DataFrame(
            {
                "aggregation": ["event_time"] * len(e) + ["pooled"],
                "event_time": pd.array([*e.tolist(), None], dtype="Int64"),
                "estimate": [*by.to_numpy(float), float(by.mean())],
                "n_participants": len(full),
            }
        )


def participants(
    world: World,
    *,
    kind: str = "lommepengeprojekt",
    age: int = 15,
    outcome: str = "in_education",
    effect: float = 0.3,
    share: float = 0.25,
    selection: float = 1.0,
    seed: int = 0,
) -> ParticipantSimulation:
    """Simulate the participants of a kernedrift effort in a simulated Denmark.

    Parameters
    ----------
    world : World
        From :func:`effekt.simulate.denmark`.
    kind : str, default "lommepengeprojekt"
        A kernedrift kind (``KERNEDRIFT_KINDS``); its spells in
        ``world.interventions`` say where and when youths can take part
        (kommune-wide spells cover every study area of the kommune).
    age : int, default 15
        Youths are eligible in the year they turn ``age`` (10-20), if they then
        live in a study area where the effort operates and were registered the
        year before (the base year).
    outcome : {"in_education", "in_education_or_work", "employed"}, default "in_education"
        0/1 outcome per person-year: enrolled in education (UDDA ``UDD_IGANG``);
        enrolled, a student or working (RAS SOCIO13); working (SOCIO13 110-139).
    effect : float, default 0.3
        In every year from the start on, a participant whose untreated outcome is 0
        has it turned into 1 with this probability (0-1): the effect is largest
        where the untreated outcome is worst, and the exact gain is recorded.
    share : float, default 0.25
        Approximate share of the eligible youths who take part (0-1).
    selection : float, default 1.0
        Multiplies the selection log-odds (boys, non-Western origin, parents with
        basic education are likelier to take part); 0 makes participation random.
    seed : int, default 0
        Seed of the participation and effect draws (the world has its own).

    Returns
    -------
    ParticipantSimulation

    Raises
    ------
    ParameterError
        An argument out of range.
    IdentificationError
        If the world has no spell of ``kind`` with eligible youths.

    Examples
    --------
    >>> from effekt import simulate
    >>> world = simulate.denmark(n_areas=20, years=(2005, 2016), seed=2)
    >>> sim = simulate.participants(world, seed=2)
    >>> list(sim.participants.columns)
    ['person_id', 'start_year', 'area_id', 'kommune_code']
    >>> truth = sim.att(follow_up=2)  # participation never lowers the outcome
    >>> bool(truth["estimate"].ge(0).all()), list(truth["aggregation"].unique())
    (True, ['event_time', 'pooled'])
    """
    if not isinstance(world, World):
        raise invalid_parameter("world", _OWNER, "a World from effekt.simulate.denmark", world)
    check_choice("kind", _OWNER, kind, KERNEDRIFT_KINDS)
    check_choice("outcome", _OWNER, outcome, PARTICIPANT_OUTCOMES)
    if isinstance(age, bool) or not isinstance(age, int) or not 10 <= age <= 20:
        raise invalid_parameter("age", _OWNER, "an integer from 10 to 20", age)
    for name, value, low, high in (
        ("effect", effect, 0.0, 1.0),
        ("share", share, 1e-3, 0.999),
        ("selection", selection, 0.0, 5.0),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise invalid_parameter(name, _OWNER, f"a number in [{low}, {high}]", value)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise invalid_parameter("seed", _OWNER, "a non-negative integer", seed)

    eligible, cov, years = _prepare(world, kind, age, outcome)
    years = years.copy()
    ids = eligible["person_id"].to_numpy()
    start = eligible["year"].to_numpy(np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9A27]))
    lin = selection * (cov.to_numpy() @ np.array([_SELECTION[c] for c in COVARIATES]))
    intercept = _intercept(lin, share)
    takes_part = rng.random(len(cov)) < 1.0 / (1.0 + np.exp(-(intercept + lin)))

    part = pd.Series(takes_part, index=ids)
    is_part = years["person_id"].map(part).to_numpy(bool)
    post = is_part & (years["event_time"].to_numpy() >= 0)
    flip = rng.random(len(years)) < effect
    gain = (post & (years["y0"].to_numpy() == 0) & flip).astype(np.int64)
    years[outcome] = years["y0"].to_numpy(np.int64) + gain
    for c in COVARIATES:
        years[c] = years["person_id"].map(cov[c]).to_numpy(np.float64)
    years = years.sort_values(["person_id", "year"], kind="stable").reset_index(drop=True)

    table = pd.DataFrame(
        {
            "person_id": ids[takes_part],
            "start_year": start[takes_part],
            "area_id": eligible["area_id"].to_numpy(object)[takes_part],
            "kommune_code": eligible["kommune_code"].to_numpy(np.int64)[takes_part],
        }
    )
    table["person_id"] = table["person_id"].astype(str)
    table["area_id"] = table["area_id"].astype(str)
    # the exact gains Y(1) - Y(0) of the participants, kept for ParticipantSimulation.att
    of_part = years["person_id"].map(part).to_numpy(bool)
    untreated = pd.DataFrame(
        {
            "person_id": years["person_id"].to_numpy()[of_part],
            "event_time": years["event_time"].to_numpy(np.int64)[of_part],
            "gain": (years[outcome] - years["y0"]).to_numpy(np.int64)[of_part],
        }
    )
    person_years = years.drop(columns=["y0", "event_time"])
    return ParticipantSimulation(
        participants=table.sort_values("person_id").reset_index(drop=True),
        person_years=person_years,
        covariates=COVARIATES,
        outcome=outcome,
        effect=float(effect),
        kind=kind,
        _untreated=untreated,
    )


# The eligible youths and their untreated outcomes depend only on the world, the kind,
# the age and the outcome; kept per world so that repeated draws (coverage studies)
# do not rebuild the registers each time.
_PREPARED: weakref.WeakKeyDictionary[World, dict[tuple[str, int, str], Any]] = (
    weakref.WeakKeyDictionary()
)


def _prepare(
    world: World, kind: str, age: int, outcome: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cache = _PREPARED.setdefault(world, {})
    key = (kind, age, outcome)
    if key in cache:
        return cast(tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], cache[key])
    y0_world, y1_world = world.years
    regs = world.registers()
    bef = regs["bef"]
    bef = pd.DataFrame(
        {
            "person_id": bef["PNR"].astype(str).to_numpy(),
            "year": bef["AAR"].to_numpy(np.int64),
            "kommune_code": bef["KOM"].to_numpy(np.int64),
            "area_id": bef["OMRAADE"].to_numpy(object),
            "age": (bef["AAR"] - bef["FOED_AAR"]).to_numpy(np.int64),
        }
    )
    # eligible: turning `age` in a year the effort operates where they live
    spells = world.interventions
    spells = spells[spells["kind"] == kind]
    cand = bef[(bef["age"] == age) & bef["area_id"].notna()]
    on = np.zeros(len(cand), bool)
    ends = spells["end_year"].fillna(y1_world).to_numpy(np.int64)
    for first, last, scope, kom, area in zip(
        spells["start_year"].to_numpy(np.int64),
        ends,
        spells["scope"].to_numpy(object),
        spells["kommune_code"].to_numpy(np.int64),
        spells["area_id"].to_numpy(object),
        strict=True,
    ):
        when = cand["year"].between(int(first), int(last)).to_numpy()
        where = (
            (cand["kommune_code"] == kom).to_numpy()
            if scope == "kommune"
            else (cand["area_id"] == area).to_numpy()
        )
        on |= when & where
    eligible = cand[on & (cand["year"] > y0_world)]
    # only the eligible youths' own person-years are needed from here on
    mine = bef[bef["person_id"].isin(eligible["person_id"].unique())]
    registered = pd.MultiIndex.from_frame(mine[["person_id", "year"]])
    base_key = pd.MultiIndex.from_arrays([eligible["person_id"], eligible["year"] - 1])
    eligible = eligible[base_key.isin(registered)]
    if eligible.empty:
        raise IdentificationError(
            f"The world has no youth aged {age} living where a {kind!r} effort operates "
            f"(after its first year); choose another 'kind' or 'age', or a larger world."
        )

    persons = world.persons.set_index("person_id")
    info = persons.loc[eligible["person_id"], ["sex", "origin", "parental_education"]]
    cov = pd.DataFrame(
        {
            "female": (info["sex"] == "female").to_numpy(np.float64),
            "nonwestern": (info["origin"] == "nonwestern").to_numpy(np.float64),
            "western": (info["origin"] == "western").to_numpy(np.float64),
            "parent_basic": (info["parental_education"] == "basic").to_numpy(np.float64),
            "parent_higher": (info["parental_education"] == "higher").to_numpy(np.float64),
        },
        index=eligible["person_id"].to_numpy(),
    )
    start = eligible["year"].to_numpy(np.int64)
    # untreated outcomes of the eligible youths in every year from the base year on
    ids = eligible["person_id"].to_numpy()
    first = pd.Series(start - 1, index=ids)
    years = mine[mine["person_id"].isin(ids)].copy()
    years = years[years["year"] >= years["person_id"].map(first).to_numpy()]
    years["y0"] = _outcome(regs, years, outcome)
    years["event_time"] = years["year"] - years["person_id"].map(pd.Series(start, index=ids))
    cache[key] = (eligible, cov, years)
    return eligible, cov, years


def _intercept(lin: np.ndarray, share: float) -> float:
    """Intercept giving a mean participation probability of ``share`` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(mid + lin)))) < share:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _outcome(regs: dict[str, pd.DataFrame], years: pd.DataFrame, outcome: str) -> np.ndarray:
    key = pd.MultiIndex.from_frame(years[["person_id", "year"]])
    wanted = years["person_id"].unique()

    def lookup(table: str, column: str) -> np.ndarray:
        t = regs[table]
        t = t[t["PNR"].isin(wanted)]
        idx = pd.MultiIndex.from_arrays([t["PNR"].astype(str), t["AAR"].astype(np.int64)])
        return pd.Series(t[column].to_numpy(), index=idx).reindex(key).to_numpy(dtype=float)

    enrolled = lookup("udda", "UDD_IGANG") > 0
    socio = lookup("ras", "SOCIO13")
    working = (socio >= SOCIO13_WORKING[0]) & (socio <= SOCIO13_WORKING[1])
    if outcome == "in_education":
        y = enrolled
    elif outcome == "employed":
        y = working
    else:
        y = enrolled | working | (socio == SOCIO13_STUDENT)
    return np.asarray(y, dtype=np.int64)
