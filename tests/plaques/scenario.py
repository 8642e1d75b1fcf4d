"""The two-date scenario of the issue: a first batch for everyone, then one veto and one
downgrade, giving a batch with exactly one withdrawal and one replacement."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from plaques.batch import write_batch
from plaques.registry import PlaquePlan, plan_plaques
from tests.plaques.conftest import BASE_URL, SECRET, make_compounds, make_ratings, rated

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)


@dataclass
class Scenario:
    out_dir: Path
    compounds: pl.DataFrame
    history: pl.DataFrame
    first: PlaquePlan
    second: PlaquePlan
    first_dir: Path
    second_dir: Path


def build(out_dir: Path) -> Scenario:
    compounds = make_compounds()
    history = make_ratings(
        [rated("C1", 4, D1), rated("C2", 5, D1), rated("C3", 3, D1), rated("C4", 4, D1), rated("C5", 2, D1),
         ("C1", 0, "vetoed", "veto:homicide", D2), ("C2", 4, "downgraded", "downgrade:burglary", D2),
         rated("C3", 4, D2), rated("C4", 4, D2), rated("C5", 2, D2)])
    first = plan_plaques(None, history, compounds, as_of=D1)
    first_dir = write_batch(first, compounds, out_dir / D1.isoformat() / "plaques", as_of=D1,
                            base_url=BASE_URL, secret=SECRET)
    second = plan_plaques(first.registry, history, compounds, as_of=D2)
    second_dir = write_batch(second, compounds, out_dir / D2.isoformat() / "plaques", as_of=D2,
                             base_url=BASE_URL, secret=SECRET)
    return Scenario(out_dir, compounds, history, first, second, first_dir, second_dir)
