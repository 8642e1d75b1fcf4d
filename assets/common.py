"""What every asset module shares: the rating-date partitions and result metadata."""

from datetime import date

import dagster as dg
import pandera.errors
import polars as pl

OWNERS = ["team:safestar-analysts"]

# One partition per rating date, on the city's calendar (the rating date of a run at 00:30
# in Xiamen is that day, whatever the server's clock says); history is a backfill.
CITY_TZ = "Asia/Shanghai"
rating_dates = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1, timezone=CITY_TZ)


def as_of_of(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def markdown_table(frame: pl.DataFrame) -> str:
    """A frame as a Markdown table, cells cut to 40 characters."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join("" if v is None else str(v)[:40] for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *body])


def frame_metadata(frame: pl.DataFrame, preview_rows: int = 10) -> dict:
    """Row count and a Markdown preview for the Dagster UI."""
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "preview": dg.MetadataValue.md(markdown_table(frame.head(preview_rows))),
    }


def contract_check(model, frame: pl.DataFrame, check_name: str) -> dg.AssetCheckResult:
    """A pandera model's verdict on a frame as an asset check, failure cases as metadata."""
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return dg.AssetCheckResult(
            check_name=check_name, passed=False,
            metadata={"failures": len(cases), "examples": dg.MetadataValue.md(markdown_table(cases.head(10)))},
        )
    return dg.AssetCheckResult(check_name=check_name, passed=True, metadata={"rows": frame.height})


def table_specs(group: str, tables: dict[str, str], deps: list | None = None) -> list[dg.AssetSpec]:
    """Asset specs for warehouse tables a step writes beside its main table (schema.table ->
    what the table means to an analyst), so the lineage shows what downstream steps read."""
    return [dg.AssetSpec(key=table.split("."), description=description, group_name=group, kinds={"duckdb"},
                         owners=OWNERS, deps=deps or [])
            for table, description in tables.items()]


def table_results(warehouse, tables, as_of: date | None = None) -> list[dg.MaterializeResult]:
    """One materialisation per written table, with its row count (of the rating date's rows
    when `as_of` is given), counted in DuckDB."""
    def rows(table: str) -> int:
        if as_of is None:
            return warehouse.count(table)
        return int(warehouse.query(f"SELECT count(*) AS n FROM {table} WHERE as_of = ?", [as_of])["n"][0])
    with warehouse.reading():
        return [dg.MaterializeResult(asset_key=table.split("."), metadata={"dagster/row_count": rows(table)})
                for table in tables]
