"""The unified taxonomy recognises real export names; the data-quality table adds up."""
from __future__ import annotations

import polars as pl

from tests.ingest.reference import build_case_events
from ingest.quality import data_quality
from tests.ingest.conftest import canonical_csv, row

ISSUE_NAMES = (
    "故意杀人 故意伤害 故意伤害致人重伤 故意伤害致人死亡 强奸 抢劫 抢夺 绑架 放火 爆炸 投放危险物质 入室盗窃 盗窃 扒窃 "
    "盗窃电动车 诈骗 电信网络诈骗 诈骗窝点 卖淫嫖娼 组织卖淫 赌博 开设赌场 吸毒 贩卖毒品 容留他人吸毒 寻衅滋事 打架斗殴 "
    "家庭暴力 邻里纠纷 婚姻家庭纠纷 物业纠纷 相邻关系纠纷 噪音扰民 社区矫正 安置帮教 治安 物业管理 邻里 集体访"
).split()


def test_every_name_of_the_issue_resolves(taxonomy):
    codes = taxonomy.resolve(pl.Series(ISSUE_NAMES), {})
    assert codes.null_count() == 0
    assert set(codes) <= taxonomy.codes


def test_source_table_wins_and_unknown_stays_null(taxonomy):
    got = taxonomy.resolve(pl.Series([" 治安 ", "故意伤害（重伤）", "A01", "未知", None]), {"治安": "provocation", "A01": "rape"})
    assert got.to_list() == ["provocation", "serious_assault", "rape", None, None]


def test_categories_frame_has_the_contract_columns(taxonomy):
    cats = taxonomy.categories
    assert cats.columns == ["code", "name_zh", "name_en", "group", "group_public"]
    assert cats["code"].is_unique().all() and cats["group_public"].null_count() == 0


def test_data_quality_per_source(landing, ingest, taxonomy):
    landing("police", {"a.csv": canonical_csv(row("P1", case_no="AJ1"), row("P3", when="x"), row("P2")),
                       "b.csv": canonical_csv(row("P1", category="抢劫", case_no="AJ1")), "c.csv": ""})
    data = landing("court", {"c.csv": canonical_csv(row("F1", category="故意杀人", case_no="AJ1"))})
    result = ingest(data)
    events = build_case_events(result.records, taxonomy)
    dq = {r["source"]: r for r in data_quality(result.ledger, result.quarantine, result.records, events).to_dicts()}
    p, c = dq["police"], dq["court"]
    assert (p["files"], p["files_loaded"], p["files_rejected"]) == (3, 2, 1)
    assert (p["rows_read"], p["rows_accepted"], p["rows_quarantined"]) == (4, 3, 1)
    assert (p["quarantined_bad_date"], p["superseded"], p["records"]) == (1, 1, 2)
    assert (c["incidents"], c["chains_linked"], c["records_in_chains"], p["records_in_chains"]) == (1, 1, 1, 1)
    assert dq["justice"]["files"] == 0
