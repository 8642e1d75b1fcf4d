"""Table-level asset checks that guard what may be published."""
from datetime import date
from pathlib import Path

import dagster as dg

from assets.ratings import ratings
from pipelines.resources import Warehouse
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating

SQL = Path(__file__).with_name("sql")
PUBLIC_COLUMNS = {
    "marts.ratings": set(Rating.to_schema().columns),
    "marts.public_stats": set(CompoundPublicStats.to_schema().columns),
    "marts.public_monthly": set(CompoundMonthly.to_schema().columns),
}


@dg.asset_check(asset=ratings, blocking=True, description=(
    "Public tables hold only their contract's columns (no description, address, name of a "
    "person, phone or ID column) and no value that looks like an ID or mobile number."))
def no_personal_data_in_public_tables(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    as_of = date.fromisoformat(context.partition_key) if context.has_partition_key else None
    with warehouse.connect(read_only=True) as conn:
        extra = {}
        for table, allowed in PUBLIC_COLUMNS.items():
            schema, name = table.split(".")
            columns = {r[0] for r in conn.sql(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                params=[schema, name]).fetchall()}
            if columns - allowed:
                extra[table] = sorted(columns - allowed)
        hits = conn.sql((SQL / "public_pii.sql").read_text(), params=[as_of, as_of]).fetchall() if as_of else []
    return dg.AssetCheckResult(
        passed=not extra and not hits,
        metadata={"unexpected_columns": str(extra), "suspicious_values": len(hits),
                  "examples": str([(t, c) for t, c, _ in hits[:5]])},
    )
