"""The Table Schemas in data_schemas/ and effekt.validate: one test per rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.schemas import _schema_dir

TYPES = {"string", "integer", "number", "boolean", "date", "year"}
CONSTRAINTS = {"required", "unique", "minimum", "maximum", "enum", "pattern"}


def areas(**over):
    base = {
        "area_id": ["a1", "a2"],
        "name": ["Vollsmose", "Gellerup"],
        "kommune_code": [461, 751],
        "region_code": [1083, 1082],
    }
    base.update(over)
    return pd.DataFrame(base)


def area_year(**over):
    base = {
        "area_id": ["a1", "a1", "a2"],
        "year": [2019, 2020, 2019],
        "residents": [2500, 2450, 4000],
        "neet_share": [0.18, 0.17, 0.22],
        "pop_15_24": [400, 390, 700],
    }
    base.update(over)
    return pd.DataFrame(base)


# ------------------------------------------------------- the schemas themselves
@pytest.mark.parametrize("name", ["areas", "area_year", "interventions", "persons", "effect_table"])
def test_schema_is_well_formed_table_schema(name):
    spec = ek.load_schema(name)
    assert spec["name"] == name and spec["version"] == "1.0.0"
    names = [f["name"] for f in spec["fields"]]
    assert len(names) == len(set(names))
    for field in spec["fields"]:
        assert field["type"] in TYPES, field
        assert set(field.get("constraints", {})) <= CONSTRAINTS, field
        assert field.get("description"), f"{name}.{field['name']} lacks a description"
        if "denominator" in field:
            assert field["denominator"] in names
    assert set(spec.get("primaryKey", [])) <= set(names)


def test_every_schema_file_is_listed_and_is_json():
    files = sorted(p.name for p in _schema_dir().glob("*.schema.json"))
    # the table schemas, plus the JSON Schemas of two files (study, replication expected.json)
    tables = ek.list_schemas()
    assert len(tables) >= 5
    assert sorted(files) == sorted([f"{n}.schema.json" for n in [*tables, "expected", "study"]])
    for f in files:
        json.loads((_schema_dir() / f).read_text(encoding="utf-8"))
    with pytest.raises(ek.ParameterError, match="one of effekt's schemas"):
        ek.validate(pd.DataFrame({"a": [1]}), "study")


def test_kommune_codes_match_the_98_dst_kommuner():
    kommuner = ek.datasets.load_dataset("dk_kommuner")
    field = next(f for f in ek.load_schema("areas")["fields"] if f["name"] == "kommune_code")
    assert sorted(field["constraints"]["enum"]) == sorted(kommuner["kommune_code"].tolist())
    assert len(kommuner) == 98
    # spot checks against Statistics Denmark's classification
    codes = dict(zip(kommuner["kommune"], kommuner["kommune_code"], strict=True))
    assert codes["København"] == 101 and codes["Aarhus"] == 751 and codes["Odense"] == 461
    assert codes["Aalborg"] == 851 and codes["Høje-Taastrup"] == 169


def test_list_membership_kommune_codes_are_valid():
    lists = ek.datasets.load_dataset("dk_lists")
    kommuner = ek.datasets.load_dataset("dk_kommuner")
    assert set(lists["kommune_code"]) <= set(kommuner["kommune_code"])


def test_schemas_ship_inside_the_installed_package():
    import effekt

    package_dir = Path(effekt.__file__).parent
    if (package_dir.parent.parent / "data_schemas").is_dir() and package_dir.parent.name == "src":
        pytest.skip("editable install from a checkout; `nox -s tests` runs this on the wheel")
    assert (package_dir / "data_schemas" / "area_year.schema.json").is_file()


# ------------------------------------------------------------------- validate
def test_valid_frame_is_returned_unchanged():
    frame = area_year()
    before = frame.copy()
    assert ek.validate(frame, "area_year") is frame
    pd.testing.assert_frame_equal(frame, before)


def test_wrong_kommune_code():
    with pytest.raises(
        ek.SchemaError,
        match=r"(?s)'kommune_code' must be one of the 98 codes.*"
        r"first rows \[1\], values \[999\]",
    ):
        ek.validate(areas(kommune_code=[461, 999]), "areas")


def test_mistyped_column_name_is_caught_with_suggestion():
    frame = area_year().rename(columns={"neet_share": "neet_shar"})
    with pytest.raises(
        ek.SchemaError,
        match="column 'neet_shar' is not in the 'area_year' schema; did you mean 'neet_share'",
    ):
        ek.validate(frame, "area_year")


def test_mistyped_column_type():
    frame = area_year(year=["2019", "2020", "2019"])
    with pytest.raises(
        ek.SchemaError,
        match=r"'year' must be of type 'integer', but the column "
        r"has dtype",
    ):
        ek.validate(frame, "area_year")


def test_missing_required_column():
    with pytest.raises(ek.SchemaError, match="column 'year' is required but the frame has no"):
        ek.validate(area_year().drop(columns="year"), "area_year")


def test_required_value_missing():
    with pytest.raises(ek.SchemaError, match=r"'area_id' must not be missing \(1 row"):
        ek.validate(area_year(area_id=["a1", None, "a2"]), "area_year")


def test_unique():
    with pytest.raises(ek.SchemaError, match=r"'area_id' must be unique \(2 row"):
        ek.validate(areas(area_id=["a1", "a1"]), "areas")


def test_primary_key():
    frame = area_year(year=[2019, 2019, 2019])
    with pytest.raises(ek.SchemaError, match=r"'area_id\+year' must identify rows uniquely"):
        ek.validate(frame, "area_year")


def test_share_above_one_is_caught():
    with pytest.raises(ek.SchemaError, match=r"'neet_share' must be <= 1 .*values \[18.0\]"):
        ek.validate(area_year(neet_share=[0.18, 18.0, 0.2]), "area_year")


def test_negative_count():
    with pytest.raises(ek.SchemaError, match=r"'residents' must be >= 0"):
        ek.validate(area_year(residents=[1, -1, 3]), "area_year")


def test_fractional_integer():
    with pytest.raises(ek.SchemaError, match=r"'residents' must hold integer values"):
        ek.validate(area_year(residents=[1.0, 2.5, 3.0]), "area_year")


def test_integral_floats_with_nan_are_integers():
    ek.validate(area_year(residents=[1.0, np.nan, 3.0]), "area_year")


def test_pattern():
    with pytest.raises(ek.SchemaError, match="'area_id' must match the pattern"):
        ek.validate(areas(area_id=["a 1", "a2"]), "areas")


def test_enum_small():
    frame = pd.DataFrame(
        {
            "person_id": ["p1"],
            "birth_year": [1990],
            "sex": ["x"],
            "origin": ["danish"],
            "parental_education": ["basic"],
        }
    )
    with pytest.raises(ek.SchemaError, match=r"'sex' must be one of \['male', 'female'\]"):
        ek.validate(frame, "persons")


def test_boolean_column():
    frame = pd.DataFrame(
        {
            "person_id": ["p1", "p2"],
            "birth_year": [1990, 1991],
            "sex": ["male", "female"],
            "origin": ["danish", "nonwestern"],
            "parental_education": ["basic", "higher"],
            "youth_edu_by_25": pd.array([True, None], dtype="boolean"),
        }
    )
    ek.validate(frame, "persons")
    with pytest.raises(ek.SchemaError, match="'youth_edu_by_25' must be of type 'boolean'"):
        ek.validate(frame.assign(youth_edu_by_25=["yes", "no"]), "persons")


def test_all_violations_reported_at_once():
    frame = areas(kommune_code=[461, 999], area_id=["a1", "a1"]).assign(extra=1)
    with pytest.raises(ek.SchemaError) as info:
        ek.validate(frame, "areas")
    rules = set(info.value.violations["rule"])
    assert rules == {"unknown column", "unique", "enum"}
    assert "3 violation(s)" in str(info.value)


def test_extra_columns_allowed_on_request():
    ek.validate(area_year().assign(my_note="x"), "area_year", extra_columns="allow")


def test_effect_table_allows_extras_but_needs_value_columns():
    ok = pd.DataFrame(
        {
            "term": ["treat"],
            "estimate": [0.1],
            "std_error": [0.05],
            "ci_lower": [0.0],
            "ci_upper": [0.2],
            "ci_level": [0.95],
            "p_value": [np.nan],
            "prob_positive": [0.97],
        }
    )
    ek.validate(ok, "effect_table")
    with pytest.raises(ek.SchemaError, match="column 'p_value' is required"):
        ek.validate(ok.drop(columns="p_value"), "effect_table")


def test_duplicate_column_names():
    frame = pd.concat([areas(), areas()[["name"]]], axis=1)
    with pytest.raises(ek.SchemaError, match="appears more than once"):
        ek.validate(frame, "areas")


def test_unknown_schema():
    with pytest.raises(ek.ParameterError, match="must name one of effekt's schemas"):
        ek.validate(areas(), "area")


def test_not_a_frame():
    with pytest.raises(ek.ParameterError, match="needs a pandas DataFrame"):
        ek.validate([1, 2], "areas")


def test_bad_extra_columns_value():
    with pytest.raises(ek.ParameterError, match="'extra_columns' parameter"):
        ek.validate(areas(), "areas", extra_columns="maybe")
