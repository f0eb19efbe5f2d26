"""effekt: effect evaluation of Danish housing-social interventions.

effekt estimates what boligsociale helhedsplaner, municipal core-service efforts
(kommunal kernedrift) and physical transformations did in Danish deprived housing
areas, with families of designs on one validated :class:`Panel`:

- difference-in-differences (:mod:`effekt.did`),
- synthetic control (:mod:`effekt.synth`),
- Bayesian multilevel models (:mod:`effekt.bayes`, extra ``effekt[bayes]``),
- regression discontinuity at the list thresholds (:mod:`effekt.rd`, extra ``effekt[rd]``).

Around them: validated schemas (:func:`validate`), public benchmark and Danish
data (:mod:`effekt.datasets`), a simulated Denmark with known truth
(:mod:`effekt.simulate`), the official list rules (:mod:`effekt.lists`), the
register-to-panel pipeline (:mod:`effekt.registers`), disclosure control
(:mod:`effekt.disclosure`) and power calculations (:mod:`effekt.power`). :class:`Study`
poses one question and answers it with all three designs side by side, with a
publishable report.

Examples
--------
>>> import effekt as ek
>>> df = ek.datasets.load_dataset("mpdta")
>>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
...                             cohort="first.treat", never_treated=0)
>>> panel.n_units
500
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from effekt._version import __version__
from effekt.errors import (
    AssumptionWarning,
    DataError,
    DroppedRowsWarning,
    EffektError,
    EffektWarning,
    IdentificationError,
    OptionalDependencyError,
    OptionError,
    ParameterError,
    SamplingWarning,
    SchemaError,
)
from effekt.options import options, set_options
from effekt.schemas import list_schemas, load_schema, validate

if TYPE_CHECKING:  # pragma: no cover
    from effekt import (  # noqa: F401
        datasets,
        disclosure,
        indicators,
        inheritance,
        io,
        lists,
        participants,
        power,
        rd,
        registers,
        simulate,
    )
    from effekt.panel import Panel
    from effekt.study import Study

# Submodules and classes imported on first use, so that `import effekt` stays cheap.
_LAZY_MODULES = {
    "datasets",
    "disclosure",
    "did",
    "indicators",
    "inheritance",
    "io",
    "lists",
    "participants",
    "power",
    "rd",
    "registers",
    "simulate",
    "synth",
    "bayes",
    "results",
    "study",
}
_LAZY_ATTRS = {
    "Panel": "effekt.panel",
    "read_table": "effekt.io",
    "MultiplierBootstrap": "effekt.did",
    "WildClusterBootstrap": "effekt.did",
    "Study": "effekt.study",
}

__all__ = [
    "AssumptionWarning",
    "DataError",
    "DroppedRowsWarning",
    "EffektError",
    "EffektWarning",
    "IdentificationError",
    "MultiplierBootstrap",
    "OptionError",
    "OptionalDependencyError",
    "Panel",
    "ParameterError",
    "SamplingWarning",
    "SchemaError",
    "Study",
    "WildClusterBootstrap",
    "__version__",
    "list_schemas",
    "load_schema",
    "options",
    "read_table",
    "set_options",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"effekt.{name}")
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    raise AttributeError(f"module 'effekt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _LAZY_MODULES)
