"""The compound registry as the warehouse holds it."""

import dagster as dg
import polars as pl

from assets.common import OWNERS, frame_metadata, table_results, table_specs
from ingest.filehash import cached_file_sha256
from pipelines.inputs import REGISTRY_DTYPES, read_registry, registry_file
from pipelines.resources import WAREHOUSE_POOL, RunFolders, Warehouse

REGISTRY_SOURCE = "ops.registry_source"  # the digest of the file (and format) core.compounds was loaded from
SIDE_TABLES = {REGISTRY_SOURCE: "The digest of the registry file (and loading format) core.compounds was loaded from: "
                                "an unchanged file is not loaded again."}
LOAD_VERSION = 1  # bump when read_registry changes what it makes of a file


def _source_key(folders: RunFolders) -> str | None:
    """The registry file's digest with the loading format, or None when there is no file."""
    path = registry_file(folders.data)
    if path is None:
        return None
    digest = cached_file_sha256(path, folders.out / ".cache" / "registry.sha256.json")
    return f"{LOAD_VERSION}:{path.name}:{digest}:{sorted((k, str(v)) for k, v in REGISTRY_DTYPES.items())}"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["core", "compounds"], group_name="sources", kinds={"duckdb", "polars"}, owners=OWNERS,
                     description="Every residential compound (小区) that can be rated: name, aliases, district/"
                                 "street/community/grid, address, households, population and centroid, as the "
                                 "registry file says. Loaded again only when the file (or how it is loaded) changed."),
        *table_specs("sources", SIDE_TABLES),
    ],
    pool=WAREHOUSE_POOL,
)
def compounds(warehouse: Warehouse, folders: RunFolders):
    """The compound registry (DATA_DIR/compounds.csv or .parquet) into core.compounds."""
    key = _source_key(folders)
    head = None
    if key is not None and warehouse.has_table("core.compounds") and warehouse.has_table(REGISTRY_SOURCE):
        with warehouse.connect(read_only=True) as conn:
            if conn.sql(f"SELECT key FROM {REGISTRY_SOURCE}").fetchall() == [(key,)]:
                head = conn.sql("SELECT * FROM core.compounds ORDER BY compound_id LIMIT 10").pl()
    if head is not None:  # the registry file did not change: core.compounds stands
        yield dg.MaterializeResult(asset_key=["core", "compounds"], metadata={
            **frame_metadata(head), "dagster/row_count": dg.MetadataValue.int(warehouse.count("core.compounds")),
            "reloaded": False})
    else:
        frame = read_registry(folders.data)
        with warehouse.transaction() as w:
            w.replace_table("core.compounds", frame)
            w.replace_table(REGISTRY_SOURCE, pl.DataFrame({"key": [key]}, schema={"key": pl.String}))
        yield dg.MaterializeResult(asset_key=["core", "compounds"], metadata={**frame_metadata(frame), "reloaded": True})
    yield from table_results(warehouse, SIDE_TABLES)
