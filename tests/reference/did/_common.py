"""Shared helpers for the scripts that regenerate the DiD reference values.

These scripts run in a separate virtual environment that holds the peer packages
(csdid, differences, pyfixest, wildboottest, linearmodels); see README.md. They are
not imported by effekt or its tests.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MPDTA = REPO / "src" / "effekt" / "datasets" / "data" / "mpdta.csv"

PEERS = (
    "csdid",
    "drdid",
    "differences",
    "pyfixest",
    "wildboottest",
    "linearmodels",
    "statsmodels",
    "numpy",
    "pandas",
    "scipy",
    "numba",
    "formulaic",
)


def load_mpdta() -> pd.DataFrame:
    """R did's mpdta (2,500 rows: 500 counties x 2003-2007), read as shipped in effekt."""
    df = pd.read_csv(MPDTA)
    # `treat` in mpdta is the EVER-treated indicator (1 for every year of a county with
    # first.treat > 0), not the post-treatment dummy; a TWFE regression needs the latter.
    df["post"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    return df


def meta(script: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Provenance block written at the top of every JSON file."""
    versions = {}
    for name in PEERS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    out: dict[str, Any] = {
        "generated_by": f"tests/reference/did/{script}",
        "regenerate": f"/work/refvenv/bin/python tests/reference/did/{script}",
        "generated_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "package_versions": versions,
        "data": "src/effekt/datasets/data/mpdta.csv (R did::mpdta; 500 counties x 2003-2007)",
        # timings depend on what else runs on the (shared, 2-core) machine
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15min_at_write": [round(x, 2) for x in os.getloadavg()],
    }
    if extra:
        out.update(extra)
    return out


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    """Run ``fn`` ``repeat`` times; return the last result and the fastest wall time (s)."""
    best = math.inf
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return result, best


def clean(obj: Any) -> Any:
    """Make ``obj`` strict-JSON serialisable: numpy scalars -> Python, NaN/inf -> None."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [clean(v) for v in obj.tolist()]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def write_json(name: str, payload: dict[str, Any]) -> Path:
    path = HERE / name
    text = json.dumps(clean(payload), indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def max_abs_diff(a: Any, b: Any) -> float | None:
    """Max |a - b| over paired finite values; None when there is nothing to compare.

    Pairs where both are NaN (e.g. the base-period cell under a universal base period)
    agree; a NaN on one side only is an error, not a silent skip.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"shape mismatch {x.shape} vs {y.shape}")
    nx, ny = np.isnan(x), np.isnan(y)
    if (nx != ny).any():
        raise ValueError(f"NaN pattern differs: {x[nx != ny]} vs {y[nx != ny]}")
    ok = ~nx
    if not ok.any():
        return None
    return float(np.max(np.abs(x[ok] - y[ok])))
