"""The two-date scenario of the issue: a first batch for everyone, then one veto and one
downgrade, giving a batch with exactly one withdrawal and one replacement. The plans are
written to a small warehouse as the nightly `plaques` asset writes them (registry and print
orders, no files); `pull` makes the files."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.resources import Warehouse
from plaques.keys import Keyring, PlaqueSettings, SigningKey, ensure_recorded
from plaques.orders import print_orders
from plaques.pull import pull_batch
from plaques.registry import PlaquePlan, plan_plaques
from tests.plaques.conftest import BASE_URL, SECRET, make_compounds, make_ratings, rated

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)
SETTINGS = PlaqueSettings(demo=False, base_url=BASE_URL.rstrip("/"), keyring=Keyring(SigningKey.of(SECRET)))


@dataclass
class Scenario:
    out_dir: Path
    compounds: pl.DataFrame
    history: pl.DataFrame
    first: PlaquePlan
    second: PlaquePlan

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(path=str(self.out_dir / "warehouse.duckdb"))


def store(out_dir: Path, plan: PlaquePlan, settings: PlaqueSettings = SETTINGS) -> None:
    """What the nightly `plaques` asset stores for a plan."""
    ensure_recorded(out_dir, settings.keyring, plan.as_of)
    orders = print_orders(plan.actions, batch_id=plan.batch_id, settings=settings, as_of=plan.as_of)
    with Warehouse(path=str(out_dir / "warehouse.duckdb")).transaction() as w:
        w.replace_partition("marts.plaques", plan.registry.with_columns(
            pl.lit(plan.as_of).alias("as_of"), pl.lit(settings.demo).alias("demo")), "as_of", plan.as_of)
        w.replace_partition("marts.plaque_actions", orders, "as_of", plan.as_of)


def build(out_dir: Path, settings: PlaqueSettings = SETTINGS) -> Scenario:
    out_dir.mkdir(parents=True, exist_ok=True)
    compounds = make_compounds()
    history = make_ratings(
        [rated("C1", 4, D1), rated("C2", 5, D1), rated("C3", 3, D1), rated("C4", 4, D1), rated("C5", 2, D1),
         ("C1", 0, "vetoed", "veto:homicide", D2), ("C2", 4, "downgraded", "downgrade:burglary", D2),
         rated("C3", 4, D2), rated("C4", 4, D2), rated("C5", 2, D2)])
    with Warehouse(path=str(out_dir / "warehouse.duckdb")).transaction() as w:
        w.replace_table("core.compounds", compounds)
    first = plan_plaques(None, history, compounds, as_of=D1)
    store(out_dir, first, settings)
    second = plan_plaques(first.registry, history, compounds, as_of=D2)
    store(out_dir, second, settings)
    return Scenario(out_dir, compounds, history, first, second)


def pulled(sc: Scenario, to: Path, batch: str, **kw) -> Path:
    """Pull one batch (two workers at most, no progress bar) and return its folder."""
    result = pull_batch(sc.out_dir, batch=batch, to=to, workers=kw.pop("workers", 1), progress=False, **kw)
    [folder] = result.folders
    return folder
