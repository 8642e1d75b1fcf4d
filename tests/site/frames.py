"""Small, hand-made input frames for the public site and intake tests."""
from __future__ import annotations

from datetime import date

import polars as pl

from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from schemas.registry import Compound

AS_OF = date(2026, 11, 23)
GROUPS = {"盗窃": "盗窃类", "诈骗": "诈骗类", "纠纷": "纠纷类", "暴力": "暴力类", "黄赌毒": "黄赌毒类"}

# id, name, aliases, district, street, community, households, population
_REG = [
    ("XM-001", "海湾花园", "海湾小区|海湾新村", "思明区", "鹭江街道", "海岸社区", 400, 1200),
    ("XM-002", "云顶山庄", "", "思明区", "鹭江街道", "海岸社区", 300, 900),
    ("XM-003", "湖滨一里", "湖滨1里", "思明区", "滨海街道", "湖滨社区", 250, 800),
    ("XM-004", "集美学村小区", "", "集美区", "集美街道", "学村社区", 500, 1500),
    ("XM-005", "无人口小区", "", "集美区", "集美街道", "学村社区", None, None),
]
# id, index, stars, status, rules
_RATE = [
    ("XM-001", 72.5, 3, "rated", None),
    ("XM-002", 95.0, 5, "rated", None),
    ("XM-003", 40.0, 0, "vetoed", "veto:homicide"),
    ("XM-004", 81.0, 3, "downgraded", "downgrade:burglary|downgrade:fraud_den"),
    ("XM-005", None, 0, "not_rated", None),
]


def compounds() -> pl.DataFrame:
    df = pl.DataFrame(_REG, schema=["compound_id", "name", "aliases", "district", "street", "community",
                                    "households", "population"], orient="row")
    df = df.with_columns(
        pl.lit(None, pl.String).alias("district_code"), pl.lit("Sa001").alias("grid_code"),
        pl.lit("某路1号").alias("address"), pl.lit(118.1).alias("lon"), pl.lit(24.5).alias("lat"),
        pl.lit("WGS84").alias("coord_sys"),
    )
    return Compound.validate(df)


def ratings(as_of: date = AS_OF) -> pl.DataFrame:
    reg = {r[0]: r for r in _REG}
    rows = [(cid, reg[cid][1], reg[cid][3], reg[cid][4], idx, st, status, rules, "v1", as_of)
            for cid, idx, st, status, rules in _RATE]
    df = pl.DataFrame(rows, schema=["compound_id", "name", "district", "street", "safety_index", "stars",
                                    "status", "rules", "ruleset_version", "as_of"], orient="row")
    return Rating.validate(df)


def history() -> pl.DataFrame:
    old = ratings(date(2026, 6, 30)).with_columns(
        (pl.col("safety_index") - 5).clip(0, 100).alias("safety_index"))
    return Rating.validate(pl.concat([old, ratings()]))


def stats() -> pl.DataFrame:
    rows = [
        ("XM-001", "盗窃", 7), ("XM-001", "诈骗", 2), ("XM-001", "纠纷", 1), ("XM-001", "暴力", 0),
        ("XM-004", "诈骗", 12), ("XM-004", "盗窃", 4),
        ("XM-003", "暴力", 1),
    ]
    df = pl.DataFrame(rows, schema=["compound_id", "category_group", "n"], orient="row").with_columns(
        pl.lit(AS_OF).alias("as_of"))
    return CompoundPublicStats.validate(df.select("compound_id", "as_of", "category_group", "n"))


def monthly() -> pl.DataFrame:
    rows = [("XM-001", date(2026, m, 1), m % 3, 70.0 + m * 0.2) for m in range(1, 12)]
    rows += [("XM-004", date(2026, 5, 1), 5, None)]
    df = pl.DataFrame(rows, schema=["compound_id", "month", "n_events", "safety_index"], orient="row")
    return CompoundMonthly.validate(df.with_columns(pl.lit(AS_OF).alias("as_of")).select(
        "compound_id", "as_of", "month", "n_events", "safety_index"))


SECRET = "test-secret-for-site-pages-0123456789"


def plaque_registry() -> pl.DataFrame:
    """P000001/2 current, P000003 withdrawn (XM-003 vetoed), P000004 replaced by P000005."""
    rows = [("P000001", "XM-001", 3, "active", date(2026, 3, 1)), ("P000002", "XM-002", 5, "active", date(2026, 3, 1)),
            ("P000003", "XM-003", 4, "withdrawn", date(2026, 10, 2)), ("P000004", "XM-004", 5, "superseded", date(2026, 9, 1)),
            ("P000005", "XM-004", 3, "active", date(2026, 9, 1))]
    return pl.DataFrame([(s, c, st, 2026, date(2026, 3, 1), status, changed, "issued", "B1", None)
                         for s, c, st, status, changed in rows],
                        schema=["serial", "compound_id", "stars", "rating_year", "issued_on", "status",
                                "status_changed_on", "reason", "batch_id", "issue_reason"], orient="row")


# A need of this month: (closed?, on time?, the resident's rating or None).
Need = tuple[bool, bool, str | None]
NEEDS: dict[str, list[Need]] = {
    "XM-001": [(True, True, "满意")] * 3 + [(True, True, None)] + [(False, False, None)] * 2,  # 6, 4 on time, 3 满意
    "XM-002": [(False, False, None)] * 2,  # 2: 少量
    "XM-004": [(True, True, "满意")] * 3 + [(True, False, "基本满意")] * 2,  # 5 closed, 2 of them late
}
CHECKINS = {"XM-001": 4, "XM-002": 1}


def need_figures(needs: dict[str, list[Need]] | None = None, checkins: dict[str, int] | None = None,
                 below: int = 3) -> pl.DataFrame:
    """marts.compound_need_figures of the five compounds, made the nightly run's way from
    needs and check-ins of the month of AS_OF (the defaults: NEEDS and CHECKINS)."""
    from datetime import datetime, timedelta

    from governance.config import load_governance_config
    from governance.figures import compound_month_figures, need_facts
    from tests.governance.factories import Loop, checkins as checkin_rows

    loop, start = Loop(), datetime.combine(AS_OF.replace(day=1), datetime.min.time()) + timedelta(hours=8)
    for cid, rows in (NEEDS if needs is None else needs).items():
        for i, (closed, on_time, rating) in enumerate(rows):
            at = start + timedelta(minutes=i)
            n = loop.need(cid, at, hours=24)
            loop.step(n, "accept", at + timedelta(hours=1))
            if closed:
                loop.step(n, "resolve", at + timedelta(hours=2 if on_time else 30))
                loop.step(n, "close", at + timedelta(hours=40))
                if rating:
                    loop.step(n, "rate", at + timedelta(hours=41), rating=rating)
    needs_frame, events = loop.frames()
    visits = [(cid, start + timedelta(hours=k)) for cid, n in (CHECKINS if checkins is None else checkins).items()
              for k in range(n)]
    end = datetime.combine(AS_OF, datetime.max.time())
    return compound_month_figures(need_facts(needs_frame, events, end), events, checkin_rows(*visits),
                                  compounds()["compound_id"], AS_OF, load_governance_config().satisfied, below)


def appeals() -> pl.DataFrame:
    return pl.DataFrame({"compound_id": ["XM-004"], "filed_at": [date(2026, 11, 2)], "status": ["under_review"],
                         "outcome": [None], "reply_text": ["物业已加装门禁和监控，<b>欢迎</b>监督。"]},
                        schema_overrides={"outcome": pl.String})


def tables(**overrides) -> dict[str, pl.DataFrame]:
    """The publication tables of the five compounds (``public_tables``'s inputs overridable)."""
    from plaques.keys import Keyring, SigningKey
    from reports.site_data import public_tables
    from scoring.rules import load_rules

    rules = load_rules()
    registry = overrides.pop("plaques", plaque_registry())
    kw = dict(as_of=AS_OF, ratings=ratings(), compounds=compounds(), stats=stats(), monthly=monthly(),
              history=history(), suppress_below=rules.public.suppress_below, group_labels=GROUPS,
              downgrade_labels={k: v.label for k, v in rules.downgrade.items()}, plaques=registry,
              plaque_paths={s: Keyring(SigningKey.of(SECRET)).url("", s) for s in registry["serial"].to_list()},
              needs=need_figures(), appeals=appeals(),
              lapses=pl.DataFrame({"compound_id": ["XM-004"], "lapse_on": [date(2027, 5, 14)]}))
    kw.update(overrides)
    return public_tables(**kw)


def publication(folder, demo: bool = False, as_of: date = AS_OF, rules=None, **overrides):
    """A publication file of the five compounds in ``folder`` (made when missing); its path."""
    from pathlib import Path

    from reports.site_data import public_rules
    from reports.site_store import FILE_NAME, write_publication
    from scoring.rules import load_rules

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return write_publication(folder / FILE_NAME, tables(as_of=as_of, **overrides),
                             {"as_of": as_of.isoformat(), "suppress_below": "3", "demo": "1" if demo else "0",
                              "rules": public_rules(rules or load_rules())})
