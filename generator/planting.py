"""Planted rating outcomes: compounds whose expected status at each rating date is known.

At the first rating date (`end - 1`) and the second (`end`):
- vetoed: a veto-category incident earlier in the rating year (one of them only through
  the court's final classification: police 故意伤害 → court 故意伤害致人重伤);
- downgraded: burglary, gambling, drugs, prostitution, a fraud den, and one with two kinds;
- not_rated: neither population nor households;
- late_veto / late_downgrade: otherwise clean compounds whose only serious incident is
  dated exactly `end`, so only the second rating sees it;
- control: clean compounds, plus a homicide of the previous calendar year (not a veto this
  year) and a revoked homicide report (removed), both expected `rated`.
Planted points lie near the middle of the true polygon so attribution is unambiguous.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl

from generator import catalog
from generator.events import RECORD_SCHEMA, Window

VETO_PLAN = [  # (tag, [(source, code), ...]) — one incident per entry
    ("veto_homicide", [("police", "homicide"), ("procuratorate", "homicide"), ("court", "homicide")]),
    ("veto_robbery", [("police", "robbery")]),
    ("veto_chain", [("police", "assault"), ("procuratorate", "assault"), ("court", "serious_assault")]),
    ("veto_arson", [("police", "arson")]),
    ("veto_rape", [("police", "rape"), ("procuratorate", "rape")]),
]
DOWNGRADE_PLAN = [
    ("downgrade_burglary", [[("police", "burglary")]]),
    ("downgrade_gambling", [[("police", "gambling")]]),
    ("downgrade_drugs", [[("police", "drugs"), ("procuratorate", "drugs")]]),
    ("downgrade_prostitution", [[("police", "prostitution")]]),
    ("downgrade_fraud_den", [[("police", "fraud_den")]]),
    ("downgrade_two_kinds", [[("police", "burglary")], [("police", "gambling")]]),
]
N_CONTROL = 3
N_NOT_RATED = 3


def _label(source: str, code: str) -> str:
    return catalog.POLICE[code][0] if source == "police" else catalog.CHARGE[code]


def choose(rng: np.random.Generator, reg: pl.DataFrame) -> dict[str, list[int]]:
    """Pick distinct compounds (row indices) for every planted role."""
    n_roles = len(VETO_PLAN) + len(DOWNGRADE_PLAN) + 2 + N_CONTROL + 2
    ok = reg.select(pl.col("has_polygon") & pl.col("population").is_not_null())["has_polygon"].to_numpy()
    eligible = np.flatnonzero(ok)
    if eligible.size < n_roles + N_NOT_RATED:
        raise ValueError("too few compounds to plant the rating outcomes (need about 25)")
    picked = rng.choice(eligible, n_roles, replace=False).tolist()
    rest = np.setdiff1d(np.arange(reg.height), picked)
    roles: dict[str, list[int]] = {}
    for tag, _ in VETO_PLAN:
        roles[tag] = [picked.pop()]
    for tag, _ in DOWNGRADE_PLAN:
        roles[tag] = [picked.pop()]
    roles["late_veto"] = [picked.pop()]
    roles["late_downgrade"] = [picked.pop()]
    roles["control_veto_last_year"] = [picked.pop()]
    roles["control_revoked_veto"] = [picked.pop()]
    roles["control_clean"] = [picked.pop() for _ in range(N_CONTROL)]
    roles["not_rated"] = sorted(rng.choice(rest, N_NOT_RATED, replace=False).tolist())
    return roles


def _day(rng: np.random.Generator, lo: date, hi: date) -> date:
    hi = max(hi, lo)
    return lo + timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))


def planted_records(rng: np.random.Generator, roles: dict[str, list[int]], win: Window,
                    incident0: int) -> pl.DataFrame:
    """The planted records, incident numbers starting at `incident0`."""
    rows: list[dict] = []
    year_start = max(date(win.end.year, 1, 1), win.start)
    last_ok = win.first_as_of - timedelta(days=3)

    def add(tag: str, cidx: int, chain: list[tuple[str, str]], when: datetime, revoked: bool = False) -> None:
        nonlocal incident0
        for source, code in chain:
            rows.append({
                "source": source, "incident": incident0, "cidx": cidx, "code": code,
                "label": _label(source, code), "at": when, "revoked": revoked, "planted": tag,
                "chain": len(chain) > 1, "kind": "criminal" if source == "court" else "", "spread": 0.3,
            })
        incident0 += 1

    def at(d: date, h: int, m: int) -> datetime:
        return datetime.combine(d, time(h, m))

    for tag, chain in VETO_PLAN:
        add(tag, roles[tag][0], chain, at(_day(rng, year_start, last_ok), int(rng.integers(8, 23)), 10))
    dg_lo = max(win.start, win.first_as_of - timedelta(days=300))
    for tag, incidents in DOWNGRADE_PLAN:
        for chain in incidents:
            add(tag, roles[tag][0], chain, at(_day(rng, dg_lo, last_ok), int(rng.integers(8, 23)), 40))
    add("late_veto", roles["late_veto"][0], [("police", "robbery")], at(win.end, 9, 30))
    add("late_downgrade", roles["late_downgrade"][0], [("police", "burglary")], at(win.end, 10, 15))
    prev_year_end = date(win.end.year - 1, 12, 31)
    if win.start <= prev_year_end - timedelta(days=10) and prev_year_end >= win.first_as_of - timedelta(days=360):
        lo = max(win.start, win.first_as_of - timedelta(days=330))
        add("control_veto_last_year", roles["control_veto_last_year"][0], [("police", "homicide")],
            at(_day(rng, lo, prev_year_end - timedelta(days=5)), 21, 5))
    add("control_revoked_veto", roles["control_revoked_veto"][0], [("police", "homicide")],
        at(_day(rng, year_start, last_ok), 22, 45), revoked=True)
    return pl.DataFrame(rows, schema=RECORD_SCHEMA)


def expected_planted(roles: dict[str, list[int]], reg: pl.DataFrame, records: pl.DataFrame,
                     win: Window) -> dict:
    """planted.json content: compound ids by expected status at both rating dates."""
    cid = reg["compound_id"].to_list()
    ids = {tag: [cid[i] for i in idx] for tag, idx in roles.items()}
    veto_last_year_used = records.filter(pl.col("planted") == "control_veto_last_year").height > 0
    vetoed = sorted(c for tag, _ in VETO_PLAN for c in ids[tag])
    downgraded = sorted(c for tag, _ in DOWNGRADE_PLAN for c in ids[tag])
    rated = sorted(ids["control_clean"] + ids["control_revoked_veto"] + ids["late_veto"] + ids["late_downgrade"]
                   + (ids["control_veto_last_year"] if veto_last_year_used else []))
    first = {"vetoed": vetoed, "downgraded": downgraded, "not_rated": sorted(ids["not_rated"]), "rated": rated}
    rated2 = sorted(set(rated) - set(ids["late_veto"]) - set(ids["late_downgrade"]))
    second = {"vetoed": sorted(vetoed + ids["late_veto"]), "downgraded": sorted(downgraded + ids["late_downgrade"]),
              "not_rated": sorted(ids["not_rated"]), "rated": rated2}
    return {
        "first_as_of": win.first_as_of.isoformat(), "second_as_of": win.second_as_of.isoformat(),
        "by_date": {win.first_as_of.isoformat(): first, win.second_as_of.isoformat(): second},
        "late_veto": ids["late_veto"][0], "late_downgrade": ids["late_downgrade"][0],
        "roles": {tag: v for tag, v in ids.items() if tag != "control_veto_last_year" or veto_last_year_used},
        "note": "`rated` means neither vetoed, downgraded nor not_rated; stars depend on the rules.",
    }
