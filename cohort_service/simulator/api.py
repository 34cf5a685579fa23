"""``SimulatorApp``: httpx.Request in, httpx.Response out — the whole amoCRM API v4 surface we use.

The same object serves ``httpx.MockTransport(app.handle)`` in unit tests and the loopback HTTP
server (``server.serve``). Every request passes the network first (latency and jitter), then the
weather (block, script, rate limit counted at arrival, random faults), then authentication, then
routing. Data reads and ``advance`` share one lock, so
time can move while a server is answering.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx

from cohort_service.simulator import events_api, leads_api, life, plants, problems, reference_api
from cohort_service.simulator.faults import (
    FaultConfig,
    FaultKind,
    Limits,
    RequestLog,
    RequestRecord,
    ScriptedFault,
    Verdict,
    Weather,
)
from cohort_service.simulator.hal import Ctx, QueryCache, Reply
from cohort_service.simulator.model import SimAccount, User
from cohort_service.simulator.oauth import OAuthStore

Handler = Callable[..., Reply]
ROUTES: tuple[tuple[re.Pattern[str], Handler], ...] = tuple(
    (re.compile(pattern), handler)
    for pattern, handler in (
        (r"/api/v4/account", reference_api.account),
        (r"/api/v4/users", reference_api.users),
        (r"/api/v4/users/(\d+)", reference_api.user),
        (r"/api/v4/leads/pipelines", reference_api.pipelines),
        (r"/api/v4/leads/pipelines/(\d+)", reference_api.pipeline),
        (r"/api/v4/leads/pipelines/(\d+)/statuses", reference_api.statuses),
        (r"/api/v4/leads/custom_fields", reference_api.custom_fields),
        (r"/api/v4/leads/loss_reasons", reference_api.loss_reasons),
        (r"/api/v4/leads", leads_api.leads_list),
        (r"/api/v4/leads/(\d+)", leads_api.lead_by_id),
        (r"/api/v4/events", events_api.events_list),
        (r"/api/v4/events/([0-9a-z]+)", events_api.event_by_id),
    )
)
OAUTH_PATH = "/oauth2/access_token"


class SimulatorApp:
    """A simulated amoCRM account behind its API. Tune ``limits``/``faults`` at any time."""

    def __init__(
        self,
        account: SimAccount,
        *,
        limits: Limits | None = None,
        faults: FaultConfig | None = None,
        events_order: Literal["desc", "asc", "shuffled"] = "desc",
        events_max_limit: int = 100,
        access_ttl_s: float = 86400,
        oauth_clock: Literal["wall", "sim"] | Callable[[], float] = "wall",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.account = account
        self.events_order = events_order
        self.events_max_limit = events_max_limit
        self.log = RequestLog()
        self._weather = Weather(limits or Limits(), faults or FaultConfig(), clock)
        self._stop = threading.Event()
        self._sleep = sleep if sleep is not None else self._wait
        self._data_lock = threading.RLock()
        self._cache = QueryCache()
        self._plants: list[plants.Plant] = []
        oauth_now = _oauth_clock(oauth_clock, self)
        self.oauth = OAuthStore(
            account_id=account.id, admin_id=account.admin.id, access_ttl_s=access_ttl_s, clock=oauth_now
        )

    # -- configuration ----------------------------------------------------------------------
    @property
    def limits(self) -> Limits:
        return self._weather.limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        self._weather.limits = value

    @property
    def faults(self) -> FaultConfig:
        return self._weather.config

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self._weather.config = value

    def script(
        self,
        kind: FaultKind,
        *,
        path: str | None = None,
        times: int = 1,
        at: int | None = None,
        status: int = 503,
        slow_s: float | None = None,
    ) -> ScriptedFault:
        """Plan an incident: ``app.script("status", path="/api/v4/events", times=3, status=503)``."""
        item = ScriptedFault(kind, path=path, times=times, at=at, status=status, slow_s=slow_s)
        with self._weather._lock:
            self._weather.script.append(item)
        return item

    def plant(self, collection: str, entity_id: int | str, field: str, raw_json: str) -> None:
        """Serve ``raw_json`` verbatim as ``field`` of that entity in every list (see :mod:`plants`)."""
        with self._data_lock:
            self._plants.append(plants.Plant(collection, entity_id, field, raw_json))

    def clear_plants(self) -> None:
        with self._data_lock:
            self._plants.clear()

    @property
    def requests_seen(self) -> int:
        """How many requests arrived so far (the next one is number ``requests_seen + 1``)."""
        return self._weather._count

    def issue_token(self, user_id: int | None = None) -> str:
        """A long-lived token for the admin (default) or another user."""
        return self.oauth.issue_long_lived(user_id)

    def expire_tokens(self) -> None:
        """Every current OAuth access token answers 401 from now on (refresh tokens still work)."""
        self.oauth.expire_access_tokens()

    def revoke_tokens(self) -> None:
        """Every token and refresh token is dead, as when the integration is disabled."""
        self.oauth.revoke_all()

    def non_admin_user(self) -> User:
        return next(u for u in self.account.users if not u.is_admin and u.is_active)

    def advance(self, days: float) -> int:
        """Continue the account's life ``days`` forward (see ``life.advance``)."""
        with self._data_lock:
            return life.advance(self.account, days)

    def close(self) -> None:
        """Wake every slow response still sleeping (server shutdown); later sleeps sleep again."""
        stop, self._stop = self._stop, threading.Event()
        stop.set()

    def _wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- serving ----------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        # The network in front of the server: latency plus random jitter pass *before* the request
        # reaches the rate limiter, so requests arrive late and reordered, counted at arrival as
        # amoCRM's gateway counts them.
        delay = self._weather.latency_s()
        if delay > 0:
            self._sleep(delay)
        number = self._weather.next_number()
        started = time.perf_counter()
        verdict = self._weather.decide(number, request.url.path)
        status: int | None = None
        try:
            response = self._respond(request, verdict)
            status = response.status_code
            return response
        finally:
            query = request.url.query.decode("ascii", "replace")
            elapsed = (time.perf_counter() - started) * 1000
            self.log.add(
                RequestRecord(
                    number, request.method, request.url.path, query, status, elapsed, verdict.kind, started
                )
            )

    def _respond(self, request: httpx.Request, verdict: Verdict) -> httpx.Response:
        reply = self._fault_reply(request, verdict)
        if reply is None:
            if verdict.kind == "slow":
                self._slow(request, verdict.slow_s)
            reply = self._serve(request)
        body = reply.body
        if verdict.truncate and reply.status == 200 and len(body) > 1:
            body = body[: len(body) // 2]
        headers = {"Content-Type": reply.content_type} if reply.content_type else {}
        # The account's clock, as a real server's Date header carries its own: clients that take
        # their signpost from it stay consistent with what advance() writes.
        headers["Date"] = email.utils.formatdate(self.account.now, usegmt=True)
        return httpx.Response(reply.status, headers=headers, content=body, request=request)

    def _fault_reply(self, request: httpx.Request, verdict: Verdict) -> Reply | None:
        if verdict.kind == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if verdict.kind == "blocked":
            return _error_reply(problems.blocked_html())
        if verdict.kind in ("rate_limited", "scripted_429"):
            kind = self._weather.body_429()
            error = (
                problems.too_many_requests_json(self.limits.retry_after_s)
                if kind == "json"
                else problems.too_many_requests_html()
            )
            return _error_reply(error)
        if verdict.status is not None:
            return _error_reply(problems.for_status(verdict.status, f"sim-{self._weather._count:08d}"))
        return None

    def _slow(self, request: httpx.Request, seconds: float) -> None:
        """Sleep before answering; in-process, a client's read timeout fires as it would on a socket."""
        timeout = (request.extensions.get("timeout") or {}).get("read")
        if timeout is not None and seconds > timeout:
            self._sleep(timeout)
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        self._sleep(seconds)

    def _serve(self, request: httpx.Request) -> Reply:
        path = request.url.path.rstrip("/") or "/"
        try:
            if path == OAUTH_PATH:
                return self._token(request)
            user = self._user(request)
            with self._data_lock:
                reply = self._route(request, path, user)
                if self._plants and reply.status == 200:
                    reply = Reply(reply.status, plants.apply(reply.body, self._plants), reply.content_type)
                return reply
        except problems.ApiError as error:
            return _error_reply(error)

    def _user(self, request: httpx.Request) -> User:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user_id = self.oauth.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        user = self.account.user(user_id) if user_id is not None else None
        if user is None:
            raise problems.unauthorized()
        return user

    def _route(self, request: httpx.Request, path: str, user: User) -> Reply:
        for pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if request.method != "GET":
                raise problems.method_not_allowed()
            ctx = Ctx(
                account=self.account,
                base=_base(request),
                path=path,
                params=list(request.url.params.multi_items()),
                user=user,
                cache=self._cache,
                events_order=self.events_order,
                events_max_limit=self.events_max_limit,
            )
            args = [
                int(g) if g.isdigit() and handler is not events_api.event_by_id else g for g in match.groups()
            ]
            return handler(ctx, *args)
        raise problems.not_found(str(request.url), request.method)

    def _token(self, request: httpx.Request) -> Reply:
        if request.method != "POST":
            raise problems.method_not_allowed()
        body = _form_or_json(request.content)
        if not body:
            raise problems.problem(400, "Bad Request", "Request data can not be empty")
        pair = self.oauth.exchange(body)
        return Reply(200, json.dumps(pair).encode(), "application/json")


def _oauth_clock(choice: str | Callable[[], float], app: SimulatorApp) -> Callable[[], float]:
    """Token lifetimes run on wall seconds, on the simulator clock (``advance``), or on a test's clock."""
    if callable(choice):
        return choice
    if choice == "sim":
        return lambda: float(app.account.now)
    return time.time


def _base(request: httpx.Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"


def _error_reply(error: problems.ApiError) -> Reply:
    return Reply(error.status, error.body, error.content_type)


def _form_or_json(content: bytes) -> dict[str, Any]:
    text = content.decode("utf-8", "replace").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return dict(parse_qsl(text))
    return data if isinstance(data, dict) else {}
