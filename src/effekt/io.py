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

import io
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    EffektWarning,
    OptionalDependencyError,
    ParameterError,
    SchemaError,
    check_keywords,
    invalid_parameter,
    show_value,
)
from effekt.schemas import _check_schema_name, load_schema, validate

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


@check_keywords
def read_table(
    path: str | os.PathLike[str],
    table: str | None = None,
    *,
    format: Format | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    outcomes: dict[str, str] | None = None,
    required: Sequence[str] = (),
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
        result is validated with :func:`effekt.validate`; every value that cannot
        be converted is reported at once, with its line in a CSV file.
    format : {"csv", "parquet", "stata", "sas"}, optional
        Override the format inferred from the suffix.
    encoding : str, optional
        Text encoding for CSV and SAS files (e.g. ``"latin-1"`` for older SAS
        data sets with Danish letters). For CSV it is detected when omitted:
        UTF-8 (with or without Excel's byte-order mark), else Windows-1252
        (Danish Excel's default, a superset of latin-1 for letters such as æ, ø,
        å), with an :class:`~effekt.EffektWarning` saying so.
    sep, decimal : str, optional
        CSV field separator and decimal mark. Detected when omitted: a header
        split by ``;`` (Danish Excel's "CSV (semikolonsepareret)") selects
        ``sep=";"`` and, when numbers such as ``0,25`` occur, ``decimal=","``.
        The choice is kept in ``.attrs["csv"]``.
    outcomes : dict of str to str, optional
        An analyst's own outcomes and their denominators, passed to
        :func:`effekt.validate` (see there).
    required : sequence of str, optional
        Columns that must be present, passed to :func:`effekt.validate`.

    Returns
    -------
    pandas.DataFrame
        With ``.attrs["source"]`` set to the file path.

    Raises
    ------
    ParameterError
        Unknown format, suffix or encoding, a pickle file, a path that names no file.
    OptionalDependencyError
        Parquet, Stata or SAS without the ``io`` extra installed.
    DataError
        A file that cannot be read as its format (empty, truncated, bad quoting,
        not really Parquet, undecodable with the given encoding), naming the file.
    SchemaError
        With ``table`` given, values that cannot be converted to the schema's
        types (every one, with file lines), or data that violate the schema.

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
    if not isinstance(path, str | os.PathLike):
        raise ParameterError(
            f"The 'path' argument of read_table must be a file path (str or pathlib.Path). "
            f"Got {show_value(path)} instead."
        )
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
    if encoding is not None:
        _check_encoding(encoding)
    for name, value in (("sep", sep), ("decimal", decimal)):
        if value is not None and (not isinstance(value, str) or not value):
            raise invalid_parameter(name, "read_table", "a non-empty string", value)
    if not path.is_file():
        raise ParameterError(f"The 'path' argument of read_table names no file: {str(path)!r}.")

    if table is not None:
        _check_schema_name(table, "table")
    spec = load_schema(table) if table is not None else None
    offset = None
    if fmt == "csv":
        frame = _read_csv(path, spec, encoding, sep, decimal)
        offset = 2  # row 0 of the frame is line 2 of the file, after the header
    elif fmt == "parquet":
        pyarrow = _need("pyarrow", "Parquet")
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError, pyarrow.ArrowException) as err:
            raise DataError(
                f"read_table cannot read {str(path)!r} as Parquet: {_first_line(err)}. The file "
                "is truncated, or not Parquet despite its suffix; write it again (df.to_parquet), "
                "or pass format='csv' if it is text."
            ) from None
    else:
        pyreadstat = _need("pyreadstat", "Stata and SAS")
        try:
            if fmt == "stata":
                frame, _ = pyreadstat.read_dta(str(path))
            elif suffix == ".xpt":
                frame, _ = pyreadstat.read_xport(str(path), encoding=encoding)
            else:
                frame, _ = pyreadstat.read_sas7bdat(str(path), encoding=encoding)
        except Exception as err:  # pyreadstat raises its own classes, and UnicodeDecodeError
            what = "Stata" if fmt == "stata" else "SAS"
            raise DataError(
                f"read_table cannot read {str(path)!r} as a {what} file: {_first_line(err)}. "
                "If it has Danish letters, pass encoding='latin-1'; otherwise export it again."
            ) from None
    if spec is not None:
        frame = _coerce(frame, spec, path, offset)
        validate(frame, spec["name"], outcomes=outcomes, required=required, _line_offset=offset)
    frame.attrs["source"] = str(path)
    return frame


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0].rstrip(".") if text else type(err).__name__


def _check_encoding(encoding: Any) -> None:
    import codecs

    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise invalid_parameter(
            "encoding",
            "read_table",
            "a text encoding Python knows",
            encoding,
            "Danish files are usually 'utf-8', 'cp1252' (Excel) or 'latin-1' (older SAS); "
            "leave it out to detect the encoding of a CSV file.",
        ) from None


def _decode(path: Path, encoding: str | None) -> tuple[str, str]:
    """The file's text and the encoding it was read with (detected when not given)."""
    raw = path.read_bytes()
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as err:
            raise DataError(
                f"read_table cannot decode {str(path)!r} as {encoding!r}: byte "
                f"{raw[err.start : err.start + 1]!r} at position {err.start} is not valid in it. "
                "Leave 'encoding' out to detect it, or try encoding='cp1252' (Danish Excel) or "
                "'latin-1'."
            ) from None
    try:
        return raw.decode("utf-8-sig"), "utf-8"  # -sig: Excel writes a byte-order mark
    except UnicodeDecodeError:
        pass
    try:
        text, used = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # five bytes are undefined in cp1252; latin-1 maps every byte
        text, used = raw.decode("latin-1"), "latin-1"
    warnings.warn(
        f"read_table: {str(path)!r} is not UTF-8; read it as {used} (Danish Excel and older "
        f"SAS exports). Pass encoding={used!r} to confirm, or another encoding.",
        EffektWarning,
        stacklevel=4,
    )
    return text, used


_DECIMAL_COMMA = re.compile(r"(^|;)\s*-?\d+,\d+\s*(;|$)", re.MULTILINE)


def _dialect(text: str, sep: str | None, decimal: str | None) -> tuple[str, str]:
    """Separator and decimal mark: Danish Excel writes ``;`` and ``0,25``."""
    head = text[:65536]
    first = head.split("\n", 1)[0]
    if sep is None:
        sep = ";" if first.count(";") > first.count(",") else ","
        if sep == "," and first.count("\t") > first.count(","):
            sep = "\t"
    if decimal is None:
        decimal = "," if sep == ";" and _DECIMAL_COMMA.search(head) else "."
    return sep, decimal


def _read_csv(
    path: Path, spec: dict[str, Any] | None, encoding: str | None, sep: Any, decimal: Any
) -> pd.DataFrame:
    text, used = _decode(path, encoding)
    if not text.strip():
        raise DataError(
            f"read_table: {str(path)!r} is empty (no header, no rows). Export the table again."
        )
    sep, decimal = _dialect(text, sep, decimal)
    try:
        header = pd.read_csv(io.StringIO(text), nrows=0, sep=sep).columns
        dtype = None
        if spec is not None:  # keep identifiers such as '01' as text
            lookup = {f["name"].lower(): f for f in spec["fields"]}
            dtype = {
                c: "string"
                for c in header
                if lookup.get(str(c).lower(), {}).get("type") == "string"
            }
        with warnings.catch_warnings():
            # index_col=False: rows longer than the header are an error, not an index that
            # pandas would silently build from their first fields
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), dtype=dtype, sep=sep, decimal=decimal, index_col=False
            )
    except pd.errors.ParserWarning:
        raise DataError(
            f"read_table cannot parse {str(path)!r} as CSV (separator {sep!r}): some rows have "
            f"more fields than the header's {len(header)}. Fix those rows (an unquoted "
            "separator inside a value, usually), or pass sep=... if the separator is another."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"read_table: {str(path)!r} has no columns to read. Export the table again."
        ) from None
    except (pd.errors.ParserError, ValueError) as err:
        raise DataError(
            f"read_table cannot parse {str(path)!r} as CSV (separator {sep!r}): "
            f"{_first_line(err)}. A quote that is never closed, or a row with more fields "
            "than the header, usually causes this; fix that line, or pass sep=... if the "
            "separator is another."
        ) from None
    if len(frame.columns) == 1 and any(c in str(frame.columns[0]) for c in ";,\t|"):
        raise DataError(
            f"read_table read {str(path)!r} as a single column {str(frame.columns[0])!r}: the "
            f"separator is not {sep!r}. Pass sep=... (e.g. sep=';' and decimal=',' for Danish "
            "Excel exports)."
        )
    frame.attrs["csv"] = {"sep": sep, "decimal": decimal, "encoding": used}
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


def _coerce(
    frame: pd.DataFrame, spec: dict[str, Any], path: Path, offset: int | None
) -> pd.DataFrame:
    """Rename columns to the schema's case and convert them to the schema's types.

    Every value that cannot be converted is collected first, so that one error
    lists them all (with the file's line numbers when ``offset`` is given).
    """
    fields = {f["name"]: f for f in spec["fields"]}
    by_lower = {name.lower(): name for name in fields}
    rename = {
        c: by_lower[str(c).lower()]
        for c in frame.columns
        if c not in fields and str(c).lower() in by_lower
    }
    out = frame.rename(columns=rename)
    comma = frame.attrs.get("csv", {}).get("decimal") == ","
    problems: list[dict[str, Any]] = []
    for name, field in fields.items():
        if name not in out.columns:
            continue
        col = out[name]
        type_ = field.get("type")
        if comma and type_ == "number" and col.dtype == object:
            # pandas applies decimal="," only to columns it parses as numbers throughout
            col = col.str.replace(",", ".", regex=False)
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
        except (TypeError, ValueError):
            bad = _unconvertible(col, type_)
            problems.append(
                {
                    "column": name,
                    "rule": "type",
                    "n_rows": int(bad.sum()),
                    "rows": out.index[bad][:5].tolist(),
                    "values": col[bad][:5].tolist(),
                    "message": f"cannot be read as {type_}",
                }
            )
    if problems:
        where = "lines" if offset is not None else "rows"
        lines = [
            f"read_table: {len(problems)} column(s) of {str(path)!r} cannot be read as the "
            f"{spec['name']!r} schema requires:"
        ]
        for p in problems:
            at = [int(r) + offset for r in p["rows"]] if offset is not None else p["rows"]
            p[where] = at
            lines.append(
                f"  - Column {p['column']!r} of {str(path)!r} {p['message']}: {p['n_rows']} "
                f"value(s), first at "
                f"{where} {at}: {show_value(p['values'], 100)}"
            )
        lines.append("Fix those values in the file (or the column's type in the export).")
        raise SchemaError("\n".join(lines), pd.DataFrame(problems))
    return out


def _unconvertible(col: pd.Series, type_: Any) -> np.ndarray:
    """Mask of the values of ``col`` that do not convert to ``type_``."""
    notna = col.notna().to_numpy()
    if type_ == "boolean":
        known = col.isin(list(_BOOLEANS)).to_numpy()
        return notna & ~known
    numeric = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = notna & np.isnan(numeric)
    if type_ in ("integer", "year"):
        with np.errstate(invalid="ignore"):
            bad |= notna & ~np.isnan(numeric) & (numeric != np.round(numeric))
    return bad


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


_BOOLEANS: dict[Any, bool] = {
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


def _to_boolean(col: pd.Series) -> pd.Series:
    converted = col.map(_BOOLEANS, na_action="ignore")
    unknown = col.notna() & converted.isna()
    if unknown.any():
        raise ValueError(f"values {col[unknown].unique()[:3].tolist()} are not booleans (0/1)")
    return converted.astype("boolean")
