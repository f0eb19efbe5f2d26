"""Sessions students and CI run: `nox -s tests`, `nox -s demo`, ...

Each session builds its own virtualenv (with uv when available), so a fresh
machine needs nothing but Python 3.11+ and nox. `nox -l` lists the sessions.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

ROOT = Path(__file__).parent
# One BLAS thread and a non-interactive plotting backend: results and timings
# then do not depend on the machine's core count or display.
QUIET_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
}


def _install(session: nox.Session, extras: str = "dev") -> None:
    """Install effekt (non-editable, so the wheel's data files are what gets tested)."""
    if session.venv_backend == "uv":
        session.install("--reinstall-package", "effekt", f".[{extras}]")
    else:
        session.install(f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """The default test suite (slow Monte-Carlo/MCMC tests excluded)."""
    _install(session)
    session.run("pytest", "-p", "no:cacheprovider", *session.posargs, env=QUIET_ENV)


@nox.session
def slow(session: nox.Session) -> None:
    """Slow tests only: Monte-Carlo coverage, recovery on simulated worlds, MCMC."""
    _install(session)
    session.run("pytest", "-p", "no:cacheprovider", "-m", "slow", *session.posargs, env=QUIET_ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    targets = ["src", "tests", "benchmarks", "tools", "noxfile.py"]
    session.run("ruff", "check", *targets)
    session.run("ruff", "format", "--check", *targets)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on the package."""
    _install(session)
    session.run("mypy", "src/effekt")


@nox.session
def notebooks(session: nox.Session) -> None:
    """Execute every notebook in notebooks/ top to bottom (they are stored without outputs).

    Also the worked examples in papers/ that are not replication packages (no expected.json).
    """
    _install(session)
    session.run("python", "tools/run_notebooks.py", "notebooks", "papers/cfbu_2015", env=QUIET_ENV)


@nox.session
def papers(session: nox.Session) -> None:
    """Execute the replication packages in papers/ and check their numbers.

    Fails when any number is outside its tolerance (``effekt reproduce --all``);
    ``nox -s papers -- arkhangelsky_2021`` runs one package.
    """
    _install(session)
    packages = sorted(p for p in (ROOT / "papers").iterdir() if (p / "expected.json").is_file())
    if not packages:
        session.skip("papers/ holds no replication package with an expected.json yet")
    target = session.posargs or ["--all"]
    session.run("effekt", "reproduce", *target, "--papers-dir", "papers", env=QUIET_ENV)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: effekt beside the peer packages, ratios and peak memory.

    Each peer's environment is built with uv from ``benchmarks/peers/*.txt`` on the first
    run (under ``benchmarks/.peers/``). ``nox -s bench -- --quick`` is a few-minute run.
    """
    _install(session)
    session.install("uv")  # benchmarks/_peers.py builds the peer environments with it
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if not scripts:
        session.skip("benchmarks/ holds no bench_*.py script yet")
    for script in scripts:
        session.run("python", str(script), *session.posargs, env=QUIET_ENV)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: build the analysis and write the HTML report to reports/demo/."""
    _install(session, extras="io,registers,bayes")
    session.run(
        "python", "-m", "effekt", "demo", "--out", "reports/demo", *session.posargs, env=QUIET_ENV
    )
