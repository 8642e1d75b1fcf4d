"""The officers' own check-in page (报到), served by the intake service, not by the public
compound pages.

An officer signs in once with their token; the service answers with a session id in a
cookie that is HttpOnly (no script can read it), SameSite=Lax (not sent on another site's
form post; sent when a scanned QR code opens the page), Secure when served over https, and
limited to ``/officer``. The token itself is never kept in the browser. The page is plain
server-rendered forms: no script at all.
"""
from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from intake.bodies import Refusal
from intake.handlers import Handlers
from intake.tokens import check_token, close_session, open_session, session_officer
from intake.vocab import CHECKIN_KINDS, REFUSAL_ZH
from reports.templating import render_template

COOKIE = "ss_officer"
PATH = "/officer"
NO_STORE = {"Cache-Control": "no-store"}


class OfficerPage:
    """Handlers of ``/officer/``; shares the service's database, limits and compound list."""

    def __init__(self, h: Handlers):
        self.h = h

    def routes(self) -> list[Route]:
        return [
            Route(PATH, lambda r: RedirectResponse(PATH + "/", 308), methods=["GET", "HEAD"]),
            Route(PATH + "/", self.page, methods=["GET", "HEAD"]),
            Route(PATH + "/login", self.login, methods=["POST"]),
            Route(PATH + "/checkin", self.checkin, methods=["POST"]),
            Route(PATH + "/logout", self.logout, methods=["POST"]),
        ]

    def _officer(self, request: Request) -> str | None:
        return session_officer(self.h.conn, request.cookies.get(COOKIE))

    def _render(self, status: int, officer: str | None, compound_id: str = "", message: str | None = None,
                ok: bool = False) -> Response:
        hours = self.h.settings.officer_session.max_age_hours
        html = render_template("officer_checkin.html", officer=officer, compound_id=compound_id[:64],
                               kinds=CHECKIN_KINDS, message=message, ok=ok, hours=f"{hours:g}",
                               idem_key=secrets.token_urlsafe(18))
        return HTMLResponse(html, status, headers=NO_STORE)

    async def page(self, request: Request) -> Response:
        return self._render(200, self._officer(request), request.query_params.get("c", ""))

    async def login(self, request: Request) -> Response:
        self.h.limit(request)  # throttles token guessing
        fields, _ = await self.h.fields(request)
        compound_id = (fields.get("c") or "").strip()
        officer, why = check_token(self.h.conn, (fields.get("token") or "").strip())
        if officer is None:
            request.state.refusal = f"{why}_token"
            return self._render(401 if why == "invalid" else 403, None, compound_id, REFUSAL_ZH[f"{why}_token"])
        max_age = int(self.h.settings.officer_session.max_age_hours * 3600)
        sid = open_session(self.h.conn, officer, max_age)
        target = PATH + "/" + (f"?c={quote(compound_id)}" if self.h.compounds.has(compound_id) else "")
        response = RedirectResponse(target, 303, headers=NO_STORE)
        response.set_cookie(COOKIE, sid, max_age=max_age, path=PATH, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        return response

    async def checkin(self, request: Request) -> Response:
        self.h.limit(request)
        officer = self._officer(request)
        fields, _ = await self.h.fields(request)
        if officer is None:
            request.state.refusal = "missing_session"
            return self._render(401, None, fields.get("compound_id") or "", "请先登录（登录已过期或已退出）。")
        try:
            done, body = self.h.checkin(request, officer, fields)
        except Refusal as exc:
            request.state.refusal = exc.error
            return self._render(exc.status, officer, fields.get("compound_id") or "",
                                REFUSAL_ZH.get(exc.error, "报到未成功，请检查后重试。"))
        message = (f"报到成功：{body['compound_id']}，{body['kind']}。本月本小区第{done.n_month}次服务。"
                   if done.counted else
                   f"本时段已报到过（{body['compound_id']}，{body['kind']}），不重复计数。")
        return self._render(201 if done.counted else 200, officer, body["compound_id"], message, ok=True)

    async def logout(self, request: Request) -> Response:
        close_session(self.h.conn, request.cookies.get(COOKIE))
        response = RedirectResponse(PATH + "/", 303, headers=NO_STORE)
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax",
                               secure=request.url.scheme == "https")
        return response
