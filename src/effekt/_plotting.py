"""Shared plotting helpers: axes creation, labels in Danish or English, house style.

Every public ``plot()`` in effekt draws through these helpers, so labels follow
``effekt.options["language"]`` and figures look alike. No function here calls
``plt.show()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from effekt.options import options

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

# key -> (English, Danish)
_LABELS: dict[str, tuple[str, str]] = {
    "period": ("Period", "Periode"),
    "year": ("Year", "År"),
    "units": ("Units", "Enheder"),
    "treated": ("Treated", "Behandlet"),
    "not_treated": ("Not (yet) treated", "Ikke (endnu) behandlet"),
    "treatment_rollout": ("Treatment rollout", "Indfasning af indsatsen"),
    "estimate": ("Estimate", "Estimat"),
    "effect": ("Effect", "Effekt"),
    "event_time": ("Periods since treatment start", "Perioder siden indsatsens start"),
    "ci": ("{level:.0%} confidence interval", "{level:.0%} konfidensinterval"),
    "uniform_band": ("{level:.0%} uniform band", "{level:.0%} simultant bånd"),
    "att": ("Average effect on the treated (ATT)", "Gennemsnitlig effekt for de behandlede (ATT)"),
    "coefficient": ("Coefficient", "Koefficient"),
    "reference_period": ("Reference period", "Referenceperiode"),
    "pre": ("Before", "Før"),
    "post": ("After", "Efter"),
    "outcome": ("Outcome", "Udfaldsmål"),
    "term": ("Term", "Led"),
    "event_study": ("Event study", "Hændelsesstudie"),
    "permutations": ("Permutations", "Permutationer"),
    "randomization_title": (
        "Randomization inference: {outcome}",
        "Randomiseringsinferens: {outcome}",
    ),
    "cohort": ("Cohort", "Kohorte"),
    "att_gt": ("ATT(g,t) by cohort", "ATT(g,t) efter kohorte"),
    "overall": ("Overall", "Samlet"),
    "synthetic": ("Synthetic control", "Syntetisk kontrol"),
    "gap": ("Gap (treated − synthetic)", "Forskel (behandlet − syntetisk)"),
    "treatment_start": ("Treatment start", "Indsatsens start"),
    "donor_weight": ("Donor weight", "Donorvægt"),
    "donor_weights": ("Donor weights", "Donorvægte"),
    "placebo_units": ("Placebo units", "Placebo-enheder"),
    "placebo_in_space": ("Placebo in space", "Placebo i rum"),
    "placebo_in_time": ("Placebo in time", "Placebo i tid"),
    "pooled": ("Pooled (mean)", "Samlet (gennemsnit)"),
    "leave_one_out": ("Leave one donor out", "Udelad én donor"),
    "conformal": ("Conformal intervals", "Konforme intervaller"),
    "time_weights": ("Time weights", "Tidsvægte"),
    "sdid": ("Synthetic DiD", "Syntetisk DiD"),
    "weight": ("Weight", "Vægt"),
    "two_by_two": ("2x2 DiD estimate", "2x2 DiD-estimat"),
    "treated_vs_never": ("Treated vs. never treated", "Behandlede vs. aldrig behandlede"),
    "early_vs_late": ("Earlier vs. later treated", "Tidligere vs. senere behandlede"),
    "late_vs_early": (
        "Later vs. earlier treated (already treated as control)",
        "Senere vs. tidligere behandlede (allerede behandlede som kontrol)",
    ),
    "treated_vs_always": (
        "Treated vs. always treated",
        "Behandlede vs. altid behandlede",
    ),
    "twfe_estimate": ("TWFE estimate", "TWFE-estimat"),
    "bacon_decomposition": ("Goodman-Bacon decomposition", "Goodman-Bacon-dekomponering"),
    "honest_sensitivity": (
        "Sensitivity to violations of parallel trends",
        "Følsomhed over for brud på parallelle trends",
    ),
    "original_ci": ("Original", "Oprindelig"),
    "robust_ci": ("{level:.0%} robust confidence set", "{level:.0%} robust konfidensmængde"),
    "mbar": ("M̄ (relative magnitudes)", "M̄ (relative størrelser)"),
    "m_smoothness": ("M (smoothness)", "M (glathed)"),
    "credible_interval": ("{level:.0%} credible interval", "{level:.0%} troværdighedsinterval"),
    "effect_by_kind": ("Effect by kind of intervention", "Effekt efter indsatstype"),
    "chain": ("Chain", "Kæde"),
    "draw": ("Draw", "Trækning"),
    "trace": ("Trace", "Sporplot"),
    "observed": ("Observed", "Observeret"),
    "replicated": ("Replicated data", "Replikerede data"),
    "density": ("Density", "Tæthed"),
    "prior_predictive_check": ("Prior predictive check", "Prior-prædiktivt tjek"),
    "posterior_predictive_check": ("Posterior predictive check", "Posterior-prædiktivt tjek"),
    "with_exposure": ("With exposure", "Med eksponering"),
    "without_exposure": ("Without exposure", "Uden eksponering"),
    "cell_share": ("share per cell", "andel pr. celle"),
    "parental_gradient": (
        "Parental-education gradient (log-odds)",
        "Gradient i forældres uddannelse (log-odds)",
    ),
    # effekt.study: designs, triangulation plot, outcomes and intervention kinds
    "design_did": ("DiD (Callaway & Sant'Anna)", "DiD (Callaway & Sant'Anna)"),
    "design_synth": ("Synthetic DiD", "Syntetisk DiD"),
    "design_bayes": ("Bayesian multilevel DiD", "Bayesiansk flerniveau-DiD"),
    "truth": ("True effect (simulation)", "Sand effekt (simulering)"),
    "triangulation": ("Estimates by design", "Estimater efter design"),
    "interval": ("{level:.0%} interval", "{level:.0%} interval"),
    "outcome_neet_share": (
        "the share of 15-24-year-olds not in education or work (NEET)",
        "andelen af 15-24-årige uden for uddannelse og beskæftigelse (NEET)",
    ),
    "outcome_outside_work_edu_share": (
        "the share of 18-64-year-olds outside work and education",
        "andelen af 18-64-årige uden for arbejde og uddannelse",
    ),
    "outcome_youth_charged_per_1000": (
        "charged 15-25-year-olds per 1,000",
        "sigtede 15-25-årige pr. 1.000",
    ),
    "outcome_convicted_share": (
        "the share of adults convicted",
        "andelen af voksne, der er dømt",
    ),
    "outcome_youth_edu_20_share": (
        "the share of 20-year-olds with a youth education (completed or enrolled)",
        "andelen af 20-årige med en ungdomsuddannelse (fuldført eller i gang)",
    ),
    "outcome_youth_edu_25_share": (
        "the share of 25-year-olds who completed a youth education",
        "andelen af 25-årige, der har fuldført en ungdomsuddannelse",
    ),
    "outcome_children_placed_per_1000": (
        "children placed out of home per 1,000 0-17-year-olds",
        "anbragte børn pr. 1.000 0-17-årige",
    ),
    "outcome_basic_edu_share": (
        "the share of 30-59-year-olds with basic education only",
        "andelen af 30-59-årige med grundskole som højeste uddannelse",
    ),
    "outcome_income_rel_region": (
        "income relative to the region",
        "indkomst i forhold til regionen",
    ),
    "kind_lbf_helhedsplan": ("an LBF helhedsplan", "en boligsocial helhedsplan (LBF)"),
    "kind_ungdomscafe": ("youth cafés", "ungdomscaféer"),
    "kind_lommepengeprojekt": ("pocket-money projects", "lommepengeprojekter"),
    "kind_fritidsjob": ("leisure-job help", "fritidsjobindsatser"),
    "kind_skolesamarbejde": ("school collaboration", "skolesamarbejde"),
    "kind_familieindsats": ("family efforts", "familieindsatser"),
    "kind_fremskudt_beskaeftigelse": (
        "outreach employment efforts",
        "fremskudt beskæftigelsesindsats",
    ),
    "kind_fysisk_omdannelse": ("physical transformation", "fysisk omdannelse"),
    "prior_sensitivity": ("Prior sensitivity", "Følsomhed over for priors"),
    "prior_scale": ("prior scales x {scale:g}", "priorskalaer x {scale:g}"),
    # replication packages (effekt.replication)
    "replication_title": ("Replication", "Replikation"),
    "replication_std_diff": ("Difference / tolerance", "Afvigelse / tolerance"),
    "replication_within": ("within tolerance", "inden for tolerancen"),
    "replication_outside": ("outside tolerance or missing", "uden for tolerancen eller mangler"),
    # participants followed against matched non-participants (effekt.participants)
    "years_since_start": ("Years since the participant's start", "År siden deltagerens start"),
    "matched_did": (
        "Matched DiD: participants minus matched non-participants",
        "Matchet DiD: deltagere minus matchede ikke-deltagere",
    ),
    "naive_difference": (
        "Naive participant - non-participant difference",
        "Naiv forskel mellem deltagere og ikke-deltagere",
    ),
    "smd": ("Standardised mean difference", "Standardiseret middelværdiforskel"),
    "before_matching": ("Before matching", "Før matchning"),
    "after_matching": ("After matching", "Efter matchning"),
    "covariate_balance": ("Covariate balance", "Balance i baggrundsvariable"),
    # simulation studies (effekt.simulate.monte_carlo): performance measures
    "mc_bias": ("Bias", "Bias"),
    "mc_emp_se": ("Empirical SE", "Empirisk SE"),
    "mc_rmse": ("RMSE", "RMSE"),
    "mc_coverage": ("Coverage", "Dækningsgrad"),
    "mc_ci_width": ("Mean interval width", "Gns. intervalbredde"),
    "mc_rejection_rate": ("Rejection rate", "Forkastelsesrate"),
    "mc_estimand": ("Estimand", "Estimand"),
    "mc_nominal": ("nominal", "nominel"),
}


def label(key: str, **fmt: object) -> str:
    """The label ``key`` in the current language (``effekt.options['language']``)."""
    en, da = _LABELS[key]
    text = da if options["language"] == "da" else en
    return text.format(**fmt) if fmt else text


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (7.0, 4.0)) -> Axes:
    """Return ``ax``, or the axes of a new figure in the house style."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    return ax
