"""Small hand-made loops: compounds, needs with their events, check-ins, ratings."""
from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

COMPOUNDS = pl.DataFrame({
    "compound_id": ["a", "b", "c", "d"],
    "district": ["思明区"] * 4,
    "street": ["厦港街道", "厦港街道", "厦港街道", "中华街道"],
    "community": ["鸿山社区", "鸿山社区", "福海社区", "中华社区"],
    "grid_code": ["Sa001", "Sa002", "Sa003", "Sb001"],
})

STEPS = {
    # action: to_state
    "register": "registered", "assign": "assigned", "accept": "in_progress", "record": "in_progress",
    "escalate": "assigned", "overdue": "assigned", "resolve": "resolved", "close": "closed", "rate": "rated",
    "send_back": "in_progress",
}


class Loop:
    """Builds needs and events the way the workflow appends them."""

    def __init__(self) -> None:
        self.needs: list[dict] = []
        self.events: list[dict] = []

    def need(self, compound: str, at: datetime, hours: float = 24, category: str = "治安隐患") -> int:
        need_id = len(self.needs) + 1
        self.needs.append({"need_id": need_id, "compound_id": compound, "category": category})
        deadline = at + timedelta(hours=hours)
        self.step(need_id, "register", at, deadline)
        self.step(need_id, "assign", at, deadline)
        return need_id

    def step(self, need_id: int, action: str, at: datetime, deadline: datetime | None = None,
             rating: str | None = None, to_state: str | None = None) -> None:
        if deadline is None:
            deadline = next(e["deadline"] for e in reversed(self.events) if e["need_id"] == need_id)
        self.events.append({"need_id": need_id, "seq": len(self.events) + 1, "at": at, "action": action,
                            "to_state": to_state or STEPS[action], "deadline": deadline, "rating": rating})

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        needs = pl.DataFrame(self.needs, schema={"need_id": pl.Int64, "compound_id": pl.String, "category": pl.String})
        events = pl.DataFrame(self.events, schema={"need_id": pl.Int64, "seq": pl.Int64, "at": pl.Datetime("us"),
                                                   "action": pl.String, "to_state": pl.String,
                                                   "deadline": pl.Datetime("us"), "rating": pl.String})
        return needs, events


def checkins(*rows: tuple[str, datetime]) -> pl.DataFrame:
    return pl.DataFrame({"checkin_id": list(range(1, len(rows) + 1)), "compound_id": [r[0] for r in rows],
                         "kind": ["法治宣传"] * len(rows), "at": [r[1] for r in rows]},
                        schema={"checkin_id": pl.Int64, "compound_id": pl.String, "kind": pl.String,
                                "at": pl.Datetime("us")})


def ratings(stars: dict[str, tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame({"compound_id": list(stars), "stars": [s for s, _ in stars.values()],
                         "status": [st for _, st in stars.values()]})
