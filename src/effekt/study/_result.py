"""The answer to a study: estimates of every design side by side, diagnostics and reports."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import OptionalDependencyError, check_choice
from effekt.panel import Ledger
from effekt.results import Provenance, Result, Summary, tidy_effects
from effekt.study._text import Note, dk_number, in_language

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.study._data import Sample
    from effekt.study._designs import DesignFit, Settings
    from effekt.study._spec import Study

__all__ = ["StudyResult"]

_COLORS = {"did": "#08519c", "synth": "#d94801", "bayes": "#238b45"}
_OFFSET = {"did": -0.2, "synth": 0.0, "bayes": 0.2}
_MARK = "×"  # a suppressed cell in exported tables


class StudyResult(Result):
    """The answer of :meth:`Study.run`: every design's estimates, diagnostics and notes.

    Attributes
    ----------
    study : Study
        The question.
    designs : tuple of str
        Designs that were fitted.
    results : dict
        ``{(design, outcome): effekt result}``: the underlying fits, for details.
    n_treated, n_comparison : int
        Treated areas and never-treated comparison areas in the sample.
    years : tuple of int
        The period analysed.
    level : float
        Interval level.
    notes : tuple of str
        What was left out, skipped or warned about, and why (in English; the study's
        own notes carry a Danish text too, which the Danish reports show).
    seconds : float
        Wall time of the run.
    """

    title = "effekt study"

    def __init__(
        self,
        *,
        study: Study,
        fits: list[DesignFit],
        truths: dict[str, pd.DataFrame],
        bases: dict[str, pd.DataFrame],
        sample: Sample,
        settings: Settings,
        notes: list[str],
        seconds: float,
        simulated: bool,
        power: pd.DataFrame | None = None,
    ) -> None:
        self.study = study
        self.designs = tuple(dict.fromkeys(f.design for f in fits))
        self.results = {(f.design, f.outcome): f.result for f in fits}
        self.n_treated = len(sample.treated)
        self.n_comparison = len(sample.comparison)
        self.years = sample.years
        self.level = settings.level
        self.simulated = simulated
        self.seconds = seconds
        all_notes = list(notes)
        for f in fits:
            prefix = f"[{f.design}, {f.outcome}] "
            all_notes += [
                n.prefixed(prefix) if isinstance(n, Note) else prefix + n for n in f.notes
            ]
        self.notes = tuple(all_notes)
        self._fits = fits
        self._truths = truths
        self._bases = bases
        self._co_starts = sample.co_starts
        self._table = self._build_table()
        self._power = self._with_estimates(power)
        self._diagnostics = self._build_diagnostics(sample)
        dropped = sample.dropped
        self.ledger = Ledger.empty().extend(
            pd.DataFrame(
                {
                    "row": pd.Series([None] * len(dropped), dtype=object),
                    "unit": dropped["area_id"].astype(object) if len(dropped) else [],
                    "time": pd.Series([None] * len(dropped), dtype=object),
                    "reason": dropped["reason"].astype(object) if len(dropped) else [],
                }
            )
        )
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(sample.frame, index=False).to_numpy().tobytes()
        ).hexdigest()[:16]
        params = {
            "study": study.to_dict(),
            "designs": list(self.designs),
            "event_window": list(settings.event_window),
            "synth_reps": settings.synth_reps,
            "bayes": {
                "draws": settings.bayes_draws,
                "tune": settings.bayes_tune,
                "chains": settings.bayes_chains,
                "sampler": settings.bayes_sampler,
            },
        }
        self.provenance = Provenance("Study", params, settings.seed, digest)
        self._freeze()

    # ------------------------------------------------------------------ tables
    def _build_table(self) -> pd.DataFrame:
        parts = []
        for f in self._fits:
            e = f.effects.reset_index(drop=True)
            basis = self._bases[f.outcome]
            merged = e[["event_time"]].merge(basis, on="event_time", how="left")
            truth = self._truths.get(f.outcome)
            t = (
                e[["event_time"]].merge(truth, on="event_time", how="left")["truth"]
                if truth is not None
                else pd.Series(np.nan, index=e.index)
            )
            keys = pd.DataFrame(
                {
                    "outcome": f.outcome,
                    "design": f.design,
                    "estimator": e["estimator"],
                    "population": self.study.population,
                    "aggregation": e["aggregation"],
                    "term": "att",
                    "event_time": e["event_time"],
                }
            )
            parts.append(
                tidy_effects(
                    keys,
                    e["estimate"],
                    e["std_error"],
                    level=self.level,
                    ci_lower=e["ci_lower"],
                    ci_upper=e["ci_upper"],
                    p_value=e["p_value"],
                    extra={
                        "truth": t.to_numpy(float),
                        "n_units": merged["n_units"].fillna(0).astype(np.int64).to_numpy(),
                        "n_persons": merged["n_persons"].fillna(0).astype(np.int64).to_numpy(),
                    },
                )
            )
        return pd.concat(parts, ignore_index=True)

    def _build_diagnostics(self, sample: Sample) -> pd.DataFrame:
        from effekt.study._designs import cooccurring_diagnostic

        rows = [r for f in self._fits for r in f.diagnostics]
        for outcome in self.study.outcomes:
            rows.append(cooccurring_diagnostic(sample, outcome))
            o = self.overall_rows(outcome)
            o = o[o["ci_lower"].notna()]
            if len(o) < 2:
                continue
            overlap = float(o["ci_lower"].max()) <= float(o["ci_upper"].min())
            same_sign = len(set(np.sign(o["estimate"].to_numpy()))) == 1
            rows.append(
                {
                    "design": "all",
                    "outcome": outcome,
                    "diagnostic": "designs_agree",
                    "value": float(overlap),
                    "flag": "pass" if overlap else "caution",
                    "reason": (
                        "the overall intervals of "
                        + ", ".join(o["design"])
                        + (" overlap" if overlap else " do not overlap")
                        + ("; same sign" if same_sign else "; signs differ")
                    ),
                    "reason_da": (
                        "de samlede intervaller for "
                        + ", ".join(o["design"])
                        + (" overlapper" if overlap else " overlapper ikke")
                        + ("; samme fortegn" if same_sign else "; forskellige fortegn")
                    ),
                }
            )
        # reason: English, reason_da: Danish (the diagnostics property shows one of them)
        return pd.DataFrame(
            rows,
            columns=["design", "outcome", "diagnostic", "value", "flag", "reason", "reason_da"],
        )

    def _with_estimates(self, power: pd.DataFrame | None) -> pd.DataFrame:
        """The power rows with the DiD design's overall estimate beside each MDE."""
        from effekt.study._power import power_frame

        out = power_frame([]) if power is None else power.copy()
        for i, outcome in zip(out.index, out["outcome"], strict=True):
            o = self.overall_rows(outcome)
            did = o[o["design"] == "did"]["estimate"]
            out.loc[i, "estimate"] = float(did.iloc[0]) if len(did) else np.nan
        return out

    @property
    def power(self) -> pd.DataFrame:
        """The power of the study's DiD, per outcome (empty for baseline stayers).

        Columns ``outcome, design, n_treated, n_control, years, alpha, power, mde,
        std_error, estimate, truth, truth_below_mde, power_at_truth``: the minimum
        detectable effect (:func:`effekt.power.mde`, analytic, Burlig, Preonas & Woerman
        2020, calibrated on the comparison areas) of a Callaway & Sant'Anna DiD with the
        study's treated and comparison areas over ``years`` post years (the treated
        areas' median within the event window), two-sided at ``alpha`` with 80 % power;
        beside it the DiD estimate, and on simulated data the true effect, whether it
        lay below the MDE and the study's power against it.
        """
        return self._power.copy()

    def power_text(self, language: str | None = None) -> list[str]:
        """The report's power section in words, one paragraph per outcome.

        Parameters
        ----------
        language : {"en", "da"}, optional
            Default ``effekt.options["language"]``.

        Returns
        -------
        list of str
        """
        from effekt.study._power import power_paragraph

        lang = _language(language)
        return [power_paragraph(row, lang) for _, row in self._power.iterrows()]

    def overall_rows(self, outcome: str) -> pd.DataFrame:
        t = self._table
        return t[(t["outcome"] == outcome) & (t["aggregation"] == "overall")]

    def to_frame(self) -> pd.DataFrame:
        """One tidy table across designs (schema ``effect_table``).

        Keys ``outcome, design, estimator, population, aggregation, term,
        event_time``; the value columns; then ``truth`` (the simulated true effect,
        missing on real data), ``n_units`` (treated areas behind the row) and
        ``n_persons`` (persons in the treated areas the row rests on: the outcome's
        denominator summed over those areas in one year; for the overall row the
        largest such year). The overall rows have ``aggregation="overall"`` and an
        empty ``event_time``. Synthetic DiD's event-time rows are point estimates.
        """
        return self._table.copy()

    def overall(self) -> pd.DataFrame:
        """The overall rows of :meth:`to_frame` (one per design and outcome)."""
        t = self._table
        return t[t["aggregation"] == "overall"].reset_index(drop=True)

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Credibility diagnostics: ``design, outcome, diagnostic, value, flag, reason``.

        ``did``: ``pretrend_p`` (joint Wald test of the leads; caution below 0.10) and
        ``honest_breakdown_mbar`` (the relative-magnitudes M̄ at which the HonestDiD
        robust interval for the average effect first includes 0; caution below 1).
        ``synth``: ``pre_rmspe`` (pre-treatment RMSPE of the treated mean, net of a
        constant; caution above the donors' year-to-year noise) and ``placebo_p``
        (rank p-value; caution if too few draws to reach 5 %). ``bayes``:
        ``rhat_max`` (caution above 1.01), ``ess_min`` (bulk ESS, caution below 400),
        ``divergences``. ``all``: ``designs_agree`` (overall intervals overlap) and
        ``cooccurring_share`` (the share of treated areas where an intervention of
        another kind starts within a year of the treatment's start, in the area or
        kommune-wide; a base-kind plan counts only if it starts in the treatment's
        start year or the year after; caution above 0.25: there the designs estimate
        the bundle; see :attr:`co_starts`).
        ``flag`` is ``"pass"``, ``"caution"`` or ``"not available"``; ``reason``
        explains the value in ``effekt.options["language"]`` (English or Danish).
        """
        return _diagnostics_in(self._diagnostics, _language(None))

    @property
    def co_starts(self) -> pd.DataFrame:
        """The other interventions that start near a treated area's start.

        One row per spell and treated area: ``area_id, kind, start_year,
        treatment_start, lag`` (``lag`` = ``start_year - treatment_start``, between
        -1 and 1). Kinds of the treatment never appear; the base kind appears only
        with ``lag`` 0 or 1. The diagnostic ``cooccurring_share`` counts the treated
        areas in it. A list of areas: like the interventions table itself, check it
        before publishing it.
        """
        return self._co_starts.copy()

    def disclosed_frame(self, *, language: str | None = None) -> pd.DataFrame:
        """:meth:`to_frame` after disclosure control, ready to leave the research server.

        Each estimate rests on the persons in ``n_persons``; a row with fewer than
        ``effekt.options["min_cell_count"]`` has its estimate, interval, p-value and
        truth masked (:func:`effekt.disclosure.suppress`), with the reason in
        ``estimate_suppressed``.

        Parameters
        ----------
        language : {"en", "da"}, optional
            Not used for the values; kept for symmetry with the reports.

        Returns
        -------
        pandas.DataFrame
        """
        from effekt import disclosure

        table = self._table.drop(columns=["n_units"])
        cols = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value", "truth"]
        out = disclosure.suppress(table, counts={c: "n_persons" for c in cols}, secondary=False)
        flags = [f"{c}_suppressed" for c in cols if c != "estimate"]
        out = out.drop(columns=[f for f in flags if f in out]).rename(
            columns={"n_persons_suppressed": "n_persons_flag"}
        )
        out.insert(list(out.columns).index("n_persons"), "n_units", self._table["n_units"])
        return out

    # ------------------------------------------------------------------ summary
    def _summary_info(self) -> list[tuple[str, str]]:
        s = self.study
        tr = s.treatment
        what = "/".join(tr.kinds) + (f" on top of {tr.base}" if tr.base else "")
        lang = _language(None)
        return [
            ("Question", s.text("question", lang) or s.text("title", lang) or what),
            ("Treatment", what),
            ("Outcomes", ", ".join(s.outcomes)),
            ("Population", s.population),
            ("Period", f"{self.years[0]}-{self.years[1]}"),
            (
                "Areas",
                f"{self.n_treated} treated, {self.n_comparison} never-treated comparison "
                f"({s.comparison.group}, donors: {s.comparison.donors})",
            ),
            ("Designs", ", ".join(self.designs)),
            ("Run time", f"{self.seconds:.1f} s"),
        ]

    def summary(self) -> Summary:
        """Key facts, the overall estimates, the diagnostics and the notes (nothing printed)."""
        overall = self.overall()
        cols = [
            "outcome",
            "design",
            "estimator",
            "estimate",
            "std_error",
            "ci_lower",
            "ci_upper",
            "p_value",
            "truth",
            "n_units",
        ]
        diag = self.diagnostics
        notes = [*self.notes]
        if len(self.ledger):
            notes.append(self.ledger.describe())
        notes.append(self.provenance.describe())
        return Summary(
            "effekt study: "
            + (self.study.text("title", _language(None)) or ", ".join(self.study.outcomes)),
            tuple(self._summary_info()),
            (
                ("Overall effect by design", overall[cols].set_index(["outcome", "design"])),
                ("Credibility diagnostics", diag.set_index(["outcome", "design"])),
                *(
                    (("Power: minimum detectable effect", self._power.set_index("outcome")),)
                    if len(self._power)
                    else ()
                ),
            ),
            tuple(notes),
        )

    def narrative(self, language: str | None = None) -> str:
        """A plain-language summary: estimand, estimates, agreement, assumptions.

        Parameters
        ----------
        language : {"en", "da"}, optional
            Default ``effekt.options["language"]``.

        Returns
        -------
        str
            Paragraphs separated by blank lines.

        Raises
        ------
        ParameterError
            Unknown language.
        """
        from effekt.study._narrative import narrative

        return narrative(self, _language(language))

    # ------------------------------------------------------------------ plots
    def plot(
        self, ax: Axes | None = None, kind: str = "triangulation", outcome: str | None = None
    ) -> Axes:
        """Estimates with intervals per design by event time, and overall; truth if known.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        kind : {"triangulation"}, default "triangulation"
        outcome : str, optional
            Which outcome (default the first of the study).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import new_axes

        check_choice("kind", "StudyResult.plot", kind, ("triangulation",))
        outcome = self.study.outcomes[0] if outcome is None else outcome
        check_choice("outcome", "StudyResult.plot", outcome, self.study.outcomes)
        return self._draw(new_axes(ax, figsize=(8.0, 4.5)), self._table, outcome)

    def _draw(self, ax: Axes, table: pd.DataFrame, outcome: str) -> Axes:
        from effekt._plotting import label

        t = table[table["outcome"] == outcome]
        e = t[t["aggregation"] == "event_time"]
        x_overall = float(e["event_time"].max()) + 2.0 if len(e) else 0.0
        for design in self.designs:
            d = t[t["design"] == design]
            x = (
                np.where(
                    d["aggregation"] == "overall",
                    x_overall,
                    d["event_time"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                )
                + _OFFSET[design]
            )
            y = d["estimate"].to_numpy(float)
            lo = d["ci_lower"].to_numpy(float)
            hi = d["ci_upper"].to_numpy(float)
            has = ~np.isnan(lo)
            ax.errorbar(
                x[has],
                y[has],
                yerr=[y[has] - lo[has], hi[has] - y[has]],
                fmt="o",
                ms=4,
                capsize=2,
                color=_COLORS[design],
                label=label(f"design_{design}"),
            )
            if (~has).any():
                ax.plot(x[~has], y[~has], "o", ms=4, mfc="white", color=_COLORS[design])
        truth = t.drop_duplicates("event_time")
        if truth["truth"].notna().any():
            te = truth[truth["aggregation"] == "event_time"].sort_values("event_time")
            ax.plot(
                te["event_time"].astype(float), te["truth"], "k--", lw=1.5, label=label("truth")
            )
            to = truth[truth["aggregation"] == "overall"]["truth"].to_numpy(float)
            if len(to):
                ax.plot([x_overall - 0.4, x_overall + 0.4], [to[0], to[0]], "k--", lw=1.5)
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.axvline(-0.5, color="0.6", lw=0.8, ls=":")
        ax.axvline(x_overall - 1.0, color="0.8", lw=0.8)
        ticks = sorted(set(e["event_time"].dropna().astype(int).tolist()))
        ax.set_xticks([*ticks, x_overall], [*map(str, ticks), label("overall")])
        ax.set_xlabel(label("event_time"))
        ax.set_ylabel(label("effect"))
        ax.set_title(f"{label('triangulation')}: {outcome}")
        ax.legend(frameon=False, fontsize="small")
        return ax

    # ------------------------------------------------------------------ reports
    def _display_tables(
        self, language: str
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
        """The published tables in ``language``: overall and event-time estimates after
        disclosure control (display strings), the diagnostics, and the masked count."""
        t = self.disclosed_frame()
        masked = t["estimate_suppressed"].notna().to_numpy()
        value_cols = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
        if t["truth"].notna().any() or masked.any():
            value_cols.append("truth")
        shown = t[["outcome", "design", "event_time", *value_cols, "n_units"]].copy()
        for c in value_cols:
            v = shown[c].to_numpy(dtype=float, na_value=np.nan)
            text = np.array([_fmt(x, language) for x in v], dtype=object)
            text[masked] = _MARK
            shown[c] = text
        shown["event_time"] = shown["event_time"].astype("string").fillna("")
        names = _column_names(language)
        overall = shown[t["aggregation"] == "overall"].drop(columns=["event_time"])
        event = shown[t["aggregation"] == "event_time"]
        return (
            overall.rename(columns=names).reset_index(drop=True),
            event.rename(columns=names).reset_index(drop=True),
            _diagnostics_display(self._diagnostics, language),
            int(masked.sum()),
        )

    def _power_display(self, language: str) -> pd.DataFrame:
        """The power table for reports: display strings, Danish headers in Danish."""
        p = self._power
        out = pd.DataFrame({"outcome": p["outcome"]})
        for c in ("n_treated", "n_control", "years"):
            out[c] = p[c].astype(int)
        for c in ("mde", "estimate", "truth", "power_at_truth"):
            if c in ("truth", "power_at_truth") and not p[c].notna().any():
                continue
            out[c] = [_fmt(float(x), language) for x in p[c].to_numpy(float, na_value=np.nan)]
        names = {
            "en": {"n_control": "n_comparison", "mde": "MDE (80% power)"},
            "da": {
                "outcome": "udfald",
                "n_treated": "behandlede områder",
                "n_control": "sammenligningsområder",
                "years": "år efter start",
                "mde": "MDE (80 % styrke)",
                "estimate": "DiD-estimat",
                "truth": "sand effekt",
                "power_at_truth": "styrke mod den sande effekt",
            },
        }[language]
        return out.rename(columns=names).reset_index(drop=True)

    def _disclosure_note(self, n_masked: int, language: str) -> str:
        from effekt.disclosure import REASONS
        from effekt.options import options

        k = int(options["min_cell_count"])
        if language == "da":
            if n_masked:
                return (
                    f"Diskretionering: {n_masked} række(r) hviler på færre end {k} personer og "
                    f"er skjult ({_MARK} = {REASONS['da']['count'].format(min_count=k)}). "
                    "Alle tal i rapporten er kontrolleret med effekt.disclosure."
                )
            return (
                f"Diskretionering: intet tal i rapporten hviler på færre end {k} personer; "
                "intet er skjult (kontrolleret med effekt.disclosure)."
            )
        if n_masked:
            return (
                f"Disclosure control: {n_masked} row(s) rest on fewer than {k} persons and are "
                f"suppressed ({_MARK} = {REASONS['en']['count'].format(min_count=k)}). Every "
                "number in this report was checked with effekt.disclosure."
            )
        return (
            f"Disclosure control: no number in this report rests on fewer than {k} persons; "
            "nothing was suppressed (checked with effekt.disclosure)."
        )

    def _figures(self, language: str, table: pd.DataFrame) -> list[tuple[str, bytes]]:
        import matplotlib.pyplot as plt

        from effekt._plotting import new_axes
        from effekt.options import set_options

        out = []
        with set_options(language=language):
            for outcome in self.study.outcomes:
                ax = self._draw(new_axes(None, figsize=(8.0, 4.5)), table, outcome)
                fig = ax.get_figure(root=True)
                assert fig is not None  # axes made by new_axes belong to a figure
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
                plt.close(fig)
                out.append((outcome, buf.getvalue()))
        return out

    def to_report(
        self, path: str | Path, *, format: str = "html", language: str | None = None
    ) -> Path:
        """Write a self-contained report: question, answer, estimates, diagnostics, notes.

        Every table passes disclosure control (:meth:`disclosed_frame`) and the
        report says what was suppressed. Figures show the estimates of all rows;
        suppressed rows are left out of them too.

        Parameters
        ----------
        path : str or Path
            The file to write (parent folders are created).
        format : {"html", "md"}, default "html"
            ``"html"``: one file, figures embedded as base64 PNG. ``"md"``: Markdown,
            figures as PNG files in the folder ``<stem>_files/`` beside it, linked
            relatively (Markdown viewers such as GitHub and GitLab do not show
            ``data:`` images, so embedding would not display).
        language : {"en", "da"}, optional
            Default ``effekt.options["language"]``.

        Returns
        -------
        Path
            The report's path.
        """
        from effekt.reporting import HtmlReport

        check_choice("format", "StudyResult.to_report", format, ("html", "md"))
        lang = _language(language)
        path = Path(path)
        overall, event, diag, n_masked = self._display_tables(lang)
        words = _WORDS[lang]
        question = self.study.text("question", lang)
        title = self.study.text("title", lang) or question or words["title"]
        # figures show only what the tables publish: suppressed rows are not drawn
        published = self.disclosed_frame()["estimate_suppressed"].isna().to_numpy()
        figures = self._figures(lang, self._table[published])
        note = self._disclosure_note(n_masked, lang)
        spec = _spec_table(self.study)
        if format == "html":
            report = HtmlReport(title, language=lang)
            if question:
                report.add_text(question)
            report.add_heading(words["answer"])
            for para in self.narrative(lang).split("\n\n"):
                report.add_text(para)
            report.add_heading(words["estimates"])
            report.add_text(note)
            report.add_table(overall, caption=words["overall"])
            for outcome, png in figures:
                report.add_png(png, caption=f"{words['figure']}: {outcome}")
            if len(self._power):
                report.add_heading(words["power"])
                for para in self.power_text(lang):
                    report.add_text(para)
                report.add_table(self._power_display(lang), caption=words["power"])
            report.add_heading(words["diagnostics"])
            report.add_table(diag, caption=words["diagnostics"])
            report.add_heading(words["event"])
            report.add_table(event, caption=words["event"])
            report.add_heading(words["spec"])
            report.add_table(spec)
            if self.notes:
                report.add_heading(words["notes"])
                for n in self.notes:
                    report.add_text(in_language(n, lang))
            report.add_text(self.provenance.describe())
            return report.write(path)
        return self._write_markdown(path, title, lang, overall, event, diag, spec, note, figures)

    def _write_markdown(
        self,
        path: Path,
        title: str,
        lang: str,
        overall: pd.DataFrame,
        event: pd.DataFrame,
        diag: pd.DataFrame,
        spec: pd.DataFrame,
        note: str,
        figures: list[tuple[str, bytes]],
    ) -> Path:
        words = _WORDS[lang]
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = path.parent / f"{path.stem}_files"
        folder.mkdir(exist_ok=True)
        lines = [f"# {title}", ""]
        question = self.study.text("question", lang)
        if question:
            lines += [question, ""]
        lines += [f"## {words['answer']}", "", self.narrative(lang), ""]
        lines += [f"## {words['estimates']}", "", note, "", f"**{words['overall']}**", ""]
        lines += [_markdown_table(overall), ""]
        for i, (outcome, png) in enumerate(figures, start=1):
            name = f"figure_{i}.png"
            (folder / name).write_bytes(png)
            lines += [f"![{words['figure']}: {outcome}]({folder.name}/{name})", ""]
        if len(self._power):
            lines += [f"## {words['power']}", ""]
            for para in self.power_text(lang):
                lines += [para, ""]
            lines += [_markdown_table(self._power_display(lang)), ""]
        lines += [f"## {words['diagnostics']}", "", _markdown_table(diag), ""]
        lines += [f"## {words['event']}", "", _markdown_table(event), ""]
        lines += [f"## {words['spec']}", "", _markdown_table(spec), ""]
        if self.notes:
            lines += [f"## {words['notes']}", ""]
            lines += [f"- {in_language(n, lang)}" for n in self.notes] + [""]
        lines += [f"*{self.provenance.describe()}*", ""]
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def to_latex(self, path: str | Path, *, language: str | None = None) -> Path:
        """Write the disclosed tables (overall, event time, diagnostics) as a LaTeX fragment.

        Parameters
        ----------
        path : str or Path
        language : {"en", "da"}, optional

        Returns
        -------
        Path
        """
        from effekt.results import _latex_escape, _to_latex

        lang = _language(language)
        words = _WORDS[lang]
        overall, event, diag, n_masked = self._display_tables(lang)
        parts = [f"% {self.provenance.describe()}"]
        for caption, table in (
            (words["overall"], overall),
            (words["event"], event),
            (words["diagnostics"], diag),
        ):
            parts += [f"\\paragraph{{{_latex_escape(caption)}}}", _to_latex(table, 4)]
        if len(self._power):
            parts += [f"\\paragraph{{{_latex_escape(words['power'])}}}"]
            parts += [_latex_escape(para) for para in self.power_text(lang)]
            parts.append(_to_latex(self._power_display(lang), 4))
        parts.append(f"\\par\\emph{{{_latex_escape(self._disclosure_note(n_masked, lang))}}}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(parts) + "\n", encoding="utf-8")
        return path

    def to_excel(self, path: str | Path, *, language: str | None = None) -> Path:
        """Write the disclosed tables to an Excel workbook (needs openpyxl).

        Sheets: the overall estimates, the event-time estimates, the diagnostics and
        a note on disclosure control and provenance.

        Parameters
        ----------
        path : str or Path
        language : {"en", "da"}, optional

        Returns
        -------
        Path

        Raises
        ------
        OptionalDependencyError
            If openpyxl is not installed (``pip install 'effekt[io]'``).
        """
        try:
            import openpyxl  # noqa: F401
        except ImportError as err:
            raise OptionalDependencyError(
                "StudyResult.to_excel needs openpyxl, which is installed with the 'io' extra: "
                "pip install 'effekt[io]'"
            ) from err
        lang = _language(language)
        words = _WORDS[lang]
        overall, event, diag, n_masked = self._display_tables(lang)
        info = pd.DataFrame(
            {
                words["notes"]: [
                    self._disclosure_note(n_masked, lang),
                    *(in_language(n, lang) for n in self.notes),
                    self.provenance.describe(),
                ]
            }
        )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            overall.to_excel(writer, sheet_name=words["sheet_overall"], index=False)
            event.to_excel(writer, sheet_name=words["sheet_event"], index=False)
            diag.to_excel(writer, sheet_name=words["sheet_diagnostics"], index=False)
            if len(self._power):
                self._power_display(lang).to_excel(
                    writer, sheet_name=words["sheet_power"], index=False
                )
            info.to_excel(writer, sheet_name=words["sheet_notes"], index=False)
        return path


# ---------------------------------------------------------------------------- helpers
_WORDS = {
    "en": {
        "title": "Effect study",
        "answer": "The answer in brief",
        "estimates": "Estimates",
        "overall": "Overall effect by design",
        "figure": "Estimates by design and years since the start",
        "diagnostics": "Credibility diagnostics",
        "power": "Power: the smallest detectable effect",
        "event": "Effects by years since the start",
        "spec": "The study",
        "notes": "Notes",
        "sheet_overall": "overall",
        "sheet_event": "event_time",
        "sheet_diagnostics": "diagnostics",
        "sheet_notes": "notes",
        "sheet_power": "power",
    },
    "da": {
        "title": "Effektstudie",
        "answer": "Svaret kort",
        "estimates": "Estimater",
        "overall": "Samlet effekt efter design",
        "figure": "Estimater efter design og år siden start",
        "diagnostics": "Diagnostik af troværdigheden",
        "power": "Styrke: den mindste påviselige effekt",
        "event": "Effekter efter år siden start",
        "spec": "Studiet",
        "notes": "Bemærkninger",
        "sheet_overall": "samlet",
        "sheet_event": "aar_siden_start",
        "sheet_diagnostics": "diagnostik",
        "sheet_notes": "bemaerkninger",
        "sheet_power": "styrke",
    },
}


def _column_names(language: str) -> dict[str, str]:
    if language != "da":
        return {}
    return {
        "outcome": "udfald",
        "event_time": "år siden start",
        "estimate": "estimat",
        "std_error": "standardfejl",
        "ci_lower": "nedre grænse",
        "ci_upper": "øvre grænse",
        "p_value": "p-værdi",
        "truth": "sand effekt",
        "n_units": "behandlede områder",
        "diagnostic": "diagnostik",
        "value": "værdi",
        "flag": "vurdering",
        "reason": "begrundelse",
    }


_FLAGS_DA = {"pass": "bestået", "caution": "varsomhed", "not available": "ikke tilgængelig"}


def _diagnostics_in(diag: pd.DataFrame, language: str) -> pd.DataFrame:
    """The diagnostics with the reason in ``language`` (one ``reason`` column)."""
    reason = diag["reason_da"] if language == "da" else diag["reason"]
    return diag.drop(columns="reason_da").assign(reason=reason)


def _diagnostics_display(diag: pd.DataFrame, language: str) -> pd.DataFrame:
    """The diagnostics table for reports; in Danish the headers, flags and reasons."""
    out = _diagnostics_in(diag, language)
    if language == "da":
        out["flag"] = out["flag"].map(_FLAGS_DA)
    return out.rename(columns=_column_names(language))


def _language(language: str | None) -> str:
    from effekt.options import options

    lang = options["language"] if language is None else language
    check_choice("language", "StudyResult", lang, ("en", "da"))
    return str(lang)


def _fmt(x: float, language: str) -> str:
    if np.isnan(x):
        return "–"
    return dk_number(x, ".4g") if language == "da" else f"{x:.4g}"


def _markdown_table(table: pd.DataFrame) -> str:
    cols = [str(c) for c in table.columns]

    def cell(v: Any) -> str:
        if isinstance(v, float):
            v = "–" if np.isnan(v) else f"{v:.4g}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(cols) + " |"
    rule = "|" + "|".join("---" for _ in cols) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join([head, rule, *body])


def _spec_table(study: Study) -> pd.DataFrame:
    flat: list[tuple[str, str]] = []
    for key, value in study.to_dict().items():
        if isinstance(value, dict):
            flat += [(f"{key}.{k}", str(v)) for k, v in value.items()]
        else:
            flat.append((key, str(value)))
    return pd.DataFrame(flat, columns=["key", "value"])
