"""read_table: CSV, Parquet, Stata, SAS transport; schema coercion; no pickles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import effekt as ek

AREAS = pd.DataFrame(
    {
        "area_id": ["01", "02"],
        "name": ["Vollsmose", "Gellerupparken"],
        "kommune_code": [461, 751],
        "region_code": [1083, 1082],
    }
)


def test_csv_keeps_string_ids_and_validates(tmp_path):
    path = tmp_path / "areas.csv"
    AREAS.to_csv(path, index=False)
    frame = ek.read_table(path, "areas")
    assert frame["area_id"].tolist() == ["01", "02"]  # not 1, 2
    assert frame.attrs["source"] == str(path)


def test_parquet_roundtrip(tmp_path):
    path = tmp_path / "areas.parquet"
    AREAS.to_parquet(path)
    pd.testing.assert_frame_equal(ek.read_table(path, "areas"), ek.read_table(path, "areas"))
    assert ek.read_table(path)["name"].tolist() == ["Vollsmose", "Gellerupparken"]


def test_stata_upper_case_names_and_float_codes(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "areas.dta"
    sas_like = AREAS.rename(columns=str.upper).assign(
        KOMMUNE_CODE=[461.0, 751.0], AREA_ID=[1.0, 2.0]
    )
    pyreadstat.write_dta(sas_like, str(path))
    frame = ek.read_table(path, "areas")
    assert frame.columns.tolist() == ["area_id", "name", "kommune_code", "region_code"]
    assert frame["area_id"].tolist() == ["1", "2"]
    assert frame["kommune_code"].dtype == "int64"


def test_sas_transport(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "areas.xpt"
    pyreadstat.write_xport(AREAS.rename(columns=lambda c: c.upper()[:8]), str(path))
    frame = ek.read_table(path)
    assert frame["NAME"].tolist() == ["Vollsmose", "Gellerupparken"]


def test_sas7bdat():
    """A real SAS data set (upper-case names, numeric codes as doubles), written by R haven
    2.5.1 with tests/data/make_areas_sas7bdat.R (pyreadstat cannot write sas7bdat)."""
    pytest.importorskip("pyreadstat")
    frame = ek.read_table(Path(__file__).parent / "data" / "areas.sas7bdat", "areas")
    assert frame["area_id"].tolist() == ["01", "02"]
    assert frame["name"].tolist() == ["Vollsmose", "Gellerupparken"]
    assert frame["kommune_code"].tolist() == [461, 751]
    assert frame["kommune_code"].dtype == "int64"


def test_schema_violation_in_file(tmp_path):
    path = tmp_path / "areas.csv"
    AREAS.assign(kommune_code=[461, 999]).to_csv(path, index=False)
    with pytest.raises(ek.SchemaError, match="'kommune_code' must be one of the 98 codes"):
        ek.read_table(path, "areas")


def test_boolean_coercion(tmp_path):
    path = tmp_path / "persons.csv"
    path.write_text(
        "person_id,birth_year,sex,origin,parental_education,youth_edu_by_25\n"
        "p1,1990,male,danish,basic,1\np2,1992,female,nonwestern,higher,\n"
    )
    frame = ek.read_table(path, "persons")
    assert frame["youth_edu_by_25"].tolist()[0] is True
    assert pd.isna(frame["youth_edu_by_25"].iloc[1])


def test_uncoercible_column(tmp_path):
    path = tmp_path / "area_year.csv"
    path.write_text("area_id,year,residents\na1,2019,many\n")
    with pytest.raises(ek.DataError, match="Column 'residents' .* cannot be read as integer"):
        ek.read_table(path, "area_year")


@pytest.mark.parametrize("suffix", [".pkl", ".pickle"])
def test_pickles_are_refused(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    AREAS.to_pickle(path)
    with pytest.raises(ek.ParameterError, match="refuses to load the pickle file"):
        ek.read_table(path)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ek.ParameterError, match="'format' parameter of read_table must be"):
        ek.read_table(path)


def test_missing_file(tmp_path):
    with pytest.raises(ek.ParameterError, match="names no file"):
        ek.read_table(tmp_path / "nope.csv")


def test_cli_validate(tmp_path, capsys):
    from effekt.cli import main

    good = tmp_path / "areas.csv"
    AREAS.to_csv(good, index=False)
    assert main(["validate", "areas", str(good)]) == 0
    assert "valid 'areas' table (2 rows)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    AREAS.assign(kommune_code=[461, 999]).to_csv(bad, index=False)
    assert main(["validate", "areas", str(bad)]) == 1
    assert "kommune_code" in capsys.readouterr().err
