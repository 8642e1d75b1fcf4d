"""The compound registry as the warehouse holds it."""

import dagster as dg

from assets.common import OWNERS, frame_metadata
from pipelines.inputs import read_registry
from pipelines.resources import RunFolders, Warehouse


@dg.asset(
    key=["core", "compounds"],
    group_name="sources",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
)
def compounds(warehouse: Warehouse, folders: RunFolders) -> dg.MaterializeResult:
    """Every residential compound (小区) that can be rated: name, aliases, district/street/
    community/grid, address, households, population and centroid, as the registry file says."""
    frame = read_registry(folders.data)
    with warehouse.transaction() as w:
        w.replace_table("core.compounds", frame)
    return dg.MaterializeResult(metadata=frame_metadata(frame))
