"""The estimator contract: parameters in ``__init__``, computation in ``fit``.

Following scikit-learn's convention, an estimator's ``__init__`` only stores its
keyword-only parameters; ``fit(panel)`` validates them, computes, and returns an
immutable :class:`~effekt.results.Result`. Estimators can be cloned with other
parameters, so bootstrap, placebo and simulation loops simply refit clones.
"""

from __future__ import annotations

import abc
import copy
import inspect
from typing import TYPE_CHECKING, Any, Self

from effekt.errors import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from effekt.panel import Panel
    from effekt.results import Result

__all__ = ["Estimator"]


class Estimator(abc.ABC):
    """Base class of effekt's estimators.

    Subclasses declare keyword-only parameters in ``__init__`` and store each
    under the same attribute name, unchanged; :meth:`get_params` relies on that.
    """

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
                raise ParameterError(
                    f"{type(self).__name__} has no parameter {name!r}. "
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
