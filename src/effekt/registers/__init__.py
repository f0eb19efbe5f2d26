"""From person registers to area-year indicators, as on Statistics Denmark's research servers.

:func:`area_indicators` takes the person-level registers of the register contract
(``bef`` population, ``udda`` education, ``ras`` labour-market status, ``ind``
income, ``krsi`` charges, ``kraf`` court decisions, ``anbringelser`` children placed
out of home; their Table Schemas are ``data_schemas/register_<name>.schema.json``)
and returns the ``area_year`` table: the official list criteria, the outcome
indicators and the person counts every share rests on, for the whole area
population or for a fixed cohort of baseline stayers.

Why DuckDB (``pip install 'effekt[registers]'``) and not pandas or Polars
-------------------------------------------------------------------------
The job is a handful of joins on ``PNR x AAR`` and grouped counts over tens of
millions of person-years, on servers where analysts share a few cores and have
RAM to match, and where the surrounding work is written in SAS.

- **SQL close to SAS PROC SQL.** The indicator definitions are readable SQL
  (``count_if(age BETWEEN 18 AND 64 AND SOCIO13 IN (210, 330, 410))``) that an
  analyst or a methods referee can check line by line against the definitions,
  and port to PROC SQL if needed.
- **Out of core.** DuckDB scans Parquet and CSV files directly, pushes year
  filters into the scan and spills joins and aggregations to disk beyond its
  memory limit, so registers larger than RAM work. pandas must hold every table
  and every merge result in memory at once. Polars' lazy streaming engine can
  also work beyond memory; it lost on the two other points: its expression API
  is further from what register analysts read than SQL, and it would add a
  second dataframe library next to pandas for users who never see it.
- **pandas in and out through Arrow.** DataFrames are registered with DuckDB
  without copying (Arrow buffers are read in place, nothing is iterated in
  Python) and only the small area-year result is converted back.
- **One dependency.** DuckDB is a single wheel without further dependencies and
  runs in-process; there is no server to install on a locked-down machine.

No loop runs over persons or years in Python: each step is one SQL statement.
The default memory cap is half of physical memory (``memory_limit``), leaving
room for the pandas frames DuckDB reads in place; DuckDB uses all cores unless
``threads`` says otherwise.

Examples
--------
>>> import effekt as ek
>>> ek.load_schema("register_ras")["primaryKey"]
['PNR', 'AAR']
"""

from __future__ import annotations

from effekt.registers._children import children
from effekt.registers._core import RegisterSource, area_indicators
from effekt.registers._inputs import REGISTER_NAMES

__all__ = ["REGISTER_NAMES", "RegisterSource", "area_indicators", "children"]
