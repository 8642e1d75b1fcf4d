"""The staff load benchmark, bounded: a small database built in SQL is consistent, and every
action the server acknowledged under concurrent staff and residents is in the database."""
from __future__ import annotations

from bench.staff_load import build, run


def test_bounded_staff_load_loses_nothing(tmp_path):
    db = tmp_path / "bench.sqlite"
    built = build(db, 3000)  # also replays 200 needs' events against their cached state
    assert built["needs"] == 3000
    result = run(db, n_staff=4, n_residents=6, seconds=4, staff_think=0.2, resident_think=0.3)
    print(f"\nstaff load: {result['per_second']} req/s, server ms {result['server_ms']}")
    assert result["lost"] == {} and not [k for k in result["errors"] if not k.startswith("transport")]
    assert result["acknowledged"].get("submit", 0) > 0 and sum(
        result["acknowledged"].get(a, 0) for a in ("accept", "record", "resolve", "close")) > 0
    # Every stored need was registered in its workflow (a dropped connection may leave a need
    # stored but unacknowledged, never the reverse).
    assert result["registered_new"] == result["stored"]["submit"] >= result["acknowledged"]["submit"]
