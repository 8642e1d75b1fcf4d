"""The people who handle residents' needs: ``DATA_DIR/staff.csv``.

One row per person. ``role`` says which level of the grid system they work at, and the
``|``-separated area columns say what they answer for:

| role | must fill | meaning |
| --- | --- | --- |
| ``grid_worker`` (网格员) | ``grids`` | the grid codes (``Hd012``) whose needs they handle |
| ``street_supervisor`` (街道) | ``streets`` | street names as in the registry's ``street`` column |
| ``district_supervisor`` (区) | ``districts`` | district names as in the registry's ``district`` column |
| ``city_supervisor`` (市) | nothing | the whole city |
| ``department`` (部门: 派出所, 人民调解委员会 ...) | ``unit``, ``categories`` | the need categories routed straight to their unit; ``streets`` or ``districts`` optionally limit where (empty: the whole city) |

``unit`` names the office a person belongs to (for a department: the department, shared by
all its handlers, who then share one queue). Names are internal: they are shown to staff,
never on a public page.
"""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

ROLES = ["grid_worker", "street_supervisor", "district_supervisor", "city_supervisor", "department"]
# The five-character grid code: district letter, street letter, three digits.
GRID_CODE = r"^[A-Z][a-z][0-9]{3}$"
SEPARATOR = "|"
# Which area column each role must fill (city supervisors answer for everything).
REQUIRED_AREA = {"grid_worker": "grids", "street_supervisor": "streets",
                 "district_supervisor": "districts", "department": "categories"}


class StaffMember(pa.DataFrameModel):
    """One person in staff.csv, with the area they answer for."""

    staff_id: str = pa.Field(unique=True, str_matches=r"^[A-Za-z0-9_.\-]{1,64}$")
    name: str = pa.Field(str_length={"min_value": 1, "max_value": 64})
    role: str = pa.Field(isin=ROLES)
    unit: str = pa.Field(nullable=True, str_length={"max_value": 64})
    grids: str = pa.Field(nullable=True, str_matches=r"^[A-Z][a-z][0-9]{3}(\|[A-Z][a-z][0-9]{3})*$")
    streets: str = pa.Field(nullable=True)
    districts: str = pa.Field(nullable=True)
    categories: str = pa.Field(nullable=True)

    @pa.dataframe_check(error="every role fills its area column: grid_worker grids, street_supervisor "
                              "streets, district_supervisor districts, department unit and categories")
    @classmethod
    def area_filled(cls, data) -> pl.LazyFrame:
        filled = pl.lit(True)
        for role, column in REQUIRED_AREA.items():
            filled = filled & ((pl.col("role") != role) | (pl.col(column).str.strip_chars().str.len_chars() > 0))
        filled = filled & ((pl.col("role") != "department") | (pl.col("unit").str.strip_chars().str.len_chars() > 0))
        return data.lazyframe.select(filled.fill_null(False))

    class Config:
        strict = "filter"
        coerce = True


STAFF_COLUMNS = list(StaffMember.to_schema().columns)
