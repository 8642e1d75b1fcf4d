import hashlib
from pathlib import Path

import pytest
import yaml

from config.loader import ConfigError
from scoring.rules import DEFAULT_RULES, load_rules


def write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    mutate(raw)
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def test_default_rules_load_and_version_is_content_hash():
    rules = load_rules()
    assert rules.version == hashlib.sha256(DEFAULT_RULES.read_bytes()).hexdigest()[:12]
    assert set(rules.categories) == set(rules.taxonomy_codes)
    assert rules.window.months == 12 and rules.plaque_stability_days == 30
    assert rules.downgrade["fraud_den"].steps == 2 and rules.downgrade["burglary"].steps == 1
    assert "homicide" in rules.veto_set and rules.stars.floor == 1


def test_version_changes_with_content(tmp_path):
    p = write(tmp_path, lambda r: r["categories"].update(theft=1.1))
    assert load_rules(p).version != load_rules().version


@pytest.mark.parametrize("mutate, needle", [
    (lambda r: r["categories"].update(thefft=1.0), "categories.thefft"),
    (lambda r: r["categories"].pop("noise"), "no weight for noise"),
    (lambda r: r["veto"]["categories"].append("murder"), "veto.categories"),
    (lambda r: r["downgrade"]["burglary"].update(categories=["burglery"]), "downgrade.burglary.categories"),
    (lambda r: r["stars"]["thresholds"].update({4: 95.0}), "stars.thresholds"),
    (lambda r: r["stars"]["thresholds"].pop(3), "stars.thresholds"),
    (lambda r: r["window"].update(half_life_days=-3), "window.half_life_days"),
    (lambda r: r.pop("window"), "window: Field required"),
    (lambda r: r.update(windw={}), "windw"),
    (lambda r: r["categories"].update(theft=-1), "categories"),
    (lambda r: r["shrinkage"].update(strength_residents=100), "strength_residents"),
    (lambda r: r.update(version="x"), "version: reserved"),
    (lambda r: r.update(downgrade=["burglary"]), "downgrade"),
    (lambda r: r.update(veto="homicide"), "veto"),
    (lambda r: r["downgrade"].update(burglary="one step"), "downgrade.burglary"),
])
def test_bad_rules_name_the_key_and_the_fix(tmp_path, mutate, needle):
    with pytest.raises(ConfigError) as e:
        load_rules(write(tmp_path, mutate))
    assert needle in str(e.value)
    assert "fix" in str(e.value)


def test_unreadable_files_give_rules_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("window: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_rules(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_rules(lst)


def test_rate_thresholds_invert_the_index_mapping():
    import math
    rules = load_rules()
    for k, t in rules.stars.thresholds.items():
        assert 100 * math.exp(-rules.rate_threshold(k) / rules.index.scale_per_1000) == pytest.approx(t)
