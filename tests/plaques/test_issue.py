"""The pipeline's one call: plan, batch and pages for a date."""
from __future__ import annotations

from plaques.issue import issue_plaques
from tests.plaques.conftest import BASE_URL, SECRET, make_compounds, make_ratings, rated
from tests.plaques.scenario import D1, D2


def test_issue_two_dates(tmp_path):
    compounds = make_compounds()
    hist = make_ratings([rated("C1", 4, D1), rated("C2", 5, D1), ("C1", 0, "vetoed", "veto:homicide", D2),
                         ("C2", 4, "downgraded", "downgrade:burglary", D2)])
    first = issue_plaques(None, hist, compounds, as_of=D1, run_dir=tmp_path / "2026-03-02", base_url=BASE_URL,
                          secret=SECRET)
    assert first.metadata()["new"] == 2 and first.batch_dir == tmp_path / "2026-03-02" / "plaques" / "B20260302"
    second = issue_plaques(first.plan.registry, hist, compounds, as_of=D2, run_dir=tmp_path / "2026-03-03",
                           base_url=BASE_URL, secret=SECRET)
    meta = second.metadata()
    assert (meta["new"], meta["replace"], meta["withdraw"]) == (0, 1, 1)
    assert meta["active_plaques"] == 1 and meta["plaques_ever_issued"] == 3 and meta["verification_pages"] == 5
    assert (tmp_path / "2026-03-03" / "site" / "404.html").is_file()
    third = issue_plaques(second.plan.registry, hist, compounds, as_of=D2, run_dir=tmp_path / "again",
                          base_url=BASE_URL, secret=SECRET)
    assert third.plan.actions.equals(second.plan.actions)
