"""Public benchmark panels and Danish public data, shipped with their provenance.

Each dataset is a CSV file inside the package (``effekt/datasets/data``; sources
in ``SOURCES.md`` there). :func:`load_dataset` returns a fresh DataFrame whose
``.attrs`` carry the citation, DOI/URL, licence and the package the copy came
from; :func:`list_datasets` lists them.

Examples
--------
>>> import effekt as ek
>>> df = ek.datasets.load_dataset("prop99")
>>> df.shape
(1209, 7)
>>> df.attrs["doi"]
'10.1198/jasa.2009.ap08746'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources

import pandas as pd

from effekt.errors import ParameterError

__all__ = ["list_datasets", "load_dataset"]


@dataclass(frozen=True)
class _Dataset:
    file: str
    title: str
    description: str
    citation: str
    doi: str
    url: str
    license: str
    carried_by: str
    integer_columns: tuple[str, ...] = ()


_REGISTRY: dict[str, _Dataset] = {
    "mpdta": _Dataset(
        file="mpdta.csv",
        title="Minimum wages and teen employment, 500 US counties 2003-2007",
        description=(
            "County panel: year, countyreal (unit), lpop (log population, time-invariant), "
            "lemp (log teen employment), first.treat (first year of a minimum-wage rise; "
            "0 = never treated), treat (ever treated)."
        ),
        citation=(
            "Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with "
            "multiple time periods. Journal of Econometrics 225(2), 200-230."
        ),
        doi="10.1016/j.jeconom.2020.12.001",
        url="https://cran.r-project.org/package=did",
        license="GPL-3 (data as distributed with R package did 2.5.1)",
        carried_by="R package did 2.5.1, data/mpdta.rda, converted to CSV without loss",
    ),
    "prop99": _Dataset(
        file="prop99.csv",
        title="California's Proposition 99: cigarette sales in 39 US states, 1970-2000",
        description=(
            "State panel: state, year, cigsale (packs per capita), lnincome, beer, age15to24, "
            "retprice; covariates missing in some early years, as in the original."
        ),
        citation=(
            "Abadie, A., Diamond, A. and Hainmueller, J. (2010). Synthetic control methods for "
            "comparative case studies: estimating the effect of California's tobacco control "
            "program. Journal of the American Statistical Association 105(490), 493-505."
        ),
        doi="10.1198/jasa.2009.ap08746",
        url="https://github.com/sdfordham/pysyncon",
        license="MIT (pysyncon examples); public research data",
        carried_by="pysyncon GitHub examples (smoking.csv)",
        integer_columns=("year",),
    ),
    "basque": _Dataset(
        file="basque.csv",
        title="Terrorism and the Basque Country: Spanish regions 1955-1997",
        description=(
            "Region panel: regionno, regionname, year, gdpcap (real GDP per capita, 1986 USD "
            "thousands), sector shares, schooling shares, popdens, invest. Region 17 is the "
            "Basque Country, region 1 Spain as a whole."
        ),
        citation=(
            "Abadie, A. and Gardeazabal, J. (2003). The economic costs of conflict: a case study "
            "of the Basque Country. American Economic Review 93(1), 113-132."
        ),
        doi="10.1257/000282803321455188",
        url="https://github.com/sdfordham/pysyncon",
        license="MIT (pysyncon data folder); public research data",
        carried_by="pysyncon GitHub data folder (basque.csv)",
        integer_columns=("regionno", "year"),
    ),
    "germany": _Dataset(
        file="germany.csv",
        title="German reunification: 17 OECD countries 1960-2003",
        description=(
            "Country panel: code, country, year, gdp (per capita, PPP 2002 USD), infrate, trade, "
            "schooling, invest60/70/80, industry. West Germany is code 7."
        ),
        citation=(
            "Abadie, A., Diamond, A. and Hainmueller, J. (2015). Comparative politics and the "
            "synthetic control method. American Journal of Political Science 59(2), 495-510."
        ),
        doi="10.1111/ajps.12116",
        url="https://github.com/sdfordham/pysyncon",
        license="MIT (pysyncon data folder); public research data",
        carried_by="pysyncon GitHub data folder (germany.csv)",
        integer_columns=("code", "year"),
    ),
    "dk_lists": _Dataset(
        file="dk_lists.csv",
        title="Danish official lists of deprived housing areas by year (ghetto/parallelsamfund)",
        description=(
            "One row per (list, area): list_year, list_date, list_type, area, municipality, "
            "kommune_code (DST), derivation, confidence, sources. Covers the derived pre-2014 "
            "list, 2014, 2017-2022 and omdannelse/hard-ghetto lists 2020-2022; each derived year "
            "checked against the official count. Source keys are explained in SOURCES.md."
        ),
        citation=(
            "Official lists (Ministry of the Interior and Housing / Transport, Building and "
            "Housing Authority), as reported in the public sources listed per row."
        ),
        doi="",
        url="https://www.trafikstyrelsen.dk/da/Bolig/Udsatte-boligomraader",
        license="Public facts (official list memberships); compiled by the effekt developers",
        carried_by="effekt shared/domain/data/ghetto_parallel_list_membership.csv (Nov 2026)",
    ),
    "dk_list_counts": _Dataset(
        file="dk_list_counts.csv",
        title="Number of listed areas by list and year, 2010-2023",
        description="Counts of ghetto/parallelsamfund, udsatte, hard/omdannelse and "
        "forebyggelse areas per list year, with the rule regime.",
        citation="Official list counts as reported by BL, the ministry and news (see sources).",
        doi="",
        url="https://bl.dk/viden-kartotek/forebyggelsesomraader-og-udsatte-omraader",
        license="Public facts; compiled by the effekt developers",
        carried_by="effekt shared/domain/data/list_counts_by_year.csv (Nov 2026)",
    ),
    "dk_criteria": _Dataset(
        file="dk_criteria.csv",
        title="Official criteria for the Danish lists, by rule regime (2010, 2014, 2018, 2021)",
        description="Every criterion, threshold, age band, averaging window and combination "
        "rule per regime, with source keys.",
        citation="Laws and agreements as summarised by the sources given per row.",
        doi="",
        url="https://bl.dk/spoergsmaal-og-svar-om-ghetto-planen/",
        license="Public facts; compiled by the effekt developers",
        carried_by="effekt shared/domain/data/criteria_thresholds.csv (Nov 2026)",
    ),
    "dk_kommuner": _Dataset(
        file="dk_kommuner.csv",
        title="The 98 Danish kommuner with Statistics Denmark codes and regions",
        description="kommune_code (DST KOM), kommune, region_code (1081-1085), region.",
        citation="Statistics Denmark classification of municipalities (KOMMUNER, since 2007).",
        doi="",
        url="https://www.dst.dk/da/Statistik/dokumentation/nomenklaturer/kommuner",
        license="Public classification",
        carried_by="effekt (compiled from the DST classification)",
    ),
    "lbf_rounds": _Dataset(
        file="lbf_rounds.csv",
        title="Landsbyggefonden funding periods for boligsociale helhedsplaner",
        description="Funding period, legal basis, money, number of plans, focus areas, evaluator.",
        citation="Landsbyggefonden, BL, VIVE and CFBU publications (see source keys).",
        doi="",
        url="https://lbf.dk",
        license="Public facts; compiled by the effekt developers",
        carried_by="effekt shared/domain/data/lbf_funding_periods.csv (Nov 2026)",
    ),
    "published_effects": _Dataset(
        file="published_effects.csv",
        title="Published effect sizes of Danish housing-social evaluations",
        description="Design, unit, treated/comparison, period, outcome and reported numbers of "
        "CFBU, SFI/VIVE, BL and academic evaluations; derived numbers marked as such.",
        citation="CFBU (2011, 2013, 2015), SFI/VIVE (2013-2022), BL (2020) and others; "
        "see source keys.",
        doi="",
        url="https://cfbu.dk",
        license="Public facts; compiled by the effekt developers",
        carried_by="effekt shared/domain/data/published_effects.csv (Nov 2026)",
    ),
    "dk_area_values": _Dataset(
        file="dk_area_values.csv",
        title="The few per-area criterion values found in public news coverage",
        description="Area, municipality, reference list, indicator, value, unit and source.",
        citation="News coverage as listed per row (e.g. Kristeligt Dagblad).",
        doi="",
        url="",
        license="Public facts; compiled by the effekt developers",
        carried_by="effekt shared/domain/data/sparse_area_values.csv (Nov 2026)",
    ),
}


def list_datasets() -> pd.DataFrame:
    """The datasets effekt ships, with their titles and sources.

    Returns
    -------
    pandas.DataFrame
        One row per dataset: ``name, title, citation, doi, url, license``.

    Examples
    --------
    >>> import effekt as ek
    >>> "mpdta" in ek.datasets.list_datasets()["name"].tolist()
    True
    """
    rows = [
        {
            "name": name,
            **{
                k: v
                for k, v in asdict(d).items()
                if k in ("title", "citation", "doi", "url", "license")
            },
        }
        for name, d in _REGISTRY.items()
    ]
    return pd.DataFrame(rows)


def load_dataset(name: str) -> pd.DataFrame:
    """Load a shipped dataset as a new DataFrame with its provenance in ``.attrs``.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`: ``"mpdta"``, ``"prop99"``, ``"basque"``,
        ``"germany"``, ``"dk_lists"``, ``"dk_list_counts"``, ``"dk_criteria"``,
        ``"dk_kommuner"``, ``"lbf_rounds"``, ``"published_effects"``,
        ``"dk_area_values"``.

    Returns
    -------
    pandas.DataFrame
        A fresh copy (modifying it does not affect later loads). ``.attrs`` holds
        ``name, title, description, citation, doi, url, license, carried_by``.
        Integral year and id columns stored as floats in the source are integers.

    Raises
    ------
    ParameterError
        If ``name`` is not a shipped dataset.

    References
    ----------
    Callaway & Sant'Anna (2021), doi:10.1016/j.jeconom.2020.12.001 (mpdta);
    Abadie, Diamond & Hainmueller (2010), doi:10.1198/jasa.2009.ap08746 (prop99);
    Abadie & Gardeazabal (2003), doi:10.1257/000282803321455188 (basque);
    Abadie, Diamond & Hainmueller (2015), doi:10.1111/ajps.12116 (germany).

    Examples
    --------
    >>> import effekt as ek
    >>> mpdta = ek.datasets.load_dataset("mpdta")
    >>> mpdta.shape, mpdta.attrs["title"][:13]
    ((2500, 6), 'Minimum wages')
    """
    if name not in _REGISTRY:
        from difflib import get_close_matches

        close = get_close_matches(str(name), list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"The 'name' parameter of load_dataset must be one of {sorted(_REGISTRY)}. "
            f"Got {name!r} instead.{hint}"
        )
    spec = _REGISTRY[name]
    with resources.files(__name__).joinpath("data", spec.file).open("rb") as fh:
        frame = pd.read_csv(fh)
    for col in spec.integer_columns:
        frame[col] = frame[col].astype("int64")  # stored as 1970.0 etc. in the source file
    frame.attrs = {"name": name}
    frame.attrs.update(
        (k, v) for k, v in asdict(spec).items() if k not in ("file", "integer_columns")
    )
    return frame
