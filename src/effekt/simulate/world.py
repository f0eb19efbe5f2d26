"""The simulated Denmark: :func:`denmark` and the :class:`World` it returns."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import ParameterError, check_choice, invalid_parameter
from effekt.simulate import _dgp as D
from effekt.simulate._build import AREA_YEAR_COLUMNS, Builder
from effekt.simulate._effects import KINDS, Effect, resolve_effects
from effekt.simulate._registers import Emitter
from effekt.simulate.truth import Truth, _empty_units

__all__ = ["World", "denmark"]

_OWNER = "effekt.simulate.denmark"
_INTERVENTION_COLUMNS = (
    "intervention_id",
    "area_id",
    "kommune_code",
    "scope",
    "kind",
    "funder",
    "funding_round",
    "start_year",
    "end_year",
    "focus_areas",
)


def denmark(
    *,
    n_areas: int = 100,
    years: tuple[int, int] = (2005, 2024),
    seed: int = 0,
    effects: Mapping[tuple[str, str], Effect | float] | Literal["none"] | None = None,
    selection: Literal["level", "dynamic"] = "level",
    transformation_mix: float = 0.5,
    reference_ratio: float = 0.5,
) -> World:
    """Simulate Danish deprived housing areas with interventions whose effects are known.

    The world is a person-level microsimulation: households move in and out of
    dwellings in housing areas nested in the 98 real kommuner; persons age, are
    born, leave home and die; each person-year gets an education, a labour-market
    status (SOCIO13), an income, charges, convictions and, for children,
    placements. ``area_year`` is computed from these person-years with the
    definitions of effekt's register contract, so it equals what
    ``effekt.registers`` computes from :meth:`World.registers`.

    Interventions: LBF helhedsplaner granted in the real funding rounds
    (2006-2010, 2011-2014, 2015-2018, 2019-2022, 2023-2026; 4-year plans, often
    renewed) to the areas with the worst latent deprivation, so that a naive
    treated-vs-untreated comparison is biased; six kinds of kernedrift efforts
    starting in staggered years, kommune-wide or area-specific; and physical
    transformations (``fysisk_omdannelse``) in the areas that
    :func:`effekt.lists.classify` designates hard ghettos / omdannelsesområder
    (from the 2018 list on), starting the year after the designation. A
    transformation affects no person: it lets richer households move in (see
    ``transformation_mix``), which improves the area's indicators.

    Parameters
    ----------
    n_areas : int, default 100
        Number of housing areas (10-2000). Areas have about 1,000-4,000 residents
        (a few up to ~9,000), more of them in København, Aarhus, Odense, Aalborg
        and the Copenhagen suburbs. About 500 areas is Denmark-sized.
    years : tuple of int, default (2005, 2024)
        First and last simulated year (1995-2040, at least 5 years). Plans whose
        start year falls outside are not simulated.
    seed : int, default 0
        Seed of every random draw; the same seed gives an identical world.
    effects : mapping, "none" or None, default None
        True effects ``{(kind, outcome): Effect or size}``; see :class:`Effect`
        and ``EFFECT_OUTCOMES``. ``None`` plants :func:`default_effects`, ``"none"``
        no effect at all (a placebo world). A mapping plants exactly the effects it
        lists. Changing the effects changes no other random draw, so worlds that
        differ only in ``effects`` have the same untreated outcomes (until the
        lists, and hence the transformations, respond to the effects).
    selection : {"level", "dynamic"}, default "level"
        What LBF grants select on. ``"level"``: the areas' permanent deprivation,
        so treated areas are worse off but would have followed parallel trends.
        ``"dynamic"``: also the area's recent labour-market trend and shock, so
        grants follow a temporary dip (Ashenfelter's dip) and parallel trends fail.
    transformation_mix : float, default 0.5
        Share of households moving into a transformed area after the
        transformation starts that come from a richer in-mover stream (higher
        socio-economic latent, fewer non-Western, fewer children); 0 turns the
        composition change off.
    reference_ratio : float, default 0.5
        Size of the reference population outside the study areas, relative to
        the areas' residents in each region (at least 1,500 per region with
        areas). It gives the regional income means and the national levels.

    Returns
    -------
    World
        Tables, registers and the known truth.

    Raises
    ------
    ParameterError
        If an argument is out of range or of the wrong type.

    See Also
    --------
    World.truth : the true effects.
    default_effects : the default effect sizes and their sources.

    Notes
    -----
    Effects act on persons' probabilities additively (a linear probability
    model), as do area, kommune and year effects, area trends and AR(1) area
    shocks; with ``selection="level"`` the untreated area indicators therefore
    follow parallel trends in levels up to composition noise. Adults who move out
    of the study areas after age 25 leave the simulated registers; younger movers
    are followed outside the areas until the year they turn 25.

    Cost: the default 100 areas are about 0.8 million persons and 7 million
    person-years (on a small 2-core machine about 2 s to build with one thread,
    1.7 s with two, and 1 s more for the truth on first use); 500 areas take about
    five times that (``benchmarks/bench_simulate.py``). Person-years are computed in
    blocks of whole persons, on ``effekt.options["threads"]`` threads; the world is
    the same for any number of threads. Peak memory is about 0.5-0.65 GB for 100
    areas and 1.6-1.8 GB for 500 (more with more threads).

    References
    ----------
    Published effect sizes: ``datasets/data/published_effects.csv`` (CFBU 2015;
    BL/Vasiljeva 2020, doi:10.7146/samfundsokonomen.v0i3.122592). List rules:
    :mod:`effekt.lists`.

    Examples
    --------
    >>> from effekt import simulate
    >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
    >>> world.area_year.shape[0] == 10 * 10
    True
    >>> placebo = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1, effects="none")
    >>> float(placebo.truth.att(kind="lbf_helhedsplan", outcome="outside_work_edu_share",
    ...                         by="overall")["estimate"].iloc[0])
    0.0
    """
    cfg = _config(n_areas, years, seed, effects, selection, transformation_mix, reference_ratio)
    return World(cfg)


def _config(
    n_areas: Any,
    years: Any,
    seed: Any,
    effects: Any,
    selection: Any,
    transformation_mix: Any,
    reference_ratio: Any,
) -> D.Config:
    def is_int(x: Any) -> bool:
        return isinstance(x, int | np.integer) and not isinstance(x, bool)

    def is_real(x: Any) -> bool:
        return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)

    if not is_int(n_areas) or not 10 <= n_areas <= 2000:
        raise invalid_parameter("n_areas", _OWNER, "an integer from 10 to 2000", n_areas)
    if (
        not isinstance(years, Sequence)
        or isinstance(years, str)
        or len(years) != 2
        or not all(is_int(y) for y in years)
    ):
        raise invalid_parameter("years", _OWNER, "a pair of integers (first, last)", years)
    y0, y1 = int(years[0]), int(years[1])
    if not (y0 >= 1995 and y1 <= 2040 and y1 - y0 >= 4):
        raise invalid_parameter(
            "years", _OWNER, "within 1995-2040 and spanning at least 5 years", years
        )
    if not is_int(seed) or seed < 0:
        raise invalid_parameter("seed", _OWNER, "a non-negative integer", seed)
    check_choice("selection", _OWNER, selection, ("level", "dynamic"))
    if not is_real(transformation_mix) or not 0 <= transformation_mix <= 1:
        raise invalid_parameter(
            "transformation_mix", _OWNER, "a number in [0, 1]", transformation_mix
        )
    if not is_real(reference_ratio) or not 0.1 <= reference_ratio <= 5:
        raise invalid_parameter("reference_ratio", _OWNER, "a number in [0.1, 5]", reference_ratio)
    return D.Config(
        int(n_areas),
        y0,
        y1,
        int(seed),
        resolve_effects(effects, _OWNER),
        str(selection),
        float(transformation_mix),
        float(reference_ratio),
    )


class World:
    """A simulated Denmark with known truth; build it with :func:`denmark`.

    Attributes
    ----------
    areas, area_year, interventions, persons : pandas.DataFrame
        The canonical tables (each passes ``effekt.validate(df, name)``); every
        access returns a copy. ``persons`` is built on first access.
    lists : pandas.DataFrame
        :func:`effekt.lists.classify` of ``area_year`` (``regime="auto"``).
    truth : Truth
        The true effects, computed on first access of ``truth`` or
        :meth:`counterfactual` (they need every counterfactual world, about half
        the time of building the world again); :meth:`registers` and ``persons``
        do not need them.
    seed : int
    years : tuple of int

    Examples
    --------
    >>> from effekt import simulate
    >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
    >>> sorted(world.registers())
    ['anbringelser', 'bef', 'ind', 'kraf', 'krsi', 'ras', 'udda']
    """

    def __init__(self, cfg: D.Config) -> None:
        self._cfg = cfg
        b = Builder(cfg)
        b.run()
        self._b = b
        self._area_year = b.area_year
        self._areas = pd.DataFrame(
            {
                "area_id": pd.array(b.areas.area_id, dtype="str"),
                "name": pd.array(b.areas.name, dtype="str"),
                "kommune_code": b.areas.kom.astype(np.int64),
                "region_code": b.areas.region.astype(np.int64),
            }
        )
        self._interventions = self._intervention_table()
        # the truth and the counterfactual worlds are computed on first use (_finish)
        self._truth: Truth | None = None
        self._cf: dict[str, pd.DataFrame] = {}
        self._persons: pd.DataFrame | None = None
        self._emitter: Emitter | None = None

    def _finish(self) -> Truth:
        """Compute the counterfactual worlds and the truth (once)."""
        if self._truth is None:
            b = self._b
            b.counterfactuals()
            units = b.truth_frame()
            cohorts = pd.DataFrame(
                {"area_id": self._areas["area_id"]}
                | {k: b.cohort[k].astype(np.int64) for k in KINDS}
            )
            self._cf = {k: b.frame(s) for k, s in b.cf_sums.items()}
            from effekt.simulate._children import inheritance_truth

            em = self._emit()
            ids = np.full(b.ps.n, "", dtype=object)
            ids[em.persons] = em.pnr
            by_child, child_effects = inheritance_truth(b, ids)
            inherit = pd.concat([b.inheritance(), by_child], ignore_index=True)
            self._truth = Truth(
                units if len(units) else _empty_units(),
                inherit,
                self._cfg.effects,
                cohorts,
                child_effects,
            )
            b.release()
        return self._truth

    # ------------------------------------------------------------------ tables

    @property
    def seed(self) -> int:
        """The seed the world was built with."""
        return self._cfg.seed

    @property
    def years(self) -> tuple[int, int]:
        """First and last simulated year."""
        return (self._cfg.y0, self._cfg.y1)

    @property
    def areas(self) -> pd.DataFrame:
        """Housing areas: ``area_id, name, kommune_code, region_code`` (schema ``areas``)."""
        return self._areas.copy()

    @property
    def area_year(self) -> pd.DataFrame:
        """Area-year indicators (schema ``area_year``), computed from the person-years."""
        return self._area_year.copy()

    @property
    def interventions(self) -> pd.DataFrame:
        """Intervention spells (schema ``interventions``); kommune-wide ones have no area_id."""
        return self._interventions.copy()

    @property
    def lists(self) -> pd.DataFrame:
        """The official list classification of every area and list year (a copy)."""
        return self._b.lists.copy()

    @property
    def truth(self) -> Truth:
        """The known true effects (:class:`Truth`), computed on first access."""
        return self._finish()

    @property
    def persons(self) -> pd.DataFrame:
        """One row per person ever in the simulated registers (schema ``persons``).

        ``baseline_year`` is the first year the person is in the registers (the
        first simulated year, the year after birth (the registers count the
        population on 1 January) or the year of arrival) and
        ``baseline_area_id`` the area lived in then (empty outside the study
        areas). ``mover_status``: ``"in_mover"`` if the person entered the
        registers by moving into a study area after the first year,
        ``"out_mover"`` if the person left the baseline area alive before the last
        year, ``"stayer"`` otherwise; empty for persons who never lived in a study
        area. ``exposure_years``: years before 18 lived in a study area while any
        intervention operated there. Outcomes are missing when the age was not
        observed in the window.
        """
        if self._persons is None:
            self._persons = self._emit().persons_table()
        return self._persons.copy()

    def registers(self) -> dict[str, pd.DataFrame]:
        """Register extracts in the shape of effekt's register contract.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``bef, udda, ras, ind, krsi, kraf, anbringelser`` with upper-case
            DST-style columns (``PNR, AAR, KOM, OMRAADE, ...``); ``OMRAADE`` is
            missing for persons living outside the study areas. Built anew on each
            call (they are large); the same world always gives the same registers.

        Examples
        --------
        >>> from effekt import simulate
        >>> regs = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1).registers()
        >>> list(regs["bef"].columns)
        ['PNR', 'AAR', 'KOM', 'OMRAADE', 'FOED_AAR', 'KOEN', 'HERKOMST', 'MOR_PNR', 'FAR_PNR']
        """
        return self._emit().registers()

    def children(self, *, window: tuple[int, int] = (6, 17), parent_age: int = 15) -> pd.DataFrame:
        """The children table (schema ``children``), computed from the person-years.

        The same table as ``effekt.registers.children(world.registers(),
        interventions=world.interventions, window=window, parent_age=parent_age)``
        (a test checks it), built without the registers: one row per child who lived
        in a study area at an age in ``window``, with the parents' background, the
        exposure to each intervention kind and the child outcomes of
        ``effekt.registers.codes.CHILD_OUTCOMES``.

        Examples
        --------
        >>> from effekt import simulate
        >>> kids = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1).children()
        >>> sorted(set(kids["parents_education"].dropna()))
        ['basic', 'higher', 'youth']
        """
        from effekt.registers._children import _window
        from effekt.simulate._children import children_frame

        window = _window(window)
        em = self._emit()
        present = set(self._interventions["kind"])
        kinds = tuple(k for k in KINDS if k in present)
        return children_frame(self._b, em.pnr, em.rank, kinds, window, int(parent_age))

    def _emit(self) -> Emitter:
        if self._emitter is None:
            self._emitter = Emitter(self._b)
        return self._emitter

    def stayer_panel(self, baseline_year: int | Sequence[int]) -> pd.DataFrame:
        """Area-year indicators over the baseline stayers of one or more baseline years.

        For baseline year ``b`` the population of area ``a`` in year ``t`` is everyone
        registered in ``a`` in ``b`` who is registered in ``a`` in ``t`` too (before or
        after ``b``): the definition of ``effekt.registers.area_indicators(registers,
        population="stayers", baseline_year=b)``, whose result this equals exactly on
        :meth:`registers`, computed from the simulated person-years directly (one
        vectorised pass over the stayers' person-years, instead of building and
        aggregating the registers). Each indicator keeps its own age band (the
        stayers aged 15-24 in ``t`` for ``neet_share``); ``income_rel_region`` keeps
        the whole region as benchmark; ``moves_in``/``moves_out`` count persons entering
        and leaving the stayers' presence in the area.

        Parameters
        ----------
        baseline_year : int or sequence of int
            Baseline year(s), within :attr:`years`. For a study of treatment cohort
            ``g`` the baseline is ``g - 1``, the last year before treatment.

        Returns
        -------
        pandas.DataFrame
            The columns of ``area_year`` (each baseline year's rows pass
            ``effekt.validate(df, "area_year")``), then ``baseline_year``; one row per
            baseline year, area and year, sorted in that order.

        Raises
        ------
        ParameterError
            A baseline year that is not an integer within :attr:`years`.

        See Also
        --------
        effekt.registers.area_indicators : the same table from register extracts.
        Truth.att : ``population="stayers"`` gives the true effects on these persons.

        Examples
        --------
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
        >>> st = world.stayer_panel(2009)
        >>> st.shape[0] == 10 * 10
        True
        >>> ay = world.area_year
        >>> # baseline-year stayers are everyone in the area in that year
        >>> bool((st.loc[st["year"] == 2009, "residents"].to_numpy()
        ...       == ay.loc[ay["year"] == 2009, "residents"].to_numpy()).all())
        True
        """
        from effekt.simulate._build import Sums

        owner = "World.stayer_panel"
        y0, y1 = self.years
        bases: list[Any] = (
            list(baseline_year)
            if isinstance(baseline_year, Sequence) and not isinstance(baseline_year, str)
            else [baseline_year]
        )
        for base in bases:
            if (
                isinstance(base, bool)
                or not isinstance(base, int | np.integer)
                or not y0 <= base <= y1
            ):
                raise invalid_parameter(
                    "baseline_year", owner, f"an integer year (or years) in {y0}-{y1}", base
                )
        if not bases:
            raise invalid_parameter(
                "baseline_year", owner, f"at least one year in {y0}-{y1}", baseline_year
            )
        b = self._b
        ps, T = b.ps, b.T
        frames = []
        for base in dict.fromkeys(int(x) for x in bases):  # loop over baseline years
            # each person lives in at most one study area, in one spell [in_start, in_end]:
            # registered there in both b and t <=> the spell covers b (and t)
            p = np.flatnonzero(
                b.member_fact & (ps.area >= 0) & (ps.in_start <= base) & (ps.in_end >= base)
            )
            idx = b.engine.rows_of(p)
            idx = idx[b.rows.area[idx] >= 0]  # rows after moving out (followed outside)
            moves = b._moves(p)
            moves[:, np.arange(b.areas.n) * T] = np.nan  # first year: no previous year
            frame = b.frame(Sums(b.area_sums(idx), b.sums_fact.region, moves))
            frame["baseline_year"] = np.int64(base)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def counterfactual(self, kind: str = "all") -> pd.DataFrame:
        """The ``area_year`` table of the world without one intervention kind.

        Parameters
        ----------
        kind : str, default "all"
            An intervention kind, or ``"all"`` for the world without any
            intervention (every area's untreated potential outcomes ``Y(0)``).

        Returns
        -------
        pandas.DataFrame
            Same columns as :attr:`area_year`. For ``fysisk_omdannelse`` and
            ``"all"`` the residents (and so the counts) are those the areas would
            have had without the transformations.

        Raises
        ------
        ParameterError
            If ``kind`` is not a kind or ``"all"``.

        Examples
        --------
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
        >>> y0 = world.counterfactual("lbf_helhedsplan")
        >>> y0.shape == world.area_year.shape
        True
        """
        check_choice("kind", "World.counterfactual", kind, (*KINDS, "all"))
        self._finish()
        return self._cf[kind].copy()

    def area_panel(
        self,
        kind: str = "lbf_helhedsplan",
        *,
        outcomes: Sequence[str] | None = None,
        round: str | None = None,
    ) -> pd.DataFrame:
        """The area panel joined with the treatment timing of one intervention kind.

        Parameters
        ----------
        kind : str, default "lbf_helhedsplan"
            Intervention kind whose timing defines the treatment.
        outcomes : sequence of str, optional
            ``area_year`` indicators to keep; all of them (with their
            denominators) if omitted.
        round : str, optional
            Only for ``kind="lbf_helhedsplan"``: an LBF funding round
            (``"2006-2010"``, ``"2011-2014"``, ``"2015-2018"``, ``"2019-2022"``,
            ``"2023-2026"``). Areas first granted a plan in an earlier round are
            dropped; the treated areas are those first granted in this round;
            areas first granted later keep their (later) first year, so they can
            serve as not-yet-treated comparisons.

        Returns
        -------
        pandas.DataFrame
            ``area_id, year, kommune_code, region_code, first_treated, treated``
            and the outcome columns. ``first_treated`` is the first year the kind
            operated in the area (for kommune-wide efforts, in its kommune) and
            **0 for never-treated areas**; ``treated`` is 1 from that year on.
            Pass it as ``Panel.from_frame(df, unit="area_id", time="year",
            outcome=..., cohort="first_treated", never_treated=0,
            cluster="kommune_code")``.

        Raises
        ------
        ParameterError
            If ``kind``, ``outcomes`` or ``round`` is not valid.

        Examples
        --------
        >>> from effekt import simulate
        >>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
        >>> df = world.area_panel("lbf_helhedsplan", outcomes=["youth_charged_per_1000"])
        >>> list(df.columns)[:6]
        ['area_id', 'year', 'kommune_code', 'region_code', 'first_treated', 'treated']
        """
        owner = "World.area_panel"
        check_choice("kind", owner, kind, KINDS)
        available = AREA_YEAR_COLUMNS[3:]
        if outcomes is None:
            cols = list(available)
        else:
            if isinstance(outcomes, str) or not isinstance(outcomes, Sequence):
                raise invalid_parameter("outcomes", owner, "a sequence of column names", outcomes)
            for o in outcomes:
                check_choice("outcomes", owner, o, available)
            cols = list(dict.fromkeys(outcomes))
        cohort = self._b.cohort[kind].astype(np.int64)
        keep = np.ones(len(cohort), bool)
        if round is not None:
            if kind != "lbf_helhedsplan":
                raise ParameterError(
                    f"The 'round' parameter of {owner} applies only to kind='lbf_helhedsplan'; "
                    f"got kind={kind!r}. Leave 'round' out for other kinds."
                )
            labels = tuple(r[0] for r in D.LBF_ROUNDS)
            check_choice("round", owner, round, labels)
            first_round = self._first_lbf_round()
            pos = labels.index(round)
            earlier = np.isin(first_round, labels[:pos])
            keep = ~earlier
        ay = self._area_year
        T = self._cfg.n_years
        rows = np.repeat(keep, T)
        df = pd.DataFrame(
            {
                "area_id": ay["area_id"].to_numpy()[rows],
                "year": ay["year"].to_numpy()[rows],
                "kommune_code": ay["kommune_code"].to_numpy()[rows],
                "region_code": np.repeat(self._b.areas.region.astype(np.int64), T)[rows],
                "first_treated": np.repeat(cohort, T)[rows],
            }
        )
        df["area_id"] = df["area_id"].astype("str")
        df["treated"] = ((df["first_treated"] > 0) & (df["year"] >= df["first_treated"])).astype(
            np.int64
        )
        for c in cols:
            df[c] = ay[c].to_numpy()[rows]
        return df.reset_index(drop=True)

    def _first_lbf_round(self) -> np.ndarray:
        iv = self._interventions
        lbf = iv[iv["kind"] == "lbf_helhedsplan"].sort_values("start_year")
        first = lbf.groupby("area_id", sort=False)["funding_round"].first()
        return self._areas["area_id"].map(first).fillna("").to_numpy(dtype=object)

    def _intervention_table(self) -> pd.DataFrame:
        b = self._b
        spells = b.progs.spells
        start = b.transform_start
        fo = np.flatnonzero(start > 0)
        extra = pd.DataFrame(
            {
                "intervention_id": [f"fo-{a}" for a in b.areas.area_id[fo]],
                "area_id": b.areas.area_id[fo],
                "kommune_code": b.areas.kom[fo].astype(np.int64),
                "scope": "area",
                "kind": "fysisk_omdannelse",
                "funder": "both",
                "funding_round": "",
                "start_year": start[fo],
                "end_year": -1,
                "focus_areas": "fysisk_omdannelse",
            }
        )
        parts = [p for p in (spells, extra) if len(p)]
        t = pd.concat(parts, ignore_index=True) if parts else extra
        out = pd.DataFrame(
            {
                "intervention_id": t["intervention_id"].astype("str"),
                "area_id": t["area_id"].replace("", None).astype("str"),
                "kommune_code": t["kommune_code"].astype(np.int64),
                "scope": t["scope"].astype("str"),
                "kind": t["kind"].astype("str"),
                "funder": t["funder"].astype("str"),
                "funding_round": t["funding_round"].replace("", None).astype("str"),
                "start_year": t["start_year"].astype(np.int64),
                "end_year": t["end_year"].where(t["end_year"] >= 0).astype("Int64"),
                "focus_areas": t["focus_areas"].astype("str"),
            }
        )
        return out.sort_values(
            ["kind", "start_year", "intervention_id"],
            key=lambda s: s.map(KINDS.index) if s.name == "kind" else s,
        ).reset_index(drop=True)

    # ------------------------------------------------------------------ display

    def _summary(self) -> list[tuple[str, str]]:
        b = self._b
        iv = self._interventions
        counts = iv["kind"].value_counts()
        status = self._b.lists["status"].value_counts()
        last = b.lists[b.lists["year"] == b.lists["year"].max()]["status"].value_counts()
        return [
            ("years", f"{self._cfg.y0}-{self._cfg.y1}"),
            ("areas", f"{b.areas.n} in {len(np.unique(b.areas.kom))} kommuner"),
            ("residents", f"{int(self._area_year['residents'].sum() / b.T):,} per year (mean)"),
            ("persons", f"{int(b.member_fact.sum()):,} in the registers"),
            ("interventions", ", ".join(f"{k} {counts.get(k, 0)}" for k in KINDS)),
            ("on latest list", ", ".join(f"{k} {v}" for k, v in last.items()) or "none"),
            ("list area-years", ", ".join(f"{k} {v}" for k, v in status.items()) or "none"),
            ("effects", f"{len(self._cfg.effects)} planted"),
            ("seed", str(self._cfg.seed)),
        ]

    def __repr__(self) -> str:
        lines = ["<effekt.simulate.World>"] + [f"  {k}: {v}" for k, v in self._summary()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._summary()
        )
        return f"<div><strong>effekt.simulate.World</strong><table>{rows}</table></div>"
