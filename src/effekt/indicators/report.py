"""The yearly management information on a kommune's deprived areas (områderapport).

:func:`kommune_report` reads the kommune's ``area_year`` rows (and, for comparison,
the rest of the table: the analyst's national table or a simulated Denmark), applies
the official list rules with :func:`effekt.lists.classify`, and returns a
:class:`KommuneReport`: each area against the criteria of the regime in force, a
list outlook, the areas against comparable areas on the indicators of Landsbygge-
fonden's monitoring (employment, education, income, crime, turnover, children and
youth), and the efforts running in each area. Every published number passes
:func:`effekt.disclosure.suppress` (cells resting on fewer than
``effekt.options["min_cell_count"]`` persons are shown as "–"). Danish by default.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt import disclosure, lists
from effekt._plotting import label
from effekt.errors import DataError, OptionalDependencyError, check_choice, missing_column
from effekt.indicators._criteria import criteria_table, list_outlook
from effekt.options import options, set_options
from effekt.study._text import dk_number

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from effekt.results import Summary

__all__ = ["MONITORING", "KommuneReport", "kommune_report"]

#: Landsbyggefonden-style monitoring indicators: column -> unit ("share", "per_1000",
#: "ratio"); turnover is computed as moves_out / residents
MONITORING: Mapping[str, str] = {
    "outside_work_edu_share": "share",
    "neet_share": "share",
    "basic_edu_share": "share",
    "youth_edu_25_share": "share",
    "income_rel_region": "ratio",
    "convicted_share": "share",
    "youth_charged_per_1000": "per_1000",
    "children_placed_per_1000": "per_1000",
    "turnover": "share",
}
_UNIT = {"residents": "count", "income": "ratio"}
_KEYS = ("area_id", "year", "kommune_code")


def _number(x: Any, kind: str, language: str, *, signed: bool = False) -> str:
    """A number for a report cell: shares in per cent / percentage points, counts whole."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or pd.isna(x):
        return "–"
    x, sign = float(x), "+" if signed else ""
    if kind == "count":
        fmt = f"{sign},.0f"
    elif kind == "per_1000":
        fmt = f"{sign},.1f"
    else:  # shares and ratios in per cent; a difference of shares in percentage points
        x *= 100
        fmt = f"{sign}.{2 if abs(x) < 5 else 1}f"  # conviction shares of 1-3 % need 2 digits
    text = dk_number(x, fmt) if language == "da" else format(x, fmt)
    text = text.replace("-", "−")
    if kind in ("share", "ratio"):
        text += (" pp" if language == "en" else " %-point") if signed else " %"
    return text


def _check_frame(area_year: Any, kommune: Any) -> pd.DataFrame:
    owner = "kommune_report"
    if not isinstance(area_year, pd.DataFrame):
        raise DataError(
            f"The 'area_year' argument of {owner} must be a pandas DataFrame (the area_year "
            f"table, e.g. from effekt.read_table); got {type(area_year).__name__}."
        )
    for col in _KEYS:
        if col not in area_year.columns:
            raise missing_column("area_year", owner, col, list(area_year.columns))
    if isinstance(kommune, bool) or not isinstance(kommune, int | np.integer):
        raise DataError(
            f"The 'kommune' argument of {owner} must be a kommune code (an integer such as "
            f"101 for København); got {kommune!r}."
        )
    codes = pd.Series(area_year["kommune_code"].unique()).dropna().astype(int)
    if int(kommune) not in set(codes):
        shown = ", ".join(str(c) for c in sorted(codes)[:20])
        raise DataError(
            f"The 'kommune' argument of {owner} is {kommune}, which has no area in the table. "
            f"Kommune codes present: {shown}{', ...' if len(codes) > 20 else ''}."
        )
    return area_year


class KommuneReport:
    """The yearly management information on one kommune's areas.

    Built by :func:`kommune_report`; the tables are plain DataFrames (numbers, not
    formatted text) and the rendering is done on demand.

    Attributes
    ----------
    kommune : int
        The kommune code.
    year : int
        The list year reported (the data year is ``year - 1``).
    criteria : pandas.DataFrame
        :func:`effekt.indicators.criteria_table` for the kommune's areas, with
        disclosive values masked.
    outlook : pandas.DataFrame
        :func:`effekt.indicators.list_outlook`.
    comparison : pandas.DataFrame
        Per area and monitoring indicator: ``value``, ``kommune_others`` (mean of the
        kommune's other areas), ``same_type`` (median of areas elsewhere with the
        same list status).
    efforts : pandas.DataFrame
        The interventions in the kommune's areas.
    history : pandas.DataFrame
        The kommune's ``area_year`` rows after disclosure control (for the figures).
    """

    kommune: int
    year: int
    regime: str
    language: str
    title: str
    criteria: pd.DataFrame
    outlook: pd.DataFrame
    comparison: pd.DataFrame
    efforts: pd.DataFrame
    history: pd.DataFrame
    names: dict[str, str]
    min_count: int
    national_crime: tuple[float, float, float] | None

    def __init__(self, **parts: Any) -> None:
        for name, value in parts.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("KommuneReport is immutable; build a new one.")

    # -- the result protocol --------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The criteria table (numbers, one row per area and criterion)."""
        return self.criteria.copy()

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        lang = self.language
        with set_options(language=lang):
            crit = self.criteria
            criteria = pd.DataFrame(
                {
                    label("ind_area"): crit["name"],
                    label("ind_criterion"): [label(f"crit_{c}") for c in crit["criterion"]],
                    label("ind_value"): [
                        _number(v, _UNIT.get(c, "share"), lang)
                        for v, c in zip(crit["value"], crit["criterion"], strict=True)
                    ],
                    label("ind_threshold"): [
                        f"{o} {_number(v, _UNIT.get(c, 'share'), lang)}"
                        for o, v, c in zip(
                            crit["comparison"], crit["threshold"], crit["criterion"], strict=True
                        )
                    ],
                    label("ind_margin"): [
                        _number(v, _UNIT.get(c, "share"), lang, signed=True)
                        for v, c in zip(crit["margin"], crit["criterion"], strict=True)
                    ],
                    label("ind_met"): [
                        "–" if m is None else label("ind_yes" if m else "ind_no")
                        for m in crit["met"]
                    ],
                    label("ind_trend"): [
                        _number(v, _UNIT.get(c, "share"), lang, signed=True)
                        for v, c in zip(crit["trend_per_year"], crit["criterion"], strict=True)
                    ],
                }
            )
            out = self.outlook

            def leave(items: list[tuple[str, float]]) -> str:
                if not items:
                    return "–"
                return "; ".join(
                    f"{label(f'crit_{c}')} {_number(-m, _UNIT.get(c, 'share'), lang, signed=True)}"
                    for c, m in items
                )

            outlook = pd.DataFrame(
                {
                    label("ind_area"): out["name"],
                    label("ind_status"): [_status_label(s, self.regime) for s in out["status"]],
                    label("ind_n_met", category=self._main_label()): [
                        f"{n} / {k}" for n, k in zip(out["n_met"], out["min_met"], strict=True)
                    ],
                    label("ind_projected"): [
                        label("ind_on" if on else "ind_off") for on in out["projected_on"]
                    ],
                    label("ind_to_leave"): [leave(x) for x in out["to_leave"]],
                }
            )
            comp = self.comparison
            kind = [MONITORING[i] for i in comp["indicator"]]
            comparison = pd.DataFrame(
                {
                    label("ind_area"): comp["name"],
                    label("ind_indicator"): [_indicator_label(i) for i in comp["indicator"]],
                    label("ind_this_area"): [
                        _number(v, k, lang) for v, k in zip(comp["value"], kind, strict=True)
                    ],
                    label("ind_kommune_others"): [
                        _number(v, k, lang)
                        for v, k in zip(comp["kommune_others"], kind, strict=True)
                    ],
                    label("ind_same_type"): [
                        _number(v, k, lang) for v, k in zip(comp["same_type"], kind, strict=True)
                    ],
                }
            )
            eff = self.efforts
            efforts = pd.DataFrame(
                {
                    label("ind_area"): eff["name"],
                    label("ind_kind"): [_kind_label(k) for k in eff["kind"]],
                    label("ind_start"): [_year(y) for y in eff["start_year"]],
                    label("ind_end"): [_year(y) for y in eff["end_year"]],
                }
            )
            return [
                (label("ind_criteria", regime=self.regime, year=self.year), criteria),
                (label("ind_outlook"), outlook),
                (label("ind_comparison", year=self.year - 1), comparison),
                (label("ind_efforts"), efforts),
            ]

    def _main_label(self) -> str:
        if not self.regime:
            return ""
        regime = lists.REGIMES[self.regime]
        return regime.category(regime.main).label

    def notes(self) -> list[str]:
        """The report's notes, in its language."""
        with set_options(language=self.language):
            notes = [label("ind_projection_note"), label("ind_suppressed", k=self.min_count)]
            if self.national_crime is not None:
                share, mult, threshold = self.national_crime
                notes.insert(
                    0,
                    label(
                        "ind_national_crime",
                        year=self.year - 1,
                        share=_number(share, "share", self.language),
                        mult=_number(mult, "count", self.language),
                        threshold=_number(threshold, "share", self.language),
                    ),
                )
            return notes

    def summary(self) -> Summary:
        """Return the :class:`~effekt.results.Summary` (formatted tables); nothing printed."""
        from effekt.results import Summary

        return Summary(self.title, (), tuple(self._tables()), tuple(self.notes()))

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        return self.summary().as_text()

    def plot(self, ax: Axes | None = None) -> Axes:
        """The labour-market criterion over time, one line per area, with its threshold.

        :meth:`figure` draws every criterion; this draws one on ``ax``.
        """
        return self._draw("outside_work_edu_share", ax)

    def _draw(self, column: str, ax: Axes | None) -> Axes:
        from matplotlib.ticker import MaxNLocator

        from effekt._plotting import new_axes

        ax = new_axes(ax)
        hist = self.history
        with set_options(language=self.language):
            for area, part in hist.groupby("area_id", sort=False):
                ax.plot(
                    part["year"], 100 * part[column], marker="o", ms=3, label=self.names[str(area)]
                )
            crit = self.criteria[self.criteria["column"] == column]
            if not crit.empty:
                ax.axhline(
                    100 * float(crit["threshold"].iloc[0]),
                    color="black",
                    ls="--",
                    lw=1,
                    label=label("ind_threshold"),
                )
                key = str(crit["criterion"].iloc[0])
                ax.set_title(label(f"crit_{key}"), fontsize=10)
            ax.set_ylabel("%")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize=7, frameon=False)
        return ax

    def figure(self) -> Figure:
        """Every share criterion of the regime over time (small multiples) and the efforts."""
        import matplotlib.pyplot as plt

        columns = [
            c
            for c in dict.fromkeys(self.criteria["column"])
            if c != "residents" and c in self.history
        ]
        n = len(columns) + 1
        cols = 2
        rows = (n + 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(10, 3.2 * rows), layout="constrained")
        flat = list(np.ravel(axes))
        for ax, column in zip(flat, columns, strict=False):
            self._draw(column, ax)
        self._draw_efforts(flat[len(columns)])
        for ax in flat[n:]:
            ax.set_visible(False)
        return fig

    def _draw_efforts(self, ax: Axes) -> None:
        from matplotlib.patches import Patch
        from matplotlib.ticker import MaxNLocator

        with set_options(language=self.language):
            ax.set_title(label("ind_efforts"), fontsize=10)
            areas = list(self.names)
            last = int(self.history["year"].max())
            kinds = sorted(self.efforts["kind"].unique()) if len(self.efforts) else []
            colours = {k: f"C{i % 10}" for i, k in enumerate(kinds)}
            for _, e in self.efforts.iterrows():
                y = areas.index(e["area_id"])
                end = last if pd.isna(e["end_year"]) else int(e["end_year"])
                ax.broken_barh(
                    [(int(e["start_year"]), end - int(e["start_year"]) + 1)],
                    (y - 0.35, 0.7),
                    color=colours[e["kind"]],
                    alpha=0.7,
                )
            ax.set_yticks(range(len(areas)), [self.names[a] for a in areas], fontsize=7)
            handles = [Patch(color=colours[k], label=_kind_label(k)) for k in kinds]
            if handles:
                ax.legend(
                    handles=handles,
                    fontsize=7,
                    frameon=False,
                    loc="upper center",
                    bbox_to_anchor=(0.5, -0.12),
                    ncol=2,
                )
            else:
                ax.text(0.5, 0.5, label("ind_no_efforts"), ha="center", transform=ax.transAxes)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    # -- writing ----------------------------------------------------------------
    def to_html(self, path: str | Path | None = None) -> str:
        """The self-contained HTML report; written to ``path`` when given."""
        from effekt.reporting import HtmlReport

        report = HtmlReport(self.title, language=self.language)
        for caption, table in self._tables():
            report.add_heading(caption)
            report.add_table(table, index=False)
        with set_options(language=self.language):
            report.add_heading(label("ind_trends"))
            report.add_figure(self.figure(), caption=label("ind_trends"), dpi=150)
        for note in self.notes():
            report.add_text(note)
        html = report.to_html()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(html, encoding="utf-8")
        return html

    def to_pdf(self, path: str | Path) -> Path:
        """Print the HTML report to PDF with headless Chromium.

        Raises
        ------
        OptionalDependencyError
            No ``chromium`` (or ``chromium-browser``/``google-chrome``) on the PATH.
        """
        found = (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome"))
        browser = next((path for path in found if path), None)
        if browser is None:
            raise OptionalDependencyError(
                "KommuneReport.to_pdf prints the HTML report with headless Chromium, which is "
                "not on the PATH. Install it (Debian: apt-get install chromium), or write the "
                "HTML with to_html() and print it from a browser."
            )
        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "report.html"
            self.to_html(page)
            done = subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={Path(tmp) / 'profile'}",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={path}",
                    page.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        if not path.is_file():
            raise OptionalDependencyError(
                f"Chromium did not write {path} (exit {done.returncode}): "
                f"{(done.stderr.strip().splitlines() or [''])[-1]}"
            )
        return path


def _indicator_label(column: str) -> str:
    text = label("ind_turnover") if column == "turnover" else label(f"outcome_{column}")
    return text[0].upper() + text[1:]


def _status_label(status: Any, regime: str) -> str:
    if status is None or pd.isna(status):
        return label("ind_none")
    return lists.REGIMES[regime].category(str(status)).label if regime else str(status)


def _year(value: Any) -> str:
    return "–" if pd.isna(value) else str(int(value))


def _kind_label(kind: str) -> str:
    try:
        text = label(f"kind_{kind}")
    except KeyError:
        return kind
    # the kind labels are written for running text ("an LBF helhedsplan"): drop the article
    for article in ("an ", "a ", "en ", "et "):
        if text.startswith(article):
            text = text[len(article) :]
    return text[0].upper() + text[1:]


def _comparison(
    published: pd.DataFrame, classified: pd.DataFrame, kommune: int, data_year: int
) -> pd.DataFrame:
    frame = published[published["year"] == data_year].copy()
    frame["turnover"] = frame["moves_out"].astype(float) / frame["residents"].astype(float)
    status = classified[classified["year"] == data_year + 1].set_index("area_id")["status"]
    frame["status"] = frame["area_id"].map(status).astype(object)
    frame["status"] = frame["status"].where(frame["status"].notna(), "none")
    mine = frame[frame["kommune_code"] == kommune]
    rest = frame[frame["kommune_code"] != kommune]
    out = []
    indicators = [c for c in MONITORING if c in frame.columns]
    for _, row in mine.iterrows():
        others = mine[mine["area_id"] != row["area_id"]]
        same = rest[rest["status"] == row["status"]]
        for col in indicators:
            out.append(
                {
                    "area_id": row["area_id"],
                    "indicator": col,
                    "value": row[col],
                    "kommune_others": others[col].mean() if len(others) else np.nan,
                    "same_type": same[col].median() if len(same) else np.nan,
                    "n_same_type": int(same[col].notna().sum()),
                }
            )
    return pd.DataFrame(out)


def kommune_report(
    area_year: pd.DataFrame,
    interventions: pd.DataFrame | None = None,
    *,
    kommune: int,
    year: int | None = None,
    areas: pd.DataFrame | None = None,
    language: str = "da",
    national_convicted_share: float | Mapping[int, float] | None = None,
) -> KommuneReport:
    """The yearly management information on a kommune's deprived areas.

    Parameters
    ----------
    area_year : pandas.DataFrame
        The ``area_year`` table: the kommune's areas, and for the comparison with
        areas of the same type the rest of the country (the analyst's national table,
        or a simulated Denmark's). Not modified.
    interventions : pandas.DataFrame, optional
        The ``interventions`` table; the efforts in the kommune's areas are shown.
    kommune : int
        The kommune code (e.g. 101 København, 621 Kolding).
    year : int, optional
        The list year (1 December list); default the latest the data can classify
        (its data year is ``year - 1``).
    areas : pandas.DataFrame, optional
        The ``areas`` table, for the areas' names (default: their ids).
    language : {"da", "en"}, default "da"
        The report's language.
    national_convicted_share : float or mapping, optional
        Passed to :func:`effekt.lists.classify` (the national conviction share behind
        the crime threshold).

    Returns
    -------
    KommuneReport

    Raises
    ------
    DataError
        ``area_year`` is not a DataFrame, lacks a key column, has no area in
        ``kommune``, or cannot be classified for ``year``.
    ParameterError
        ``language`` is not "da" or "en".

    References
    ----------
    Almenboligloven §§ 61 a and 61 b (LBK nr. 1171 of 11 November 2024): the list
    criteria. Landsbyggefonden, *Beboerdata* / monitoring of the boligsociale
    helhedsplaner: the indicator set.

    Examples
    --------
    >>> import effekt as ek
    >>> world = ek.simulate.denmark(n_areas=20, seed=1)
    >>> rep = ek.indicators.kommune_report(world.area_year, world.interventions,
    ...                                    kommune=101, areas=world.areas)
    >>> rep.year
    2025
    >>> "Område" in rep.to_html()
    True
    """
    check_choice("language", "kommune_report", language, ("da", "en"))
    _check_frame(area_year, kommune)
    kommune = int(kommune)
    classified = lists.classify(area_year, national_convicted_share=national_convicted_share)
    mine = area_year.loc[area_year["kommune_code"] == kommune]
    ids = list(dict.fromkeys(mine["area_id"]))
    # only the kommune's areas get criteria rows; the national rows serve the comparison
    own = classified[classified["area_id"].isin(ids)]
    criteria = criteria_table(area_year, own, year=year).reset_index(drop=True)
    list_year = int(criteria["year"].iloc[0])

    # disclosure control: every published number from cells of >= min_count persons
    min_count = int(options["min_cell_count"])
    published = disclosure.suppress(area_year, secondary=False, flag_suffix=None)
    data_year = list_year - 1
    cells = published[published["year"] == data_year].set_index("area_id")
    masked = [
        bool(col in cells.columns and area in cells.index and pd.isna(cells.loc[area, col]))
        for area, col in zip(criteria["area_id"], criteria["column"], strict=True)
    ]
    criteria.loc[masked, ["value", "margin", "trend_per_year"]] = np.nan
    outlook = list_outlook(criteria, classified)

    if areas is not None and {"area_id", "name"} <= set(areas.columns):
        names = dict(zip(areas["area_id"], areas["name"], strict=False))
    else:
        names = {}
    names = {a: str(names.get(a, a)) for a in ids}
    comparison = _comparison(published, classified, kommune, data_year)
    if interventions is not None:
        if not isinstance(interventions, pd.DataFrame) or not {
            "area_id",
            "kind",
            "start_year",
        } <= set(interventions.columns):
            raise DataError(
                "The 'interventions' argument of kommune_report must be the interventions "
                "table (columns area_id, kind, start_year, end_year)."
            )
        efforts = interventions[interventions["area_id"].isin(ids)].copy()
        if "end_year" not in efforts:
            efforts["end_year"] = pd.NA
        efforts = efforts.sort_values(["area_id", "start_year"]).reset_index(drop=True)
    else:
        efforts = pd.DataFrame(columns=["area_id", "kind", "start_year", "end_year"])
    for table in (criteria, outlook, comparison, efforts):
        table.insert(1, "name", table["area_id"].map(names))

    regime = lists.REGIMES[str(criteria["regime"].iloc[0])] if len(criteria) else None
    crime = [c for c in (regime.headline if regime else ()) if c.relative_to_national]
    national = None
    if crime:
        threshold = float(criteria.loc[criteria["criterion"] == "crime", "threshold"].iloc[0])
        national = (threshold / crime[0].threshold, crime[0].threshold, threshold)
    with set_options(language=language):
        kommune_name = _kommune_name(kommune)
        title = label("ind_title", kommune=kommune_name, year=list_year)
    history = published[published["kommune_code"] == kommune].reset_index(drop=True)
    return KommuneReport(
        kommune=kommune,
        year=list_year,
        regime=regime.name if regime else "",
        language=language,
        title=title,
        criteria=criteria,
        outlook=outlook,
        comparison=comparison,
        efforts=efforts,
        history=history,
        names=names,
        min_count=min_count,
        national_crime=national,
    )


def _kommune_name(kommune: int) -> str:
    from effekt.datasets import load_dataset

    table = load_dataset("dk_kommuner")
    hit = table.loc[table["kommune_code"] == kommune, "kommune"]
    return str(hit.iloc[0]) if len(hit) else f"kommune {kommune}"
