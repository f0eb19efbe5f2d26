"""The result protocol shared by every design: DiD, synthetic control and Bayes.

Every ``fit()`` in effekt returns a subclass of :class:`Result`. All of them:

- ``summary()`` returns a :class:`Summary` that renders as text, HTML and LaTeX
  and never prints;
- ``to_frame()`` returns the tidy effect table (schema ``effect_table``): key
  columns, then ``estimate, std_error, ci_lower, ci_upper, ci_level, p_value``;
- ``plot(ax=None, ...)`` returns matplotlib Axes and never calls ``plt.show()``;
- ``_repr_html_`` renders the summary in Jupyter;
- ``provenance`` says which effekt version, estimator, parameters, seed and data
  (fingerprint) produced the numbers.

So reporting code never branches on the design.
"""

from __future__ import annotations

import abc
import datetime as _dt
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt._version import __version__
from effekt.errors import DataError
from effekt.schemas import load_schema

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger

__all__ = ["VALUE_COLUMNS", "Provenance", "Result", "Summary", "tidy_effects"]

VALUE_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper", "ci_level", "p_value")


@dataclass(frozen=True)
class Provenance:
    """Where a result came from.

    Attributes
    ----------
    estimator : str
        Estimator class name.
    params : dict
        The estimator's parameters at fit time.
    seed : int or None
        Seed of any randomness (bootstrap, MCMC); None if the result is deterministic.
    data_fingerprint : str
        :attr:`effekt.Panel.fingerprint` of the data fitted.
    effekt_version : str
        Version of effekt that produced the result.
    created : str
        UTC time of the fit (ISO 8601).
    """

    estimator: str
    params: dict[str, Any]
    seed: int | None
    data_fingerprint: str
    effekt_version: str = __version__
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    )

    def describe(self) -> str:
        """One line for summaries and reports."""
        seed = "none" if self.seed is None else str(self.seed)
        return (
            f"effekt {self.effekt_version} · {self.estimator} · seed {seed} · "
            f"data {self.data_fingerprint} · {self.created}"
        )


@dataclass(frozen=True)
class Summary:
    """A rendered-on-demand summary: a title, key facts, tables and notes.

    ``str(summary)`` gives text, ``summary.as_html()`` HTML (also shown by Jupyter)
    and ``summary.as_latex()`` a LaTeX fragment. Nothing is printed.

    Examples
    --------
    >>> import pandas as pd
    >>> from effekt.results import Summary
    >>> s = Summary("Demo", (("N", "10"),), (("Estimates", pd.DataFrame({"a": [1.0]})),))
    >>> print(s.as_text().splitlines()[0])
    Demo
    """

    title: str
    info: tuple[tuple[str, str], ...] = ()
    tables: tuple[tuple[str, pd.DataFrame], ...] = ()
    notes: tuple[str, ...] = ()

    def as_text(self, digits: int = 4) -> str:
        """Plain-text rendering."""
        lines = [self.title, "=" * max(len(self.title), 40)]
        if self.info:
            width = max(len(k) for k, _ in self.info)
            lines += [f"{k:<{width}}  {v}" for k, v in self.info]
        for caption, table in self.tables:
            lines += ["", caption, "-" * len(caption)]
            lines.append(table.to_string(float_format=lambda x: f"{x:.{digits}f}"))
        if self.notes:
            lines.append("")
            lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self, digits: int = 4) -> str:
        """HTML rendering (self-contained, no external CSS)."""
        info = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th>"
            f"<td style='text-align:left'>{escape(v)}</td></tr>"
            for k, v in self.info
        )
        parts = [f"<div class='effekt-summary'><h4>{escape(self.title)}</h4>"]
        if info:
            parts.append(f"<table>{info}</table>")
        for caption, table in self.tables:
            parts.append(f"<p><strong>{escape(caption)}</strong></p>")
            parts.append(table.to_html(float_format=lambda x: f"{x:.{digits}f}", border=0))
        parts += [f"<p><em>{escape(n)}</em></p>" for n in self.notes]
        parts.append("</div>")
        return "".join(parts)

    def as_latex(self, digits: int = 4) -> str:
        """LaTeX fragment: one ``tabular`` per table, captions as comments-free headings."""
        out = [f"% {self.title}"]
        for caption, table in self.tables:
            out.append(f"\\paragraph{{{_latex_escape(caption)}}}")
            out.append(_to_latex(table, digits))
        for n in self.notes:
            out.append(f"\\par\\emph{{{_latex_escape(n)}}}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


def _latex_escape(text: str) -> str:
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
        ("$", r"\$"),
        ("{", r"\{"),
        ("}", r"\}"),
    ):
        text = text.replace(a, b)
    return text


def _to_latex(table: pd.DataFrame, digits: int) -> str:
    # hand-written because DataFrame.to_latex needs jinja2, which effekt does not depend on
    frame = (
        table.reset_index()
        if table.index.name or not isinstance(table.index, pd.RangeIndex)
        else table
    )

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        return _latex_escape(str(v))

    header = " & ".join(_latex_escape(str(c)) for c in frame.columns)
    body = " \\\\\n".join(" & ".join(cell(v) for v in row) for row in frame.itertuples(index=False))
    cols = "l" * len(frame.columns)
    return (
        f"\\begin{{tabular}}{{{cols}}}\n\\hline\n{header} \\\\\n\\hline\n{body} \\\\\n"
        "\\hline\n\\end{tabular}"
    )


def tidy_effects(
    keys: pd.DataFrame | dict[str, Any],
    estimate: Any,
    std_error: Any,
    *,
    level: float,
    ci_lower: Any = None,
    ci_upper: Any = None,
    p_value: Any = None,
    extra: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Assemble a tidy effect table in the ``effect_table`` column order.

    Normal-approximation intervals and two-sided p-values are filled in from
    ``estimate`` and ``std_error`` unless given (e.g. bootstrap or posterior
    intervals).

    Parameters
    ----------
    keys : DataFrame or dict
        Key columns (any of the schema's ``keyColumns``), in any order; they are
        put in the schema's order.
    estimate, std_error : array-like
    level : float
        Interval level, e.g. 0.95.
    ci_lower, ci_upper, p_value : array-like, optional
    extra : dict, optional
        Extra columns appended after the value columns (e.g. ``prob_positive``).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from effekt.results import tidy_effects
    >>> t = tidy_effects({"term": ["treat"]}, [0.5], [0.25], level=0.95)
    >>> round(float(t.loc[0, "ci_lower"]), 3), round(float(t.loc[0, "p_value"]), 4)
    (0.01, 0.0455)
    """
    key_frame = pd.DataFrame(keys).reset_index(drop=True)
    order = [c for c in load_schema("effect_table")["keyColumns"] if c in key_frame.columns]
    unknown = [c for c in key_frame.columns if c not in order]
    if unknown:
        raise DataError(
            f"tidy_effects got key columns {unknown} that the effect_table schema "
            "does not know; add them to its keyColumns or use 'extra'."
        )
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = est - z * se if ci_lower is None else np.asarray(ci_lower, dtype=float)
        hi = est + z * se if ci_upper is None else np.asarray(ci_upper, dtype=float)
        p = 2 * stats.norm.sf(np.abs(est / se)) if p_value is None else np.asarray(p_value, float)
    out = key_frame.loc[:, order].copy()
    out["estimate"] = est
    out["std_error"] = se
    out["ci_lower"] = lo
    out["ci_upper"] = hi
    out["ci_level"] = float(level)
    out["p_value"] = p
    for name, values in (extra or {}).items():
        out[name] = values
    return out


class Result(abc.ABC):
    """Base class of every fitted result in effekt.

    Subclasses implement :meth:`to_frame`, :meth:`plot` and :meth:`_summary_info`;
    the rest of the protocol (``summary``, ``_repr_html_``, ``__repr__``) follows.
    Results are immutable: attributes cannot be reassigned after construction.
    """

    provenance: Provenance
    ledger: Ledger
    title: str = "effekt result"

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; refit to change it.")
        object.__setattr__(self, name, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    @abc.abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """The tidy effect table (schema ``effect_table``)."""

    @abc.abstractmethod
    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the result's main figure and return the Axes."""

    def _summary_info(self) -> list[tuple[str, str]]:
        """Key facts for the summary header; subclasses extend."""
        return []

    def summary(self) -> Summary:
        """Return the :class:`Summary` (text/HTML/LaTeX); nothing is printed."""
        from effekt.options import options

        table = self.to_frame()
        max_rows = int(options["display_max_rows"])
        caption = "Estimates"
        if len(table) > max_rows:
            caption += f" (first {max_rows} of {len(table)} rows; see to_frame())"
            table = table.head(max_rows)
        notes = [self.ledger.describe()] if len(self.ledger) else []
        notes.append(self.provenance.describe())
        return Summary(self.title, tuple(self._summary_info()), ((caption, table),), tuple(notes))

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        return self.summary().as_text()
