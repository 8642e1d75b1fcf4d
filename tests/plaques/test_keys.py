"""Keys that can't be mixed up (issue 16, "Plaques signed wrongly"): signatures with key ids,
both printed URL forms, weak and demo secrets refused, demo only when asked for, a checked
public base URL, the recorded key fingerprint, and a keyring with grace periods."""
from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

import pytest

from plaques.config import load_plaque_config
from plaques.keys import (
    BAD_SIGNATURE,
    DEMO_BASE_URL,
    DEMO_SECRET,
    EXPIRED_KEY,
    GENUINE,
    OLD_KEY,
    OLD_SECRETS_ENV,
    SECRET_ENV,
    Keyring,
    PlaqueSecretError,
    SigningKey,
    base_url_of,
    current_secret,
    ensure_recorded,
    fingerprint,
    is_demo,
    load_keyring,
    preflight,
    read_record,
    write_record,
)
from plaques.sign import parse_page_name, plaque_url, sign_serial, split_signature
from tests.plaques.conftest import SECRET

OTHER = "second-secret-9f8e7d6c5b4a3210zyxw"
SERIAL = "350203-XM000001-01"
GRACE = load_plaque_config().signing.grace_days


def test_signatures_carry_the_key_id_and_fail_on_any_change():
    ring = Keyring(SigningKey.of(SECRET))
    sig = ring.sign(SERIAL)
    key_id, mac = split_signature(sig)
    assert key_id == ring.current.id and re.fullmatch(r"[0-9a-f]{4}", key_id) and re.fullmatch(r"[A-Z2-7]{16}", mac)
    assert ring.current.fingerprint == fingerprint(SECRET) and SECRET not in ring.current.fingerprint
    assert ring.check(SERIAL, sig) == GENUINE
    for i in range(len(sig)):
        for ch in "Ab0_z":
            tampered = sig[:i] + ch + sig[i + 1:]
            if tampered != sig:
                assert ring.check(SERIAL, tampered) == BAD_SIGNATURE, tampered
    assert ring.check("350203-XM000001-02", sig) == BAD_SIGNATURE
    assert Keyring(SigningKey.of(OTHER)).check(SERIAL, sig) == BAD_SIGNATURE
    for junk in ("", "签名", sig.lower(), sig + "A", "_" + mac, None):
        assert ring.check(SERIAL, junk) == BAD_SIGNATURE


def test_both_printed_url_forms_keep_verifying():
    """Plaques printed before key ids carry the bare MAC (flat `<serial>.<MAC>.html`, or the
    folder form `/p/<serial>/<MAC>/`); they verify against the same key."""
    ring = Keyring(SigningKey.of(SECRET))
    old_flat = plaque_url("https://safestar.example.cn", SERIAL, signature=sign_serial(SERIAL, SECRET))
    with pytest.raises(TypeError):
        plaque_url("", SERIAL, SECRET)  # the old call with a secret cannot put the secret in a URL
    assert old_flat == f"https://safestar.example.cn/p/{SERIAL}.{sign_serial(SERIAL, SECRET)}.html"
    serial, sig = parse_page_name(old_flat.rsplit("/", 1)[1])
    assert (serial, ring.check(serial, sig)) == (SERIAL, GENUINE)
    assert ring.check(SERIAL, sign_serial(SERIAL, SECRET)) == GENUINE  # the folder form's two segments
    new = ring.url("https://safestar.example.cn", SERIAL)
    serial, sig = parse_page_name(new.rsplit("/", 1)[1])
    assert ring.check(serial, sig) == GENUINE and split_signature(sig)[0] == ring.current.id
    assert ring.check(serial, sig[:-1] + "Q") == BAD_SIGNATURE


def test_old_keys_verify_during_their_grace_period_only():
    retired_on = date(2026, 5, 1)
    old = SigningKey.of(SECRET, retired_on=retired_on, grace_days=GRACE)
    ring = Keyring(SigningKey.of(OTHER), (old,))
    keyed = Keyring(SigningKey.of(SECRET)).sign(SERIAL)
    for sig in (keyed, sign_serial(SERIAL, SECRET)):
        assert ring.check(SERIAL, sig, retired_on) == OLD_KEY
        assert ring.check(SERIAL, sig, retired_on + timedelta(days=GRACE)) == OLD_KEY
        assert ring.check(SERIAL, sig, retired_on + timedelta(days=GRACE + 1)) == EXPIRED_KEY
    assert ring.check(SERIAL, ring.sign(SERIAL), retired_on + timedelta(days=10 * GRACE)) == GENUINE


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaaaaaaaaaaaaaa", "abcdefghijklmnopqrstuvwxyz", "short",
                                  "abababababababababababab", "12345678901234567890123", DEMO_SECRET])
def test_weak_and_demo_secrets_are_refused_outside_demo_mode(weak):
    with pytest.raises(PlaqueSecretError, match=SECRET_ENV) as err:
        current_secret({SECRET_ENV: weak})
    assert "\n" not in str(err.value) and "export" in str(err.value)


def test_strong_secrets_pass():
    for _ in range(20):
        token = secrets.token_urlsafe(32)
        assert current_secret({SECRET_ENV: token}) == token
    assert current_secret({SECRET_ENV: SECRET}) == SECRET


def test_demo_only_when_asked_for():
    # Unset SAFESTAR_DEMO is not demo: no secret means a refusal, never the demo secret.
    assert not is_demo({}) and not is_demo({"SAFESTAR_DEMO": "0"}) and not is_demo({"SAFESTAR_DEMO": ""})
    assert is_demo({"SAFESTAR_DEMO": "1"}) and is_demo({"SAFESTAR_DEMO": "true"})
    with pytest.raises(PlaqueSecretError, match="no plaque signing secret"):
        current_secret({})
    with pytest.raises(PlaqueSecretError):
        load_keyring({}, demo=None)
    assert load_keyring({"SAFESTAR_DEMO": "1"}).current.is_demo
    assert current_secret({}, demo=True) == DEMO_SECRET


def test_dagster_resources_are_not_demo_without_the_variable(monkeypatch):
    from pipelines.resources import env_resources

    monkeypatch.delenv("SAFESTAR_DEMO", raising=False)
    assert env_resources()["folders"].demo is False
    monkeypatch.setenv("SAFESTAR_DEMO", "1")
    assert env_resources()["folders"].demo is True


def test_sensors_do_not_fall_back_to_demo_data(monkeypatch):
    import dagster as dg

    from pipelines.sensors import veto_monitor_sensor

    monkeypatch.delenv("SAFESTAR_DATA_DIR", raising=False)
    monkeypatch.delenv("SAFESTAR_DEMO", raising=False)
    result = veto_monitor_sensor(dg.build_sensor_context())
    assert not result.run_requests and "SAFESTAR_DATA_DIR is not set" in result.skip_reason.skip_message


@pytest.mark.parametrize("url, expected", [
    ("https://pingan.xm.gov.cn", "https://pingan.xm.gov.cn"),
    ("https://PingAn.XM.gov.cn/", "https://pingan.xm.gov.cn"),
    ("https://pingan.xm.gov.cn:8443/safestar/", "https://pingan.xm.gov.cn:8443/safestar"),
])
def test_base_url_accepted(url, expected):
    assert base_url_of(url, demo=False) == expected


@pytest.mark.parametrize("url", [
    "http://pingan.xm.gov.cn", "pingan.xm.gov.cn", "https://", "https://user:pw@pingan.xm.gov.cn",
    "https://evil.cn@pingan.xm.gov.cn", "https://10.0.0.1", "https://localhost", "https://pingan.xm.gov.cn/../x",
    "https://pingan.xm.gov.cn/a//b", "https://pingan.xm.gov.cn/%2e%2e/", "https://pingan.xm.gov.cn/?q=1",
    "https://pingan.xm.gov.cn/#x", "https://pingan.xm.gov.cn\\@evil.cn", "https://ping an.cn", "javascript:alert(1)",
    "https://pingan.xm.gov.cn:99999", DEMO_BASE_URL,
])
def test_base_url_refused_in_one_line(url):
    with pytest.raises(ValueError, match="SAFESTAR_PUBLIC_BASE_URL") as err:
        base_url_of(url, demo=False)
    assert "\n" not in str(err.value)


def test_base_url_unset_is_refused_outside_demo_and_the_placeholder_in_demo():
    with pytest.raises(ValueError, match="not set"):
        base_url_of(None, demo=False)
    assert base_url_of("", demo=True) == DEMO_BASE_URL


def test_recorded_key_mismatch_refuses_to_start(tmp_path):
    first = Keyring(SigningKey.of(SECRET))
    ensure_recorded(tmp_path, first, date(2026, 3, 2))
    [rec] = read_record(tmp_path)
    assert rec["fingerprint"] == fingerprint(SECRET) and SECRET not in (tmp_path / "plaque_keys.json").read_text()
    ensure_recorded(tmp_path, first, date(2026, 3, 3))  # the same key: fine
    env = {SECRET_ENV: OTHER, "SAFESTAR_PUBLIC_BASE_URL": "https://pingan.xm.gov.cn"}
    with pytest.raises(PlaqueSecretError, match="plaques rotate") as err:
        preflight(tmp_path, env, demo=False)
    assert "\n" not in str(err.value)
    # A demo output folder cannot be continued with a real key either (and vice versa).
    demo_out = tmp_path / "demo"
    preflight(demo_out, {}, demo=True)
    ensure_recorded(demo_out, load_keyring({}, demo=True), date(2026, 3, 2))
    with pytest.raises(PlaqueSecretError, match="demo key"):
        preflight(demo_out, env, demo=False)


def test_retired_secrets_verify_only_when_recorded_as_retired(tmp_path):
    write_record(tmp_path, [
        {"id": SigningKey.of(SECRET).id, "fingerprint": fingerprint(SECRET), "since": "2026-01-01",
         "retired_on": "2026-05-01", "demo": False},
        {"id": SigningKey.of(OTHER).id, "fingerprint": fingerprint(OTHER), "since": "2026-05-01", "retired_on": None,
         "demo": False}])
    stranger = "unrecorded-secret-0a1b2c3d4e5f6g7h8i9j"
    ring = load_keyring({SECRET_ENV: OTHER, OLD_SECRETS_ENV: f"{SECRET}, {stranger}"}, out_dir=tmp_path)
    assert [k.fingerprint for k in ring.retired] == [fingerprint(SECRET)]
    assert ring.retired[0].valid_until == date(2026, 5, 1) + timedelta(days=GRACE)
    assert ring.check(SERIAL, sign_serial(SERIAL, SECRET), date(2026, 6, 1)) == OLD_KEY
    assert ring.check(SERIAL, sign_serial(SERIAL, stranger), date(2026, 6, 1)) == BAD_SIGNATURE


def test_a_served_demo_publication_verifies_with_the_demo_key_only_when_recorded_so(tmp_path):
    ensure_recorded(tmp_path, load_keyring({}, demo=True), date(2026, 3, 2))
    ring = load_keyring({}, out_dir=tmp_path)  # no secret, not asked for demo: the record says demo
    assert ring.current.is_demo
    with pytest.raises(PlaqueSecretError):
        load_keyring({}, out_dir=tmp_path / "real")
