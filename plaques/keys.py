"""Keys that can't be mixed up: demo mode, signing secrets, the keyring, the record of the keys
an output folder was signed with (``OUT_DIR/plaque_keys.json``) and the public base URL. The
rules and the rotation: docs/PLAQUES.md ("Keys").
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from plaques.config import load_plaque_config
from plaques.sign import PlaqueSecretError, plaque_url, sign_serial, split_signature

SECRET_ENV = "SAFESTAR_PLAQUE_SECRET"
OLD_SECRETS_ENV = "SAFESTAR_PLAQUE_OLD_SECRETS"
DEMO_ENV = "SAFESTAR_DEMO"
BASE_URL_ENV = "SAFESTAR_PUBLIC_BASE_URL"
DEMO_SECRET = "SAFESTAR-DEMO-SECRET-NOT-FOR-REAL-PLAQUES"
DEMO_BASE_URL = "https://safestar.example.cn"
RECORD_NAME = "plaque_keys.json"
MAKE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$")


def is_demo(env: Mapping[str, str] = os.environ) -> bool:
    """Demo mode from the environment: only ``SAFESTAR_DEMO`` set to 1/true/yes."""
    return (env.get(DEMO_ENV) or "").strip().lower() in ("1", "true", "yes", "on")


def fingerprint(secret: str) -> str:
    """The public fingerprint of a secret (never the secret): ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(b"safestar-plaque-key\x00" + secret.encode("utf-8")).hexdigest()


def entropy_bits(secret: str) -> float:
    """A rough estimate of a secret's entropy: its length times the Shannon entropy of its
    characters, counting only distinct steps between neighbours (so 'abcdef…' is weak too)."""
    per_char = -sum(c / len(secret) * math.log2(c / len(secret)) for c in Counter(secret).values())
    steps = {ord(b) - ord(a) for a, b in zip(secret, secret[1:])}
    return len(secret) * per_char * min(1.0, len(steps) / 8)


def check_secret(secret: str) -> str:
    """``secret`` when it may sign real plaques, else ``PlaqueSecretError`` saying what to do."""
    policy = load_plaque_config().signing
    fix = f"generate one with export {SECRET_ENV}=$({MAKE_SECRET}) and keep it safe"
    if secret == DEMO_SECRET:
        raise PlaqueSecretError(f"{SECRET_ENV} is the public demo secret, which anyone can use to forge plaques: {fix}")
    if len(secret) < policy.min_secret_length:
        raise PlaqueSecretError(f"{SECRET_ENV} is too short ({len(secret)} characters, at least "
                                f"{policy.min_secret_length}): {fix}")
    if entropy_bits(secret) < policy.min_entropy_bits:
        raise PlaqueSecretError(f"{SECRET_ENV} is too weak (about {entropy_bits(secret):.0f} bits, at least "
                                f"{policy.min_entropy_bits:g}: repeated or sequential characters): {fix}")
    return secret


@dataclass(frozen=True)
class SigningKey:
    """One signing key: its id, fingerprint and secret; a retired key verifies until ``valid_until``."""

    id: str
    fingerprint: str
    secret: str = field(repr=False)
    retired_on: date | None = None
    valid_until: date | None = None

    @classmethod
    def of(cls, secret: str, retired_on: date | None = None, grace_days: int = 0) -> SigningKey:
        until = retired_on + timedelta(days=grace_days) if retired_on is not None else None
        fp = fingerprint(secret)  # its first 4 hex characters are the key id new signatures carry
        return cls(fp[len("sha256:"):][:4], fp, secret, retired_on, until)

    @property
    def is_demo(self) -> bool:
        return self.secret == DEMO_SECRET


# What ``Keyring.check`` says of a scanned signature.
GENUINE, OLD_KEY, EXPIRED_KEY, BAD_SIGNATURE = "genuine", "old_key", "expired_key", "bad_signature"


@dataclass(frozen=True)
class Keyring:
    """The current signing key and the retired ones that still verify (or did)."""

    current: SigningKey
    retired: tuple[SigningKey, ...] = ()

    def sign(self, serial: str) -> str:
        """The signature printed on a new plaque: key id and MAC of the current key."""
        return f"{self.current.id}_{sign_serial(serial, self.current.secret)}"

    def url(self, base_url: str, serial: str) -> str:
        return plaque_url(base_url, serial, signature=self.sign(serial))

    def check(self, serial: str, signature: str, today: date | None = None) -> str:
        """``genuine`` (current key), ``old_key`` (a retired key in its grace period),
        ``expired_key`` (a retired key past it) or ``bad_signature``. Both printed forms
        verify: an unkeyed MAC is tried against every key."""
        parts = split_signature(signature)
        if parts is None or not isinstance(serial, str):
            return BAD_SIGNATURE
        key_id, mac = parts
        # Every candidate key is compared (no early exit), each in constant time.
        matched = [k for k in (self.current, *self.retired) if key_id in (None, k.id)
                   and hmac.compare_digest(sign_serial(serial, k.secret), mac)]
        if not matched:
            return BAD_SIGNATURE
        key = matched[0]
        if key is self.current:
            return GENUINE
        return OLD_KEY if today is None or key.valid_until is None or today <= key.valid_until else EXPIRED_KEY


def _split_secrets(text: str) -> list[str]:
    return [s for s in re.split(r"[\s,]+", text or "") if s]


def read_record(out_dir: Path) -> list[dict]:
    """The keys recorded for an output folder (oldest first; the current one has no ``retired_on``)."""
    path = Path(out_dir) / RECORD_NAME
    if not path.exists():
        return []
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))["keys"]
        assert isinstance(keys, list) and all("fingerprint" in k for k in keys)
        return keys
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as e:
        raise PlaqueSecretError(f"{path} is unreadable ({e}): restore it from the backup of the output folder; "
                                "it records which key the plaques were signed with") from e


def write_record(out_dir: Path, keys: list[dict]) -> None:
    """Write the key record whole and rename it into place (never half a record)."""
    path = Path(out_dir) / RECORD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps({"keys": keys}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _entry(key: SigningKey, since: date) -> dict:
    return {"id": key.id, "fingerprint": key.fingerprint, "since": since.isoformat(), "retired_on": None,
            "demo": key.is_demo}


def recorded_current(out_dir: Path) -> dict | None:
    return next((k for k in reversed(read_record(out_dir)) if not k.get("retired_on")), None)


def current_secret(env: Mapping[str, str] = os.environ, *, demo: bool = False) -> str:
    """The signing secret of this process: ``SAFESTAR_PLAQUE_SECRET`` checked, or the demo
    secret in demo mode when none is set."""
    secret = (env.get(SECRET_ENV) or "").strip()
    if secret:
        return secret if demo and secret == DEMO_SECRET else check_secret(secret)
    if demo:
        return DEMO_SECRET
    raise PlaqueSecretError(f"no plaque signing secret: export {SECRET_ENV}=$({MAKE_SECRET}) and keep it "
                            "(plaques signed with another secret stop verifying), or run with --demo for a demo")


def load_keyring(env: Mapping[str, str] = os.environ, *, demo: bool | None = None,
                 out_dir: Path | None = None) -> Keyring:
    """The keyring of this process: the current secret, and the retired secrets of
    ``SAFESTAR_PLAQUE_OLD_SECRETS`` that ``out_dir``'s record lists as retired (with their
    grace periods). ``demo`` None: demo mode when asked for in the environment, or when the
    output folder was signed with the demo key and no secret is set (serving a demo)."""
    record = read_record(out_dir) if out_dir is not None else []
    if demo is None:
        current = recorded_current(out_dir) if out_dir is not None else None
        demo = is_demo(env) or (not (env.get(SECRET_ENV) or "").strip() and current is not None
                                and current["fingerprint"] == fingerprint(DEMO_SECRET))
    key = SigningKey.of(current_secret(env, demo=demo))
    retired_on = {k["fingerprint"]: date.fromisoformat(k["retired_on"]) for k in record if k.get("retired_on")}
    old = []
    for secret in _split_secrets(env.get(OLD_SECRETS_ENV, "")):
        fp = fingerprint(secret)
        if fp in retired_on and fp != key.fingerprint:
            old.append(SigningKey.of(secret, retired_on[fp], load_plaque_config().signing.grace_days))
    return Keyring(key, tuple(old))


def ensure_recorded(out_dir: Path, keyring: Keyring, today: date | None) -> None:
    """Refuse a secret that is not the output folder's recorded current key; record the key
    of a first run (with ``today`` None, only check)."""
    current = recorded_current(out_dir)
    if current is None and today is not None:
        write_record(out_dir, [*read_record(out_dir), _entry(keyring.current, today)])
    elif current is not None and current["fingerprint"] != keyring.current.fingerprint:
        what = "the demo key" if current.get("demo") else f"key {current['id']}"
        raise PlaqueSecretError(
            f"{SECRET_ENV} is not the key the plaques in {out_dir} were signed with ({what}, "
            f"{out_dir / RECORD_NAME}): set the secret used before, or to change keys run "
            f"`safestar plaques rotate --out {out_dir}` with the old secret in {OLD_SECRETS_ENV}")


def base_url_of(value: str | None, *, demo: bool) -> str:
    """The public base URL, checked: https, a plain host name (no user, no IP tricks), no
    query or fragment, at most a plain path prefix; without trailing slash. Unset: the
    demo placeholder in demo mode, else ``ValueError``."""
    value = (value or "").strip()
    fix = f"set {BASE_URL_ENV} to the site's address, e.g. https://pingan.xm.gov.cn"
    if not value:
        if demo:
            return DEMO_BASE_URL
        raise ValueError(f"{BASE_URL_ENV} is not set, so printed QR codes would point nowhere: {fix}")
    if any(ch.isspace() or ch in "\\%" for ch in value):
        raise ValueError(f"{BASE_URL_ENV}={value!r} holds spaces, backslashes or %-escapes: {fix}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"{BASE_URL_ENV}={value!r} is not a URL ({e}): {fix}") from None
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    inner = parts.path.removesuffix("/").split("/")[1:]
    problems = [
        (parts.scheme != "https", "must start with https:// (residents scan it)"),
        (parts.username is not None or parts.password is not None or "@" in parts.netloc, "carries a user name"),
        (len(labels) < 2 or not all(map(_HOST_LABEL.match, labels)) or labels[-1].isdigit(),
         "needs a plain host name (no IP address)"),
        (parts.query or parts.fragment or "?" in value or "#" in value, "must not carry a query or fragment"),
        (parts.path and (not parts.path.startswith("/") or any(not _PATH_SEGMENT.match(s) or s in (".", "..")
                                                               for s in inner)),
         "has an unusual path (empty, '.' or '..' segments)"),
    ]
    for failed, why in problems:
        if failed:
            raise ValueError(f"{BASE_URL_ENV}={value!r} {why}: {fix}")
    if not demo and host == urlsplit(DEMO_BASE_URL).hostname:
        raise ValueError(f"{BASE_URL_ENV} is the demo placeholder {DEMO_BASE_URL}: {fix}")
    netloc = host + (f":{port}" if port is not None else "")
    return f"https://{netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class PlaqueSettings:
    """What signing a plaque needs, checked together: demo mode, the base URL, the keyring."""

    demo: bool
    base_url: str
    keyring: Keyring


def plaque_settings(env: Mapping[str, str] = os.environ, *, demo: bool, base_url: str | None = None,
                    out_dir: Path | None = None) -> PlaqueSettings:
    """The checked settings of a run: ``base_url`` (a resource's value) or ``SAFESTAR_PUBLIC_BASE_URL``."""
    url = base_url_of(base_url or env.get(BASE_URL_ENV), demo=demo)
    return PlaqueSettings(demo, url, load_keyring(env, demo=demo, out_dir=out_dir))


def preflight(out_dir: Path, env: Mapping[str, str] = os.environ, *, demo: bool, base_url: str | None = None) -> None:
    """Before a run starts: the settings are usable and the secret is the recorded key
    (raises one-line ``ValueError``s; records nothing)."""
    ensure_recorded(out_dir, plaque_settings(env, demo=demo, base_url=base_url, out_dir=out_dir).keyring, None)


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


def rotate_keys(out_dir: Path, env: Mapping[str, str] = os.environ, *, today: date | None = None) -> Rotation:
    """``safestar plaques rotate``: retire the recorded key for the new one in ``SAFESTAR_PLAQUE_SECRET``
    and order the re-issue (batch ``R<date>``, same serials, new QR codes) of every plaque on a
    wall; the old key's plaques verify for the grace period while its secret stays in
    ``SAFESTAR_PLAQUE_OLD_SECRETS``. The orders are written before the key record, so an
    interrupted rotation is simply run again."""
    import polars as pl

    from pipelines.resources import Warehouse
    from plaques.orders import print_orders
    from schemas.plaques import Plaque

    today = today or date.today()
    out_dir = Path(out_dir)
    config = load_plaque_config()
    record, current = read_record(out_dir), recorded_current(out_dir)
    if current is None:
        raise PlaqueSecretError(f"no signing key recorded in {out_dir}: nothing to rotate (a first "
                                "`safestar run` records the key)")
    new = SigningKey.of(current_secret(env))
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
    settings = PlaqueSettings(False, base_url_of(env.get(BASE_URL_ENV), demo=False), Keyring(new))
    batch_id = f"R{today:%Y%m%d}"
    # A re-issued plaque states the rating date of its stars, as the plaque it replaces did.
    orders = print_orders(actions, batch_id=batch_id, settings=settings, as_of=today).with_columns(
        active[Plaque.issued_on].alias("rated_on"))
    with warehouse.transaction() as w:
        w.replace_partition("marts.plaque_reissues", orders, "as_of", today)
    retired = [{**k, "retired_on": today.isoformat()} if k == current else k for k in record]
    write_record(out_dir, [*retired, _entry(new, today)])
    return Rotation(batch_id=batch_id, reissued=orders.height, old_key=current["id"], new_key=new.id,
                    old_valid_until=today + timedelta(days=config.signing.grace_days))
