"""The staff pages of the intake service: sign-in, my queue, a need's detail and actions,
a supervisor's area view. Server-rendered mobile pages in Chinese, no script.

Every page but the sign-in form needs a live session (401 otherwise); a need outside the
person's grids or area is refused (403); every form post carries the session's CSRF token
(403 without it). The resident's contact is shown only to the unit handling the need.
"""
from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from datetime import datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from intake import workflow
from intake.bodies import read_fields
from intake.staff_auth import (SESSION_COOKIE, Session, check_token, close_session, csrf_ok, find_session,
                               open_session)
from intake.staff_directory import departments, staff_name, staff_view
from intake.workflow_rules import (STAFF_ACTIONS, Action, Refused, StaffView, allowed_actions,
                                   can_see, is_handler, roles_of)
from reports.templating import render_template

LOGIN_COOKIE = "safestar_staff_login"
_NO_STORE = {"Cache-Control": "no-store"}


class StaffRefusal(Exception):
    """A staff request refused, with its status and the reason in both languages."""

    def __init__(self, status: int, code: str, zh: str, en: str):
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en


class StaffPages(workflow.NeedsPages):
    """Request handlers for ``/staff/...``, sharing the service's SQLite connection."""

    def routes(self) -> list[Route]:
        return [
            Route("/staff", self.home, methods=["GET"]),
            Route("/staff/login", self.login_form, methods=["GET"]),
            Route("/staff/login", self.login, methods=["POST"]),
            Route("/staff/logout", self.logout, methods=["POST"]),
            Route("/staff/queue", self.queue, methods=["GET"]),
            Route("/staff/area", self.area, methods=["GET"]),
            Route("/staff/needs/{reference}", self.need, methods=["GET"]),
            Route("/staff/needs/{reference}", self.need_action, methods=["POST"]),
        ]

    @contextlib.asynccontextmanager
    async def sweeping(self):
        """Escalate overdue needs in the background while the service runs."""
        async def loop():
            while True:
                await asyncio.sleep(self.cfg.staff.sweep_seconds)
                with contextlib.suppress(sqlite3.OperationalError):
                    workflow.sweep_overdue(self.conn, self.clock(), self.cfg)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- shared -----------------------------------------------------------------------
    def _page(self, template: str, status: int = 200, **context) -> HTMLResponse:
        labels = self.cfg.labels
        return HTMLResponse(render_template(template, role_zh=labels.roles, state_zh=labels.states,
                                            action_zh=labels.actions, level_zh=labels.levels, **context),
                            status, headers=_NO_STORE)

    async def on_refusal(self, request: Request, exc: StaffRefusal) -> HTMLResponse:
        request.state.refusal = getattr(request.state, "refusal", None) or exc.code
        return self._page("staff_refusal.html", exc.status, code=exc.code, zh=exc.zh, en=exc.en,
                          signin=exc.status == 401)

    def _signed_in(self, request: Request) -> tuple[Session, StaffView]:
        session = find_session(self.conn, request.cookies.get(SESSION_COOKIE), self.clock())
        staff = staff_view(self.conn, session.staff_id) if session else None
        if session is None or staff is None:
            request.state.refusal = "staff_signin"
            raise StaffRefusal(401, "signin_required", "请先登录（登录已过期或无效）。",
                               "sign in first: the session is missing, expired or invalid")
        return session, staff

    async def _form(self, request: Request, session: Session) -> dict[str, str]:
        fields, _ = await read_fields(request)
        if not csrf_ok(session.csrf, fields.get("csrf")):
            request.state.refusal = "csrf"
            raise StaffRefusal(403, "csrf", "表单已失效，请刷新页面后重试。", "the form's CSRF token is missing or wrong")
        return fields

    def _cookie(self, response: Response, request: Request, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/staff", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")

    def _need_for(self, staff: StaffView, reference: str) -> workflow.NeedRow:
        need_id = workflow.need_id_of(reference)
        need = workflow.load_need(self.conn, need_id) if need_id else None
        if need is None or workflow.summary(self.conn, need.need_id).reference != reference:
            raise StaffRefusal(404, "unknown_need", "没有这条需求。", "no such need")
        if not can_see(staff, need.view):
            raise StaffRefusal(403, "other_area", "此需求不在您的网格或辖区内。", "this need is outside your grids or area")
        return need

    # -- pages ------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        return RedirectResponse("/staff/queue", 303)

    async def login_form(self, request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = self._page("staff_login.html", csrf=token, error=None)
        self._cookie(response, request, LOGIN_COOKIE, token, 900)
        return response

    async def login(self, request: Request) -> Response:
        fields, _ = await read_fields(request)
        if not csrf_ok(request.cookies.get(LOGIN_COOKIE), fields.get("csrf")):
            request.state.refusal = "csrf"
            raise StaffRefusal(403, "csrf", "登录表单已失效，请重新打开登录页。", "the sign-in form's CSRF token is missing or wrong")
        staff_id = await asyncio.to_thread(check_token, self.conn, fields.get("token", ""), self.cfg)
        if staff_id is None:
            request.state.refusal = "staff_token"
            token = secrets.token_urlsafe(24)
            response = self._page("staff_login.html", 401, csrf=token, error="令牌无效或已停用，请核对后重试。")
            self._cookie(response, request, LOGIN_COOKIE, token, 900)
            return response
        session_id, _ = open_session(self.conn, staff_id, self.clock(), self.cfg)
        response = RedirectResponse("/staff/queue", 303)
        self._cookie(response, request, SESSION_COOKIE, session_id, self.cfg.staff.session_minutes * 60)
        response.delete_cookie(LOGIN_COOKIE, path="/staff", httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        session, _ = self._signed_in(request)
        await self._form(request, session)
        close_session(self.conn, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/staff/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/staff", httponly=True, samesite="strict")
        return response

    async def queue(self, request: Request) -> Response:
        session, staff = self._signed_in(request)
        now = self.clock()
        workflow.sweep_overdue(self.conn, now, self.cfg)
        q = workflow.queue(self.conn, staff, now)
        return self._page("staff_queue.html", staff=staff, display_name=staff_name(self.conn, staff.staff_id),
                          csrf=session.csrf, handle=q["handle"], check=q["check"], now=now,
                          supervisor=staff.role.endswith("_supervisor"))

    async def area(self, request: Request) -> Response:
        session, staff = self._signed_in(request)
        now = self.clock()
        workflow.sweep_overdue(self.conn, now, self.cfg)
        try:
            view = workflow.area_overview(self.conn, staff, now)
        except Refused as exc:
            raise StaffRefusal(403, exc.code, exc.zh, exc.en) from None
        return self._page("staff_area.html", staff=staff, csrf=session.csrf, counts=view["counts"],
                          overdue=view["overdue"], area="、".join(sorted(staff.streets or staff.districts)) or "全市")

    async def need(self, request: Request) -> Response:
        session, staff = self._signed_in(request)
        now = self.clock()
        workflow.sweep_overdue(self.conn, now, self.cfg)
        need = self._need_for(staff, request.path_params["reference"])
        return self._need_page(session, staff, need, now)

    def _need_page(self, session: Session, staff: StaffView, need: workflow.NeedRow, now: datetime,
                   error: str | None = None, status: int = 200) -> Response:
        text, contact, compound_id, created_at = self.conn.execute(
            "SELECT text, contact, compound_id, created_at FROM needs WHERE id = ?", (need.need_id,)).fetchone()
        handler = is_handler(staff, need.view)
        actions = allowed_actions(need.view, roles_of(staff, need.view), self.cfg, staff.staff_id)
        targets = []
        if Action.TRANSFER in actions:
            targets = [("department", u) for u in sorted({d.unit for d in departments(self.conn) if d.unit})]
            if need.view.location.grid_code:
                targets.insert(0, ("grid", need.view.location.grid_code))
            targets = [t for t in targets if t != (need.view.level, need.view.unit)]
        names = {}
        events = workflow.history(self.conn, need.need_id)
        for e in events:
            if e.actor_id not in names:
                names[e.actor_id] = staff_name(self.conn, e.actor_id) or self.cfg.labels.roles.get(
                    e.actor_role, e.actor_id)
        return self._page("staff_need.html", status, staff=staff, csrf=session.csrf, need=need,
                          summary=workflow.summary(self.conn, need.need_id, now), text=text,
                          contact=contact if handler else None, handler=handler, compound_id=compound_id,
                          created_at=created_at, events=events, names=names, actions=actions, targets=targets,
                          error=error)

    async def need_action(self, request: Request) -> Response:
        session, staff = self._signed_in(request)
        fields = await self._form(request, session)
        need = self._need_for(staff, request.path_params["reference"])
        action = next((a for a in STAFF_ACTIONS if a.value == fields.get("action")), None)
        if action is None:
            raise StaffRefusal(422, "unknown_action", "未知的操作。", "unknown action")
        target = None
        if action is Action.TRANSFER:
            level, _, unit = (fields.get("target") or "").partition(":")
            target = (level, unit) if unit else None
        note = (fields.get("note") or "").strip()[:500] or None
        try:
            workflow.act(self.conn, need.need_id, action, workflow.Actor(staff.staff_id, staff.role, staff),
                         self.clock(), self.cfg, note=note, target=target)
        except Refused as exc:
            request.state.refusal = exc.code
            status = 403 if exc.code in ("not_your_need", "not_allowed") else 409
            fresh = workflow.load_need(self.conn, need.need_id)
            return self._need_page(session, staff, fresh, self.clock(), error=f"{exc.zh}（{exc.en}）",
                                   status=status)
        return RedirectResponse(f"/staff/needs/{request.path_params['reference']}", 303)
