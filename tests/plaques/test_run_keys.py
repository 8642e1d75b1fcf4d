"""Issue 16's "Plaques signed wrongly", through `safestar run` on a small city (not demo):
the public base URL is honoured, weak or demo secrets and an unset secret or base URL are
refused in one line before anything runs, and another secret refuses to start until it is
a rotation — whose re-issued plaques the printer then pulls."""
from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl
import pytest

from generator.city import generate_city
from pipelines.cli import main
from plaques.keys import DEMO_SECRET, OLD_SECRETS_ENV, SECRET_ENV, load_keyring
from plaques.sign import parse_page_name

SECRET = "city-secret-Hq2Wv8Rt5Yx3Nb7Mk4Pz9Lc"
BASE = "https://pingan.xm.gov.cn"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    generate_city(root / "data", seed=3, n_compounds=60, n_events=900)
    info = json.loads((root / "data" / "city.json").read_text(encoding="utf-8"))
    return root, date.fromisoformat(info["first_as_of"])


def run(city, out, monkeypatch, **env) -> int:
    root, as_of = city
    for name in (SECRET_ENV, OLD_SECRETS_ENV, "SAFESTAR_PUBLIC_BASE_URL", "SAFESTAR_DEMO"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return main(["run", "--data", str(root / "data"), "--as-of", as_of.isoformat(), "--out", str(out)])


@pytest.mark.parametrize("env, message", [
    ({"SAFESTAR_PUBLIC_BASE_URL": BASE}, "no plaque signing secret"),
    ({SECRET_ENV: "aaaaaaaaaaaaaaaaaaaaaaaa", "SAFESTAR_PUBLIC_BASE_URL": BASE}, "too weak"),
    ({SECRET_ENV: DEMO_SECRET, "SAFESTAR_PUBLIC_BASE_URL": BASE}, "public demo secret"),
    ({SECRET_ENV: SECRET}, "SAFESTAR_PUBLIC_BASE_URL is not set"),
    ({SECRET_ENV: SECRET, "SAFESTAR_PUBLIC_BASE_URL": "http://pingan.xm.gov.cn"}, "https://"),
    # An unset SAFESTAR_DEMO is not demo mode, and SAFESTAR_DEMO=0 neither.
    ({"SAFESTAR_DEMO": "0", "SAFESTAR_PUBLIC_BASE_URL": BASE}, "no plaque signing secret"),
])
def test_unusable_keys_refuse_before_anything_runs(city, tmp_path, monkeypatch, capsys, env, message):
    assert run(city, tmp_path / "out", monkeypatch, **env) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "warehouse.duckdb").exists()


def test_run_honours_the_base_url_and_another_secret_refuses_until_rotated(city, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run(city, out, monkeypatch, **{SECRET_ENV: SECRET, "SAFESTAR_PUBLIC_BASE_URL": BASE}) == 0
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        orders = conn.sql("SELECT * FROM marts.plaque_actions").pl()
        registry = conn.sql("SELECT * FROM marts.plaques").pl()
    assert orders.height and orders["url"].str.starts_with(BASE + "/p/").all()
    assert not orders["demo"].any() and not registry["demo"].any()
    ring = load_keyring({SECRET_ENV: SECRET}, out_dir=out)
    for url in orders["url"]:
        assert ring.check(*parse_page_name(url.rsplit("/", 1)[1])) == "genuine"
    capsys.readouterr()

    other = "other-secret-Tg6Yh1Uj8Ik3Ol5Pm2Nb4V"
    assert run(city, out, monkeypatch, **{SECRET_ENV: other, "SAFESTAR_PUBLIC_BASE_URL": BASE}) == 2
    err = capsys.readouterr().err
    assert "is not the key the plaques" in err and "safestar plaques rotate" in err

    rotate_env = {SECRET_ENV: other, OLD_SECRETS_ENV: SECRET, "SAFESTAR_PUBLIC_BASE_URL": BASE}
    for name, value in rotate_env.items():
        monkeypatch.setenv(name, value)
    assert main(["plaques", "rotate", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    active = registry.filter(pl.col("status") == "active").height
    assert f"{active} plaques to re-issue" in line
    assert run(city, out, monkeypatch, **rotate_env) == 0  # the rotated key is now the recorded one
    assert main(["plaques", "pull", "--out", str(out), "--to", str(tmp_path / "print"), "--batch", "all",
                 "--workers", "2"]) == 0
    reissued = [p for p in (tmp_path / "print").glob("R*/manifest.csv")]
    assert len(reissued) == 1 and pl.read_csv(reissued[0], infer_schema=False).height == active
