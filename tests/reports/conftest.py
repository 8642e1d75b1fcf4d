"""Shared small frames for the map and report tests."""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from reports.analyst import trend_counts_sql
from tests.reports import fakecity

AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="session")
def city():
    """A 300-compound city on Xiamen's real divisions, with four rating dates."""
    comp = fakecity.compounds(300)
    hist = fakecity.history(comp, AS_OF)
    cur = hist.filter(pl.col("as_of") == AS_OF)
    prev_date = hist["as_of"].unique().sort()[-2]
    prev = hist.filter(pl.col("as_of") == prev_date)
    return {
        "compounds": comp,
        "polygons": fakecity.polygons(comp),
        "outlines": fakecity.outlines(),
        "history": hist,
        "trend": trend_counts(hist),
        "ratings": cur,
        "previous": prev,
        "changes": fakecity.changes(cur, prev),
        "explanations": fakecity.explanations(cur),
        "stats_prev": fakecity.public_stats(comp, prev_date, seed=1),
        # two real common problems (the rest is chance): what the list and the map must show
        "stats_cur": fakecity.public_stats(comp, AS_OF, seed=2, boost=_planted(comp)),
    }


def _planted(comp: pl.DataFrame) -> dict:
    """诈骗 up by 3 a compound in the largest street, 盗窃 by 2 in the second largest."""
    streets = comp["street"].value_counts(sort=True)["street"].to_list()
    return {(streets[0], "诈骗"): 3, (streets[1], "盗窃"): 2}


def trend_counts(history: pl.DataFrame) -> pl.DataFrame:
    """The report's trend rows of a ratings history, by the query the asset runs on the warehouse."""
    with duckdb.connect() as conn:
        conn.register("history", history.to_arrow())
        return conn.sql(trend_counts_sql("history"), params=[AS_OF]).pl()
