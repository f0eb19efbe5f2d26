"""The result of :class:`~effekt.participants.MatchedFollowUp`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from effekt.results import Provenance, Result, Summary

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger

__all__ = ["MatchedFollowUpResult"]


class MatchedFollowUpResult(Result):
    """Effects on participants by follow-up year and pooled, with balance diagnostics.

    Attributes
    ----------
    estimates : DataFrame
        The tidy effect table (also :meth:`to_frame`): one row per follow-up year
        ``event_time`` (0 = start year) and a ``pooled`` row (their mean).
    balance : DataFrame
        Covariate means and standardised mean differences before and after.
    naive : DataFrame
        The naive comparison: participants' mean outcome minus that of every
        comparison record, by follow-up year and pooled (Welch standard errors).
    matches : DataFrame or None
        Nearest-neighbour matches: ``participant, start_year, comparison, weight``.
    method, inference : str
    n_participants : int
        Participants in the estimate (matched, with complete follow-up).
    n_comparison : int
        Comparison records with positive weight.
    n_pool : int
        Comparison records available before matching.
    ci_level : float
    ledger : Ledger
        Participants dropped, with the reason.
    provenance : Provenance
    """

    title = "Matched follow-up of participants"

    def __init__(
        self,
        *,
        estimates: pd.DataFrame,
        balance: pd.DataFrame,
        naive: pd.DataFrame,
        matches: pd.DataFrame | None,
        method: str,
        inference: str,
        n_participants: int,
        n_comparison: int,
        n_pool: int,
        ci_level: float,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        self._estimates = estimates
        self._balance = balance
        self._naive = naive
        self._matches = matches
        self.method = method
        self.inference = inference
        self.n_participants = n_participants
        self.n_comparison = n_comparison
        self.n_pool = n_pool
        self.ci_level = ci_level
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    @property
    def estimates(self) -> pd.DataFrame:
        """The tidy effect table (a copy)."""
        return self._estimates.copy()

    @property
    def balance(self) -> pd.DataFrame:
        """The balance table (a copy)."""
        return self._balance.copy()

    @property
    def naive(self) -> pd.DataFrame:
        """The naive participant - non-participant comparison (a copy)."""
        return self._naive.copy()

    @property
    def matches(self) -> pd.DataFrame | None:
        """The nearest-neighbour matches (a copy), or None for CEM / entropy balancing."""
        return None if self._matches is None else self._matches.copy()

    def to_frame(self) -> pd.DataFrame:
        """The tidy effect table (schema ``effect_table``)."""
        return self._estimates.copy()

    def plot(self, ax: Axes | None = None, *, naive: bool = False) -> Axes:
        """Effects by years since the start (``naive=True`` adds the naive difference)."""
        from effekt._plotting import new_axes
        from effekt.participants._plots import effect_plot

        return effect_plot(
            new_axes(ax),
            self._estimates,
            level=self.ci_level,
            naive=self._naive if naive else None,
        )

    def love_plot(self, ax: Axes | None = None, *, threshold: float = 0.1) -> Axes:
        """Absolute standardised mean differences before and after matching."""
        from effekt._plotting import new_axes
        from effekt.participants._plots import love_plot

        return love_plot(new_axes(ax), self._balance, threshold=threshold)

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Method", self.method),
            ("Inference", self.inference),
            ("Participants", f"{self.n_participants:,}"),
            ("Comparison records used", f"{self.n_comparison:,} of {self.n_pool:,}"),
            (
                "Largest |SMD| after",
                f"{self._balance['smd_after'].abs().max():.3f}" if len(self._balance) else "-",
            ),
        ]

    def summary(self) -> Summary:
        """Estimates and the balance table; nothing is printed."""
        base = super().summary()
        balance = self._balance.set_index("covariate")
        return Summary(
            base.title, base.info, (*base.tables, ("Covariate balance", balance)), base.notes
        )
