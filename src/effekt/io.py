"""Read the canonical tables from the formats analysts hold them in.

On Statistics Denmark's research servers, data live in SAS (``.sas7bdat``) and
Stata (``.dta``) files; elsewhere in CSV and Parquet. :func:`read_table` reads
all of them into pandas and, given a schema name, coerces the columns to the
schema's types and validates the result, so that a file that passes here is
safe for every effekt function.

Parquet needs ``pyarrow`` and SAS/Stata need ``pyreadstat`` (the well-kept
ReadStat bindings, faster and more faithful to value labels and formats than
pandas' own readers); both come with ``pip install 'effekt[io]'``. Pickles are
never loaded: unpickling runs arbitrary code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import DataError, OptionalDependencyError, ParameterError
from effekt.schemas import load_schema, validate

__all__ = ["read_table"]

Format = Literal["csv", "parquet", "stata", "sas"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".dta": "stata",
    ".sas7bdat": "sas",
    ".xpt": "sas",
}
_REFUSED = {".pkl", ".pickle", ".pck", ".joblib"}


def read_table(
    path: str | os.PathLike[str],
    table: str | None = None,
    *,
    format: Format | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a table from CSV, Parquet, Stata ``.dta`` or SAS ``.sas7bdat``/``.xpt``.

    Parameters
    ----------
    path : str or path-like
        The file. Its suffix selects the format unless ``format`` is given.
    table : str, optional
        Name of an effekt schema (e.g. ``"area_year"``). If given, column names
        are matched to the schema case-insensitively (SAS and Stata users often
        have ``AREA_ID``), columns are converted to the schema's types, and the
        result is validated with :func:`effekt.validate`.
    format : {"csv", "parquet", "stata", "sas"}, optional
        Override the format inferred from the suffix.
    encoding : str, optional
        Text encoding for CSV and SAS files (e.g. ``"latin-1"`` for older SAS
        data sets with Danish letters); detected when omitted.

    Returns
    -------
    pandas.DataFrame
        With ``.attrs["source"]`` set to the file path.

    Raises
    ------
    ParameterError
        Unknown format or suffix, or a pickle file.
    OptionalDependencyError
        Parquet, Stata or SAS without the ``io`` extra installed.
    SchemaError
        With ``table`` given, if the data violate the schema.
    DataError
        If a column cannot be converted to its schema type.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import effekt as ek
    >>> tmp = pathlib.Path(tempfile.mkdtemp()) / "areas.csv"
    >>> _ = tmp.write_text("AREA_ID,NAME,KOMMUNE_CODE,REGION_CODE\\n01,Vollsmose,461,1083\\n")
    >>> areas = ek.read_table(tmp, "areas")
    >>> areas.loc[0, "area_id"], int(areas.loc[0, "kommune_code"])
    ('01', 461)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _REFUSED:
        raise ParameterError(
            f"read_table refuses to load the pickle file {str(path)!r}: unpickling runs arbitrary "
            "code. Save the table as Parquet (df.to_parquet) or CSV and read that instead."
        )
    fmt = format or _SUFFIXES.get(suffix)
    if fmt not in ("csv", "parquet", "stata", "sas"):
        raise ParameterError(
            f"The 'format' parameter of read_table must be one of 'csv', 'parquet', 'stata', "
            f"'sas'. Got {fmt!r} (from the suffix {suffix!r} of {str(path)!r}); pass format=..."
        )
    if not path.is_file():
        raise ParameterError(f"The 'path' argument of read_table names no file: {str(path)!r}.")

    spec = load_schema(table) if table is not None else None
    if fmt == "csv":
        dtype = None
        if spec is not None:  # keep identifiers such as '01' as text
            header = pd.read_csv(path, nrows=0, encoding=encoding).columns
            lookup = {f["name"].lower(): f for f in spec["fields"]}
            dtype = {
                c: "string" for c in header if lookup.get(c.lower(), {}).get("type") == "string"
            }
        frame = pd.read_csv(path, dtype=dtype, encoding=encoding)
    elif fmt == "parquet":
        _need("pyarrow", "Parquet")
        frame = pd.read_parquet(path)
    else:
        pyreadstat = _need("pyreadstat", "Stata and SAS")
        if fmt == "stata":
            frame, _ = pyreadstat.read_dta(str(path))
        elif suffix == ".xpt":
            frame, _ = pyreadstat.read_xport(str(path), encoding=encoding)
        else:
            frame, _ = pyreadstat.read_sas7bdat(str(path), encoding=encoding)
    if spec is not None:
        frame = _coerce(frame, spec, path)
        validate(frame, spec["name"])
    frame.attrs["source"] = str(path)
    return frame


def _need(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OptionalDependencyError(
            f"Reading {what} files needs the package {module!r}. Install it with "
            "pip install 'effekt[io]'."
        ) from None


def _coerce(frame: pd.DataFrame, spec: dict[str, Any], path: Path) -> pd.DataFrame:
    """Rename columns to the schema's case and convert them to the schema's types."""
    fields = {f["name"]: f for f in spec["fields"]}
    by_lower = {name.lower(): name for name in fields}
    rename = {
        c: by_lower[c.lower()] for c in frame.columns if c not in fields and c.lower() in by_lower
    }
    out = frame.rename(columns=rename)
    for name, field in fields.items():
        if name not in out.columns:
            continue
        col = out[name]
        type_ = field.get("type")
        try:
            if type_ == "string" and not pd.api.types.is_string_dtype(col):
                # SAS/Stata store codes as numbers: 101.0 -> '101'
                as_text = col.map(_number_to_text, na_action="ignore")
                out[name] = as_text.astype("string")
            elif type_ == "string":
                out[name] = col.astype("string").replace("", pd.NA)
            elif type_ in ("integer", "year"):
                out[name] = _to_integer(col)
            elif type_ == "number":
                out[name] = pd.to_numeric(col).astype("float64")
            elif type_ == "boolean" and not pd.api.types.is_bool_dtype(col):
                out[name] = _to_boolean(col)
        except (TypeError, ValueError) as err:
            raise DataError(
                f"Column {name!r} of {str(path)!r} cannot be read as {type_} as the "
                f"{spec['name']!r} schema requires ({err}). Fix the column in the file."
            ) from None
    return out


def _number_to_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _to_integer(col: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(col):
        return col
    numeric = pd.to_numeric(col)
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    finite = values[~np.isnan(values)]
    if (finite != np.round(finite)).any():
        raise ValueError("it holds fractional values")
    return numeric.astype("Int64") if np.isnan(values).any() else numeric.astype("int64")


def _to_boolean(col: pd.Series) -> pd.Series:
    mapping = {
        1: True,
        0: False,
        "1": True,
        "0": False,
        "true": True,
        "false": False,
        "True": True,
        "False": False,
        "TRUE": True,
        "FALSE": False,
    }
    converted = col.map(mapping, na_action="ignore")
    unknown = col.notna() & converted.isna()
    if unknown.any():
        raise ValueError(f"values {col[unknown].unique()[:3].tolist()} are not booleans (0/1)")
    return converted.astype("boolean")
