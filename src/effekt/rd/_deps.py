"""Import rdrobust (and, for the density test, rddensity) with the optional-dependency error.

Both packages print messages (mass points, too few observations) instead of
warning; :func:`quiet` captures that output so that effekt never prints, and
hands it back so the caller can turn it into a warning or a summary note.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from typing import Any

from effekt.errors import OptionalDependencyError

__all__ = ["quiet", "rddensity", "rdrobust_module"]

_HINT = "effekt.rd needs {pkg}, which is installed with the 'rd' extra: pip install 'effekt[rd]'"


def rdrobust_module() -> Any:
    """The ``rdrobust`` package (imported on first use: it is slow to import)."""
    try:
        import rdrobust
    except ImportError as err:
        raise OptionalDependencyError(
            f"{_HINT.format(pkg='rdrobust')} (missing: {err.name or err})"
        ) from err
    return rdrobust


def rddensity() -> Callable[..., Any]:
    """The ``rddensity`` function of the rddensity package (extra ``rd``)."""
    try:
        # rddensity calls warnings.simplefilter("ignore", FutureWarning) when imported,
        # which would silence FutureWarnings process-wide; the context undoes that.
        with warnings.catch_warnings():
            from rddensity import rddensity as fn
    except ImportError as err:
        raise OptionalDependencyError(
            f"{_HINT.format(pkg='rddensity')} (missing: {err.name or err})"
        ) from err
    return fn


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """Call ``fn`` with its standard output captured; return (value, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        value = fn(*args, **kwargs)
    return value, buffer.getvalue()
