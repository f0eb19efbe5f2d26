"""Participants followed after their start against matched non-participants.

VIVE's evaluations of kernedrift efforts (pocket-money jobs, family efforts) follow
the persons who took part and compare them with non-participants drawn from the
registers who resembled them before the start. :class:`MatchedFollowUp` does that:
it matches (or reweights) within start cohorts, then takes the difference in
differences on the matched sample: the outcome change from the base year (the year
before the start) to each follow-up year, participants minus their matched controls.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import (
    AssumptionWarning,
    DroppedRowsWarning,
    IdentificationError,
    check_choice,
    invalid_parameter,
)
from effekt.estimator import Estimator
from effekt.participants import _balance as B
from effekt.participants._prep import Records, build_records
from effekt.participants._result import MatchedFollowUpResult
from effekt.results import Provenance, tidy_effects

__all__ = ["MatchedFollowUp"]

_OWNER = "MatchedFollowUp"


class MatchedFollowUp(Estimator):
    """Matched difference in differences for participants of an effort.

    Each participant is compared with never-participants of its own start cohort
    (matched exactly on the start year and any ``exact`` columns) who resembled it
    in the base year (``start - 1``). The effect in follow-up year ``e`` (``e = 0``
    is the start year) is the mean over participants of their outcome change from
    the base year minus the (weighted) change of their matched controls; the pooled
    effect averages ``e = 0..follow_up``. The estimand is the average effect on the
    participants (ATT) under selection on the covariates and the base-year outcome
    level (conditional parallel trends in the outcome change).

    Parameters
    ----------
    outcome : str
        Outcome column of ``person_years``.
    covariates : sequence of str
        Numeric columns of ``person_years`` read in the base year (0/1 for
        categories). Add the base-year outcome column if selection may depend on it.
    person, time : str, default "person_id", "year"
        Person id and year columns (``person`` also in ``participants``).
    start : str, default "start_year"
        Start year (or date) column of ``participants``.
    method : {"nearest", "cem", "entropy"}, default "nearest"
        Nearest-neighbour matching, coarsened exact matching (Iacus, King & Porro
        2012) or entropy balancing (Hainmueller 2012).
    distance : {"propensity", "mahalanobis"}, default "propensity"
        For ``method="nearest"``: the linear propensity score (log-odds of a logit
        on the covariates and the start cohorts, statsmodels) or the Mahalanobis
        distance of the covariates.
    n_neighbors : int, default 1
        Matches per participant.
    replace : bool, default True
        Nearest-neighbour matching with replacement. Without, matching is greedy in
        descending propensity score (by person id for Mahalanobis distance).
    caliper : float, optional
        Largest distance of a match: in standard deviations of the linear propensity
        score (0.2 is Austin's 2011 advice), or in Mahalanobis units.
    bias_adjust : bool, default False
        For ``method="nearest"``: the regression bias adjustment of Abadie & Imbens
        (2011): the controls' outcome changes are regressed on the covariates (and
        start cohorts), weighted by how often each control is used, and each
        participant's matched change is shifted by the covariate discrepancy times
        the slopes (``Matching(BiasAdjust=TRUE)``).
    exact : sequence of str, default ()
        Columns to match exactly on (in the base year), besides the start cohort.
    cem_bins : int, default 5
        Bins per covariate for ``method="cem"`` (covariates with at most this many
        values are matched exactly).
    moments : {1, 2}, default 1
        For ``method="entropy"``: balance means, or means and second moments.
    follow_up : int, default 3
        Last follow-up year ``e``; participants and controls need the outcome in the
        base year and every year ``start .. start + follow_up``.
    on_unmatched : {"drop", "raise"}, default "drop"
        A participant without a comparable person (none in its cohort/exact cell,
        none within the caliper, or an empty CEM stratum): drop it to the ledger with
        a :class:`~effekt.DroppedRowsWarning`, or raise
        :class:`~effekt.IdentificationError`.
    variance_matches : int, default 1
        Matches ``J`` of the conditional-variance estimator in the Abadie-Imbens
        standard error (``Matching``'s ``Var.calc``).
    cluster : str, optional
        Column of ``person_years`` (in the base year) whose values are resampled
        together in the bootstrap (e.g. a family or area id); default the person.
    n_boot : int, default 399
        Bootstrap replications for ``method="cem"`` and ``"entropy"``.
    seed : int, optional
        Bootstrap seed.
    n_jobs : int, default 1
        Bootstrap workers (:mod:`effekt.parallel`); results do not depend on it.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    Notes
    -----
    Standard errors. Nearest-neighbour matching: the Abadie & Imbens (2006)
    variance for the ATT, with matched sets of any size (ties, ``n_neighbors``,
    without replacement) and conditional variances estimated by matching within the
    participants' cohort cells, as R's ``Matching`` computes it; the tests reproduce
    ``Matching`` 4.10-8 on the NSW data. The bootstrap is not used: it is invalid
    for nearest-neighbour matching with replacement (Abadie & Imbens 2008,
    doi:10.3982/ECTA6474). With ``distance="propensity"`` the score is treated as
    known; Abadie & Imbens (2016, doi:10.3982/ECTA11293) show that for the ATT the
    adjustment for its estimation can go either way, and it is not implemented: use
    ``distance="mahalanobis"`` where an exactly valid standard error matters.
    A comparison person who serves in several start cohorts enters the variance
    as separate records (it is the same person's change over different years).

    CEM and entropy balancing are smooth in the data, so a weighted (cluster)
    bootstrap is valid: clusters (persons by default) are drawn with replacement,
    their draw counts become frequency weights, and the weights are recomputed in
    each replication; the standard error is the replications' standard deviation
    and intervals are normal.

    References
    ----------
    Abadie, A. & Imbens, G. W. (2006). Econometrica 74(1), 235-267.
    doi:10.1111/j.1468-0262.2006.00655.x
    Hainmueller, J. (2012). Political Analysis 20(1), 25-46. doi:10.1093/pan/mpr025
    Iacus, S. M., King, G. & Porro, G. (2012). Political Analysis 20(1), 1-24.
    doi:10.1093/pan/mpr013
    Austin, P. C. (2011). Pharmaceutical Statistics 10(2), 150-161. doi:10.1002/pst.433
    Heckman, J. J., Ichimura, H. & Todd, P. (1997). Review of Economic Studies 64(4),
    605-654. doi:10.2307/2971733 (matched difference in differences)

    Examples
    --------
    >>> from effekt import simulate
    >>> from effekt.participants import MatchedFollowUp
    >>> world = simulate.denmark(n_areas=20, years=(2005, 2016), seed=2)
    >>> sim = simulate.participants(world, seed=2)
    >>> followed = sim.participants[sim.participants["start_year"] <= 2013]  # 3 years of data
    >>> fit = MatchedFollowUp(outcome=sim.outcome, covariates=sim.covariates, exact=["age"],
    ...                       follow_up=2).fit(followed, sim.person_years)
    >>> list(fit.to_frame()["aggregation"].unique())
    ['event_time', 'pooled']
    """

    def __init__(
        self,
        *,
        outcome: str,
        covariates: Sequence[str],
        person: str = "person_id",
        time: str = "year",
        start: str = "start_year",
        method: Literal["nearest", "cem", "entropy"] = "nearest",
        distance: Literal["propensity", "mahalanobis"] = "propensity",
        n_neighbors: int = 1,
        replace: bool = True,
        caliper: float | None = None,
        bias_adjust: bool = False,
        exact: Sequence[str] = (),
        cem_bins: int = 5,
        moments: int = 1,
        follow_up: int = 3,
        on_unmatched: Literal["drop", "raise"] = "drop",
        variance_matches: int = 1,
        cluster: str | None = None,
        n_boot: int = 399,
        seed: int | None = None,
        n_jobs: int = 1,
        ci_level: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.covariates = covariates
        self.person = person
        self.time = time
        self.start = start
        self.method = method
        self.distance = distance
        self.n_neighbors = n_neighbors
        self.replace = replace
        self.caliper = caliper
        self.bias_adjust = bias_adjust
        self.exact = exact
        self.cem_bins = cem_bins
        self.moments = moments
        self.follow_up = follow_up
        self.on_unmatched = on_unmatched
        self.variance_matches = variance_matches
        self.cluster = cluster
        self.n_boot = n_boot
        self.seed = seed
        self.n_jobs = n_jobs
        self.ci_level = ci_level

    # ---------------------------------------------------------------- checks

    def _check(self) -> float:
        from effekt.options import options

        def pos_int(name: str, value: Any, low: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise invalid_parameter(name, _OWNER, f"an integer >= {low}", value)

        for name in ("outcome", "person", "time", "start"):
            if not isinstance(getattr(self, name), str):
                raise invalid_parameter(name, _OWNER, "a column name (str)", getattr(self, name))
        for name in ("covariates", "exact"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise invalid_parameter(name, _OWNER, "a sequence of column names", value)
        if not len(self.covariates) and self.method != "cem":
            raise invalid_parameter(
                "covariates", _OWNER, "at least one column name", self.covariates
            )
        check_choice("method", _OWNER, self.method, ("nearest", "cem", "entropy"))
        check_choice("distance", _OWNER, self.distance, ("propensity", "mahalanobis"))
        check_choice("on_unmatched", _OWNER, self.on_unmatched, ("drop", "raise"))
        check_choice("moments", _OWNER, self.moments, (1, 2))
        check_choice("replace", _OWNER, self.replace, (True, False))
        check_choice("bias_adjust", _OWNER, self.bias_adjust, (True, False))
        pos_int("n_neighbors", self.n_neighbors)
        pos_int("cem_bins", self.cem_bins, 2)
        pos_int("follow_up", self.follow_up, 0)
        pos_int("variance_matches", self.variance_matches)
        pos_int("n_boot", self.n_boot, 2)
        if self.caliper is not None and (
            isinstance(self.caliper, bool)
            or not isinstance(self.caliper, int | float | np.number)
            or not self.caliper > 0
        ):
            raise invalid_parameter("caliper", _OWNER, "a positive number or None", self.caliper)
        if self.cluster is not None and not isinstance(self.cluster, str):
            raise invalid_parameter("cluster", _OWNER, "a column name or None", self.cluster)
        level = options["ci_level"] if self.ci_level is None else self.ci_level
        if not isinstance(level, float | int) or not 0.5 <= level < 1:
            raise invalid_parameter("ci_level", _OWNER, "a number in [0.5, 1)", level)
        return float(level)

    # ---------------------------------------------------------------- fit

    def fit(  # type: ignore[override]  # a participant table and person-years, not a Panel
        self, participants: pd.DataFrame, person_years: pd.DataFrame
    ) -> MatchedFollowUpResult:
        """Match, estimate and return a :class:`MatchedFollowUpResult`.

        Parameters
        ----------
        participants : DataFrame
            One row per participant: ``person`` and ``start`` (year or date).
        person_years : DataFrame
            Register person-years of participants and potential comparisons:
            ``person``, ``time``, ``outcome``, the covariates (and ``exact``,
            ``cluster``). Persons not in ``participants`` are the comparison pool.

        Raises
        ------
        DataError
            Missing columns, duplicate persons or person-years, non-numeric or
            non-finite covariates in a base year.
        IdentificationError
            No participants (or none with complete follow-up); all participants
            unmatched; a participant unmatched with ``on_unmatched="raise"``; a
            failing propensity logit; moments entropy balancing cannot reach.
        """
        level = self._check()
        rec = build_records(
            participants,
            person_years,
            owner=_OWNER,
            person=self.person,
            time=self.time,
            start=self.start,
            outcome=self.outcome,
            covariates=list(self.covariates),
            exact=list(self.exact),
            cluster=self.cluster,
            follow_up=int(self.follow_up),
        )
        ledger = rec.ledger
        features = self._features(rec)
        if self.method == "nearest":
            matches, unmatched = self._nearest(rec, features)
        else:
            k, matched_t = self._smooth_weights(rec, np.ones(len(rec.person)))
            unmatched = np.flatnonzero(rec.treated)[~matched_t[rec.treated]]
            matches = None
        if len(unmatched):
            ledger = self._handle_unmatched(rec, unmatched, ledger)
        keep_t = rec.treated.copy()
        keep_t[unmatched] = False
        n1 = int(keep_t.sum())
        if n1 == 0:
            raise IdentificationError(
                f"No participant of {_OWNER} has a comparable comparison person (all "
                f"{int(rec.treated.sum())} unmatched); widen the 'caliper', use fewer "
                "'exact' columns or a larger comparison pool."
            )
        y = np.column_stack([rec.change, rec.change.mean(axis=1)])
        if matches is not None:
            k, kk = _control_weights(matches, len(rec.person))
            adj = np.zeros_like(y)
            if self.bias_adjust:
                cohorts = np.unique(rec.cohort)
                z = np.column_stack([rec.x, rec.cohort[:, None] == cohorts[None, 1:]])
                adj = B.bias_adjustment(matches, z, z, y, len(rec.person))
            est = ((y - adj)[keep_t].sum(axis=0) - k @ y) / n1
            se = self._abadie_imbens(rec, features, matches, keep_t, y - adj, est, k, kk, y)
            inference = f"Abadie-Imbens (2006) standard errors (J = {self.variance_matches})" + (
                ", propensity score treated as known" if self.distance == "propensity" else ""
            )
        else:
            est = (y[keep_t].sum(axis=0) - k @ y) / n1
            se = self._bootstrap(rec, y)
            unit = "persons" if self.cluster is None else f"clusters of {self.cluster!r}"
            inference = f"weighted bootstrap over {unit} ({self.n_boot} replications)"
        e = rec.event_times
        estimates = tidy_effects(
            {
                "outcome": [self.outcome] * (len(e) + 1),
                "estimator": [_OWNER] * (len(e) + 1),
                "aggregation": ["event_time"] * len(e) + ["pooled"],
                "event_time": pd.array([*e.tolist(), None], dtype="Int64"),
            },
            est,
            se,
            level=level,
        )
        comparison = ~rec.treated
        balance = B.balance_table(
            list(self.covariates), rec.x[keep_t], rec.x[comparison], k[comparison]
        )
        naive = _naive(rec, level, self.outcome)
        pairs = None
        if matches is not None:
            pairs = pd.DataFrame(
                {
                    "participant": rec.person[matches.t],
                    "start_year": rec.cohort[matches.t],
                    "comparison": rec.person[matches.c],
                    "weight": matches.w,
                }
            )
        provenance = Provenance(
            estimator=_OWNER,
            params=self.get_params(),
            seed=self.seed if self.method != "nearest" else None,
            data_fingerprint=rec.fingerprint,
        )
        return MatchedFollowUpResult(
            estimates=estimates,
            balance=balance,
            naive=naive,
            matches=pairs,
            method=self._describe_method(),
            inference=inference,
            n_participants=n1,
            n_comparison=int((k > 0).sum()),
            n_pool=int(comparison.sum()),
            ci_level=level,
            ledger=ledger,
            provenance=provenance,
        )

    # ---------------------------------------------------------------- pieces

    def _describe_method(self) -> str:
        if self.method == "nearest":
            how = "with" if self.replace else "without"
            cal = f", caliper {self.caliper:g}" if self.caliper is not None else ""
            ba = ", bias-adjusted" if self.bias_adjust else ""
            return (
                f"{self.n_neighbors}-nearest-neighbour matching on the {self.distance} "
                f"distance, {how} replacement{cal}{ba}"
            )
        if self.method == "cem":
            return f"coarsened exact matching ({self.cem_bins} bins)"
        return f"entropy balancing ({'means' if self.moments == 1 else 'means and variances'})"

    def _features(self, rec: Records) -> np.ndarray:
        """The matching metric's coordinates: scaled linear score or whitened covariates."""
        if self.method != "nearest":
            return rec.x
        if self.distance == "propensity":
            cohorts = np.unique(rec.cohort)
            dummies = (rec.cohort[:, None] == cohorts[None, 1:]).astype(float)
            x = np.column_stack([rec.x, dummies])
            # standardise the columns for the Newton steps; the score does not change
            sd = x.std(axis=0)
            x = x[:, sd > 0] / sd[sd > 0]
            score = B.propensity_score(x, rec.treated, owner=_OWNER)
            return (score / score.std())[:, None]
        cov = np.atleast_2d(np.cov(rec.x, rowvar=False))
        try:
            chol = np.linalg.cholesky(np.linalg.inv(cov))
        except np.linalg.LinAlgError:
            raise IdentificationError(
                f"The covariates of {_OWNER} are collinear (their covariance matrix is "
                "singular), so the Mahalanobis distance is undefined; drop a redundant "
                "column from 'covariates'."
            ) from None
        return rec.x @ chol

    def _nearest(self, rec: Records, f: np.ndarray) -> tuple[B.Matches, np.ndarray]:
        ts: list[np.ndarray] = []
        cs: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        unmatched: list[np.ndarray] = []
        for cell in np.unique(rec.exact[rec.treated]):
            ti = np.flatnonzero((rec.exact == cell) & rec.treated)
            ci = np.flatnonzero((rec.exact == cell) & ~rec.treated)
            if not self.replace and self.distance == "propensity":
                ti = ti[np.argsort(-f[ti, 0], kind="stable")]
            m = B.nearest_neighbour(
                f[ti],
                f[ci],
                n_neighbors=int(self.n_neighbors),
                replace=bool(self.replace),
                caliper=None if self.caliper is None else float(self.caliper),
            )
            ts.append(ti[m.t])
            cs.append(ci[m.c])
            ws.append(m.w)
            unmatched.append(ti[m.unmatched])
        matches = B.Matches(
            np.concatenate(ts), np.concatenate(cs), np.concatenate(ws), np.concatenate(unmatched)
        )
        return matches, np.sort(matches.unmatched)

    def _smooth_weights(self, rec: Records, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CEM or entropy-balancing control weights (K) and which treated are matched."""
        k = np.zeros(len(rec.person))
        matched = np.zeros(len(rec.person), bool)
        x = rec.x
        if self.method == "entropy" and self.moments == 2:
            binary = np.all((x == 0) | (x == 1), axis=0)
            x = np.column_stack([x, x[:, ~binary] ** 2])
        for cell in np.unique(rec.exact[rec.treated & (freq > 0)]):
            ti = np.flatnonzero((rec.exact == cell) & rec.treated & (freq > 0))
            ci = np.flatnonzero((rec.exact == cell) & ~rec.treated & (freq > 0))
            if not len(ci):
                continue
            if self.method == "cem":
                kc, mt = B.coarsened_exact(
                    x[ti], x[ci], bins=int(self.cem_bins), ft=freq[ti], fc=freq[ci]
                )
                k[ci] = kc
                matched[ti] = mt
            else:
                target = freq[ti] @ x[ti] / freq[ti].sum()
                w = B.entropy_balance(x[ci], target, base_weights=freq[ci])
                k[ci] = freq[ti].sum() * w
                matched[ti] = True
        return k, matched

    def _handle_unmatched(self, rec: Records, unmatched: np.ndarray, ledger: Any) -> Any:
        reason = {
            "nearest": "participant without a comparison person in its cohort/exact cell"
            + (" within the caliper" if self.caliper is not None else ""),
            "cem": "participant in a CEM stratum without comparison persons",
            "entropy": "participant in a cohort/exact cell without comparison persons",
        }[self.method]
        ids = rec.person[unmatched]
        shown = ", ".join(str(i) for i in ids[:5]) + (", ..." if len(ids) > 5 else "")
        n_t = int(rec.treated.sum())
        if self.on_unmatched == "raise":
            raise IdentificationError(
                f"{len(ids)} of {n_t} participants of {_OWNER} have no comparable person "
                f"({reason}): {shown}. Widen the 'caliper', use fewer 'exact' columns or "
                "fewer 'cem_bins', or pass on_unmatched='drop' to drop them to the ledger."
            )
        warnings.warn(
            f"{_OWNER}: {len(ids)} of {n_t} participants have no comparable person and are "
            f"dropped ({reason}): {shown}. The effect is for the matched participants; "
            "see result.ledger.",
            DroppedRowsWarning,
            stacklevel=3,
        )
        rows = pd.DataFrame(
            {"row": ids, "unit": ids, "time": rec.cohort[unmatched], "reason": reason}
        )
        return ledger.extend(rows)

    def _abadie_imbens(
        self,
        rec: Records,
        f: np.ndarray,
        m: B.Matches,
        keep_t: np.ndarray,
        y: np.ndarray,
        est: np.ndarray,
        k: np.ndarray,
        kk: np.ndarray,
        y_raw: np.ndarray,
    ) -> np.ndarray:
        # y: the participants' (bias-adjusted) changes; y_raw: everybody's raw changes
        n1 = keep_t.sum()
        cf = np.zeros_like(y_raw)
        np.add.at(cf, m.t, m.w[:, None] * y_raw[m.c])
        first = ((y[keep_t] - cf[keep_t] - est) ** 2).sum(axis=0)
        used = (k**2 - kk) > 0
        second = np.zeros(y.shape[1])
        for cell in np.unique(rec.exact[used]):
            ci = np.flatnonzero((rec.exact == cell) & ~rec.treated)
            sel = used[ci]
            s2 = B.conditional_variance(
                f[ci], y_raw[ci], n_matches=int(self.variance_matches), rows=np.flatnonzero(sel)
            )
            second += ((k[ci][sel] ** 2 - kk[ci][sel])[:, None] * s2).sum(axis=0)
        return np.asarray(np.sqrt((first + second) / n1**2))

    def _bootstrap(self, rec: Records, y: np.ndarray) -> np.ndarray:
        from effekt.parallel import resample

        draws = resample(
            partial(_boot_chunk, self, rec, y),
            int(self.n_boot),
            seed=self.seed,
            n_jobs=int(self.n_jobs),
            desc=f"{_OWNER} bootstrap",
        )
        finite = np.isfinite(draws).all(axis=1)
        if finite.mean() < 0.95:
            warnings.warn(
                f"{_OWNER}: {int((~finite).sum())} of {len(draws)} bootstrap replications "
                "failed (a resampled cohort could not be balanced); the standard error uses "
                "the others and may be too small.",
                AssumptionWarning,
                stacklevel=3,
            )
        return np.asarray(draws[finite].std(axis=0, ddof=1))


def _control_weights(m: B.Matches, n: int) -> tuple[np.ndarray, np.ndarray]:
    return m.control_weights(n)


def _boot_chunk(
    est: MatchedFollowUp, rec: Records, y: np.ndarray, rng: np.random.Generator, size: int
) -> np.ndarray:
    n_clusters = int(rec.cluster.max()) + 1
    out = np.full((size, y.shape[1]), np.nan)
    for b in range(size):
        counts = np.bincount(rng.integers(0, n_clusters, n_clusters), minlength=n_clusters)
        freq = counts[rec.cluster].astype(float)
        try:
            k, matched = est._smooth_weights(rec, freq)
        except IdentificationError:
            continue
        ft = np.where(rec.treated & matched, freq, 0.0)
        if ft.sum() == 0:
            continue
        out[b] = (ft @ y - k @ y) / ft.sum()
    return out


def _naive(rec: Records, level: float, outcome: str) -> pd.DataFrame:
    """Participants' mean outcome minus all comparison records' (no matching, no DiD)."""
    yl = np.column_stack([rec.level, rec.level.mean(axis=1)])
    t, c = yl[rec.treated], yl[~rec.treated]
    diff = t.mean(axis=0) - c.mean(axis=0)
    se = np.sqrt(t.var(axis=0, ddof=1) / len(t) + c.var(axis=0, ddof=1) / max(len(c), 1))
    e = rec.event_times
    return tidy_effects(
        {
            "outcome": [outcome] * (len(e) + 1),
            "estimator": ["naive difference"] * (len(e) + 1),
            "aggregation": ["event_time"] * len(e) + ["pooled"],
            "event_time": pd.array([*e.tolist(), None], dtype="Int64"),
        },
        diff,
        se,
        level=level,
    )
