"""Import PyMC, PyTensor and ArviZ once, with the optional-dependency error effekt promises.

ArviZ announces its coming 1.0 refactor with a ``FutureWarning`` on import, at most
once a day; that is noise to an analyst (and an error under ``-W error``), so it is
silenced here, for the import only. Likewise PyTensor's warning that it found no BLAS
library (common with pip installs): it is raised lazily, in the middle of the first
model compilation, and effekt's models hardly use BLAS (their matrix products are
small), so the BLAS probe is run here, once, with that warning silenced.
"""

from __future__ import annotations

import importlib.util
import warnings

from effekt.errors import OptionalDependencyError

_HINT = (
    "effekt.bayes needs PyMC and ArviZ, which are installed with the 'bayes' extra: "
    "pip install 'effekt[bayes]'"
)

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
        import pymc as pm
        import pytensor
        import pytensor.tensor as pt
except ImportError as err:  # pragma: no cover - exercised by a test that hides pymc
    raise OptionalDependencyError(f"{_HINT} (missing: {err.name or err})") from err

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "PyTensor could not link to a BLAS", UserWarning)
    _ = pytensor.config.blas__ldflags


def has_nutpie() -> bool:
    """Whether the nutpie sampler can be imported."""
    return importlib.util.find_spec("nutpie") is not None


__all__ = ["az", "has_nutpie", "pm", "pt"]
