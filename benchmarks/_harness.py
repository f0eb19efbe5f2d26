"""Run benchmark contenders side by side, each in a fresh subprocess.

Every contender is a small Python program that prints one JSON object on its last
line (its own timings and results). Running it in a fresh process gives each its
own peak resident memory (``ru_maxrss``) and lets a peer package run from its own
virtualenv (peers such as wildboottest or csdid are not effekt dependencies).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

PRELUDE = """
import json, resource, sys, time
def report(**values):
    values["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(values))
"""


@dataclass
class Outcome:
    name: str
    values: dict[str, Any] | None
    error: str | None = None


def run(name: str, code: str, python: str | None = None, timeout: int = 3600) -> Outcome:
    """Run ``code`` (after PRELUDE) with ``python``; return its reported JSON."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
    }
    try:
        done = subprocess.run(
            [python or sys.executable, "-c", PRELUDE + code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return Outcome(name, None, str(err))
    if done.returncode != 0:
        return Outcome(
            name,
            None,
            done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}",
        )
    return Outcome(name, json.loads(done.stdout.strip().splitlines()[-1]))


def table(rows: list[list[Any]], header: list[str]) -> str:
    """Plain-text table."""
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
