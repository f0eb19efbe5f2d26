"""Shared helpers for the scripts that regenerate the reference values in this folder.

The scripts run in a separate virtual environment holding the peer packages (pyfixest,
did-imputation, diff-diff, pybacondecomp); see README.md. effekt and its tests never
import them.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import math
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MPDTA = REPO / "src" / "effekt" / "datasets" / "data" / "mpdta.csv"
PEERS = ("pyfixest", "did-imputation", "diff-diff", "pybacondecomp", "numpy", "pandas", "scipy")


def load_mpdta() -> pd.DataFrame:
    """R did's mpdta (500 counties x 2003-2007) as shipped in effekt."""
    return pd.read_csv(MPDTA)


def meta(script: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Provenance block written at the top of every JSON file."""
    versions: dict[str, str | None] = {}
    for name in PEERS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    out: dict[str, Any] = {
        "generated_by": f"tests/reference/did_extra/{script}",
        "regenerate": f"/work/extravenv/bin/python tests/reference/did_extra/{script}",
        "generated_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "package_versions": versions,
    }
    if extra:
        out.update(extra)
    return out


def clean(obj: Any) -> Any:
    """Strict-JSON values: numpy scalars to Python, NaN/inf to None."""
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
    path.write_text(json.dumps(clean(payload), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path
