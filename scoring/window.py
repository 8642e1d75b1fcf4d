"""The rating window: which incidents count on a rating date, and how much each weighs."""
from __future__ import annotations

import calendar
import math
from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import SOURCES
from schemas.events import AttributedEvent as AE
from scoring.rules import Rules

UNKNOWN = "(unknown)"


def add_months(d: date, months: int) -> date:
    """`d` shifted by whole calendar months, the day clamped to the month's length."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def window_start(as_of: date, rules: Rules) -> date:
    """First counted day: the window is (as_of - months, as_of], i.e. [start, as_of]."""
    return add_months(as_of, -rules.window.months) + timedelta(days=1)


def category_codes(rules: Rules) -> list[str]:
    """Category codes in a fixed order; `cat` columns index into it (last: unknown codes)."""
    return [*rules.categories, UNKNOWN]


def source_keys() -> list[str]:
    """Source keys in a fixed order; `src` columns index into it (last: anything else)."""
    return [*SOURCES, UNKNOWN]


EPOCH = date(1970, 1, 1)


def epoch_day(d: date) -> int:
    """Days since 1970-01-01: Polars' physical Date, used for cheap integer date arithmetic."""
    return (d - EPOCH).days


def in_window(as_of: date, rules: Rules) -> pl.Expr:
    """occurred_at on a day in [window start, as_of] (compared as datetimes: no cast)."""
    t = pl.col(AE.occurred_at)
    lo = datetime.combine(window_start(as_of, rules), time())
    hi = datetime.combine(as_of + timedelta(days=1), time())
    return (t >= lo) & (t < hi)


def _counted_filter(as_of: date, rules: Rules) -> pl.Expr:
    return pl.col(AE.compound_id).is_not_null() & (pl.col(AE.method) != "excluded") & in_window(as_of, rules)


def counted_events(events: DataFrame[AE] | pl.LazyFrame, rules: Rules, as_of: date,
                   compound_ids: pl.Series) -> pl.DataFrame:
    """Incidents that count on `as_of`, as compact integer-coded rows (registry compounds only).

    Counted: placed in a registry compound, not excluded, occurred in the window.
    Columns: `_i` (row in `events`), `cidx` (Int64 row of the compound in `compound_ids`), `cat` (index into
    `category_codes`), `src` (index into `source_keys`), `day` (Int32 `epoch_day`),
    `weight` = severity x recency, where recency halves every half-life of age. Unknown
    category codes weigh like one theft rather than vanishing (ingestion should have
    quarantined them). `event_id` is unique by contract (checked by the AttributedEvent
    model upstream), so there is no de-duplication here. One fused Polars pass: the string
    work (two code lookups, one join) is the only per-incident cost that cannot be avoided.
    """
    codes = category_codes(rules)
    sev = pl.Series([*rules.categories.values(), rules.categories.get("theft", 1.0)], dtype=pl.Float64)
    srcs = source_keys()
    day = pl.col(AE.occurred_at).cast(pl.Date).cast(pl.Int32)
    coded = events.lazy().with_row_index("_i").filter(_counted_filter(as_of, rules)).select(
        "_i", AE.compound_id, AE.category_code, AE.source,
        _code_index(AE.category_code, codes, pl.UInt16).alias("cat"),
        _code_index(AE.source, srcs, pl.UInt8).alias("src"),
        day.alias("day"),
    )
    return (
        in_registry(coded, compound_ids)
        .select(
            "_i", "cidx",
            _confirm("cat", AE.category_code, codes, pl.UInt16),
            _confirm("src", AE.source, srcs, pl.UInt8),
            "day",
        )
        .with_columns(
            (pl.lit(sev).gather(pl.col("cat"))
             * (-(epoch_day(as_of) - pl.col("day")).cast(pl.Float64) * (math.log(2) / rules.window.half_life_days)).exp()
             ).alias("weight"),
        )
        .collect()
    )


def in_registry(frame: pl.LazyFrame, compound_ids: pl.Series) -> pl.LazyFrame:
    """The rows of ``frame`` whose compound_id is one of ``compound_ids``, with ``cidx`` (Int64:
    its position there). Strings are matched through their 64-bit hashes (integer joins are
    several times cheaper than string ones on 10M rows); every match is then confirmed on the
    string itself, so a hash collision can only drop a row, never misplace it."""
    known = pl.Series(AE.compound_id, compound_ids, dtype=pl.String)
    ids = pl.LazyFrame({"_h": known.hash(_SEED)}).with_row_index("cidx")
    return (
        frame.with_columns(pl.col(AE.compound_id).hash(_SEED).alias("_h"))
        .join(ids, on="_h", how="inner")
        .filter(pl.lit(known).gather(pl.col("cidx")) == pl.col(AE.compound_id))
        .drop("_h")
        .with_columns(pl.col("cidx").cast(pl.Int64))
    )


_SEED = 20261120


def _code_index(col: str, keys: list[str], dtype: pl.DataType) -> pl.Expr:
    """Index of `col` in `keys` (the last key stands for anything else).

    A perfect hash: the smallest modulus M under which the keys' 64-bit hashes are
    distinct turns the lookup into arithmetic and one gather from an M-slot table. A string
    outside `keys` lands on some slot; `_confirm` sends it to the last index.
    """
    hashed = pl.Series(keys[:-1], dtype=pl.String).hash(_SEED).to_numpy()
    m = next(m for m in range(max(len(hashed), 1), 1 << 20) if len(set((hashed % m).tolist())) == len(hashed))
    lut = np.full(m, len(keys) - 1, dtype=np.int64)
    lut[hashed % m] = np.arange(len(hashed))
    return pl.lit(pl.Series(lut).cast(dtype)).gather(pl.col(col).hash(_SEED) % m)


def _confirm(idx: str, col: str, keys: list[str], dtype: pl.DataType) -> pl.Expr:
    """`idx` when keys[idx] really is the row's string, else the last ("unknown") index."""
    ok = pl.lit(pl.Series(keys)).gather(pl.col(idx)) == pl.col(col)
    return pl.when(ok).then(pl.col(idx)).otherwise(pl.lit(len(keys) - 1, dtype=dtype)).alias(idx)
