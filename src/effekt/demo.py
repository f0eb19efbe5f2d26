"""The main job (``nox -s demo`` / ``effekt demo``): effekt's flagship question, answered.

Question (:func:`effekt.study.flagship_study`): *do municipal youth efforts (youth
cafés, pocket-money projects) on top of an LBF helhedsplan reduce the NEET share
among 15-24-year-olds more than the helhedsplan alone?* It is answered on a
simulated Denmark whose true effects are known, so the report shows whether the
designs recover the truth:

1. build the world (areas in the 98 kommuner, LBF rounds, kernedrift efforts,
   lists, turnover);
2. run the study with every design: Callaway & Sant'Anna, synthetic DiD and, when
   PyMC is installed, the Bayesian multilevel DiD; each with its credibility
   diagnostics;
3. write the reports, English (``index.html``) and Danish (``rapport.html``), and
   the estimates as LaTeX and Excel tables, all through disclosure control.
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["run_demo"]


def run_demo(
    out: str | Path = "reports/demo",
    *,
    seed: int = 2026,
    n_areas: int = 120,
    designs: tuple[str, ...] = ("did", "synth", "bayes"),
) -> Path:
    """Answer the flagship question on simulated Denmark and write the reports into ``out``.

    Parameters
    ----------
    out : str or Path, default "reports/demo"
        Output folder (created if missing).
    seed : int, default 2026
        Seed of the simulated world and of every random step of the study.
    n_areas : int, default 120
        Number of housing areas in the simulated world.
    designs : tuple of str, default ("did", "synth", "bayes")
        Designs to run; the Bayesian one is skipped, with a note in the report, when
        PyMC is not installed.

    Returns
    -------
    Path
        Path of the English HTML report (``index.html``).

    Examples
    --------
    >>> import tempfile
    >>> from effekt.demo import run_demo
    >>> path = run_demo(tempfile.mkdtemp(), n_areas=60, designs=("did",))  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")

    import effekt as ek
    from effekt.study import flagship_study

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    study = flagship_study()
    _step(f"Question: {' '.join(str(study.question).split())}")

    _step(f"Building simulated Denmark ({n_areas} areas, seed {seed})")
    world = ek.simulate.denmark(n_areas=n_areas, seed=seed)

    _step(f"Running the study: {', '.join(designs)} (the Bayesian design takes longest)")
    # 4 chains x 1,000 draws: enough for R-hat and bulk ESS to pass on this model
    result = study.run(
        world, designs=designs, seed=seed, bayes_chains=4, bayes_draws=1000, bayes_tune=1000
    )
    overall = result.overall()
    for row in overall.itertuples():
        _step(
            f"  {row.design:<6} overall effect {row.estimate:+.4f} "
            f"[{row.ci_lower:+.4f}, {row.ci_upper:+.4f}], truth {row.truth:+.4f}"
        )

    _step("Writing the reports (English and Danish) and the tables, disclosure-checked")
    path = result.to_report(out / "index.html", language="en")
    result.to_report(out / "rapport.html", language="da")
    result.to_latex(out / "estimates.tex")
    try:
        result.to_excel(out / "estimates.xlsx")
    except ek.OptionalDependencyError as err:
        _step(f"  Excel table skipped: {err}")
    _step(f"Done in {time.perf_counter() - start:.0f} s: {path}")
    return Path(path)


def _step(message: str) -> None:
    print(f"[effekt demo] {message}", flush=True)
