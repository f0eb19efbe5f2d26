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

from collections.abc import Callable, Hashable, Iterable, Sequence
from difflib import get_close_matches
from typing import Any, TypeVar, cast

import numpy as np
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
    "UnknownParameterError",
    "check_bool",
    "check_choice",
    "check_column",
    "check_columns",
    "check_finite",
    "check_int",
    "check_keywords",
    "check_n_jobs",
    "check_seed",
]


F = TypeVar("F", bound=Callable[..., Any])


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


class UnknownParameterError(ParameterError, TypeError):
    """A keyword that a function or estimator does not have (a misspelling, usually).

    Also a :class:`TypeError`, which is what Python raises for an unexpected keyword,
    so code that catches that keeps working.
    """


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


def _suggest(value: Any, choices: Iterable[Any]) -> str:
    """`` Did you mean 'x'?`` for a string close to one of ``choices``, else ``""``."""
    if not isinstance(value, str):
        return ""
    names = [c for c in choices if isinstance(c, str)]
    close = get_close_matches(value, names, n=1)
    if not close:  # a case slip ('DR' for 'dr') is too short for difflib's ratio
        close = [c for c in names if c.lower() == value.lower()][:1]
    return f" Did you mean {close[0]!r}?" if close else ""


def check_choice(name: str, owner: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of ``choices``.

    A string close to one of the choices gets a "Did you mean ...?".

    Parameters
    ----------
    name, owner : str
        The argument and its function or class, for the message.
    value : object
        What the caller passed.
    choices : iterable
        The allowed values (compared with ``==``; ``True`` never matches ``1``).

    Raises
    ------
    ParameterError
        Naming the argument, listing the choices, showing the value.

    Examples
    --------
    >>> from effekt.errors import check_choice
    >>> try:
    ...     check_choice("method", "f", "dr_", ("dr", "ipw", "reg"))
    ... except ValueError as err:
    ...     print(err)
    The 'method' parameter of f must be one of {'dr', 'ipw', 'reg'}. Got 'dr_' instead. \
Did you mean 'dr'?
    """
    options = tuple(choices)
    try:
        found = isinstance(value, Hashable) and any(
            (value == c and type(value) is not bool) or value is c for c in options
        )
    except (TypeError, ValueError):  # arrays and other values without a truth value
        found = False
    if not found:
        listed = ", ".join(repr(c) for c in options)
        hint = _suggest(value, options).strip() or None
        raise invalid_parameter(name, owner, f"one of {{{listed}}}", value, hint)


def check_int(
    name: str,
    owner: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    none: bool = False,
    expected: str | None = None,
    hint: str | None = None,
) -> Any:
    """Return ``value`` as an ``int`` or raise :class:`ParameterError`.

    Booleans are refused (``True`` is an ``int`` to Python, never to an analyst),
    and so are floats, even integral ones: ``reps=1e3`` is a slip worth naming.

    Parameters
    ----------
    name, owner : str
        The argument and the function or class it belongs to, for the message.
    value : object
        What the caller passed.
    low, high : int, optional
        Inclusive bounds.
    none : bool, default False
        Accept ``None`` (returned unchanged).
    expected : str, optional
        The message's "must be ..." text; default built from the bounds.
    hint : str, optional
        A sentence saying what to do, appended to the message.

    Examples
    --------
    >>> from effekt.errors import check_int
    >>> check_int("reps", "f", 99, low=1)
    99
    >>> try:
    ...     check_int("reps", "f", "99", low=1)
    ... except ValueError as err:
    ...     print(err)
    The 'reps' parameter of f must be an integer >= 1. Got '99' instead.
    """
    if value is None and none:
        return None
    if expected is None:
        if low is not None and high is not None:
            expected = f"an integer from {low} to {high}"
        elif low is not None:
            expected = f"an integer >= {low}"
        elif high is not None:
            expected = f"an integer <= {high}"
        else:
            expected = "an integer"
        if none:
            expected += " or None"
    ok = _is_integer(value)
    if ok and ((low is not None and value < low) or (high is not None and value > high)):
        ok = False
    if not ok:
        raise invalid_parameter(name, owner, expected, value, hint)
    return int(value)


def _is_integer(value: Any) -> bool:
    """An integer (Python or numpy), but not a bool: ``True`` is an ``int`` in Python."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_bool(name: str, owner: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (numpy's too), else raise.

    ``0``/``1`` and the strings ``"yes"``/``"False"`` are refused: ``bool("False")``
    is ``True``, which is the silent wrong answer this check exists to prevent.

    Parameters
    ----------
    name, owner : str
        The argument and its function or class, for the message.
    value : object
        What the caller passed.

    Returns
    -------
    bool
    """
    if not isinstance(value, bool | np.bool_):
        raise invalid_parameter(name, owner, "True or False", value)
    return bool(value)


def check_seed(name: str, owner: str, value: Any, *, sequence: bool = True) -> None:
    """Raise unless ``value`` is None, a non-negative integer or (if allowed) a SeedSequence.

    Parameters
    ----------
    name, owner : str
        The argument and its function or class, for the message.
    value : object
        What the caller passed.
    sequence : bool, default True
        Also accept a :class:`numpy.random.SeedSequence`.
    """
    ok = (
        value is None
        or (sequence and isinstance(value, np.random.SeedSequence))
        or (_is_integer(value) and value >= 0)
    )
    if not ok:
        what = (
            "a non-negative integer, a numpy SeedSequence or None"
            if sequence
            else ("a non-negative integer or None")
        )
        raise invalid_parameter(name, owner, what, value)


def check_n_jobs(name: str, owner: str, value: Any) -> int:
    """Return a worker count: a positive integer or -1 (all cores).

    Parameters
    ----------
    name, owner : str
        The argument and its function or class, for the message.
    value : object
        What the caller passed.

    Returns
    -------
    int
    """
    ok = _is_integer(value)
    if not ok or value == 0 or value < -1:
        raise invalid_parameter(name, owner, "a positive integer or -1 (all cores)", value)
    return int(value)


def check_column(
    name: str,
    owner: str,
    value: Any,
    columns: Sequence[Any] | None = None,
    *,
    none: bool = True,
    text: bool = False,
) -> Any:
    """Check that ``value`` names one column (a string), and that ``columns`` has it.

    A list, set or tuple where one name is expected is refused with the fix
    (``pass one name``), instead of reaching pandas as an unhashable key.

    Parameters
    ----------
    name, owner : str
        The argument and its function or class, for the message.
    value : object
        What the caller passed.
    columns : sequence, optional
        The frame's columns; when given, ``value`` must be one of them.
    none : bool, default True
        Accept ``None`` (an optional role).
    text : bool, default False
        Require a string (pandas also allows numbers as column names).

    Returns
    -------
    object
        ``value``.
    """
    if value is None and none:
        return None
    if not isinstance(value, str):
        if isinstance(value, list | tuple | set | frozenset | dict):
            raise invalid_parameter(
                name,
                owner,
                "one column name (a string)",
                value,
                "Pass a single name, e.g. "
                + (f"{name}={next(iter(value))!r}." if value else f"{name}='column'."),
            )
        if text or not isinstance(value, Hashable) or value is None:
            raise invalid_parameter(name, owner, "a column name (a string)", value)
    if columns is not None and value not in list(columns):
        raise missing_column(name, owner, value, list(columns))
    return value


def check_columns(
    name: str,
    owner: str,
    value: Any,
    columns: Sequence[Any] | None = None,
    *,
    text: bool = False,
) -> list[Any]:
    """Return ``value`` as a list of column names: one name, or a list/tuple of names.

    Sets are refused (their order is arbitrary, and results would depend on it);
    every name is checked with :func:`check_column`, and duplicates are refused.

    Parameters
    ----------
    name, owner : str
        The argument and its function or class, for the message.
    value : object
        One name, a list or tuple of names, or None (no columns).
    columns : sequence, optional
        The frame's columns; when given, every name must be one of them.
    text : bool, default False
        Require strings.

    Returns
    -------
    list
    """
    if value is None:
        return []
    if isinstance(value, set | frozenset):
        listed = sorted(map(str, value))
        raise invalid_parameter(
            name,
            owner,
            "a list of column names",
            value,
            f"A set has no order; pass a list, e.g. {name}={listed!r}.",
        )
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or isinstance(names, bytes):
        raise invalid_parameter(name, owner, "a column name or a list of column names", value)
    out = []
    for v in names:
        if not isinstance(v, str) and isinstance(v, list | tuple | set | frozenset | dict):
            raise invalid_parameter(name, owner, "a flat list of column names", value)
        check_column(name, owner, v, columns, none=False, text=text)
        out.append(v)
    dupes = sorted({str(v) for v in out if out.count(v) > 1})
    if dupes:
        raise invalid_parameter(
            name, owner, "a list of distinct column names", value, f"{dupes} appear twice."
        )
    return out


def check_finite(
    frame: pd.DataFrame, columns: Iterable[Any], owner: str, role: str | None = None
) -> None:
    """Raise :class:`DataError` if a numeric column holds ``inf`` or ``-inf``.

    Missing values (NaN) are left to the caller's missing-value policy; infinities
    are never a measurement, usually a division by zero upstream, and turn every
    estimate into NaN without an error.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data; its index labels are the rows shown.
    columns : iterable
        Columns to check (non-numeric ones are skipped).
    owner : str
        The function the data were passed to, for the message.
    role : str, optional
        The role of the columns (``"outcome"``), for the message.
    """
    for col in columns:
        series = frame[col]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values)
        if bad.any():
            label = f"The {role!r} column {col!r}" if role else f"Column {col!r}"
            rows = frame.index[bad]
            raise DataError(
                f"{label} of {owner} holds {int(bad.sum())} infinite value(s) "
                f"(rows {show_value(rows[:5].tolist())}, values "
                f"{show_value(values[bad][:5].tolist())}). Infinity is no measurement, often "
                "a division by zero upstream: fix those rows, or set them to NaN so that the "
                "missing-value rule (missing='drop') drops them with a ledger entry."
            )


def check_keywords(func: F) -> F:
    """Decorator: a misspelt keyword raises :class:`UnknownParameterError` with "did you mean".

    Python's own ``TypeError`` ("got an unexpected keyword argument") names neither
    the close match nor the parameters; this one does, and is still a TypeError.

    Parameters
    ----------
    func : callable
        A function without ``**kwargs``.

    Returns
    -------
    callable
        The wrapped function, with the same signature.
    """
    import functools
    import inspect

    sig = inspect.signature(func)
    names = [
        p.name for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return func
    owner = func.__qualname__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for k in kwargs:
            if k not in names:
                close = get_close_matches(k, names, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                shown = ", ".join(n for n in names if n not in ("self", "cls"))
                raise UnknownParameterError(
                    f"{owner} has no parameter {k!r}.{hint} Its parameters are: {shown}."
                )
        return func(*args, **kwargs)

    return cast(F, wrapper)


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
