"""The resident's receipt page: the need's timeline, the result and the rating form.

Public, opened by the receipt link (reference + unguessable key). It shows what happened
and when, at which level, never who (no staff names), never the contact or internal notes;
the only staff text shown is the result written for the resident.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from intake import store, workflow
from intake.bodies import Refusal, read_fields
from intake.workflow_rules import Action, Refused, State
from reports.templating import render_template


class ReceiptPages(workflow.NeedsPages):
    """``GET /api/needs/{reference}?key=`` and ``POST /api/needs/{reference}/rating``."""

    def routes(self) -> list[Route]:
        return [
            Route("/api/needs/{reference}", self.receipt, methods=["GET"]),
            Route("/api/needs/{reference}/rating", self.rate, methods=["POST"]),
        ]

    def _find(self, reference: str, key: str) -> store.StoredNeed:
        need = store.find_need(self.conn, reference, key)
        if need is None:
            raise Refusal(404, "unknown_reference", "no such reference, or the key does not match")
        return need

    def context(self, need: store.StoredNeed, key: str) -> dict:
        """What the receipt template shows for a stored need."""
        need_id = workflow.need_id_of(need.reference)
        row = workflow.load_need(self.conn, need_id)
        events = workflow.history(self.conn, need_id)
        labels = self.cfg.labels
        timeline = [(e.at.strftime("%Y-%m-%d %H:%M"),
                     labels.steps[e.action].format(level=labels.public_levels.get(e.level, ""), rating=e.rating or ""))
                    for e in events if e.action is not Action.REGISTER or e is events[0]]
        results = [e for e in events if e.action is Action.RESOLVE]
        state = row.view.state if row else State.REGISTERED
        return {"need": need, "timeline": timeline, "state_text": labels.states[state],
                "result": results[-1].note if results else None,
                "result_at": results[-1].at.strftime("%Y-%m-%d %H:%M") if results else None,
                "deadline": row.view.deadline.strftime("%Y-%m-%d %H:%M") if row and row.view.deadline else None,
                "can_rate": state is State.CLOSED, "choices": self.cfg.rating.choices,
                "rating_url": f"/api/needs/{need.reference}/rating", "key": key,
                "receipt_url": None}

    async def receipt(self, request: Request) -> Response:
        key = request.query_params.get("key", "")
        need = self._find(request.path_params["reference"], key)
        return HTMLResponse(render_template("site_receipt.html", **self.context(need, key)),
                            headers={"Cache-Control": "no-store"})

    async def rate(self, request: Request) -> Response:
        fields, as_form = await read_fields(request)
        key = fields.get("key", "")
        need = self._find(request.path_params["reference"], key)
        try:
            out = workflow.act(self.conn, workflow.need_id_of(need.reference), Action.RATE, workflow.RESIDENT,
                               self.clock(), self.cfg, rating=(fields.get("rating") or "").strip())
        except Refused as exc:
            code = "bad_rating" if exc.code == "bad_rating" else "cannot_rate"
            raise Refusal(422 if code == "bad_rating" else 409, code, exc.en) from None
        if as_form and "application/json" not in request.headers.get("accept", ""):
            return RedirectResponse(f"/api/needs/{need.reference}?key={key}", 303)
        return JSONResponse({"reference": need.reference, "state": str(out.to_state)}, 200)
