"""ListThreshold: the effect of being listed (or of meeting one list criterion) by sharp RD.

The Danish lists are drawn by fixed thresholds on register statistics, so areas
just inside and just outside the listing region are comparable, and the jump in
later outcomes at the boundary is the effect of listing there (Foged,
Freitas-Monteiro & Hasager 2024, University of Copenhagen working paper, use the
2010 list thresholds this way, as a fuzzy RD against the published lists).
:class:`ListThreshold` builds the running variable from
:func:`effekt.rd.list_running_variable` (the distance to the binding threshold of
:mod:`effekt.lists`), takes the outcome ``horizon`` years after
the list year, and estimates the jump with rdrobust (:class:`~effekt.rd.SharpRD`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    invalid_parameter,
    missing_column,
)
from effekt.estimator import Estimator
from effekt.panel import Ledger
from effekt.rd.results import RDResult
from effekt.rd.running import check_target, list_running_variable
from effekt.rd.sharp import (
    check_settings,
    check_sides,
    drop_missing,
    fingerprint,
    run_rdrobust,
    sort_order,
)
from effekt.results import Provenance

__all__ = ["ListThreshold", "ListThresholdResult"]


class ListThresholdResult(RDResult):
    """Result of :class:`ListThreshold`: an :class:`~effekt.rd.RDResult` on list data.

    Besides the RD attributes: ``criterion``, ``regime``, ``horizon``,
    ``list_years`` (those used) and ``sample`` (the analysis rows: ``area_id,
    year, score, treated`` and the outcome).
    """

    title = "Regression discontinuity at a list threshold"

    @property
    def criterion(self) -> str:
        """The criterion or list category whose threshold defines treatment."""
        return str(self.provenance.params["criterion"])

    @property
    def regime(self) -> str:
        """The rule regime of the list years used."""
        return str(self.provenance.params["regime"])

    @property
    def horizon(self) -> int:
        """Years from the list year to the outcome year."""
        return int(self.provenance.params["horizon"])

    @property
    def list_years(self) -> list[int]:
        """List years in the estimation sample."""
        return sorted(int(y) for y in self._data["frame"]["year"].unique())

    @property
    def sample(self) -> pd.DataFrame:
        """The analysis rows (a copy)."""
        return self._data["frame"].copy()


class ListThreshold(Estimator):
    """Sharp RD at a Danish list threshold: the effect of listing on later area outcomes.

    Each row is an area on a list year ``Y`` of the chosen rules. The running
    variable is the area's distance to the boundary of the listing region of
    ``criterion``, computed from the data year ``Y - lag`` by
    :func:`effekt.rd.list_running_variable`; treatment is being listed
    (``score >= 0``); the outcome is read in year ``Y + horizon``. The estimate
    is the jump in the outcome at the boundary (rdrobust: local linear,
    MSE-optimal bandwidth, robust bias-corrected interval), clustered by area
    because an area appears on several list years.

    How the score is built
        For one criterion, it is the signed distance to that criterion's threshold in
        its own units. For a list category, whose rule is "residents >= 1,000 and at
        least 2 of 4 criteria (plus the non-Western share for ghetto /
        parallelsamfund)", it is the *binding score*: each criterion's margin divided
        by the criterion's standard deviation, the 2nd largest of the four counted
        margins (2 of 4 are met exactly when it is positive), and the minimum of that
        and the required margins, residents included (an intersection holds exactly
        when its smallest margin is positive). This is the binding-score, or centering, approach to
        multiple scores (Reardon & Robinson 2012; Wong, Steiner & Cook 2013; pooled
        as in Cattaneo, Titiunik & Vazquez-Bare 2020): one number per area whose
        sign reproduces :func:`effekt.lists.classify` exactly, so the design stays
        sharp. The estimate pools the boundary's faces (areas near the labour
        threshold with those near the income threshold), with weights that depend
        on how many areas are near each and on the scaling of the margins; fit
        single criteria to see them apart. See :mod:`effekt.rd.running`.

    Parameters
    ----------
    criterion : str
        A list category without history (``"udsat"``, ``"ghetto"``,
        ``"parallelsamfund"``, ``"forebyggelsesomraade"``) for the effect of
        listing, or a criterion key (``"labour"``, ``"crime"``, ``"education"``,
        ``"income"``, ``"nonwestern"``, ``"residents"``) for the effect of meeting
        that criterion (which lists an area only if it meets the others too). See
        :func:`effekt.rd.rd_targets`.
    outcome : str
        ``area_year`` column (or ``outcomes`` column, see :meth:`fit`).
    regime : {"2010", "2014", "2018", "2021"}, default "2021"
        Rules whose list years are used (the rules in force, so the computed list
        is the actual one).
    horizon : int, default 1
        Years from the list year to the outcome year (the list of 1 December
        ``Y`` can first act in ``Y + 1``); 0 reads the list year itself.
    lag : int, default 1
        Data lag of the lists (:func:`effekt.lists.classify`).
    list_years : sequence of int, optional
        Restrict to these list years.
    national_convicted_share : float, mapping or Series, optional
        As in :func:`effekt.lists.classify`.
    cluster : bool, default True
        Cluster-robust variance by area (an area appears on several lists).
    p, q, h, b, kernel, bwselect, vce, masspoints, ci_level
        As in :class:`~effekt.rd.SharpRD` (rdrobust's settings).

    Notes
    -----
    *Sharp* means that the computed list is the actual list. With real data the
    published list can differ (data revisions, appeals); then the design is fuzzy
    and this estimate is the intention-to-treat effect of crossing the computed
    threshold. Pooling list years estimates the effect of being listed in a year,
    including what listing does to later lists (an intention-to-treat effect in
    the sense of Cellini, Ferreira & Rothstein 2010). Rows at an exact tie under a
    strict rule, or with a criterion or the outcome missing, are dropped (ledger,
    :class:`~effekt.DroppedRowsWarning`).

    References
    ----------
    Cattaneo, M. D., Titiunik, R. and Vazquez-Bare, G. (2020). Analysis of
    regression-discontinuity designs with multiple cutoffs or multiple scores. The
    Stata Journal 20(4), 866-891. doi:10.1177/1536867X20976320
    Reardon, S. F. and Robinson, J. P. (2012). Regression discontinuity designs
    with multiple rating-score variables. Journal of Research on Educational
    Effectiveness 5(1), 83-104. doi:10.1080/19345747.2011.609583
    Cellini, S. R., Ferreira, F. and Rothstein, J. (2010). The value of school
    facility investments: evidence from a dynamic regression discontinuity
    design. Quarterly Journal of Economics 125(1), 215-261.
    doi:10.1162/qjec.2010.125.1.215
    Calonico, S., Cattaneo, M. D. and Titiunik, R. (2014). Robust nonparametric
    confidence intervals for regression-discontinuity designs. Econometrica 82(6),
    2295-2326. doi:10.3982/ECTA11757

    Examples
    --------
    >>> from effekt.rd import ListThreshold
    >>> from effekt.simulate.listing import list_threshold_data
    >>> area_year, truth = list_threshold_data(n_areas=300, effect=0.05, seed=1)
    >>> res = ListThreshold(criterion="udsat", outcome="outcome", regime="2021").fit(area_year)
    >>> lo, hi = res.ci_robust
    >>> bool(lo < truth.effect < hi)
    True
    """

    def __init__(
        self,
        *,
        criterion: str,
        outcome: str,
        regime: str = "2021",
        horizon: int = 1,
        lag: int = 1,
        list_years: Sequence[int] | None = None,
        national_convicted_share: float | Mapping[int, float] | pd.Series | None = None,
        cluster: bool = True,
        p: int = 1,
        q: int | None = None,
        h: float | None = None,
        b: float | None = None,
        kernel: str = "triangular",
        bwselect: str = "mserd",
        vce: str | None = None,
        masspoints: str = "adjust",
        ci_level: float | None = None,
    ) -> None:
        self.criterion = criterion
        self.outcome = outcome
        self.regime = regime
        self.horizon = horizon
        self.lag = lag
        self.list_years = list_years
        self.national_convicted_share = national_convicted_share
        self.cluster = cluster
        self.p = p
        self.q = q
        self.h = h
        self.b = b
        self.kernel = kernel
        self.bwselect = bwselect
        self.vce = vce
        self.masspoints = masspoints
        self.ci_level = ci_level

    def fit(  # type: ignore[override]
        self, area_year: pd.DataFrame, outcomes: pd.DataFrame | None = None
    ) -> ListThresholdResult:
        """Estimate the effect of crossing the list threshold on ``outcome``.

        Parameters
        ----------
        area_year : pandas.DataFrame
            The ``area_year`` table (criteria per area and data year). Not modified.
        outcomes : pandas.DataFrame, optional
            ``area_id, year`` and the ``outcome`` column, if the outcome is not in
            ``area_year`` (for example :func:`effekt.simulate.listing.plant_listing_effect`'s
            panel). Not modified.

        Returns
        -------
        ListThresholdResult

        Raises
        ------
        ParameterError
            Unknown ``criterion`` or ``regime`` (with a suggestion), a negative
            ``horizon``, invalid rdrobust settings.
        DataError
            Missing columns, non-numeric or infinite outcome values, duplicated
            ``(area_id, year)`` in ``outcomes``; as :func:`effekt.lists.classify`.
        IdentificationError
            No list year of the rules, no area on one side of the threshold, too
            few areas inside a given ``h``, or rdrobust failing.
        """
        owner = "ListThreshold"
        check_target(self.criterion, self.regime, owner)
        if (
            isinstance(self.horizon, bool)
            or not isinstance(self.horizon, int | np.integer)
            or self.horizon < 0
        ):
            raise invalid_parameter("horizon", owner, "a non-negative integer", self.horizon)
        if not isinstance(self.cluster, bool):
            raise invalid_parameter("cluster", owner, "True or False", self.cluster)
        settings = check_settings(self, owner, self.cluster)
        if not isinstance(area_year, pd.DataFrame):
            raise invalid_parameter("area_year", f"{owner}.fit", "a pandas DataFrame", area_year)
        source = area_year if outcomes is None else outcomes
        if not isinstance(source, pd.DataFrame):
            raise invalid_parameter("outcomes", f"{owner}.fit", "a pandas DataFrame", outcomes)
        arg = "outcome" if outcomes is None else "outcome (in outcomes)"
        for col in ("area_id", "year", self.outcome):
            if col not in source.columns:
                raise missing_column(
                    arg if col == self.outcome else col, owner, col, list(source.columns)
                )
        if not pd.api.types.is_numeric_dtype(source[self.outcome]):
            raise DataError(
                f"{owner}: the outcome column {self.outcome!r} must be numeric; it has dtype "
                f"{source[self.outcome].dtype}."
            )
        if outcomes is not None and outcomes.duplicated(["area_id", "year"]).any():
            dup = outcomes.loc[outcomes.duplicated(["area_id", "year"], keep=False)]
            raise DataError(
                f"{owner}: 'outcomes' has duplicated (area_id, year) rows:\n"
                f"{dup[['area_id', 'year']].head().to_string()}\nKeep one row per area and year."
            )
        scores = list_running_variable(
            area_year,
            criterion=self.criterion,
            regime=self.regime,
            lag=self.lag,
            national_convicted_share=self.national_convicted_share,
            list_years=self.list_years,
        )
        frame, ledger = self._sample(scores, area_year, source, owner)
        x = frame["score"].to_numpy(dtype=float)
        y = frame[self.outcome].to_numpy(dtype=float)
        check_sides(x, 0.0, settings, owner, what="list score")
        area_codes = pd.factorize(frame["area_id"].astype(str), sort=True)[0]
        order = sort_order(x, y, area_codes, frame["year"].to_numpy())
        frame = frame.iloc[order].reset_index(drop=True)
        x, y, area_codes = x[order], y[order], area_codes[order]
        cl = area_codes if self.cluster else None
        out, notes = run_rdrobust(
            y, x, cutoff=0.0, settings=settings, cluster=cl, covs=None, owner=owner
        )
        info = [
            ("Threshold", f"{self.criterion} ({self.regime} rules)"),
            ("List years", _years(frame["year"])),
            ("Horizon", f"outcome {self.horizon} year(s) after the list year"),
            (
                "Areas",
                f"{frame['area_id'].nunique():,} ({int(frame['treated'].sum()):,} listed rows)",
            ),
        ]
        return RDResult.from_rdrobust(
            out,
            outcome=self.outcome,
            estimator=owner,
            x=x,
            y=y,
            cutoff=0.0,
            settings=settings,
            cluster=cl,
            covs=None,
            frame=frame,
            running_name=f"score ({self.criterion})",
            ledger=ledger,
            notes=notes,
            provenance=Provenance(
                owner, self.get_params(), None, fingerprint(x, y, frame["area_id"].to_numpy())
            ),
            info=info,
            result_class=ListThresholdResult,
        )  # type: ignore[return-value]

    def _sample(
        self, scores: pd.DataFrame, area_year: pd.DataFrame, source: pd.DataFrame, owner: str
    ) -> tuple[pd.DataFrame, Ledger]:
        """Scores with the outcome at ``Y + horizon`` and, for balance checks, the outcome
        (``<outcome>_pre``) and every other ``area_year`` column of the data year; drops
        are logged."""
        ledger = Ledger.empty()
        tie = scores["at_strict_tie"].to_numpy()
        if tie.any():
            rows = scores.loc[tie]
            ledger = ledger.extend(
                pd.DataFrame(
                    {
                        "row": rows.index,
                        "unit": rows["area_id"].to_numpy(),
                        "time": rows["year"].to_numpy(),
                        "reason": "exactly at a strict threshold (not met, score 0)",
                    }
                )
            )
            warnings.warn(
                f"{owner}: dropped {int(tie.sum())} area-list year(s) exactly at a strict "
                "threshold (the rule says not met, an RD would count them treated); see "
                "result.ledger.",
                DroppedRowsWarning,
                stacklevel=3,
            )
        keep = scores.loc[~tie].copy()
        keep["outcome_year"] = keep["year"] + self.horizon
        # List years whose outcome year lies beyond the outcome data are outside the
        # sample by design (not dropped rows): the summary names the list years used.
        last = int(source["year"].max())
        keep = keep.loc[keep["outcome_year"] <= last]
        if keep.empty:
            raise IdentificationError(
                f"{owner}: no list year of the {self.regime} rules has its outcome year "
                f"(list year + horizon {self.horizon}) within the outcome data, which end in "
                f"{last}. Use a shorter horizon or later outcome data."
            )
        values = source[["area_id", "year", self.outcome]].drop_duplicates(["area_id", "year"])
        merged = keep.merge(
            values.rename(columns={"year": "outcome_year"}),
            on=["area_id", "outcome_year"],
            how="left",
        )
        pre = values.rename(columns={"year": "data_year", self.outcome: f"{self.outcome}_pre"})
        merged = merged.merge(pre, on=["area_id", "data_year"], how="left")
        covs = area_year.rename(columns={"year": "data_year"}).drop_duplicates(
            ["area_id", "data_year"]
        )
        covs = covs.drop(
            columns=[
                c for c in covs.columns if c in merged.columns and c not in ("area_id", "data_year")
            ]
        )
        merged = merged.merge(covs, on=["area_id", "data_year"], how="left")
        merged.index = keep.index
        frame, dropped = drop_missing(merged, ["score", self.outcome], owner, "area_id", "year")
        return frame, ledger.extend(dropped.to_frame())


def _years(years: pd.Series) -> str:
    u = sorted(int(y) for y in years.unique())
    return f"{u[0]}-{u[-1]} ({len(u)})" if len(u) > 1 else str(u[0])
