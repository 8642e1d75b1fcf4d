"""Background incidents and their records in the five departments, before any formatting.

One frame, one row per record, with the incident it belongs to and the compound it truly
happened in. Police criminal cases go on to the procuratorate and some to court, sharing
the incident (the police case number is attached later, once all police rows are known).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from generator import catalog
from generator.text import gather_str

# Hour-of-day profile of police calls: quiet nights, busy evenings.
_HOURS = np.array([2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 5, 6, 6, 6, 5.5, 5, 5.5, 6, 6, 6.5, 7, 7.5, 7, 6, 4.5, 3])
_HOURS = _HOURS / _HOURS.sum()

RECORD_SCHEMA = {
    "source": pl.String, "incident": pl.Int64, "cidx": pl.Int64, "code": pl.String, "label": pl.String,
    "at": pl.Datetime("us"), "revoked": pl.Boolean, "planted": pl.String, "chain": pl.Boolean,
    "kind": pl.String, "spread": pl.Float64,
}


@dataclass(frozen=True)
class Window:
    """The generated period: `start` to `end` inclusive, and the two rating dates."""

    start: date
    end: date

    @property
    def first_as_of(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def second_as_of(self) -> date:
        return self.end


def add_months(d: date, months: int) -> date:
    """`d` shifted by whole months, the day clipped to the target month's length."""
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return date(y, m, min(d.day, (nxt - timedelta(days=1)).day))


def make_window(end: date, months: int) -> Window:
    return Window(start=add_months(end, -months) + timedelta(days=1), end=end)


def random_times(rng: np.random.Generator, n: int, first: date, last: date,
                 office_hours: bool = False) -> np.ndarray:
    """`n` datetimes (minute precision) on days first..last inclusive.

    Days are weighted mildly: more in summer than in winter, fewer at weekends for the
    offices, so monthly trends are not flat lines.
    """
    ndays = (last - first).days + 1
    day = np.datetime64(first, "D") + np.arange(ndays)
    doy = (day - day.astype("datetime64[Y]")).astype(np.int64)
    w = 1.0 + 0.15 * np.sin(2 * np.pi * (doy - 100) / 365.0)
    if office_hours:
        weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 5, 6 = Sat, Sun
        w = np.where(weekday >= 5, 0.3 * w, w)
    days = rng.choice(ndays, n, p=w / w.sum())
    hours = rng.integers(9, 17, n) if office_hours else rng.choice(24, n, p=_HOURS)
    minutes = rng.integers(0, 60, n)
    base = np.datetime64(datetime.combine(first, datetime.min.time()), "us")
    return (base + days.astype("timedelta64[D]") + hours.astype("timedelta64[h]")
            + minutes.astype("timedelta64[m]")).astype("datetime64[us]")


def _split(n_events: int) -> dict[str, int]:
    counts = {s: round(n_events * f) for s, f in catalog.SOURCE_SHARE.items()}
    counts["police"] += n_events - sum(counts.values())
    return counts


def _gumbel_top(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of a weighted sample without replacement of size min(k, n), in index order."""
    k = min(k, weights.size)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.log(weights) + rng.gumbel(size=weights.size)
    return np.sort(np.argpartition(-keys, k - 1)[:k])


def background(rng: np.random.Generator, reg: pl.DataFrame, n_events: int, win: Window,
               protected: np.ndarray) -> pl.DataFrame:
    """Background records of all five sources (about `n_events` of them).

    `protected` compound indices (the planted ones) receive no veto or downgrade category,
    neither directly nor through a court's reclassification, so their expected outcome
    stays the planted one.
    """
    counts = _split(n_events)
    n_comp = reg.height
    size = reg.select(pl.coalesce("population", pl.col("households") * 2.8, pl.lit(500.0))
                      .cast(pl.Float64))["population"].to_numpy()
    w = size * rng.lognormal(0.0, 0.7, n_comp)
    w = w / w.sum()
    is_prot = np.zeros(n_comp, dtype=bool)
    is_prot[protected] = True
    free = np.flatnonzero(~is_prot)
    serious = set(catalog.VETO) | set(catalog.DOWNGRADE)
    last_day = win.end - timedelta(days=1)  # the last day belongs to the planted late events

    # Police.
    pol_codes = list(catalog.POLICE)
    pw = np.array([catalog.POLICE[c][1] for c in pol_codes])
    n_pol = counts["police"]
    code_i = rng.choice(len(pol_codes), n_pol, p=pw / pw.sum())
    cidx = rng.choice(n_comp, n_pol, p=w)
    is_serious = np.isin(np.asarray(pol_codes), list(serious))
    bad = is_prot[cidx] & is_serious[code_i]
    cidx[bad] = free[rng.integers(0, free.size, bad.sum())]
    police = pl.DataFrame({
        "source": "police", "cidx": cidx, "code": gather_str(pol_codes, code_i),
        "label": gather_str([catalog.POLICE[c][0] for c in pol_codes], code_i),
        "at": random_times(rng, n_pol, win.start, last_day),
    })
    incident0 = 0
    police = police.with_columns(incident=pl.int_range(incident0, incident0 + n_pol, dtype=pl.Int64))
    incident0 += n_pol

    # Procuratorate: a weighted pick of criminal police incidents.
    crim_w = police["code"].replace_strict({k: float(v) for k, v in catalog.CRIMINAL.items()}, default=0.0, return_dtype=pl.Float64).to_numpy()
    cand = np.flatnonzero(crim_w > 0)
    pick = cand[_gumbel_top(rng, crim_w[cand], counts["procuratorate"])]
    proc = police[pick].with_columns(source=pl.lit("procuratorate"))
    proc = proc.with_columns(
        code=pl.col("code").replace(catalog.CHARGE_CODE),
        label=pl.col("code").replace_strict(catalog.CHARGE, return_dtype=pl.String))

    # Court, criminal: a weighted pick of prosecuted incidents, sometimes reclassified.
    n_cc = min(round(counts["procuratorate"] * catalog.COURT_CRIMINAL_OF_PROC), counts["court"])
    pw2 = proc["code"].replace_strict({k: float(v) for k, v in catalog.CRIMINAL.items()}, default=1.0, return_dtype=pl.Float64).to_numpy()
    court_c = proc[_gumbel_top(rng, pw2, n_cc)].with_columns(source=pl.lit("court"))
    final = court_c["code"].to_numpy().astype(object)
    u = rng.random(court_c.height)
    can = ~is_prot[court_c["cidx"].to_numpy()]
    for src, (dst, p) in catalog.ESCALATION.items():
        final[(final == src) & (u < p) & can] = dst
    court_c = court_c.with_columns(code=pl.Series(final.astype(str)))
    court_c = court_c.with_columns(
        label=pl.col("code").replace_strict(catalog.CHARGE, return_dtype=pl.String), kind=pl.lit("criminal"))

    chained = pl.concat([proc["incident"], court_c["incident"]]).unique()
    police = police.with_columns(chain=pl.col("incident").is_in(chained.implode()))

    def independent(source: str, table: list[tuple[str, str, float]], n: int, office: bool) -> pl.DataFrame:
        nonlocal incident0
        wt = np.array([t[2] for t in table])
        i = rng.choice(len(table), n, p=wt / wt.sum())
        df = pl.DataFrame({
            "source": source, "cidx": rng.choice(n_comp, n, p=w),
            "code": gather_str([t[0] for t in table], i), "label": gather_str([t[1] for t in table], i),
            "at": random_times(rng, n, win.start, last_day, office_hours=office),
            "incident": np.arange(incident0, incident0 + n, dtype=np.int64),
        })
        incident0 += n
        return df

    court_v = independent("court", catalog.COURT_CIVIL, counts["court"] - n_cc, True).with_columns(
        kind=pl.lit("civil"))
    justice = independent("justice", catalog.JUSTICE, counts["justice"], True)
    petition = independent("petition", catalog.PETITION, counts["petition"], True)

    recs = pl.concat([police, proc.with_columns(chain=pl.lit(True)), court_c.with_columns(chain=pl.lit(True)),
                      court_v, justice, petition], how="diagonal_relaxed")
    n = recs.height
    # About 1% revoked: single-record incidents, and prosecutions dropped (撤案) before any
    # court record of a non-serious case, so a revoked record never decides an outcome.
    dropped = recs.select((pl.col("source") == "procuratorate") & ~pl.col("incident").is_in(court_c["incident"].implode())
                          & ~pl.col("code").is_in(list(serious)))["source"].to_numpy()
    revoked = (rng.random(n) < 0.01) & (~recs["chain"].fill_null(False).to_numpy() | dropped)
    return recs.with_columns(
        chain=pl.col("chain").fill_null(False), revoked=pl.Series(revoked), planted=pl.lit(None, pl.String),
        kind=pl.col("kind").fill_null(""), spread=pl.lit(0.85),
    ).select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)
