"""``safestar plaques rotate``: change the signing key and re-issue every plaque on a wall.

The new secret is ``SAFESTAR_PLAQUE_SECRET``; the current one moves to
``SAFESTAR_PLAQUE_OLD_SECRETS``, where it keeps its plaques verifying for the configured
grace period while the re-issued plaques (batch ``R<date>``, action ``reissue``, same
serials, new QR codes) are printed and hung. The orders are written before the key record,
so an interrupted rotation is simply run again.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from plaques.config import load_plaque_config
from plaques.keys import (
    OLD_SECRETS_ENV,
    SECRET_ENV,
    Keyring,
    PlaqueSecretError,
    PlaqueSettings,
    SigningKey,
    _split_secrets,
    base_url_of,
    current_secret,
    fingerprint,
    read_record,
    recorded_current,
    write_record,
)
from plaques.orders import print_orders
from schemas.plaques import Plaque


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    batch_id: str
    reissued: int
    old_key: str
    new_key: str
    old_valid_until: date

    def summary(self) -> str:
        return (f"rotated plaque key {self.old_key} -> {self.new_key}: {self.reissued} plaques to re-issue in batch "
                f"{self.batch_id} (`safestar plaques pull --batch {self.batch_id}`); plaques of key {self.old_key} "
                f"verify until {self.old_valid_until} while {OLD_SECRETS_ENV} holds its secret")


def rotate_keys(out_dir: Path, env: Mapping[str, str] | None = None, *, today: date | None = None) -> Rotation:
    """Retire the recorded key, record the new one and order the re-issue of every active plaque."""
    from pipelines.resources import Warehouse

    env = os.environ if env is None else env
    today = today or date.today()
    out_dir = Path(out_dir)
    config = load_plaque_config()
    record, current = read_record(out_dir), recorded_current(out_dir)
    if current is None:
        raise PlaqueSecretError(f"no signing key recorded in {out_dir}: nothing to rotate (a first "
                                "`safestar run` records the key)")
    new = SigningKey.of(current_secret(env, demo=False, config=config))
    if new.fingerprint == current["fingerprint"]:
        raise PlaqueSecretError(f"{SECRET_ENV} is still the current key {current['id']}: put the new secret in "
                                f"{SECRET_ENV} and the current one in {OLD_SECRETS_ENV}")
    if new.id in {k["id"] for k in record}:
        raise PlaqueSecretError(f"the new secret's key id {new.id} was used before: generate another secret")
    old_secrets = {fingerprint(s): s for s in _split_secrets(env.get(OLD_SECRETS_ENV, ""))}
    if not current.get("demo") and current["fingerprint"] not in old_secrets:
        raise PlaqueSecretError(f"{OLD_SECRETS_ENV} lacks the secret of the current key {current['id']}: add it, "
                                f"so the plaques on walls keep verifying for {config.signing.grace_days} days")
    warehouse = Warehouse(path=str(out_dir / "warehouse.duckdb"))
    registry = warehouse.read("marts.plaques", where="as_of = (SELECT max(as_of) FROM marts.plaques)")
    if registry is None or registry.is_empty():
        raise FileNotFoundError(f"no plaque registry in {out_dir}: run `safestar run` first")
    active = registry.filter(pl.col(Plaque.status) == "active")
    actions = active.select(
        Plaque.serial, Plaque.compound_id, pl.lit("reissue").alias("action"), pl.col(Plaque.stars),
        pl.col(Plaque.serial).alias("previous_serial"),
        pl.lit(f"key rotation {current['id']} -> {new.id}").alias("reason"),
    )
    settings = PlaqueSettings(demo=False, base_url=base_url_of(env.get("SAFESTAR_PUBLIC_BASE_URL"), demo=False),
                              keyring=Keyring(new))
    batch_id = f"R{today:%Y%m%d}"
    # A re-issued plaque states the rating date of its stars, as the plaque it replaces did.
    orders = print_orders(actions, batch_id=batch_id, settings=settings, as_of=today).with_columns(
        active[Plaque.issued_on].alias("rated_on"))
    with warehouse.transaction() as w:
        w.replace_partition("marts.plaque_reissues", orders, "as_of", today)
    retired = [{**k, "retired_on": today.isoformat()} if k == current else k for k in record]
    write_record(out_dir, [*retired, {"id": new.id, "fingerprint": new.fingerprint, "since": today.isoformat(),
                                      "retired_on": None, "demo": False}])
    return Rotation(batch_id=batch_id, reissued=orders.height, old_key=current["id"], new_key=new.id,
                    old_valid_until=today + timedelta(days=config.signing.grace_days))
