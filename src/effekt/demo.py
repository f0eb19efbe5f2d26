"""The main job (``nox -s demo`` / ``effekt demo``): data in, validated panel, report out.

It loads a shipped benchmark panel, builds and validates an :class:`effekt.Panel`,
fits the two-way fixed-effects event study and writes a self-contained HTML
report with the panel overview, the treatment rollout and the estimates.
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["run_demo"]


def run_demo(out: str | Path = "reports/demo", *, seed: int = 2026) -> Path:
    """Run the demo analysis and write ``index.html`` into ``out``.

    Parameters
    ----------
    out : str or Path, default "reports/demo"
        Output folder (created if missing).
    seed : int, default 2026
        Seed for any randomness in the analysis.

    Returns
    -------
    Path
        Path of the written report.

    Examples
    --------
    >>> import tempfile
    >>> from effekt.demo import run_demo
    >>> path = run_demo(tempfile.mkdtemp())  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import effekt as ek
    from effekt.reporting import HtmlReport

    start = time.perf_counter()
    report = HtmlReport("effekt demo: staggered adoption, step by step")

    _step("Loading the mpdta benchmark panel")
    df = ek.datasets.load_dataset("mpdta")
    report.add_heading("1. Data")
    report.add_text(
        f"{df.attrs['title']}. Source: {df.attrs['citation']} (doi:{df.attrs['doi']}). "
        f"Copy: {df.attrs['carried_by']}."
    )

    _step("Building and validating the Panel")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    report.add_heading("2. The validated panel")
    report.add_table(panel.overview(), caption="Panel overview")
    report.add_figure(panel.plot_rollout().figure, caption="Treatment rollout by cohort")

    _step("Fitting the two-way fixed-effects event study")
    result = ek.did.TwoWayFE(event_study=True).fit(panel)
    report.add_heading("3. Two-way fixed-effects event study")
    report.add_text(
        "The TWFE event study is the familiar benchmark. Under staggered adoption with "
        "dynamic effects its coefficients mix cohorts with implicit, possibly negative "
        "weights (Goodman-Bacon 2021; Sun & Abraham 2021)."
    )
    report.add_summary(result.summary())
    report.add_figure(result.plot().figure, caption="Event-study coefficients")

    path = report.write(Path(out) / "index.html")
    _step(f"Done in {time.perf_counter() - start:.1f} s")
    return path


def _step(message: str) -> None:
    print(f"[effekt demo] {message}", flush=True)
