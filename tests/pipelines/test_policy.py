"""Policy in one place: thresholds and labels come from config/rules.yaml through one typed
loader; the taxonomy is parsed once; the Policy resource follows the rules file."""
from __future__ import annotations

import os

import pytest
import yaml

from config.loader import ConfigError, _parsed
from ingest.taxonomy import load_taxonomy
from pipelines.resources import Policy
from scoring.rules import DEFAULT_RULES, load_rules


def test_downgrade_labels_are_the_public_names():
    """Found: reports/site_tips.yaml and config/rules.yaml named the downgrade kinds differently
    (黄/赌/毒 against 卖淫嫖娼/赌博/涉毒); config/rules.yaml is now the one place, in the public words."""
    labels = load_rules().downgrade_labels
    assert set(labels) == set(load_rules().downgrade)
    assert not {"黄", "赌", "毒"} & set(labels.values())


def test_the_taxonomy_is_parsed_once_per_file_version():
    before = _parsed.cache_info()
    first = load_taxonomy()
    load_rules()  # the rules' category names come from the same parse
    assert load_taxonomy() is first and first.categories is first.categories
    after = _parsed.cache_info()
    assert after.misses - before.misses <= 2 and after.hits > before.hits  # at most the taxonomy and the rules


def test_the_policy_resource_reads_the_configured_rules_and_follows_edits(tmp_path):
    raw = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    path = tmp_path / "rules.yaml"
    raw["attribution"]["address_match_threshold"] = 90.0
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    policy = Policy(rules_path=str(path))
    assert policy.rules.attribution.address_match_threshold == 90.0
    assert policy.rules is policy.rules  # parsed once while the file is unchanged
    raw["sources"]["per_source"]["court"] = {"recent_days": 60}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert policy.rules.sources.for_source("court").recent_days == 60
    assert Policy().rules.version == load_rules().version


@pytest.mark.parametrize("section, value, says", [
    ("sources", {"per_source": {"fire_brigade": {"recent_days": 3}}}, "fire_brigade"),
    ("public", {"suppress_below": 1}, "public.suppress_below"),
    ("attribution", {"match_rate_floor": 1.5}, "attribution.match_rate_floor"),
])
def test_a_bad_threshold_is_refused_with_its_key(tmp_path, section, value, says):
    raw = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    raw[section] = {**raw[section], **value}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=says.replace(".", r"\.")):
        load_rules(path)
