"""Errors and warnings raised by effekt.

Every problem effekt reports belongs to one hierarchy, so that analysts can
catch ``EffektError`` (or silence ``EffektWarning``) once. Errors about the
user's data also subclass :class:`ValueError`, so generic handlers keep working.

A message always says three things: what is wrong, the observed value (for
data: the first offending rows), and which argument to change.

Examples
--------
>>> import effekt as ek
>>> try:
...     ek.set_options(ci_level=95)
... except ek.EffektError as err:
...     print(type(err).__name__)
OptionError
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches
from typing import Any

import pandas as pd

__all__ = [
    "AssumptionWarning",
    "DataError",
    "DroppedRowsWarning",
    "EffektError",
    "EffektWarning",
    "IdentificationError",
    "OptionError",
    "OptionalDependencyError",
    "ParameterError",
    "ReplicationError",
    "SamplingWarning",
    "SchemaError",
]


class EffektError(Exception):
    """Base class of every error effekt raises on purpose."""


class DataError(EffektError, ValueError):
    """The data handed to effekt cannot be used as it is (duplicates, missing roles, types)."""


class SchemaError(DataError):
    """A table violates one of the schemas in ``data_schemas/``.

    Attributes
    ----------
    violations : pandas.DataFrame
        One row per violated rule with columns ``column, rule, n_rows, rows, values``
        (``rows`` and ``values`` are capped lists of examples).
    """

    def __init__(self, message: str, violations: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.violations = violations if violations is not None else pd.DataFrame()


class IdentificationError(DataError):
    """The design cannot identify the requested estimand on these data."""


class ParameterError(EffektError, ValueError):
    """An estimator or function parameter has an invalid value."""


class OptionError(ParameterError):
    """A package-wide option (``effekt.set_options``) has an invalid value."""


class OptionalDependencyError(EffektError, ImportError):
    """A feature needs a package that is installed with one of effekt's extras."""


class ReplicationError(EffektError):
    """A replication package did not reproduce its published numbers.

    Raised by :func:`effekt.replication.reproduce` when a quantity lies outside its
    tolerance or is missing from the notebook's ``results.json``, when the notebook
    fails, and when a package folder or its ``expected.json`` is unusable.

    Attributes
    ----------
    failing : tuple of str
        Keys of the quantities outside tolerance or missing (empty when the
        package could not be run at all).
    result : effekt.replication.ReplicationResult or None
        The full comparison, when the notebook ran.
    """

    def __init__(
        self, message: str, failing: Sequence[str] = (), result: Any | None = None
    ) -> None:
        super().__init__(message)
        self.failing = tuple(failing)
        self.result = result


class EffektWarning(UserWarning):
    """Base class of every warning effekt emits."""


class DroppedRowsWarning(EffektWarning):
    """Rows were dropped; the reasons are in the ledger (``panel.dropped``)."""


class AssumptionWarning(EffektWarning):
    """An identifying or inferential assumption looks doubtful on these data."""


class SamplingWarning(EffektWarning):
    """MCMC diagnostics (R-hat, ESS, divergences) indicate an unreliable posterior."""


# ---------------------------------------------------------------------------
# Message helpers, so that every message has the same shape.


def show_value(value: Any, max_len: int = 80) -> str:
    """Return a short ``repr`` of ``value`` for an error message."""
    text = repr(value)
    return text if len(text) <= max_len else text[: max_len - 3] + "..."


def invalid_parameter(
    name: str, owner: str, expected: str, got: Any, hint: str | None = None
) -> ParameterError:
    """Build the one parameter-error template used everywhere.

    ``The 'x' parameter of F must be <expected>. Got <value> instead.``
    """
    msg = f"The {name!r} parameter of {owner} must be {expected}. Got {show_value(got)} instead."
    if hint:
        msg += f" {hint}"
    return ParameterError(msg)


def check_choice(name: str, owner: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise invalid_parameter(name, owner, f"one of {{{listed}}}", value)


def missing_column(argument: str, owner: str, column: Any, columns: Sequence[Any]) -> DataError:
    """Error for a role that names a column the frame does not have."""
    names = [str(c) for c in columns]
    close = get_close_matches(str(column), names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(c) for c in names[:20]) + (", ..." if len(names) > 20 else "")
    return DataError(
        f"The {argument!r} argument of {owner} names column {column!r}, which is not in the "
        f"frame.{hint} Available columns: {shown}."
    )


def format_rows(frame: pd.DataFrame, max_rows: int = 5) -> str:
    """Render the first offending rows of ``frame`` for an error message."""
    shown = frame.head(max_rows).to_string()
    more = len(frame) - max_rows
    if more > 0:
        shown += f"\n... and {more} more row(s)"
    return shown
