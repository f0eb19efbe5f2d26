"""Goodman-Bacon (2021) decomposition reference values on mpdta from two peers.

* ``pybacondecomp``: a Python replication of Stata's ``bacondecomp`` (Goodman-Bacon,
  Goodman-Bacon & Nichols), with ``ddetail=True`` so that timing-group comparisons are
  split into "Early vs Late" and "Late vs Early"; each 2x2 estimate and weight.
* ``diff-diff`` ``BaconDecomposition(weights="exact")``: an independent implementation.

Both also report the TWFE coefficient. Writes ``bacon_mpdta.json``. Run with the peer
environment (see README.md)::

    /work/extravenv/bin/python tests/reference/did_extra/generate_bacon.py
"""

from __future__ import annotations

import contextlib
import io
import warnings

from _common import load_mpdta, meta, write_json


def main() -> None:
    df = load_mpdta()
    df["post"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)

    from pybacondecomp import bacondecomp

    with contextlib.redirect_stdout(io.StringIO()):
        res = bacondecomp(
            df, y="lemp", tr="post", unit="countyreal", time="year", ddetail=True, verbose=False
        )
    pyb = {
        "dd_estimate": float(res.dd_estimate),
        "two_by_two": res.two_by_two.to_dict(orient="records"),
        "summary": res.summary.reset_index().to_dict(orient="records"),
        "call": 'bacondecomp(mpdta, y="lemp", tr="post", unit="countyreal", time="year", '
        "ddetail=True)",
    }

    from diff_diff import BaconDecomposition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dd = BaconDecomposition(weights="exact").fit(
            df, outcome="lemp", unit="countyreal", time="year", first_treat="first.treat"
        )
    diff = {
        "twfe_estimate": float(dd.twfe_estimate),
        "comparisons": [
            {
                "treated": c.treated_group,
                "control": c.control_group,
                "type": c.comparison_type,
                "estimate": float(c.estimate),
                "weight": float(c.weight),
            }
            for c in dd.comparisons
        ],
    }
    write_json(
        "bacon_mpdta.json",
        meta(
            "generate_bacon.py",
            {
                "data": "src/effekt/datasets/data/mpdta.csv (R did::mpdta); "
                "post = 1{first.treat > 0 and year >= first.treat}",
                "pybacondecomp": pyb,
                "diff_diff": diff,
            },
        ),
    )


if __name__ == "__main__":
    main()
