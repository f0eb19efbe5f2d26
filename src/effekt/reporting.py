"""Self-contained HTML reports: text, tables and figures in one file.

Figures are embedded as base64 PNG, so a report can be mailed or sent through
Statistics Denmark's output control as one file, with no folder of images.

Examples
--------
>>> import pandas as pd
>>> from effekt.reporting import HtmlReport
>>> report = HtmlReport("Demo")
>>> report.add_text("A paragraph.")
>>> report.add_table(pd.DataFrame({"a": [1.5]}), caption="Numbers")
>>> "<table" in report.to_html()
True
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from effekt._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure, SubFigure

    from effekt.results import Summary

__all__ = ["HtmlReport"]

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; } figcaption { font-size: 0.9rem; color: #555; }
img { max-width: 100%; }
footer { margin-top: 3rem; font-size: 0.8rem; color: #666; }
"""


class HtmlReport:
    """Build a report section by section, then write one HTML file.

    Parameters
    ----------
    title : str
        Report title (``<h1>``).
    language : {"en", "da"}, default "en"
        Value of the document's ``lang`` attribute.
    """

    def __init__(self, title: str, *, language: str = "en") -> None:
        self.title = title
        self.language = language
        self._parts: list[str] = []

    def add_heading(self, text: str) -> None:
        """Start a section (``<h2>``)."""
        self._parts.append(f"<h2>{escape(text)}</h2>")

    def add_text(self, text: str) -> None:
        """Add a paragraph (plain text; escaped)."""
        self._parts.append(f"<p>{escape(text)}</p>")

    def add_table(
        self, table: pd.DataFrame, *, caption: str = "", digits: int = 4, index: bool = True
    ) -> None:
        """Add a DataFrame as an HTML table (``index=False``: without the index column)."""
        html = table.to_html(
            float_format=lambda x: f"{x:.{digits}f}", border=0, na_rep="–", index=index
        )
        cap = f"<p><strong>{escape(caption)}</strong></p>" if caption else ""
        self._parts.append(cap + html)

    def add_html(self, html: str) -> None:
        """Add trusted HTML, e.g. an object's ``_repr_html_()``."""
        self._parts.append(html)

    def add_summary(self, summary: Summary) -> None:
        """Add a result's :class:`~effekt.results.Summary`."""
        self._parts.append(summary.as_html())

    def add_figure(self, figure: Figure | SubFigure, *, caption: str = "", dpi: int = 120) -> None:
        """Embed a matplotlib figure (or the figure a subfigure belongs to) as PNG and close it."""
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        while not isinstance(figure, Figure):  # a SubFigure: climb to the figure that saves
            figure = figure.figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(figure)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
        self._parts.append(
            f"<figure><img alt='{escape(caption)}' src='data:image/png;base64,{data}'>{cap}"
            "</figure>"
        )

    def add_png(self, png: bytes, *, caption: str = "") -> None:
        """Embed an already rendered PNG image (bytes) as base64.

        Examples
        --------
        >>> from effekt.reporting import HtmlReport
        >>> report = HtmlReport("Demo")
        >>> report.add_png(bytes.fromhex("89504e470d0a1a0a"), caption="A figure")
        >>> "data:image/png;base64," in report.to_html()
        True
        """
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
        self._parts.append(
            f"<figure><img alt='{escape(caption)}' src='data:image/png;base64,{data}'>{cap}"
            "</figure>"
        )

    def to_html(self) -> str:
        """The whole document as a string."""
        body = "\n".join(self._parts)
        made = "Lavet med" if self.language == "da" else "Made with"
        return (
            f"<!DOCTYPE html>\n<html lang='{escape(self.language)}'><head><meta charset='utf-8'>"
            f"<title>{escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{escape(self.title)}</h1>\n{body}\n"
            f"<footer>{made} effekt {__version__}.</footer></body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the report to ``path`` (parent folders are created) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path
