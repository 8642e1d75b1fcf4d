"""One call for the pipeline: plan a rating date's plaques, write its print batch and the
verification pages, and summarise it for the asset's metadata."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.batch import write_batch
from plaques.pages import render_verification_pages
from plaques.registry import DEFAULT_STABILITY_DAYS, PlaquePlan, plan_plaques
from schemas.ratings import Rating
from schemas.registry import Compound


@dataclass(frozen=True)
class IssueResult:
    """The plan of the date, its batch folder (None when nothing changed) and the pages."""

    plan: PlaquePlan
    batch_dir: Path | None
    pages: list[Path]

    def metadata(self) -> dict:
        """Counts for ``MaterializeResult(metadata=...)``."""
        acts = self.plan.actions["action"]
        reg = self.plan.registry
        return {
            "batch_id": self.plan.batch_id if self.batch_dir else "",
            "batch_dir": str(self.batch_dir or ""),
            "new": int((acts == "new").sum()),
            "replace": int((acts == "replace").sum()),
            "withdraw": int((acts == "withdraw").sum()),
            "pending_index_changes": self.plan.pending.height,
            "active_plaques": int(reg.filter(pl.col("status") == "active").height),
            "plaques_ever_issued": reg.height,
            "verification_pages": len(self.pages),
        }


def issue_plaques(registry: pl.DataFrame | None, ratings_history: DataFrame[Rating],
                  compounds: DataFrame[Compound], *, as_of: date, run_dir: Path, base_url: str, secret: str,
                  stability_days: int = DEFAULT_STABILITY_DAYS, workers: int = 1) -> IssueResult:
    """Plan ``as_of``; write ``run_dir/plaques/<batch>/`` and ``run_dir/site/p/…``.

    ``run_dir`` is ``OUT_DIR/<as_of>``; store ``result.plan.registry`` as ``marts.plaques``.
    """
    plan = plan_plaques(registry, ratings_history, compounds, as_of=as_of, stability_days=stability_days)
    batch_dir = write_batch(plan, compounds, Path(run_dir) / "plaques", as_of=as_of, base_url=base_url,
                            secret=secret, workers=workers)
    pages = render_verification_pages(Path(run_dir) / "site", plan.registry, ratings_history, base_url=base_url,
                                      secret=secret)
    return IssueResult(plan=plan, batch_dir=batch_dir, pages=pages)
