"""The estimator contract: parameters in ``__init__``, computation in ``fit``.

Following scikit-learn's convention, an estimator's ``__init__`` only stores its
keyword-only parameters; ``fit(panel)`` validates them, computes, and returns an
immutable :class:`~effekt.results.Result`. Estimators can be cloned with other
parameters, so bootstrap, placebo and simulation loops simply refit clones.
"""

from __future__ import annotations

import abc
import copy
import functools
import inspect
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Self

from effekt.errors import UnknownParameterError
from effekt.panel import require_panel

if TYPE_CHECKING:  # pragma: no cover
    from effekt.panel import Panel
    from effekt.results import Result

__all__ = ["Estimator"]


class Estimator(abc.ABC):
    """Base class of effekt's estimators.

    Subclasses declare keyword-only parameters in ``__init__`` and store each
    under the same attribute name, unchanged; :meth:`get_params` relies on that.

    Two checks are hooked in here once for every subclass, so that no estimator
    repeats them: a misspelt or positional argument to ``__init__`` raises
    :class:`~effekt.errors.UnknownParameterError` (also a ``TypeError``) with a
    "did you mean", and a ``fit(panel)`` handed a DataFrame (or anything but a
    :class:`~effekt.Panel`) says how to build the panel.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _checked_init(cls, cls.__dict__["__init__"])  # type: ignore[method-assign]
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "__isabstractmethod__", False):
            params = list(inspect.signature(fit).parameters)
            if len(params) > 1 and params[1] == "panel":  # bayes/ fits take tables instead
                cls.fit = _checked_fit(cls, fit)  # type: ignore[method-assign]

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The estimator's parameters as a dict.

        Examples
        --------
        >>> from effekt.did import TwoWayFE
        >>> TwoWayFE(event_study=True).get_params()["event_study"]
        True
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Return a copy of the estimator with some parameters changed.

        Raises
        ------
        ParameterError
            If a name is not a parameter of the estimator.
        """
        valid = self._param_names()
        for name in params:
            if name not in valid:
                close = get_close_matches(name, valid, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise UnknownParameterError(
                    f"{type(self).__name__} has no parameter {name!r}.{hint} "
                    f"Its parameters are: {', '.join(valid)}."
                )
        return type(self)(**{**self.get_params(), **params})

    def clone(self) -> Self:
        """An independent copy with the same parameters."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if sig.parameters[k].default is inspect.Parameter.empty
            or (v is not sig.parameters[k].default and v != sig.parameters[k].default)
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    @abc.abstractmethod
    def fit(self, panel: Panel) -> Result:
        """Fit the estimator to a :class:`~effekt.Panel` and return its result."""


def _checked_init(cls: type, init: Any) -> Any:
    sig = inspect.signature(init)
    names = [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            raise UnknownParameterError(
                f"{cls.__name__} takes its parameters by keyword only (e.g. "
                f"{cls.__name__}({names[0] if names else 'name'}=...)). Got {len(args)} "
                f"positional argument(s) {args!r}."
            )
        unknown = [k for k in kwargs if k not in names]
        if unknown and not takes_any:
            k = unknown[0]
            close = get_close_matches(k, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownParameterError(
                f"{cls.__name__} has no parameter {k!r}.{hint} Its parameters are: "
                f"{', '.join(names)}."
            )
        init(self, *args, **kwargs)

    return __init__


def _checked_fit(cls: type, fit: Any) -> Any:
    @functools.wraps(fit)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        panel = args[0] if args else kwargs.get("panel")
        require_panel(panel, f"{cls.__name__}.fit")
        return fit(self, *args, **kwargs)

    return checked
