"""What a scanned plaque is: genuine and current, superseded, withdrawn, or not genuine.

``check`` is the one verification a served plaque page calls: the signature of a scanned
URL (either printed form) against the keyring, in constant time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.keys import BAD_SIGNATURE, GENUINE, OLD_KEY, Keyring
from plaques.sign import split_signature
from schemas.plaques import Plaque
from schemas.ratings import Rating

STATUS_TEXT = {
    "current": "真品且有效",
    "superseded": "已更换",
    "withdrawn": "已收回",
    "not_genuine": "非正品牌匾",
}


@dataclass(frozen=True)
class Verification:
    """What a scanned signature is: ``status`` one of genuine / old_key / expired_key /
    bad_signature; ``genuine`` for the first two (an old key's plaque is due for re-issue)."""

    serial: str
    status: str
    key_id: str | None

    @property
    def genuine(self) -> bool:
        return self.status in (GENUINE, OLD_KEY)

    @property
    def reissue_due(self) -> bool:
        return self.status == OLD_KEY


def check(serial: str, signature: str, keyring: Keyring, today: date | None = None) -> Verification:
    """Verify the (serial, signature) of a scanned plaque URL (``plaques.sign.parse_page_name``
    of its last segment, or the two segments of the folder form)."""
    parts = split_signature(signature) if isinstance(signature, str) else None
    status = keyring.check(serial, signature, today) if parts else BAD_SIGNATURE
    return Verification(serial=serial, status=status, key_id=parts[0] if parts else None)


def latest_ratings(ratings: pl.DataFrame) -> pl.DataFrame:
    """Each compound's most recent rating."""
    if ratings.is_empty():
        return ratings
    return ratings.sort(Rating.as_of).group_by(Rating.compound_id, maintain_order=True).last()


def status_frame(registry: pl.DataFrame, ratings: pl.DataFrame) -> pl.DataFrame:
    """Every plaque with its public status and, for a superseded one, the current plaque.

    A superseded plaque whose compound has no active plaque any more (the replacement was
    withdrawn since) reads as withdrawn: the wall should not carry it either way.
    """
    active = registry.filter(pl.col(Plaque.status) == "active").select(
        Plaque.compound_id, pl.col(Plaque.serial).alias("current_serial"),
        pl.col(Plaque.stars).alias("current_stars"))
    names = latest_ratings(ratings).select(
        Rating.compound_id, pl.col(Rating.name), pl.col(Rating.district), pl.col(Rating.street),
        pl.col(Rating.stars).alias("rated_stars"), pl.col(Rating.status).alias("rating_status"),
        pl.col(Rating.as_of).alias("rated_on"))
    status = pl.col(Plaque.status)
    public = (
        pl.when(status == "active").then(pl.lit("current"))
        .when((status == "superseded") & pl.col("current_serial").is_not_null()).then(pl.lit("superseded"))
        .otherwise(pl.lit("withdrawn"))
    )
    return (
        registry.join(active, on=Plaque.compound_id, how="left")
        .join(names, on=Plaque.compound_id, how="left")
        .with_columns(public.alias("public_status"))
        .with_columns(
            pl.when(pl.col("public_status") == "superseded").then(pl.col("current_serial")).alias("current_serial"),
            pl.when(pl.col("public_status") == "superseded").then(pl.col("current_stars")).alias("current_stars"),
        )
    )


def _public_dict(row: dict) -> dict:
    st = row["public_status"]
    text = STATUS_TEXT[st]
    if st == "superseded":
        text = f"已更换（现为{row['current_stars']}星）"
    return {
        "status": st, "text": text, "serial": row[Plaque.serial], "compound_id": row[Plaque.compound_id],
        "name": row.get("name"), "district": row.get("district"), "street": row.get("street"),
        "stars": row[Plaque.stars], "rating_year": row[Plaque.rating_year],
        "issued_on": row[Plaque.issued_on], "status_changed_on": row[Plaque.status_changed_on],
        "current_serial": row.get("current_serial"), "current_stars": row.get("current_stars"),
        "rated_on": row.get("rated_on"),
        # The latest rating's stars, shown when they differ from the plaque's (a change
        # waiting out the stability period); never for a withdrawn plaque.
        "rated_stars": row.get("rated_stars") if row.get("rating_status") in ("rated", "downgraded") else None,
    }


def plaque_status(registry: pl.DataFrame, ratings: DataFrame[Rating], serial: str, signature: str,
                  keyring: Keyring, today: date | None = None) -> dict:
    """The public status of the plaque a scanned path names.

    ``status`` is ``current``, ``superseded`` (with ``current_stars``/``current_serial``),
    ``withdrawn`` or ``not_genuine`` (unknown serial or a signature that does not match);
    ``text`` is the Chinese wording the resident sees.
    """
    not_genuine = {"status": "not_genuine", "text": STATUS_TEXT["not_genuine"], "serial": serial}
    if not check(serial, signature, keyring, today).genuine:
        return not_genuine
    rows = status_frame(registry.filter(pl.col(Plaque.serial) == serial), ratings)
    if rows.is_empty():
        return not_genuine
    # status_frame needs the whole registry to find the current plaque of the compound.
    compound = rows[Plaque.compound_id][0]
    full = status_frame(registry.filter(pl.col(Plaque.compound_id) == compound), ratings)
    return _public_dict(full.filter(pl.col(Plaque.serial) == serial).row(0, named=True))


def active_plaque_urls(registry: pl.DataFrame, *, base_url: str, keyring: Keyring) -> pl.DataFrame:
    """compound_id, serial, stars, url of every active plaque (for the public site's links)."""
    active = registry.filter(pl.col(Plaque.status) == "active").sort(Plaque.compound_id)
    urls = [keyring.url(base_url, s) for s in active[Plaque.serial].to_list()]
    return active.select(Plaque.compound_id, Plaque.serial, Plaque.stars).with_columns(
        pl.Series("url", urls, dtype=pl.String))
