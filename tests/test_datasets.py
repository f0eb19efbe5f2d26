"""Shipped datasets: shape, provenance, fresh copies."""

from __future__ import annotations

import pytest

import effekt as ek

# Shapes as documented by the sources (shared/datasets/SOURCES.md; R did's mpdta: 2,500 rows).
SHAPES = {
    "mpdta": (2500, 6),
    "prop99": (1209, 7),
    "basque": (774, 17),
    "germany": (748, 11),
    "dk_lists": (224, 9),
    "dk_kommuner": (98, 4),
}


@pytest.mark.parametrize(("name", "shape"), SHAPES.items())
def test_shape_and_provenance(name, shape):
    frame = ek.datasets.load_dataset(name)
    assert frame.shape == shape
    for key in ("title", "citation", "license", "carried_by", "url", "doi"):
        assert key in frame.attrs
    assert frame.attrs["name"] == name


@pytest.mark.parametrize("name", ek.datasets.list_datasets()["name"])
def test_every_listed_dataset_loads(name):
    frame = ek.datasets.load_dataset(name)
    assert len(frame) > 0 and frame.attrs["citation"]


def test_benchmark_panels_have_dois():
    dois = {
        n: ek.datasets.load_dataset(n).attrs["doi"]
        for n in ("mpdta", "prop99", "basque", "germany")
    }
    assert dois == {
        "mpdta": "10.1016/j.jeconom.2020.12.001",
        "prop99": "10.1198/jasa.2009.ap08746",
        "basque": "10.1257/000282803321455188",
        "germany": "10.1111/ajps.12116",
    }


def test_panels_are_proper_panels():
    prop99 = ek.datasets.load_dataset("prop99")
    assert prop99["state"].nunique() == 39 and prop99["year"].between(1970, 2000).all()
    assert prop99["year"].dtype == "int64"
    basque = ek.datasets.load_dataset("basque")
    assert basque["regionno"].nunique() == 18 and basque["year"].nunique() == 43
    germany = ek.datasets.load_dataset("germany")
    assert germany["country"].nunique() == 17
    assert germany.loc[germany["code"] == 7, "country"].iloc[0] == "West Germany"


def test_dk_list_counts_match_membership():
    # each derived list year has as many names as the official count (shared/domain/SOURCES.md)
    lists = ek.datasets.load_dataset("dk_lists")
    n = (
        lists[lists["list_type"].isin(["ghetto_2018law", "parallelsamfund"])]
        .groupby("list_year")
        .size()
    )
    assert n.to_dict() == {"2018": 29, "2019": 28, "2020": 15, "2021": 12, "2022": 10}


def test_fresh_copy_each_time():
    a = ek.datasets.load_dataset("mpdta")
    a.loc[0, "lemp"] = -1.0
    assert ek.datasets.load_dataset("mpdta").loc[0, "lemp"] != -1.0


def test_unknown_dataset_suggests():
    with pytest.raises(ek.ParameterError, match="Did you mean 'mpdta'"):
        ek.datasets.load_dataset("mpdat")
