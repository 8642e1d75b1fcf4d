"""The one typed loader every policy file goes through (config/loader.py)."""
from __future__ import annotations

import hashlib

import pytest
import yaml

from config.loader import CONFIG_DIR, ConfigError
from governance.config import load_governance_config
from ingest.taxonomy import load_taxonomy
from intake.settings import load_intake_settings
from intake.workflow_config import load_needs_config
from plaques.config import load_plaque_config
from scoring.rules import load_rules

LOADERS = {"rules.yaml": load_rules, "governance.yaml": load_governance_config, "needs.yaml": load_needs_config,
           "intake.yaml": load_intake_settings, "plaques.yaml": load_plaque_config, "taxonomy.yaml": load_taxonomy}


def _copy(tmp_path, name: str, change) -> object:
    raw = yaml.safe_load((CONFIG_DIR / name).read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["rules.yaml", "governance.yaml", "needs.yaml"])
def test_a_versioned_policy_carries_the_hash_of_its_file(name):
    assert LOADERS[name]().version == hashlib.sha256((CONFIG_DIR / name).read_bytes()).hexdigest()[:12]


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_each_file_is_parsed_once_per_content_and_an_edit_is_seen_at_once(tmp_path, name):
    path = _copy(tmp_path, name, lambda raw: None)
    first = LOADERS[name](path)
    assert LOADERS[name](path) is first
    text = path.read_text(encoding="utf-8")
    edited = text.replace(": ", ":  ", 1).removesuffix("\n")  # the same size, maybe the same second
    assert len(edited) == len(text)
    path.write_text(edited, encoding="utf-8")
    again = LOADERS[name](path)
    assert again is not first
    assert again.model_dump(exclude={"version"}) == first.model_dump(exclude={"version"})


@pytest.mark.parametrize("name, change, key", [
    ("rules.yaml", lambda r: r["window"].update(months=0), "window.months"),
    ("governance.yaml", lambda r: r["score"].update(decimals=9), "score.decimals"),
    ("needs.yaml", lambda r: r["staff"].update(session_minutes=1), "staff.session_minutes"),
    ("intake.yaml", lambda r: r["limits"].update(max_connections=0), "limits.max_connections"),
    ("plaques.yaml", lambda r: r["plaque"].update(qr_dpi=10), "plaque.qr_dpi"),
    ("plaques.yaml", lambda r: r.update(isuer="x"), "isuer"),
    ("governance.yaml", lambda r: r.update(version="abc"), "version"),
    ("taxonomy.yaml", lambda r: r["categories"][0].update(group="不存在"), "(top level)"),
    ("taxonomy.yaml", lambda r: r["categories"][1]["aliases"].append(r["categories"][0]["code"]), "(top level)"),
])
def test_every_bad_file_is_one_line_naming_the_file_the_key_and_the_fix(tmp_path, name, change, key):
    path = _copy(tmp_path, name, change)
    with pytest.raises(ConfigError) as exc:
        LOADERS[name](path)
    message = str(exc.value)
    assert message.startswith(f"{path}: {key}: ") and "\n" not in message and " — fix the file: " in message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_an_unreadable_file_is_one_line_too(tmp_path, name):
    (tmp_path / name).write_bytes(b"a: [unclosed\n  b: \xff\n")
    with pytest.raises(ConfigError, match=r"not valid UTF-8 YAML .* — fix the file") as exc:
        LOADERS[name](tmp_path / name)
    assert "\n" not in str(exc.value)
    with pytest.raises(ConfigError, match=r"cannot read the file .* — fix: pass an existing file"):
        LOADERS[name](tmp_path / "missing" / name)
