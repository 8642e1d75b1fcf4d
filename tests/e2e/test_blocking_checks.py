"""A failed blocking check stops publication: the last good publication stays; incomplete
sources (none at all, a rejected landing file) stop it with one line naming the source."""
from __future__ import annotations

import json
import shutil
from datetime import date

import polars as pl
import pytest

from generator.city import generate_city
from pipelines.cli import EXIT_USER_ERROR, UserError, main, run_rating


def test_personal_data_in_a_public_table_stops_publication(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    generate_city(data, seed=17, n_compounds=100, n_events=1500)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    first, second = date.fromisoformat(city["first_as_of"]), date.fromisoformat(city["second_as_of"])
    run_rating(data, out, first, demo=True, quiet=True)

    registry = pl.read_csv(data / "compounds.csv", infer_schema_length=0)
    registry.with_columns(
        pl.when(pl.col("compound_id") == registry["compound_id"][0])
        .then(pl.lit("联系13912345678花园")).otherwise(pl.col("name")).alias("name")
    ).write_csv(data / "compounds.csv")
    with pytest.raises(UserError, match="no_personal_data_in_public_tables"):
        run_rating(data, out, second, demo=True, quiet=True)
    assert not (out / second.isoformat()).exists()
    assert (out / first.isoformat() / "ratings.csv").exists()
    assert "13912345678" not in (out / "latest" / "ratings.csv").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("sources") / "data"
    generate_city(data, seed=23, n_compounds=80, n_events=1500)
    return data


def _copy(city, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(city, data)
    return data, date.fromisoformat(json.loads((data / "city.json").read_text(encoding="utf-8"))["first_as_of"])


def _published(out, as_of) -> bool:
    return (out / as_of.isoformat()).exists() or (out / "latest").exists()


def test_a_registry_with_empty_sources_publishes_nothing(city, tmp_path, capsys):
    """Found: an empty sources/ published every compound at five stars and a plaque batch, exit 0."""
    data, as_of = _copy(city, tmp_path)
    shutil.rmtree(data / "sources")
    (data / "sources").mkdir()
    out = tmp_path / "out"
    code = main(["run", "--data", str(data), "--as-of", as_of.isoformat(), "--out", str(out), "--demo"])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert "no source has any record" in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1:]) == 1 and err.strip().splitlines()[-1].startswith("safestar: error:")
    assert not _published(out, as_of)
    assert not list(out.rglob("ratings.csv")) and not list(out.rglob("manifest*"))


def test_no_records_at_all_never_publishes_even_when_acknowledged(city, tmp_path):
    data, as_of = _copy(city, tmp_path)
    shutil.rmtree(data / "sources")
    (data / "sources").mkdir()
    (data / "decisions").mkdir(exist_ok=True)
    pl.DataFrame({"source": ["police", "procuratorate", "court", "justice", "petition"],
                  "from": "2020-01-01", "to": "2030-12-31", "who": "王分析", "when": "2026-11-18 09:00",
                  "why": "系统切换"}).write_csv(data / "decisions" / "source_outages.csv")
    with pytest.raises(UserError, match="no source has any record"):
        run_rating(data, tmp_path / "out", as_of, demo=True, quiet=True)
    assert not _published(tmp_path / "out", as_of)


def test_rejected_landing_files_block_until_acknowledged_and_the_report_says_so(city, tmp_path):
    """Found: binary garbage and a broken xlsx in the landing zone only printed a warning."""
    data, as_of = _copy(city, tmp_path)
    out = tmp_path / "out"
    (data / "sources" / "police" / "警情_补充.csv").write_bytes(bytes(range(256)) * 8)
    (data / "sources" / "procuratorate" / "受案登记_补充.xlsx").write_bytes(b"PK\x03\x04" + b"\x00broken" * 50)
    with pytest.raises(UserError) as failure:
        run_rating(data, out, as_of, demo=True, quiet=True)
    line = str(failure.value)
    assert "\n" not in line
    assert "source police" in line and "警情_补充.csv" in line
    assert "source procuratorate" in line and "受案登记_补充.xlsx" in line
    assert "source_outages.csv" in line  # what to do, besides fixing the file
    assert not _published(out, as_of)

    (data / "decisions").mkdir(exist_ok=True)
    pl.DataFrame({"source": ["police", "procuratorate"], "from": [as_of.isoformat()] * 2,
                  "to": [as_of.isoformat()] * 2, "who": ["李研判", "李研判"],
                  "when": ["2026-11-19 08:30", "2026-11-19 08:31"],
                  "why": ["补充文件损坏，已联系公安重发", "检察院导出工具故障"]}).write_csv(data / "decisions" / "source_outages.csv")
    run_rating(data, out, as_of, demo=True, quiet=True)
    assert (out / as_of.isoformat() / "ratings.csv").exists()
    report = (out / as_of.isoformat() / "report" / "index.html").read_text(encoding="utf-8")
    assert "李研判" in report and "补充文件损坏，已联系公安重发" in report and "检察院导出工具故障" in report
