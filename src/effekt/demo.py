"""The main job (``nox -s demo`` / ``effekt demo``): a question answered on simulated Denmark.

Question: *did the LBF boligsociale helhedsplaner reduce youth crime (charged
15-25-year-olds per 1,000) in the areas that got them?* It is answered on a
simulated Denmark whose true effects are known, so the report can show which
estimators recover the truth and which do not:

1. build the world (areas in the 98 kommuner, LBF rounds, lists, turnover);
2. validate the area panel (:class:`effekt.Panel`), show the staggered rollout;
3. fit two-way fixed effects and the heterogeneity-robust event studies
   (Sun-Abraham, imputation) and compare them with the true effects;
4. run the disclosure check every exported table needs on Statistics
   Denmark's servers;
5. write a self-contained HTML report.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure

if TYPE_CHECKING:  # pragma: no cover
    from effekt.simulate import World

__all__ = ["run_demo"]

OUTCOME = "youth_charged_per_1000"
KIND = "lbf_helhedsplan"


def run_demo(out: str | Path = "reports/demo", *, seed: int = 2026, n_areas: int = 100) -> Path:
    """Run the demo analysis and write ``index.html`` into ``out``.

    Parameters
    ----------
    out : str or Path, default "reports/demo"
        Output folder (created if missing).
    seed : int, default 2026
        Seed of the simulated world.
    n_areas : int, default 100
        Number of housing areas in the simulated world.

    Returns
    -------
    Path
        Path of the written report.

    Examples
    --------
    >>> import tempfile
    >>> from effekt.demo import run_demo
    >>> path = run_demo(tempfile.mkdtemp(), n_areas=30)  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import effekt as ek
    from effekt.reporting import HtmlReport

    start = time.perf_counter()
    report = HtmlReport("Did the LBF helhedsplaner reduce youth crime? (simulated Denmark)")
    report.add_text(
        "Every number below comes from a simulated Denmark (effekt.simulate) in which the "
        "true effect of each intervention is known, so the estimators can be checked against "
        "it. On Statistics Denmark's research servers the same code runs on area panels built "
        "from the registers with effekt.registers."
    )

    _step(f"Building simulated Denmark ({n_areas} areas, seed {seed})")
    world = ek.simulate.denmark(n_areas=n_areas, seed=seed)
    report.add_heading("1. The simulated world")
    report.add_html(world._repr_html_())

    _step("Validating the area panel")
    frame = world.area_panel(KIND, outcomes=[OUTCOME])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)
        panel = ek.Panel.from_frame(
            frame,
            unit="area_id",
            time="year",
            outcome=OUTCOME,
            cohort="first_treated",
            never_treated=0,
            cluster="kommune_code",
        )
    report.add_heading("2. The validated panel")
    report.add_table(panel.overview(), caption="Panel overview")
    report.add_figure(
        panel.plot_rollout().figure, caption="Rollout of LBF helhedsplaner (first plan per area)"
    )

    _step("Fitting TWFE, Sun-Abraham and imputation event studies")
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        fits["TWFE event study"] = ek.did.TwoWayFE(event_study=True, leads=5, lags=8).fit(panel)
        fits["Sun & Abraham"] = ek.did.SunAbraham().fit(panel)
        fits["Imputation (BJS)"] = ek.did.Imputation(leads=5).fit(panel)
    truth = _truths(world, frame)
    long = _long_table(fits, truth)
    report.add_heading("3. Event-study estimates against the truth")
    report.add_text(
        "TWFE's event-study coefficients mix cohorts with implicit, possibly negative weights "
        "when effects build up over time (Sun & Abraham 2021; Goodman-Bacon 2021); the "
        "Sun-Abraham and imputation estimators do not. Two truths are shown. Areas that get a "
        "plan often get municipal efforts (youth cafés, leisure-job help, transformations) at "
        "the same time, so a DiD on the plans' timing estimates the effect of everything that "
        "came with the plan ('truth: plan and accompanying efforts'), not of the plan alone "
        "('truth: plan alone'). Separating them needs the efforts' own timing (a multilevel "
        "model by kind, or the kinds as separate treatments)."
    )
    wide = long.pivot(index="event_time", columns="estimator", values="estimate")
    for name in TRUTHS:
        wide[name] = long.groupby("event_time")[name].first()
    report.add_table(wide, caption=f"Effect on {OUTCOME} by years since the first plan")
    report.add_figure(_plot(long), caption="Estimates with 95% intervals, and the truth")
    plt.close("all")

    _step("Disclosure control of the exported area table")
    table = world.area_year
    check = ek.disclosure.check(table)
    report.add_heading("4. Disclosure control")
    report.add_text(
        f"Before any area table leaves the research server, every cell must rest on at least "
        f"{ek.options['min_cell_count']} persons. The simulated area_year table has "
        f"{check.n_violations} cell(s) below that; effekt.disclosure.suppress masks them and "
        "any cell that would reveal them."
    )

    path = report.write(Path(out) / "index.html")
    _step(f"Done in {time.perf_counter() - start:.1f} s")
    return path


TRUTHS = ("truth: plan alone", "truth: plan and accompanying efforts")


def _truths(world: World, frame: pd.DataFrame) -> pd.DataFrame:
    """True effects by years since the first plan: of the plans alone, and of all efforts."""
    alone = world.truth.att(kind=KIND, outcome=OUTCOME, by="event_time")
    y0 = world.counterfactual("all")[["area_id", "year", OUTCOME]]
    treated = frame[frame["first_treated"] > 0].merge(
        y0, on=["area_id", "year"], suffixes=("", "_y0")
    )
    treated["event_time"] = treated["year"] - treated["first_treated"]
    bundle = (treated[OUTCOME] - treated[f"{OUTCOME}_y0"]).groupby(treated["event_time"]).mean()
    return pd.DataFrame({TRUTHS[0]: alone.set_index("event_time")["estimate"], TRUTHS[1]: bundle})


def _long_table(fits: dict, truth: pd.DataFrame) -> pd.DataFrame:
    """Event-time estimates of every fit beside the true effects, event times -5..8."""
    rows = []
    for name, result in fits.items():
        est, cov = result.event_study_coefficients()
        rows.append(
            pd.DataFrame(
                {
                    "estimator": name,
                    "event_time": est.index,
                    "estimate": est.to_numpy(),
                    "std_error": np.sqrt(np.diag(cov.to_numpy())),
                }
            )
        )
    table = pd.concat(rows, ignore_index=True)
    for name in TRUTHS:
        table[name] = table["event_time"].map(truth[name])
    return table[table["event_time"].between(-5, 8)].reset_index(drop=True)


def _plot(long: pd.DataFrame) -> Figure | SubFigure:
    from effekt._plotting import label, new_axes

    ax = new_axes(None, figsize=(8.0, 4.5))
    names = list(dict.fromkeys(long["estimator"]))
    for i, name in enumerate(names):
        part = long[long["estimator"] == name]
        ax.errorbar(
            part["event_time"] + (i - 1) * 0.15,
            part["estimate"],
            yerr=1.96 * part["std_error"],
            fmt="o",
            ms=4,
            capsize=2,
            label=name,
        )
    for name, style in zip(TRUTHS, ("k:", "k--"), strict=True):
        line = long.groupby("event_time")[name].first()
        ax.plot(line.index, line.to_numpy(), style, lw=2, label=name)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(-0.5, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(label("event_time"))
    ax.set_ylabel(OUTCOME)
    ax.legend(frameon=False, fontsize=8)
    return ax.figure


def _step(message: str) -> None:
    print(f"[effekt demo] {message}", flush=True)
