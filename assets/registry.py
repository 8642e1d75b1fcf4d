"""The compound registry as the warehouse holds it."""

import dagster as dg
import polars as pl

from assets.common import OWNERS, frame_metadata
from ingest.filehash import cached_file_sha256
from pipelines.inputs import REGISTRY_DTYPES, read_registry, registry_file
from pipelines.resources import RunFolders, Warehouse

REGISTRY_SOURCE = "ops.registry_source"  # the digest of the file (and format) core.compounds was loaded from
LOAD_VERSION = 1  # bump when read_registry changes what it makes of a file


def _source_key(folders: RunFolders) -> str | None:
    """The registry file's digest with the loading format, or None when there is no file."""
    path = registry_file(folders.data)
    if path is None:
        return None
    digest = cached_file_sha256(path, folders.out / ".cache" / "registry.sha256.json")
    # The compounds' grid codes are checked against grids.csv: a changed grids file re-checks them.
    grids = folders.data / "grids.csv"
    if grids.exists():
        digest += ":" + cached_file_sha256(grids, folders.out / ".cache" / "grids.sha256.json")
    return f"{LOAD_VERSION}:{path.name}:{digest}:{sorted((k, str(v)) for k, v in REGISTRY_DTYPES.items())}"


@dg.asset(
    key=["core", "compounds"],
    group_name="sources",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
)
def compounds(warehouse: Warehouse, folders: RunFolders) -> dg.MaterializeResult:
    """Every residential compound (小区) that can be rated: name, aliases, district/street/
    community/grid, address, households, population and centroid, as the registry file says.
    Loaded again only when the file (or how it is loaded) changed since the last run."""
    key = _source_key(folders)
    if key is not None and warehouse.has_table("core.compounds") and warehouse.has_table(REGISTRY_SOURCE):
        with warehouse.connect(read_only=True) as conn:
            if conn.sql(f"SELECT key FROM {REGISTRY_SOURCE}").fetchall() == [(key,)]:
                n = conn.sql("SELECT count(*) FROM core.compounds").fetchall()[0][0]
                head = conn.sql("SELECT * FROM core.compounds ORDER BY compound_id LIMIT 10").pl()
                return dg.MaterializeResult(metadata={**frame_metadata(head), "dagster/row_count": dg.MetadataValue.int(n),
                                                      "reloaded": False})
    frame = read_registry(folders.data)
    with warehouse.transaction() as w:
        w.replace_table("core.compounds", frame)
        w.replace_table(REGISTRY_SOURCE, pl.DataFrame({"key": [key]}, schema={"key": pl.String}))
    return dg.MaterializeResult(metadata={**frame_metadata(frame), "reloaded": True})
