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
    # power calculations (effekt.power)
    "power": ("Power", "Styrke"),
    "effect_size": ("True effect size", "Sand effektstørrelse"),
    "mde": ("Minimum detectable effect", "Mindste påviselige effekt"),
    "power_curve": ("Power curve", "Styrkekurve"),
    "power_analytic": ("Analytic (Burlig et al. 2020)", "Analytisk (Burlig m.fl. 2020)"),
    "power_simulation": ("Simulation (placebo areas)", "Simulering (placebo-områder)"),
    "pretrend_power": ("Power of the pre-trends test", "Styrke af testen for trends før start"),
    "pretrend_slope": (
        "Linear trend detected with {p:.0%} power",
        "Lineær trend, der opdages med {p:.0%} styrke",
    ),
    "hypothesised_trend": ("Hypothesised trend", "Antaget trend"),
    "mean_after_pretest": (
        "Expectation after passing the pre-test",
        "Forventning efter bestået test før start",
    ),
    # replication packages (effekt.replication)
    "replication_title": ("Replication", "Replikation"),
    "replication_std_diff": ("Difference / tolerance", "Afvigelse / tolerance"),
    "replication_within": ("within tolerance", "inden for tolerancen"),
    "replication_outside": ("outside tolerance or missing", "uden for tolerancen eller mangler"),
    # kommune management information (effekt.indicators)
    "ind_title": (
        "Deprived housing areas in {kommune}: status {year}",
        "Udsatte boligområder i {kommune}: status {year}",
    ),
    "ind_criteria": (
        "The areas against the list criteria ({regime} rules, list {year})",
        "Områderne over for listekriterierne ({regime}-reglerne, liste {year})",
    ),
    "ind_outlook": ("List outlook", "Udsigt for listen"),
    "ind_comparison": (
        "The areas against comparable areas (data year {year})",
        "Områderne sammenlignet med sammenlignelige områder (dataår {year})",
    ),
    "ind_efforts": ("Efforts in the areas", "Indsatser i områderne"),
    "ind_trends": ("The criteria over time", "Kriterierne over tid"),
    "ind_area": ("Area", "Område"),
    "ind_criterion": ("Criterion", "Kriterium"),
    "ind_value": ("Value", "Værdi"),
    "ind_threshold": ("Threshold", "Grænse"),
    "ind_margin": ("Margin to threshold", "Afstand til grænsen"),
    "ind_met": ("Met", "Opfyldt"),
    "ind_trend": ("Trend per year", "Udvikling pr. år"),
    "ind_status": ("Status", "Status"),
    "ind_n_met": ("Criteria met ({category})", "Opfyldte kriterier ({category})"),
    "ind_projected": ("On trend next year", "Ved uændret udvikling næste år"),
    "ind_to_leave": ("What would take it off", "Hvad der skal til for at komme af listen"),
    "ind_indicator": ("Indicator", "Indikator"),
    "ind_this_area": ("The area", "Området"),
    "ind_kommune_others": ("Kommune's other areas", "Kommunens øvrige områder"),
    "ind_same_type": ("Same type nationally (median)", "Samme type i hele landet (median)"),
    "ind_kind": ("Effort", "Indsats"),
    "ind_start": ("Start", "Start"),
    "ind_end": ("End", "Slut"),
    "ind_funder": ("Funder", "Finansiering"),
    "ind_yes": ("yes", "ja"),
    "ind_no": ("no", "nej"),
    "ind_on": ("on the list", "på listen"),
    "ind_off": ("off the list", "ikke på listen"),
    "ind_not_listed": ("not listed", "ikke på listen"),
    "ind_none": ("not on the list now", "ikke på listen nu"),
    "ind_national_crime": (
        "National conviction share, data year {year}: {share}; the crime threshold is {mult} x "
        "that, {threshold}.",
        "Landsgennemsnittet for dømte, dataår {year}: {share}; kriminalitetsgrænsen er {mult} x "
        "det, {threshold}.",
    ),
    "ind_suppressed": (
        "– : not shown, fewer than {k} persons behind the number (disclosure control).",
        "– : ikke vist, færre end {k} personer bag tallet (diskretionering).",
    ),
    "ind_projection_note": (
        "'On trend next year' moves each criterion by one year of its 5-year trend and applies "
        "the same rule; it is an extrapolation, not a forecast.",
        "'Ved uændret udvikling' flytter hvert kriterium et års udvikling (5-års trend) og "
        "anvender samme regel; det er en fremskrivning, ikke en prognose.",
    ),
    "ind_no_efforts": (
        "No efforts recorded for these areas.",
        "Ingen indsatser registreret for disse områder.",
    ),
    "crit_residents": ("Residents", "Beboere"),
    "crit_labour": (
        "Outside work or education (18-64)",
        "Uden for arbejde eller uddannelse (18-64)",
    ),
    "crit_crime": ("Convicted (18+)", "Dømte (18+)"),
    "crit_education": ("Basic education only (30-59)", "Kun grundskole (30-59)"),
    "crit_income": (
        "Income relative to the region (15-64)",
        "Indkomst i forhold til regionen (15-64)",
    ),
    "crit_nonwestern": ("Non-Western origin", "Ikke-vestlig herkomst"),
    "ind_turnover": ("Moved out, share of residents", "Fraflyttede, andel af beboerne"),
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
    # regression discontinuity (effekt.rd)
    "rd_plot": ("RD plot", "RD-plot"),
    "rd_local_fit": ("Local polynomial fit", "Lokal polynomiel tilpasning"),
    "cutoff": ("Cutoff", "Tærskel"),
    "rd_density": ("Density at the cutoff", "Tæthed ved tærsklen"),
    "rd_balance": ("Covariate balance at the cutoff", "Balance i baggrundsvariable ved tærsklen"),
    "rd_placebo": ("Placebo cutoffs", "Placebo-tærskler"),
    "relative_cohort": (
        "Birth cohort relative to the last cohort grown up before the start",
        "Fødselsårgang i forhold til den sidste årgang, der var voksen ved starten",
    ),
    "gradient_change": (
        "Change in the gap: disadvantaged − other parents",
        "Ændring i forskellen: udsatte − øvrige forældre",
    ),
    "exposure_years": ("Years of childhood exposure", "År med indsatsen i barndommen"),
    "exposure_slope": ("Effect per year of exposure", "Effekt pr. års eksponering"),
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
