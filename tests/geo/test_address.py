"""Address normalisation (one test per rule) and matching against a registry."""
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.address import AddressMatcher, chinese_numeral_to_int, normalize_address


def norm(*values, prefixes=None, unify=True):
    return normalize_address(pl.Series(list(values), dtype=pl.String), prefixes, unify_names=unify).to_list()


def test_strips_province_city_district_prefixes():
    assert norm("福建省厦门市思明区湖滨北路12号", "厦门市湖里区金山路5号", "湖滨北路12号") == \
        ["湖滨北路12号", "金山路5号", "湖滨北路12号"]


def test_registry_streets_and_communities_are_prefixes_too():
    assert norm("筼筜街道湖滨社区湖滨北路12号", prefixes=["筼筜街道", "湖滨社区"]) == ["湖滨北路12号"]


def test_full_width_to_half_width_and_upper_case():
    assert norm("湖滨北路１２号", "ＡＢＣ大厦", "abc大厦") == ["湖滨北路12号", "ABC大厦", "ABC大厦"]


def test_whitespace_and_punctuation_dropped():
    assert norm(" 湖滨北路 12号，（湖滨花园） ") == norm("湖滨北路12号湖滨花园")


@pytest.mark.parametrize("raw, expected", [
    ("湖滨北路十二号", "湖滨北路12号"),
    ("湖滨北路二十号", "湖滨北路20号"),
    ("湖滨北路一百零五号", "湖滨北路105号"),
    ("湖滨北路十号", "湖滨北路10号"),
    ("湖滨北路三号", "湖滨北路3号"),
])
def test_chinese_numerals_in_house_numbers(raw, expected):
    assert norm(raw) == [expected]


def test_road_names_with_numerals_are_kept():
    assert norm("湖滨一里5号") == ["湖滨一里5号"]


def test_chinese_numeral_parser():
    assert [chinese_numeral_to_int(t) for t in ("十二", "一百零五", "五零三", "两千零一", "十", "十a")] == \
        [12, 105, 503, 2001, 10, None]


@pytest.mark.parametrize("suffix", ["3栋", "3幢", "A座", "3号楼", "3栋2单元501室", "12层", "3#楼501", "二单元", "之一", "3-501"])
def test_building_unit_room_floor_suffixes_dropped(suffix):
    assert norm("湖滨北路12号" + suffix) == ["湖滨北路12号"]


@pytest.mark.parametrize("variant", ["湖滨花园", "湖滨小区", "湖滨家园", "湖滨苑", "湖滨新村", "湖滨", "湖滨花园二期"])
def test_compound_name_variants_unified(variant):
    assert norm(variant) == ["湖滨"]


def test_nulls_stay_null():
    assert norm(None, "") == [None, ""]


@pytest.fixture
def registry():
    return pl.DataFrame({
        "compound_id": ["C1", "C2", "C3", "C4", "C5", "C6", "C7"],
        "name": ["湖滨花园", "金榜苑", "莲前小区", "莲花新村", "瑞景新村", "瑞景家园", "万科城市花园"],
        "aliases": ["湖滨一里", "", None, "莲花五村|莲花小区", None, None, None],
        "district": ["思明区"] * 7,
        "street": ["筼筜街道", "筼筜街道", "前埔街道", "莲前街道", "莲前街道", "莲前街道", "莲前街道"],
        "community": ["湖滨社区", "金榜社区", "前埔社区", "莲花社区", "瑞景社区", "瑞景社区", "瑞景社区"],
        "address": ["湖滨北路12号", "金榜路1号", "莲前东路105号", "莲花路3号", "瑞景路8号", "瑞景路9号", "莲前西路2号"],
        "lon": [118.1] * 7, "lat": [24.47] * 7, "coord_sys": ["WGS84"] * 7,
    })


def test_exact_by_name_alias_and_road_number(registry):
    got = AddressMatcher(registry).match(pl.Series([
        "金榜苑12幢", "莲花五村2栋", "思明区湖滨北路十二号3栋", "湖滨花园",
    ]))
    assert got["compound_id"].to_list() == ["C2", "C4", "C1", "C1"]
    assert got["method_detail"].to_list() == ["name", "alias", "road_number", "name"]
    assert got["score"].min() >= 95


def test_road_and_name_agreeing_is_full_score(registry):
    got = AddressMatcher(registry).match(pl.Series(["湖滨北路12号湖滨花园3栋"]))
    assert got["compound_id"].to_list() == ["C1"] and got["score"].to_list() == [100.0]


def test_same_key_for_two_compounds_is_ambiguous_with_candidates(registry):
    # 瑞景新村 and 瑞景家园 both normalise to 瑞景.
    got = AddressMatcher(registry).match(pl.Series(["瑞景小区"]))
    assert got["compound_id"].to_list() == [None]
    assert got["method_detail"].to_list() == ["ambiguous"]
    assert {c.split(":")[0] for c in got["candidates"][0].split("|")} == {"C5", "C6"}


def test_road_and_name_naming_different_compounds_is_not_accepted(registry):
    got = AddressMatcher(registry).match(pl.Series(["湖滨北路12号金榜苑"]))
    assert got["compound_id"].to_list() == [None]
    assert got["candidates"][0].startswith("C2:100")


def test_fuzzy_accepts_above_threshold_only(registry):
    addresses = pl.Series(["莲前东小区", "万科成市花园"])  # an extra / a wrong character
    loose = AddressMatcher(registry, threshold=70).match(addresses)
    assert loose["compound_id"].to_list() == ["C3", "C7"]
    assert loose["method_detail"].to_list() == ["fuzzy", "fuzzy"]
    strict = AddressMatcher(registry, threshold=95).match(addresses)
    assert strict["compound_id"].to_list() == [None, None]
    assert strict["method_detail"].to_list() == ["below_threshold", "below_threshold"]
    assert strict["candidates"][0].startswith("C3:")


def test_no_match_and_empty_inputs(registry):
    got = AddressMatcher(registry).match(pl.Series(["完全不相干的地方", None, ""]))
    assert got["compound_id"].to_list() == [None, None, None]
    assert got["method_detail"].to_list() == ["no_match", "empty", "empty"]
    assert got.height == 3


def test_output_keeps_input_order_and_repeats(registry):
    got = AddressMatcher(registry).match(pl.Series(["金榜苑", "湖滨花园", "金榜苑"]))
    assert got["compound_id"].to_list() == ["C2", "C1", "C2"]


def test_name_as_written_beats_a_variant_of_another_name(registry):
    # 瑞景新村 (C5) is written exactly; 瑞景家园 (C6) shares only the stem.
    got = AddressMatcher(registry).match(pl.Series(["瑞景新村3栋", "瑞景新村二期"]))
    assert got["compound_id"].to_list() == ["C5", None]
    assert got["method_detail"].to_list() == ["name", "ambiguous"]


def test_qualifiers_like_nearby_are_dropped():
    assert norm("东海新村门口", "集源里附近", unify=False) == ["东海新村", "集源里"]


def test_road_number_settles_an_ambiguous_name(registry):
    got = AddressMatcher(registry).match(pl.Series(["瑞景路9号瑞景小区5栋"]))
    assert got["compound_id"].to_list() == ["C6"]
    assert got["method_detail"].to_list() == ["name_variant+road_number"]


def test_district_named_in_the_address_settles_a_shared_name(registry):
    reg = registry.with_columns(
        pl.when(pl.col("compound_id") == "C6").then(pl.lit("湖里区")).otherwise(pl.col("district")).alias("district")
    )
    got = AddressMatcher(reg).match(pl.Series(["湖里区瑞景小区", "思明区瑞景花园", "瑞景"]))
    assert got["compound_id"].to_list() == ["C6", "C5", None]


def test_every_tied_candidate_is_listed_for_the_reviewer(registry):
    many = pl.DataFrame({
        "compound_id": [f"W{i}" for i in range(8)], "name": ["文园小区"] * 8, "aliases": [None] * 8,
        "district": ["思明区"] * 8, "street": ["街道"] * 8, "community": [None] * 8,
        "address": [None] * 8, "lon": [118.1] * 8, "lat": [24.47] * 8, "coord_sys": ["WGS84"] * 8,
    })
    got = AddressMatcher(many, top_n=3).match(pl.Series(["文园小区"]))
    assert got["compound_id"][0] is None
    assert sorted(c.split(":")[0] for c in got["candidates"][0].split("|")) == [f"W{i}" for i in range(8)]


def _skip_bigrams_by_slices(frame: pl.DataFrame, col: str) -> pl.DataFrame:
    """The rule written out position by position (the way it was first built): the
    reference the NumPy version must equal."""
    from geo.address import _GRAM_SPAN
    text = pl.col(col)
    grams = [pl.concat_str(text.str.slice(i, 1), text.str.slice(i + g, 1)) for i in range(_GRAM_SPAN) for g in (1, 2)]
    return (frame.with_columns(pl.concat_list(grams).list.unique().alias("gram")).explode("gram")
            .filter(pl.col("gram").str.len_chars() == 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="湖滨花园金榜苑莲前ab1 ", max_size=20)), max_size=30))
def test_skip_bigrams_equal_the_rule_written_position_by_position(texts):
    from geo.address import _skip_bigrams
    frame = pl.DataFrame({"id": range(len(texts)), "text": texts}, schema={"id": pl.Int64, "text": pl.String})
    fast = _skip_bigrams(frame, "text").sort(pl.all())
    assert fast.equals(_skip_bigrams_by_slices(frame, "text").sort(pl.all()))
    assert fast.columns == ["id", "text", "gram"]
