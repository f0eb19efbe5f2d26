"""SiblingExposure: within-family comparison of siblings with different years of exposure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt._plotting import label, new_axes
from effekt.errors import DataError, IdentificationError, check_choice, invalid_parameter
from effekt.estimator import Estimator
from effekt.inheritance._prep import (
    cluster_cov,
    fingerprint,
    group_sums,
    ledger_rows,
    prepare,
    warn_dropped,
)
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger

__all__ = ["SiblingExposure", "SiblingExposureResult"]

_OWNER = "SiblingExposure"
TERMS = ("exposure_slope_other", "exposure_slope_disadvantaged", "gradient_change_per_year")


class SiblingExposure(Estimator):
    """Exposure slopes within families: siblings with different years of childhood exposure.

    A family is the children of one mother (``mother_id``; the father where the
    mother is unknown). Older siblings who had left childhood before an effort
    started, or who lived fewer childhood years with it, are compared with their
    younger siblings. For child *i* of family *f* with years of exposure ``x_i``
    (``exposure_<kind>``) and ``d_i = 1`` for disadvantaged parents::

        y_i = phi_f + beta x_i + delta x_i d_i + theta d_i + birth-order + birth-year
              effects + e_i

    ``phi_f`` (family fixed effects, removed by the within-family transformation)
    absorbs everything siblings share: parents, the area they grew up in, the
    decision to live there. ``beta`` is the exposure slope per year for children of
    other parents (Chetty and Hendren 2018), ``beta + delta`` for children of
    disadvantaged parents, and ``delta`` the change in the gradient per year of
    exposure. Birth-order dummies (second, third or later child) and birth-year
    effects keep the slope from picking up that younger siblings differ and that
    later cohorts do better everywhere. Families with one child in the data carry
    no within-family information and are left out (in the ledger). Standard errors
    are clustered by the family's area (the first child's ``area_id``; families are
    nested in it), CR1 with ``K`` the regressors (the absorbed family effects are
    nested in the clusters, as in fixest and Stata's ``xtreg, fe``), or by family.

    Parameters
    ----------
    outcome : str
        A child outcome column, e.g. ``"youth_edu_21"``.
    kind : str, default "lbf_helhedsplan"
        Exposure is the children table's ``exposure_<kind>`` (``"any"``: every kind).
    disadvantaged : {"basic_education", "no_work", "either"}
    birth_order : bool, default True
        Control for birth order.
    cluster : {"area", "family"}, default "area"
    ci_level : float, optional

    References
    ----------
    Chetty, R. and Hendren, N. (2018). The impacts of neighborhoods on
    intergenerational mobility I: childhood exposure effects. Quarterly Journal of
    Economics 133(3), 1107-1162. doi:10.1093/qje/qjy007

    Examples
    --------
    >>> import warnings
    >>> import effekt as ek
    >>> world = ek.simulate.denmark(n_areas=20, years=(2005, 2018), seed=1)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = ek.inheritance.SiblingExposure(outcome="charged_by_18").fit(world.children())
    >>> list(res.to_frame()["term"])
    ['exposure_slope_other', 'exposure_slope_disadvantaged', 'gradient_change_per_year']
    """

    def __init__(
        self,
        *,
        outcome: str,
        kind: str = "lbf_helhedsplan",
        disadvantaged: str = "basic_education",
        birth_order: bool = True,
        cluster: str = "area",
        ci_level: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.kind = kind
        self.disadvantaged = disadvantaged
        self.birth_order = birth_order
        self.cluster = cluster
        self.ci_level = ci_level

    def fit(self, children: pd.DataFrame) -> SiblingExposureResult:  # type: ignore[override]
        """Estimate the within-family exposure slopes.

        Parameters
        ----------
        children : DataFrame
            The children table (schema ``children``).

        Returns
        -------
        SiblingExposureResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            No parent link (``mother_id``/``father_id``), no exposure column, an
            outcome observed for no child.
        IdentificationError
            No family with siblings whose exposure differs.

        Warns
        -----
        DroppedRowsWarning
            Children left out (no parents, outcome not observed, no sibling).
        """
        level = resolve_level(self.ci_level)
        if not isinstance(self.birth_order, bool):
            raise invalid_parameter("birth_order", _OWNER, "True or False", self.birth_order)
        check_choice("cluster", _OWNER, self.cluster, ("area", "family"))
        if isinstance(children, pd.DataFrame) and not {"mother_id", "father_id"} & set(
            children.columns
        ):
            raise DataError(
                "SiblingExposure compares siblings, but the children table has no mother_id or "
                "father_id column (no parent link). Build it with effekt.registers.children(...) "
                "from registers whose bef has MOR_PNR/FAR_PNR."
            )
        expo_col = f"exposure_{self.kind}"
        data, ledger = prepare(
            children, outcome=self.outcome, disadvantaged=self.disadvantaged, owner=_OWNER
        )
        if expo_col not in data.columns:
            known = [c for c in data.columns if str(c).startswith("exposure_")]
            raise invalid_parameter(
                "kind", _OWNER, f"a kind with an exposure column, one of {known}", self.kind
            )
        mother = data["mother_id"] if "mother_id" in data else pd.Series(pd.NA, index=data.index)
        father = data["father_id"] if "father_id" in data else pd.Series(pd.NA, index=data.index)
        fam = mother.astype(object).where(mother.notna(), "F:" + father.astype(str))
        fam = fam.where(mother.notna() | father.notna())
        no_link = fam.isna().to_numpy()
        size = fam.map(fam.value_counts()).fillna(0).to_numpy()
        alone = ~no_link & (size < 2)
        for mask, reason in (
            (no_link, "no parent link (no family)"),
            (alone, "no sibling in the data (one child in the family)"),
        ):
            if mask.any():
                ledger = ledger.extend(ledger_rows(data, mask, reason))
        warn_dropped(ledger, len(children), _OWNER)
        keep = ~(no_link | alone)
        d = data.loc[keep].assign(family=fam[keep].to_numpy())
        # a canonical row order, so that birth order among twins and a family's first area
        # (its cluster) do not depend on how the caller's rows happen to be sorted
        d = d.assign(_fam_key=d["family"].astype(str)).sort_values(
            ["_fam_key", "birth_year", "person_id"], kind="stable"
        )
        fit = _fit(d, expo_col, self.birth_order, self.cluster)
        return SiblingExposureResult(
            fit=fit,
            outcome=self.outcome,
            kind=self.kind,
            level=level,
            n_children=len(d),
            n_families=int(d["family"].nunique()),
            ledger=ledger,
            provenance=Provenance(_OWNER, self.get_params(), None, fingerprint(d[["y"]])),
        )


def design(d: pd.DataFrame, expo_col: str, birth_order: bool) -> pd.DataFrame:
    """The regressors before the within-family transformation (public for the cross-check)."""
    x = d[expo_col].to_numpy(float)
    dis = d["dis"].to_numpy(float)
    cols: dict[str, np.ndarray] = {"exposure": x, "exposure_x_disadvantaged": x * dis, "dis": dis}
    if birth_order:
        order = d.groupby("family")["birth_year"].rank(method="first").to_numpy()
        cols["birth_order_2"] = (order == 2).astype(float)
        cols["birth_order_3plus"] = (order >= 3).astype(float)
    years = np.sort(d["birth_year"].unique())
    for y in years[1:]:
        cols[f"birth_year_{y}"] = (d["birth_year"].to_numpy() == y).astype(float)
    return pd.DataFrame(cols, index=d.index)


def _fit(d: pd.DataFrame, expo_col: str, birth_order: bool, cluster: str) -> dict[str, Any]:
    x_raw = design(d, expo_col, birth_order)
    fam = pd.factorize(d["family"])[0]
    n_fam = fam.max() + 1
    counts = np.bincount(fam)

    def within(a: np.ndarray) -> np.ndarray:
        return a - (group_sums(fam, a, n_fam) / counts[:, None])[fam]

    x = within(x_raw.to_numpy())
    y = within(d[["y"]].to_numpy(float))[:, 0]
    # regressors with no variation within families carry no information: left out
    keep = np.flatnonzero(x.std(axis=0) > 1e-10)
    if 0 not in keep or 1 not in keep:
        raise IdentificationError(
            "SiblingExposure needs siblings with different years of exposure (of both "
            "backgrounds), but exposure does not vary within families here. Choose a kind "
            "with efforts that started while some families' children were still young."
        )
    names = [str(x_raw.columns[int(j)]) for j in keep]
    x = x[:, keep]
    # collinear regressors (e.g. a birth-year dummy that the others determine within
    # families) are dropped: pivoted Cholesky-like pass over the small cross product
    xtx = x.T @ x
    ok: list[int] = []
    for j in range(x.shape[1]):  # loop over the (few) regressors
        cand = [*ok, j]
        sub = xtx[np.ix_(cand, cand)]
        scale = np.sqrt(np.diag(sub))
        if np.linalg.eigvalsh(sub / np.outer(scale, scale)).min() > 1e-9:
            ok.append(j)
    x, names = x[:, ok], [names[j] for j in ok]
    if names[:2] != ["exposure", "exposure_x_disadvantaged"]:
        raise IdentificationError(
            "SiblingExposure cannot separate the exposure slopes of the two backgrounds: "
            "within families, exposure varies for children of one background only. It needs "
            "siblings with different exposure among both disadvantaged and other families."
        )
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    resid = y - x @ beta
    if cluster == "area":
        first = d.groupby("family", sort=False)["area_id"].transform("first")
        groups = pd.factorize(first)[0]
    else:
        groups = fam
    raw = cluster_cov(x, resid, np.ones(len(y)), groups, bread)
    g = int(groups.max() + 1)
    n, k = len(y), x.shape[1]
    factor = g / (g - 1) * (n - 1) / (n - k) if g > 1 else np.nan
    return {
        "names": names,
        "params": beta,
        "cov": raw * factor,
        "cov_raw": raw,
        "n_clusters": g,
        "design": x_raw,
        "family": d["family"].to_numpy(),
        "groups": groups,
    }


class SiblingExposureResult(Result):
    """Result of :class:`SiblingExposure`.

    Attributes
    ----------
    params, cov : Series, DataFrame
        Every coefficient of the within-family regression and their clustered
        covariance.
    n_children, n_families, n_clusters : int
    ledger : Ledger
    """

    title = "Sibling exposure: within-family exposure slopes"

    def __init__(
        self,
        *,
        fit: dict[str, Any],
        outcome: str,
        kind: str,
        level: float,
        n_children: int,
        n_families: int,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        names = fit["names"]
        self.params = pd.Series(fit["params"], index=names)
        self.cov = pd.DataFrame(fit["cov"], index=names, columns=names)
        self.n_clusters = int(fit["n_clusters"])
        self.outcome, self.kind, self.level = outcome, kind, level
        self.n_children, self.n_families = n_children, n_families
        self.ledger, self.provenance = ledger, provenance
        i, j = names.index("exposure"), names.index("exposure_x_disadvantaged")
        combos = np.zeros((3, len(names)))
        combos[0, i] = 1.0
        combos[1, [i, j]] = 1.0
        combos[2, j] = 1.0
        v = fit["cov"]
        self._est = combos @ fit["params"]
        self._se = np.sqrt(np.einsum("ij,jk,ik->i", combos, v, combos))
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Slopes per year of exposure (others, disadvantaged) and their difference."""
        keys = {
            "outcome": self.outcome,
            "design": "sibling_exposure",
            "kind": self.kind,
            "aggregation": "overall",
            "term": list(TERMS),
        }
        return tidy_effects(keys, self._est, self._se, level=self.level)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The three slopes with their intervals."""
        ax = new_axes(ax)
        tab = self.to_frame()
        pos = np.arange(len(tab))
        est = tab["estimate"].to_numpy(float)
        ax.errorbar(
            est,
            pos,
            xerr=[est - tab["ci_lower"].to_numpy(float), tab["ci_upper"].to_numpy(float) - est],
            fmt="o",
            capsize=3,
        )
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(pos, [str(t) for t in tab["term"]])
        ax.set_xlabel(label("exposure_slope"))
        ax.set_title(f"{label('effect')}: {self.outcome}")
        return ax

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Outcome", self.outcome),
            ("Kind", self.kind),
            ("Children / families", f"{self.n_children:,} / {self.n_families:,}"),
            ("Clusters", f"{self.n_clusters:,}"),
        ]
