"""Package-wide defaults, held and validated in one place.

``effekt.options`` is a read-only view of the current settings; change them with
:func:`set_options`, for the session or, as a context manager, for a block.

Options
-------
ci_level : float, default 0.95
    Confidence/credible level of every interval effekt reports.
language : {"en", "da"}, default "en"
    Language of plot labels, summaries and reports.
display_max_rows : int, default 20
    Rows shown by summaries and HTML representations before truncation.
min_cell_count : int, default 5
    Smallest person count a table cell may rest on before disclosure control
    suppresses it (Statistics Denmark's common rule; 3 is used by some projects).
progress : bool, default True
    Show progress bars in long resampling loops.
threads : int or None, default None
    Threads for effekt's own vectorised passes over large arrays (the simulator's
    person-year passes). ``None`` takes ``OMP_NUM_THREADS`` when it is set (as joblib
    sets it in its workers, so nested parallelism does not oversubscribe the cores),
    else the number of cores available to the process, at most 8. Results do not
    depend on it.

Examples
--------
>>> import effekt as ek
>>> ek.options["ci_level"]
0.95
>>> with ek.set_options(ci_level=0.90, language="da"):
...     ek.options["language"]
'da'
>>> ek.options["language"]
'en'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from effekt.errors import OptionError, show_value

__all__ = ["options", "set_options"]


def _level(value: Any) -> bool:
    return isinstance(value, float) and 0.5 <= value < 1.0


def _language(value: Any) -> bool:
    return value in ("en", "da")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _threads(value: Any) -> bool:
    return value is None or _positive_int(value)


# name -> (default, validator, what a valid value is)
_SPEC: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "ci_level": (0.95, _level, "a float in [0.5, 1), e.g. 0.95 (not 95)"),
    "language": ("en", _language, "'en' or 'da'"),
    "display_max_rows": (20, _positive_int, "a positive integer"),
    "min_cell_count": (5, _positive_int, "a positive integer (Statistics Denmark: 5)"),
    "progress": (True, _bool, "True or False"),
    "threads": (None, _threads, "a positive integer, or None (OMP_NUM_THREADS, else the cores)"),
}


class _Options(Mapping[str, Any]):
    """Read-only mapping of the current option values."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {k: spec[0] for k, spec in _SPEC.items()}

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise OptionError(
                f"There is no option {key!r}. Known options: {', '.join(sorted(_SPEC))}."
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"effekt.options({body})"


options = _Options()


class set_options:
    """Set package-wide options, for the session or within a ``with`` block.

    Parameters
    ----------
    ci_level, language, display_max_rows, min_cell_count, progress, threads
        See :mod:`effekt.options` for meaning and defaults.

    Raises
    ------
    OptionError
        If an option is unknown or its value invalid; nothing is changed then.

    Examples
    --------
    >>> import effekt as ek
    >>> with ek.set_options(language="da"):
    ...     pass
    """

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            if key not in _SPEC:
                raise OptionError(
                    f"set_options got unknown option {key!r}. "
                    f"Known options: {', '.join(sorted(_SPEC))}."
                )
            _, valid, expected = _SPEC[key]
            if not valid(value):
                raise OptionError(
                    f"The {key!r} option must be {expected}. Got {show_value(value)} instead."
                )
        self._previous = {k: options._values[k] for k in kwargs}
        options._values.update(kwargs)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: object) -> None:
        options._values.update(self._previous)


def resolve_level(level: float | None) -> float:
    """Return ``level`` validated, or the package default when it is ``None``."""
    if level is None:
        return float(options["ci_level"])
    if isinstance(level, bool) or not isinstance(level, int | float) or not _level(float(level)):
        raise OptionError(
            "The 'ci_level' argument must be a float in [0.5, 1), e.g. 0.95. "
            f"Got {level!r} instead."
        )
    return float(level)


def resolve_threads() -> int:
    """The number of threads of the ``threads`` option (``None`` resolved; at least 1)."""
    value = options["threads"]
    if value is not None:
        return int(value)
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))
