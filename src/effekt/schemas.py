"""Machine-readable schemas of the canonical tables, and validation against them.

The schemas in ``data_schemas/`` are `Frictionless Table Schemas
<https://specs.frictionlessdata.io/table-schema/>`_ (JSON). We chose Table Schema
over plain JSON Schema because it describes *tables*: typed columns with units,
primary and foreign keys, missing-value markers and per-column constraints, and
it is read by tools in R, Python and JavaScript, so an analyst on Statistics
Denmark's servers can check a SAS export without effekt.

The validator here implements the subset of the specification the schemas use
(types ``string, integer, number, boolean, date, year``; constraints ``required,
unique, minimum, maximum, enum, pattern``; ``primaryKey``; ``fieldsMatch``) with
vectorised pandas operations. The reference implementation, ``frictionless``,
validates row by row, which is too slow for register-sized tables (tens of
millions of rows) and brings many dependencies.

Two effekt extensions are used: ``requiredColumns`` (columns that must be
present even though missing values are allowed in them) and, per field,
``denominator`` (the person-count column a share rests on, for disclosure
control).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import (
    ParameterError,
    SchemaError,
    check_columns,
    check_keywords,
    show_value,
)

__all__ = ["document_problems", "list_schemas", "load_schema", "validate"]

_MAX_EXAMPLES = 5
_MAX_VIOLATIONS_SHOWN = 20


def _schema_dir() -> Path:
    """Folder holding the schemas: inside the installed package, else the checkout root."""
    packaged = Path(str(resources.files("effekt"))) / "data_schemas"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "data_schemas"  # editable install
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "effekt's data_schemas/ folder was found neither in the installed package nor in the "
        "source checkout; reinstall effekt."
    )


def list_schemas() -> list[str]:
    """Names of the schemas shipped with effekt.

    Returns
    -------
    list of str
        For example ``['area_year', 'areas', 'effect_table', 'interventions', 'persons']``.

    Examples
    --------
    >>> import effekt as ek
    >>> "area_year" in ek.list_schemas()
    True
    """
    return sorted(
        p.name.removesuffix(".schema.json")
        for p in _schema_dir().glob("*.schema.json")
        if "fields" in json.loads(p.read_text(encoding="utf-8"))  # a Table Schema, not a file's
    )


def document_problems(document: Any, name: str) -> list[str]:
    """Every violation of the JSON Schema ``data_schemas/<name>.schema.json`` by ``document``.

    For the schemas of files rather than tables (``study``: a study file;
    ``expected``: the published numbers of a replication package), checked with
    ``jsonschema`` (Draft 2020-12). Each problem names its place in the document.

    Parameters
    ----------
    document : object
        The parsed file (from JSON or TOML).
    name : str
        ``"study"`` or ``"expected"``.

    Returns
    -------
    list of str
        Empty when the document conforms.

    Examples
    --------
    >>> from effekt.schemas import document_problems
    >>> document_problems({"outcomes": ["neet_share"]}, "study")
    ["the top level: 'treatment' is a required property"]
    """
    import jsonschema

    schema = json.loads(_json_schema_text(name))
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        where = path.lstrip(".") or "the top level"
        message = err.message
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            from difflib import get_close_matches

            allowed = list(err.schema.get("properties", {}))
            unknown = [k for k in err.instance if k not in allowed]
            hints = [
                f"{k!r} (did you mean {close[0]!r}?)" if close else repr(k)
                for k in unknown
                for close in [get_close_matches(str(k), allowed, n=1)]
            ]
            message = f"unknown key(s) {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
        problems.append(f"{where}: {message}")
    return problems


@cache
def _json_schema_text(name: str) -> str:
    path = _schema_dir() / f"{name}.schema.json"
    if not path.is_file() or "fields" in json.loads(path.read_text(encoding="utf-8")):
        raise ParameterError(
            f"The 'name' argument must name one of effekt's file schemas ('study', 'expected'). "
            f"Got {name!r} instead."
        )
    return path.read_text(encoding="utf-8")


@cache
def _load(name: str) -> str:
    path = _schema_dir() / f"{name}.schema.json"
    if not path.is_file() or name not in list_schemas():
        raise ParameterError(
            f"The 'schema' argument must name one of effekt's schemas "
            f"({', '.join(list_schemas())}). Got {name!r} instead."
        )
    return path.read_text(encoding="utf-8")


@cache
def _schema_names() -> list[str]:
    return list_schemas()


def _check_schema_name(name: Any, argument: str = "schema") -> None:
    """A schema name is one string; a list (``["area_year"]``) is a common slip."""
    names = _schema_names()
    if isinstance(name, str) and name in names:
        return
    from difflib import get_close_matches

    if isinstance(name, list | tuple) and len(name) == 1 and isinstance(name[0], str):
        hint = f" Pass one name as a string, e.g. {argument}={name[0]!r}."
    elif isinstance(name, str):
        close = get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
    else:
        hint = " Pass one name as a string."
    raise ParameterError(
        f"The {argument!r} argument must name one of effekt's schemas ({', '.join(names)}). "
        f"Got {show_value(name)} instead.{hint}"
    )


@check_keywords
def load_schema(name: str) -> dict[str, Any]:
    """Return the Table Schema ``name`` as a dictionary (a fresh copy).

    Parameters
    ----------
    name : str
        One of :func:`list_schemas`.

    Returns
    -------
    dict
        The parsed JSON schema, with ``fields``, ``primaryKey`` and ``version``.

    Examples
    --------
    >>> import effekt as ek
    >>> ek.load_schema("areas")["primaryKey"]
    ['area_id']
    """
    _check_schema_name(name, "name")
    return json.loads(_load(name))


@dataclass(frozen=True)
class _Violation:
    column: str
    rule: str
    rows: list[Any]
    values: list[Any]
    n_rows: int
    message: str


def _examples(
    frame: pd.DataFrame, mask: pd.Series, column: str
) -> tuple[list[Any], list[Any], int]:
    hit = frame.index[mask.to_numpy()]
    values = frame.loc[hit[:_MAX_EXAMPLES], column].tolist() if column in frame else []
    return hit[:_MAX_EXAMPLES].tolist(), values, int(mask.sum())


def _type_ok(series: pd.Series, type_: str) -> tuple[bool, pd.Series | None]:
    """Check a column's type. Returns (dtype acceptable, mask of bad values or None)."""
    notna = series.notna()
    if type_ in ("integer", "year"):
        if pd.api.types.is_bool_dtype(series):
            return False, None
        if pd.api.types.is_integer_dtype(series):
            return True, None
        if pd.api.types.is_float_dtype(series):  # integral floats are integers with NaN
            values = series.to_numpy(dtype=float, na_value=np.nan)
            bad = notna & ~pd.Series(
                np.isfinite(values) & (np.floor(values) == values), series.index
            )
            return True, bad
        return False, None
    if type_ == "number":
        ok = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        return ok, None
    if type_ == "boolean":
        if pd.api.types.is_bool_dtype(series):
            return True, None
        if series.dtype == object:
            bad = notna & ~series.map(lambda v: isinstance(v, bool | np.bool_))
            return True, bad
        return False, None
    if type_ == "string":
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            if series.dtype != object:
                return True, None
            bad = notna & ~series.map(lambda v: isinstance(v, str))
            return True, bad
        return False, None
    if type_ == "date":
        if pd.api.types.is_datetime64_any_dtype(series):
            return True, None
        return False, None
    raise NotImplementedError(f"Table Schema type {type_!r} is not supported by effekt's validator")


#: Tables whose numbers may be infinite: estimates carry unbounded intervals (HonestDiD's
#: identified sets, conformal inversions). In the data tables an infinity is an error.
_MAY_BE_INFINITE = frozenset({"effect_table"})


def _check_field(
    frame: pd.DataFrame, field: dict[str, Any], finite: bool = True
) -> list[_Violation]:
    name = field["name"]
    series = frame[name]
    out: list[_Violation] = []

    def add(rule: str, mask: pd.Series, what: str) -> None:
        rows, values, n = _examples(frame, mask, name)
        if n:
            out.append(_Violation(name, rule, rows, values, n, what))

    type_ = field.get("type", "string")
    ok, bad = _type_ok(series, type_)
    if not ok:
        out.append(
            _Violation(
                name,
                "type",
                [],
                [str(series.dtype)],
                len(series),
                f"must be of type {type_!r}, but the column has dtype {series.dtype}",
            )
        )
        return out  # value checks are meaningless on the wrong type
    if bad is not None:
        add("type", bad, f"must hold {type_} values")

    cons = field.get("constraints", {})
    notna = series.notna()
    if cons.get("required"):
        add("required", ~notna, "must not be missing")
    if cons.get("unique"):
        add("unique", notna & series.duplicated(keep=False), "must be unique")
    if "enum" in cons:
        allowed = cons["enum"]
        listed = (
            f"one of {allowed}"
            if len(allowed) <= 12
            else f"one of the {len(allowed)} codes listed in the schema"
        )
        add("enum", notna & ~series.isin(allowed), f"must be {listed}")
    if "pattern" in cons and type_ == "string":
        text = series.astype("string")
        matches = text.str.fullmatch(cons["pattern"]).fillna(True).astype(bool)
        add("pattern", notna & ~matches, f"must match the pattern {cons['pattern']!r}")
    numeric = type_ in ("integer", "year", "number")
    if finite and type_ == "number" and pd.api.types.is_float_dtype(series):
        # Table Schema allows INF in numbers; an infinite share or count is always an error
        infinite = pd.Series(np.isinf(series.to_numpy(dtype=float, na_value=np.nan)), frame.index)
        add("finite", infinite, "must be finite (it holds inf or -inf)")
    if numeric and "minimum" in cons:
        add("minimum", notna & (series < cons["minimum"]), f"must be >= {cons['minimum']}")
    if numeric and "maximum" in cons:
        add("maximum", notna & (series > cons["maximum"]), f"must be <= {cons['maximum']}")
    return out


@check_keywords
def validate(
    frame: pd.DataFrame,
    schema: str,
    *,
    extra_columns: Literal["forbid", "allow"] | None = None,
    outcomes: dict[str, str] | None = None,
    required: Sequence[str] = (),
    _line_offset: int | None = None,
) -> pd.DataFrame:
    """Validate a table against one of effekt's schemas.

    Every rule is checked and every violation reported at once, so a table can
    be fixed in one pass. The frame is not modified.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to check.
    schema : str
        Schema name, one of :func:`list_schemas` (``"areas"``, ``"area_year"``,
        ``"interventions"``, ``"persons"``, ``"effect_table"``).
    extra_columns : {"forbid", "allow"}, optional
        Whether columns absent from the schema are violations. The default follows
        the schema's ``fieldsMatch``: canonical tables forbid unknown columns (a
        misspelt column is then caught), the effect table allows them.
    outcomes : dict of str to str, optional
        Outcomes of the analyst's own (``{"gang_share": "pop_15_25"}``) that the
        schema does not list, each with the person-count column it rests on (its
        ``denominator``, used by disclosure control and by the study's counts).
        They are checked as non-negative numbers and their denominators as
        non-negative integers; every other unknown column is still an error (with
        a "did you mean" for the canonical names). A study passes its
        ``denominators`` here, so that ``validate`` and ``Study.run`` agree.
    required : sequence of str, optional
        Columns that must be present for the use at hand although the schema
        lets them be absent (e.g. ``kommune_code`` and the outcomes' denominators
        for a study: ``Study.required_columns()``).

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself, unchanged, so the call can be chained.

    Raises
    ------
    SchemaError
        Listing every violation: column, rule, number of rows, the first row
        labels and values (capped). ``err.violations`` holds them as a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> import effekt as ek
    >>> areas = pd.DataFrame({"area_id": ["a1"], "name": ["Vollsmose"],
    ...                       "kommune_code": [461], "region_code": [1083]})
    >>> ek.validate(areas, "areas").shape
    (1, 4)
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            f"validate() needs a pandas DataFrame as 'frame'. Got {type(frame).__name__} instead."
        )
    _check_schema_name(schema)
    if isinstance(frame.columns, pd.MultiIndex):
        raise SchemaError(
            f"The frame has MultiIndex columns (e.g. {show_value(frame.columns[0])}); the "
            f"{schema!r} schema names flat columns. Flatten them first, e.g. frame.columns = "
            "['_'.join(map(str, c)) for c in frame.columns]."
        )
    spec = load_schema(schema)
    fields = {f["name"]: f for f in spec["fields"]}
    declared = _declared_outcomes(outcomes, fields, schema)
    fields.update(declared)
    required = list(check_columns("required", "validate", list(required)))
    if extra_columns is None:
        extra_columns = "forbid" if spec.get("fieldsMatch", "superset") == "superset" else "allow"
    if extra_columns not in ("forbid", "allow"):
        raise ParameterError(
            f"The 'extra_columns' parameter of validate must be 'forbid' or 'allow'. "
            f"Got {extra_columns!r} instead."
        )

    violations: list[_Violation] = []
    columns = [str(c) for c in frame.columns]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        violations.append(
            _Violation(
                ", ".join(dupes),
                "duplicate column",
                [],
                dupes,
                len(dupes),
                "appears more than once in the frame",
            )
        )
    required_cols = set(spec.get("primaryKey", [])) | set(spec.get("requiredColumns", []))
    required_cols |= {n for n, f in fields.items() if f.get("constraints", {}).get("required")}
    required_cols |= set(required) | set(declared)
    for name in dict.fromkeys([*fields, *required]):
        if name in required_cols and name not in frame.columns:
            violations.append(
                _Violation(
                    name,
                    "missing column",
                    [],
                    [],
                    0,
                    "is required but the frame has no such column",
                )
            )
    if extra_columns == "forbid":
        from difflib import get_close_matches

        for col in columns:
            if col not in fields:
                close = get_close_matches(col, list(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                violations.append(
                    _Violation(
                        col, "unknown column", [], [], 0, f"is not in the {schema!r} schema{hint}"
                    )
                )
    if not dupes:
        for name, field in fields.items():
            if name in frame.columns:
                violations.extend(_check_field(frame, field, schema not in _MAY_BE_INFINITE))
        key = [k for k in spec.get("primaryKey", []) if k in frame.columns]
        if len(key) > 1 and len(key) == len(spec["primaryKey"]):
            mask = frame.duplicated(subset=key, keep=False)
            rows, _, n = _examples(frame, mask, key[0])
            if n:
                values = frame.loc[rows, key].to_dict("records")
                violations.append(
                    _Violation(
                        "+".join(key), "primary key", rows, values, n, "must identify rows uniquely"
                    )
                )
    if violations:
        raise _schema_error(schema, spec, violations, len(frame), _line_offset)
    return frame


def _declared_outcomes(
    outcomes: Any, fields: dict[str, dict[str, Any]], schema: str
) -> dict[str, dict[str, Any]]:
    """Schema fields for an analyst's own outcomes and their denominators."""
    if outcomes is None:
        return {}
    if not isinstance(outcomes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in outcomes.items()
    ):
        raise ParameterError(
            "The 'outcomes' parameter of validate must be a dict of outcome column to its "
            f"denominator column, e.g. {{'gang_share': 'pop_15_25'}}. Got {show_value(outcomes)} "
            "instead."
        )
    out: dict[str, dict[str, Any]] = {}
    for name, denominator in outcomes.items():
        canonical = fields.get(name)
        if canonical is not None:
            if canonical.get("denominator", denominator) != denominator:
                raise ParameterError(
                    f"The outcome {name!r} is a column of the {schema!r} schema with the "
                    f"denominator {canonical['denominator']!r}; it cannot be declared with "
                    f"{denominator!r}. Leave it out of 'outcomes' (or name your own outcome "
                    "differently)."
                )
            continue
        out[name] = {
            "name": name,
            "type": "number",
            "denominator": denominator,
            "constraints": {"minimum": 0},
        }
        if denominator not in fields and denominator not in outcomes:
            out[denominator] = {
                "name": denominator,
                "type": "integer",
                "constraints": {"minimum": 0},
            }
    return out


def _schema_error(
    schema: str, spec: dict[str, Any], found: list[_Violation], n: int, offset: int | None = None
) -> SchemaError:
    """The message; with ``offset`` (read_table), rows are also shown as the file's lines."""
    table = pd.DataFrame(
        [
            {
                "column": v.column,
                "rule": v.rule,
                "n_rows": v.n_rows,
                "rows": v.rows,
                "values": v.values,
                "message": v.message,
            }
            for v in found
        ]
    )
    if offset is not None:  # row positions of a freshly read file + header = its line numbers
        table["lines"] = [[int(r) + offset for r in v.rows] for v in found]
    lines = [
        f"The frame does not conform to the {schema!r} schema (version {spec.get('version')}): "
        f"{len(found)} violation(s) in {n} row(s)."
    ]
    for v in found[:_MAX_VIOLATIONS_SHOWN]:
        where = ""
        if v.rows and offset is not None:
            at = [int(r) + offset for r in v.rows]
            where = f" ({v.n_rows} row(s); first at lines {at}, values {show_value(v.values, 100)})"
        elif v.rows:
            where = f" ({v.n_rows} row(s); first rows {v.rows}, values {show_value(v.values, 100)})"
        elif v.rule == "type":
            where = f" (dtype {v.values[0]})"
        lines.append(f"  - column {v.column!r} {v.message}{where} [{v.rule}]")
    if len(found) > _MAX_VIOLATIONS_SHOWN:
        lines.append(f"  ... and {len(found) - _MAX_VIOLATIONS_SHOWN} more; see err.violations.")
    lines.append(
        f"Fix the listed columns of the frame, or see data_schemas/{schema}.schema.json "
        f"(effekt.load_schema({schema!r})) for every column's definition."
    )
    return SchemaError("\n".join(lines), table)
