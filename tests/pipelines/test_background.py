"""Files handed to the worker process (pipelines.background) and the shared read connection
of a step (Warehouse.reading)."""
from pathlib import Path

import polars as pl
import pytest

from pipelines import background
from pipelines.resources import Warehouse


def test_handed_off_files_are_written_by_the_time_wait_all_returns(tmp_path):
    targets = [tmp_path / f"file{i}.txt" for i in range(3)]
    for i, target in enumerate(targets):
        background.hand_off(f"file {i}", target.write_text, f"content {i}")
    background.wait_all()
    assert [t.read_text() for t in targets] == [f"content {i}" for i in range(3)]


def test_a_failed_hand_off_fails_the_wait_and_names_the_file(tmp_path):
    background.hand_off("the good file", (tmp_path / "good.txt").write_text, "x")
    background.hand_off("the rankings workbook", (tmp_path / "no-such-folder" / "book.xlsx").write_text, "x")
    with pytest.raises(RuntimeError, match="the rankings workbook: .*no-such-folder"):
        background.wait_all()
    assert (tmp_path / "good.txt").read_text() == "x"
    background.wait_all()  # nothing is left pending after a failure


def test_reads_of_a_block_share_one_connection_and_refuse_writes(tmp_path, monkeypatch):
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
    with warehouse.transaction() as w:
        w.replace_table("core.things", pl.DataFrame({"x": [1, 2, 3]}))
    opened = []
    real_open = Warehouse._open
    monkeypatch.setattr(Warehouse, "_open", lambda self, read_only: opened.append(read_only) or real_open(self, read_only))
    with warehouse.reading():
        assert warehouse.read("core.things")["x"].to_list() == [1, 2, 3]
        assert warehouse.count("core.things") == 3 and warehouse.has_table("core.things")
        assert warehouse.read("core.absent") is None and warehouse.count("core.absent") == 0
        assert warehouse.query("SELECT sum(x) AS s FROM core.things")["s"][0] == 6
        with pytest.raises(RuntimeError, match="end the reading block"):
            with warehouse.transaction():
                pass
    assert opened == [True]
    assert warehouse.count("core.things") == 3 and opened == [True, True]  # outside: its own connection
