"""Declarative studies: one question, answered by several designs side by side.

A :class:`Study` names the outcome(s), the treatment (intervention kinds, an optional
base kind they come on top of, funder, round), the comparison group, the population
and the period, once. :meth:`Study.run` answers it with difference-in-differences
(Callaway & Sant'Anna), synthetic difference-in-differences and a Bayesian multilevel
DiD, with credibility diagnostics for each, and returns a :class:`StudyResult` that
writes a report in Danish or English that passes disclosure control.

Studies can be written as small TOML files (schema ``data_schemas/study.schema.json``)
and read with :func:`load_study`. :func:`flagship_study` (the file
``effekt/study/flagship.toml``, a template for your own) asks whether municipal
youth efforts on top of an LBF helhedsplan reduce the NEET share.

Examples
--------
>>> from effekt.study import Study, Treatment
>>> study = Study.from_dict({
...     "outcomes": ["neet_share"],
...     "treatment": {"kinds": ["ungdomscafe", "lommepengeprojekt"],
...                   "base": "lbf_helhedsplan"},
... })
>>> study.treatment.base
'lbf_helhedsplan'
"""

from __future__ import annotations

from importlib import resources

from effekt.study._result import StudyResult
from effekt.study._spec import Comparison, Study, Treatment, load_study, study_schema

__all__ = [
    "Comparison",
    "Study",
    "StudyResult",
    "Treatment",
    "flagship_study",
    "load_study",
    "study_schema",
]


def flagship_study() -> Study:
    """The flagship question of effekt, the study behind ``effekt demo``.

    *Do municipal youth efforts (youth cafés, pocket-money projects) on top of an
    LBF helhedsplan reduce the NEET share among 15-24-year-olds more than the
    helhedsplan alone?* Read from ``flagship.toml`` beside this
    module; copy that file to start a study of your own (``effekt run FILE``).

    Returns
    -------
    Study

    Examples
    --------
    >>> from effekt.study import flagship_study
    >>> flagship_study().treatment.base
    'lbf_helhedsplan'
    """
    with resources.as_file(resources.files("effekt.study") / "flagship.toml") as path:
        return load_study(path)
