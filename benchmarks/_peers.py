"""Peer environments that the benchmarks build for themselves.

Each peer package runs in its own virtualenv, created with uv from a pinned
requirements file in ``benchmarks/peers/<env>.txt``: their pins conflict (honestdid
needs numpy < 2.3, the R-port synthdid its own numpy/pandas, bambi its own PyMC), and
none of them is an effekt dependency. An environment is built once and rebuilt only
when its requirements file changes (a hash of the file is stamped into the
environment). A peer that cannot be installed is reported with the reason, never
skipped silently: :func:`resolve` returns the interpreter or the reason, and the
benchmark prints the reason in its table.

The environments live under ``benchmarks/.peers/`` (ignored by git), or under the
directory named by the environment variable ``EFFEKT_BENCH_PEERS``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "peers"
#: which peer packages each environment holds (for the messages)
ENVIRONMENTS = {
    "did": "csdid, differences, pyfixest, wildboottest, linearmodels",
    "diffdiff": "diff-diff",
    "dcdh": "py_did_multiplegt_dyn (the official port of did_multiplegt_dyn)",
    "pysyncon": "pysyncon",
    "synthdid": "synthdid (the Python port of R synthdid)",
    "honestdid": "honestdid",
    "bambi": "bambi",
}


@dataclass(frozen=True)
class Peer:
    """A peer environment: its interpreter, or why there is none."""

    env: str
    python: str | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.python is not None

    def note(self) -> str:
        """One line for the benchmark table when the peer is unavailable."""
        return f"not installed ({ENVIRONMENTS.get(self.env, self.env)}): {self.reason}"


def _root() -> Path:
    return Path(os.environ.get("EFFEKT_BENCH_PEERS", HERE / ".peers"))


def _uv() -> list[str] | None:
    exe = shutil.which("uv")
    if exe:
        return [exe]
    try:  # uv installed as a module in this interpreter (nox installs it there)
        subprocess.run([sys.executable, "-m", "uv", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [sys.executable, "-m", "uv"]


def _python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def resolve(env: str, override: str | None = None, *, build: bool = True) -> Peer:
    """The interpreter of peer environment ``env``, building it first if needed.

    Parameters
    ----------
    env : str
        A key of :data:`ENVIRONMENTS` (the file ``benchmarks/peers/<env>.txt``).
    override : str, optional
        An interpreter given on the command line; used as is when it exists.
    build : bool
        Create or update the environment when it is missing or stale.
    """
    if override:
        if Path(override).is_file():
            return Peer(env, override)
        return Peer(env, None, f"the interpreter {override} given on the command line is missing")
    req = REQUIREMENTS / f"{env}.txt"
    if not req.is_file():
        return Peer(env, None, f"no requirements file {req}")
    digest = hashlib.sha256(req.read_bytes()).hexdigest()
    venv = _root() / env
    python, stamp = _python_of(venv), venv / ".effekt-requirements-sha256"
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return Peer(env, str(python))
    if not build:
        return Peer(env, None, f"{venv} is missing or stale (run without --no-build)")
    uv = _uv()
    if uv is None:
        return Peer(env, None, "uv is not available to build it (pip install uv)")
    print(f"building the peer environment {venv} from {req.name} ...", flush=True)
    steps = [
        [*uv, "venv", "--quiet", "--clear", "--python", "3.11", str(venv)],
        [*uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(req)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return Peer(env, None, lines[-1] if lines else f"exit {done.returncode}")
    stamp.write_text(digest)
    return Peer(env, str(python))
