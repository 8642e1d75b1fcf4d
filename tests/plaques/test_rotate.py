"""Key rotation: a new secret refuses to sign until it is a rotation; `rotate` retires the old
key (its plaques verify during the grace period), and orders every plaque on a wall re-issued
under the new key as a print batch."""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from plaques.config import load_plaque_config
from plaques.keys import (
    EXPIRED_KEY,
    GENUINE,
    OLD_KEY,
    OLD_SECRETS_ENV,
    SECRET_ENV,
    PlaqueSecretError,
    load_keyring,
    preflight,
    read_record,
    rotate_keys,
)
from plaques.sign import parse_page_name
from tests.plaques.conftest import KEYRING, SECRET
from tests.plaques.scenario import build, pulled

NEW = "rotated-secret-Zq8Xw3Vb7Nm2Lk5Jh9Gf4Ds"
BASE = "https://pingan.xm.gov.cn"
TODAY = date(2026, 4, 1)
GRACE = load_plaque_config().signing.grace_days


def env(**extra) -> dict:
    return {SECRET_ENV: NEW, OLD_SECRETS_ENV: SECRET, "SAFESTAR_PUBLIC_BASE_URL": BASE, **extra}


def test_rotation_reissues_every_plaque_on_a_wall_and_old_plaques_verify_during_grace(tmp_path):
    sc = build(tmp_path / "out")
    with pytest.raises(PlaqueSecretError, match="plaques rotate"):
        preflight(sc.out_dir, env(), demo=False)
    rotation = rotate_keys(sc.out_dir, env(), today=TODAY)
    active = sc.second.registry.filter(pl.col("status") == "active")
    assert rotation.reissued == active.height and rotation.batch_id == "R20260401"
    assert rotation.old_valid_until == TODAY + timedelta(days=GRACE)
    preflight(sc.out_dir, env(), demo=False)  # the new key is now the recorded one
    old, new = read_record(sc.out_dir)
    assert old["retired_on"] == TODAY.isoformat() and new["retired_on"] is None

    folder = pulled(sc, tmp_path / "print", rotation.batch_id)
    manifest = pl.read_csv(folder / "manifest.csv", infer_schema=False)
    assert sorted(manifest["编号"]) == sorted(active["serial"])
    assert set(manifest["操作"]) == {"重新签发（新二维码）"}
    collect = pl.read_csv(folder / "withdrawals.csv", infer_schema=False)
    assert sorted(collect["编号"]) == sorted(active["serial"])  # the old plaque of each comes down

    ring = load_keyring(env(), out_dir=sc.out_dir)
    for url in manifest["二维码网址"]:
        assert url.startswith(BASE + "/p/")
        serial, sig = parse_page_name(url.rsplit("/", 1)[1])
        assert ring.check(serial, sig, TODAY) == GENUINE
        old_sig = KEYRING.sign(serial)  # the QR code on the wall until the new plaque is hung
        assert ring.check(serial, old_sig, TODAY + timedelta(days=GRACE)) == OLD_KEY
        assert ring.check(serial, old_sig, TODAY + timedelta(days=GRACE + 1)) == EXPIRED_KEY
    # Without the old secret, the old plaques stop verifying at once: rotation insists on it.
    assert load_keyring({SECRET_ENV: NEW}, out_dir=sc.out_dir).retired == ()


def test_rotation_mistakes_are_one_line_errors(tmp_path):
    sc = build(tmp_path / "out")
    with pytest.raises(PlaqueSecretError, match="still the current key"):
        rotate_keys(sc.out_dir, env(**{SECRET_ENV: SECRET}), today=TODAY)
    with pytest.raises(PlaqueSecretError, match=f"{OLD_SECRETS_ENV} lacks the secret"):
        rotate_keys(sc.out_dir, env(**{OLD_SECRETS_ENV: ""}), today=TODAY)
    with pytest.raises(PlaqueSecretError, match="too weak"):
        rotate_keys(sc.out_dir, env(**{SECRET_ENV: "a" * 40}), today=TODAY)
    with pytest.raises(PlaqueSecretError, match="nothing to rotate"):
        rotate_keys(tmp_path / "empty", env(), today=TODAY)
    assert len(read_record(sc.out_dir)) == 1  # nothing changed
