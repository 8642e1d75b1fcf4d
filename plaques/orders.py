"""Print orders: the plaque actions of a batch as data, signed and ready for a pull.

The nightly run (``marts.plaque_actions``), the veto monitor (``marts.urgent_plaque_actions``)
and a key rotation (``marts.plaque_reissues``) each write orders of this shape; no print
file is made until a printer pulls (``plaques.pull``).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from plaques.keys import PlaqueSettings
from plaques.registry import ACTION_SCHEMA
from schemas.plaques import PlaqueAction

ORDER_TABLES = ("marts.plaque_actions", "marts.urgent_plaque_actions", "marts.plaque_reissues")
ORDER_SCHEMA = {"batch_id": pl.String, **ACTION_SCHEMA, "url": pl.String, "key_id": pl.String, "demo": pl.Boolean,
                "rated_on": pl.Date, "as_of": pl.Date}
PRINTING = ("new", "replace", "reissue")


def print_orders(actions: pl.DataFrame, *, batch_id: str, settings: PlaqueSettings, as_of: date) -> pl.DataFrame:
    """``actions`` (``PlaqueAction`` rows) as orders of ``batch_id``: each plaque to print gets
    the URL its QR code will hold, signed with the current key; a withdrawal gets none."""
    printing = pl.col(PlaqueAction.action).is_in(PRINTING)
    urls = [settings.keyring.url(settings.base_url, s) if a in PRINTING else None
            for s, a in zip(actions[PlaqueAction.serial], actions[PlaqueAction.action])]
    return actions.with_columns(
        pl.lit(batch_id).alias("batch_id"),
        pl.Series("url", urls, dtype=pl.String),
        pl.when(printing).then(pl.lit(settings.keyring.current.id)).otherwise(pl.lit("")).alias("key_id"),
        pl.lit(settings.demo).alias("demo"),
        pl.lit(as_of).alias("rated_on"),
        pl.lit(as_of).alias("as_of"),
    ).select([pl.col(c).cast(t) for c, t in ORDER_SCHEMA.items()])


def read_orders(out_dir: Path) -> pl.DataFrame:
    """Every print order in ``OUT_DIR/warehouse.duckdb`` (read-only), with the compound's name
    and address and, for a replaced plaque, the stars of the old one."""
    from pipelines.resources import Warehouse

    path = Path(out_dir) / "warehouse.duckdb"
    if not path.exists():
        raise FileNotFoundError(f"no warehouse in {out_dir}: pass the pipeline's --out folder, or run `safestar run` first")
    warehouse = Warehouse(path=str(path))
    try:
        tables = [t for t in ORDER_TABLES if warehouse.has_table(t)]
        if not tables or not warehouse.has_table("marts.plaques"):
            return pl.DataFrame()
        union = " UNION ALL ".join(f"SELECT {', '.join(ORDER_SCHEMA)} FROM {t}" for t in tables)
        return warehouse.query(f"""
            WITH orders AS ({union}),
            old AS (SELECT serial, any_value(stars) AS old_stars FROM marts.plaques GROUP BY serial)
            SELECT o.*, coalesce(c.name, '') AS name, coalesce(c.district, '') AS district,
                   coalesce(c.street, '') AS street, coalesce(c.address, '') AS address, old.old_stars
            FROM orders o
            LEFT JOIN core.compounds c USING (compound_id)
            LEFT JOIN old ON old.serial = o.previous_serial
            ORDER BY o.batch_id, c.district, c.street, o.compound_id, o.action, o.serial
        """)
    except duckdb.IOException as e:  # a run holds the warehouse (one writer, no readers meanwhile)
        raise ValueError(f"cannot read {path} now ({str(e).splitlines()[0]}): a run is writing it; "
                         "pull again when it has finished") from None
